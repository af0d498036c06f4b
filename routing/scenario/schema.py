"""Scenario files (TOML): network source, places of interest, evacuation settings, dated events.

Events are applied to a baseline graph as a :class:`~routing.damage.Damage` mask::

    [[events]]
    date = 2024-12-06
    action = "destroy"          # destroy | close | degrade | deny_area
    asset = "rastan_bridge"     # a catalogue asset, or: select = { ... } (see routing.selectors)
    note = "M5 bridge over the Orontes struck"

``degrade`` takes ``speed_factor`` and/or ``capacity_factor`` in (0, 1]; ``deny_area`` takes
``area = [[lon, lat], ...]``, ``area = { bbox = [w, s, e, n] }`` or
``area = { place = "...", radius_m = ... }`` / ``{ lat, lon, radius_m }``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from ..errors import ScenarioError
from ..files import read_toml
from ..network import load_network
from ..settings import (
    ALTERNATIVES,
    CLASS_SETS,
    DESTINATION_RADIUS_M,
    ORIGIN_RADIUS_M,
    PERSONS_PER_VEHICLE,
    POPULATIONS,
    ROAD_CLASSES,
    data_path,
    expand_path,
)
from .catalogue import Catalogue, Place, load_catalogue, parse_place
from .selectors import area_from_spec

ACTIONS = ("destroy", "close", "degrade", "deny_area")
TOP_LEVEL = ("scenario", "network", "places", "evacuation", "events", "capacity")


@dataclass(frozen=True)
class NetworkSpec:
    """Where the road network comes from."""

    source: str  # a file path (resolved), "overpass" or "place:<name>"
    road_classes: str | list[str] = "drive"
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north (degrees)


@dataclass(frozen=True)
class Event:
    """One dated event of a scenario."""

    index: int
    action: str
    date: dt.date | None
    selector: dict[str, Any]  # {"asset": key} or an inline selector; for deny_area, {"within"/"near": ...}
    label: str  # short human label: asset label or the note
    note: str = ""
    speed_factor: float = 1.0
    capacity_factor: float = 1.0


@dataclass(frozen=True)
class EvacuationSpec:
    """Evacuation settings: origin area, safe destinations, population, vehicles."""

    origin: str
    origin_radius_m: float = ORIGIN_RADIUS_M  # nodes this close to the origin place form the origin area
    destination_radius_m: float = DESTINATION_RADIUS_M  # area of a town destination (crossings: their node only)
    origin_area: Any = None  # optional polygon [[lon, lat], ...] or {bbox = [...]}: replaces the radius
    destinations: tuple[str, ...] = ()
    alternatives: int = ALTERNATIVES
    populations: tuple[int, ...] = POPULATIONS
    persons_per_vehicle: float = PERSONS_PER_VEHICLE
    horizon_hours: float | None = None


@dataclass
class Scenario:
    """A validated scenario file."""

    name: str
    path: Path | None
    network: NetworkSpec
    od_places: list[str]
    events: list[Event]
    description: str = ""
    as_of: dt.date | None = None
    evacuation: EvacuationSpec | None = None
    capacity_per_lane_vph: dict[str, float] = field(default_factory=dict)  # overrides per highway class
    extra_places: dict[str, Place] = field(default_factory=dict)
    catalogue_path: Path | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        """Read and validate a scenario TOML file (or a shipped scenario by name, see
        :func:`scenario_path`); errors name the file, field and value."""
        path = scenario_path(path)
        return cls.from_dict(read_toml(path, ScenarioError, "scenario file"), path=path)

    @classmethod
    def from_dict(cls, doc: dict[str, Any], *, path: Path | None = None) -> Scenario:
        """Validate a parsed scenario document (``path`` is used for messages and relative paths)."""
        return _Parser(doc, path).scenario()

    def catalogue(self) -> Catalogue:
        """The places/assets catalogue with the scenario's own places added."""
        return load_catalogue(self.catalogue_path).with_places(self.extra_places)

    def load_network(self) -> nx.MultiDiGraph:
        """The baseline network this scenario names, loaded and enriched."""
        spec = self.network
        return load_network(spec.source, road_classes=spec.road_classes, bbox=spec.bbox)


SHIPPED_ALIASES = {"demo": "demo-western-syria"}  # short names of shipped scenarios


def shipped_scenarios() -> dict[str, Path]:
    """Scenario and sweep files shipped in the package, by name (file stem)."""
    folder = data_path("scenarios")
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def scenario_path(name: str | Path) -> Path:
    """``name`` as a path when such a file exists, else the shipped scenario of that name
    (``"demo"``, ``"demo-western-syria"``, ``"sweep-western-syria.toml"``), else ``name`` unchanged
    (reading it then reports it missing)."""
    path = Path(name)
    if path.exists() or path.parent != Path("."):
        return path
    shipped = shipped_scenarios()
    stem = SHIPPED_ALIASES.get(path.stem, path.stem)
    return shipped.get(stem, path)


class _Parser:
    def __init__(self, doc: dict[str, Any], path: Path | None):
        self.doc, self.path = doc, path

    def fail(self, problem: str, field_: str, value: Any = None, has_value: bool = True) -> ScenarioError:
        return ScenarioError(problem, file=self.path, field=field_, value=value, has_value=has_value)

    def table(self, key: str, required: bool = False) -> dict[str, Any]:
        value = self.doc.get(key)
        if value is None:
            if required:
                raise self.fail("missing required table", f"[{key}]", has_value=False)
            return {}
        if not isinstance(value, dict):
            raise self.fail("expected a table", key, value)
        return value

    def string(self, tbl: dict, key: str, where: str, *, required: bool = False, default: str = "") -> str:
        value = tbl.get(key, None)
        if value is None:
            if required:
                raise self.fail("missing required field", f"{where}.{key}", has_value=False)
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail("expected a non-empty string", f"{where}.{key}", value)
        return value

    def number(self, tbl: dict, key: str, where: str, default: float, *, low: float = 0.0,
               high: float = float("inf"), low_open: bool = True) -> float:
        value = self.optional_number(tbl, key, where, low=low, high=high, low_open=low_open)
        return default if value is None else value

    def optional_number(self, tbl: dict, key: str, where: str, *, low: float = 0.0, high: float = float("inf"),
                        low_open: bool = True) -> float | None:
        value = tbl.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail("expected a number", f"{where}.{key}", value)
        if (value <= low if low_open else value < low) or value > high:
            bound = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
            raise self.fail(f"out of range {bound}", f"{where}.{key}", value)
        return float(value)

    def scenario(self) -> Scenario:
        for key in self.doc:
            if key not in TOP_LEVEL:
                raise self.fail(f"unknown top-level key; expected one of {', '.join(TOP_LEVEL)}", key, self.doc[key])
        meta = self.table("scenario", required=True)
        name = self.string(meta, "name", "scenario", required=True)
        as_of = meta.get("as_of")
        if as_of is not None and not isinstance(as_of, dt.date):
            raise self.fail("expected a TOML date such as 2024-12-06", "scenario.as_of", as_of)
        catalogue_path = None
        if "catalogue" in meta:
            catalogue_path = Path(expand_path(self.string(meta, "catalogue", "scenario"), self.path))
        places = self.table("places")
        extra = {}
        for name_, tbl in (places.get("custom") or {}).items():
            extra[name_] = parse_place(name_, tbl, file=self.path or "<scenario>", field=f"places.custom.{name_}")
        od = places.get("od", [])
        if not isinstance(od, list) or not all(isinstance(p, str) for p in od):
            raise self.fail("expected a list of place names", "places.od", od)
        scenario = Scenario(
            name=name, path=self.path, network=self.network(), od_places=list(od), events=self.events(),
            description=str(meta.get("description", "")), as_of=as_of, evacuation=self.evacuation(),
            capacity_per_lane_vph=self.capacity(), extra_places=extra, catalogue_path=catalogue_path)
        catalogue = scenario.catalogue()  # every place name must be known now, not mid-run
        for i, p in enumerate(scenario.od_places):
            catalogue.place(p, file=self.path, field=f"places.od[{i}]")
        if scenario.evacuation:
            catalogue.place(scenario.evacuation.origin, file=self.path, field="evacuation.origin")
            for i, p in enumerate(scenario.evacuation.destinations):
                catalogue.place(p, file=self.path, field=f"evacuation.destinations[{i}]")
        for ev in scenario.events:
            if "asset" in ev.selector and isinstance(ev.selector["asset"], str):
                catalogue.asset(ev.selector["asset"], file=self.path, field=f"events[{ev.index}].asset")
        if len(scenario.od_places) == 1:
            raise self.fail("needs at least two places for an OD table", "places.od", od)
        return scenario

    def network(self) -> NetworkSpec:
        tbl = self.table("network", required=True)
        source = self.string(tbl, "source", "network", required=True)
        if source != "overpass" and not source.startswith(("place:", "geofabrik:")):
            source = expand_path(source, self.path)
            if not Path(source).exists():
                raise self.fail("network file not found", "network.source", source)
        classes = tbl.get("road_classes", "drive")
        if isinstance(classes, str):
            if classes not in CLASS_SETS:
                raise self.fail(f"unknown road class set; use one of {sorted(CLASS_SETS)} or a list of highway "
                                "values", "network.road_classes", classes)
        elif not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
            raise self.fail("expected a class set name or a list of highway values", "network.road_classes", classes)
        bbox = tbl.get("bbox")
        if bbox is not None:
            if (not isinstance(bbox, list) or len(bbox) != 4
                    or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in bbox)
                    or not (bbox[0] < bbox[2] and bbox[1] < bbox[3])):
                raise self.fail("expected [west, south, east, north] in degrees with west<east and south<north",
                                "network.bbox", bbox)
            bbox = tuple(float(c) for c in bbox)
        if source == "overpass" and bbox is None:
            raise self.fail("an Overpass source needs network.bbox", "network.bbox", has_value=False)
        return NetworkSpec(source=source, road_classes=classes, bbox=bbox)

    def events(self) -> list[Event]:
        raw = self.doc.get("events", [])
        if not isinstance(raw, list):
            raise self.fail("expected an array of tables [[events]]", "events", raw)
        events = []
        for i, ev in enumerate(raw):
            where = f"events[{i}]"
            if not isinstance(ev, dict):
                raise self.fail("expected a table", where, ev)
            action = ev.get("action")
            if action not in ACTIONS:
                raise self.fail(f"unknown action; use one of {', '.join(ACTIONS)}", f"{where}.action", action,
                                has_value="action" in ev)
            date = ev.get("date")
            if date is not None and not isinstance(date, dt.date):
                raise self.fail("expected a TOML date such as 2024-12-06", f"{where}.date", date)
            allowed = {"action", "date", "note", "asset", "select", "area", "speed_factor", "capacity_factor"}
            for key in ev:
                if key not in allowed:
                    raise self.fail(f"unknown event field; expected one of {', '.join(sorted(allowed))}",
                                    f"{where}.{key}", ev[key])
            note = str(ev.get("note", ""))
            if action == "deny_area":
                selector = self.area_selector(ev, where)
                label = note or "denied area"
            else:
                given = [k for k in ("asset", "select") if k in ev]
                if len(given) != 1:
                    raise self.fail("give exactly one of 'asset' or 'select'", where, {k: ev[k] for k in given},
                                    has_value=bool(given))
                if "asset" in ev:
                    if not isinstance(ev["asset"], str):
                        raise self.fail("expected an asset key (string)", f"{where}.asset", ev["asset"])
                    selector = {"asset": ev["asset"]}
                    label = ev["asset"]
                else:
                    if not isinstance(ev["select"], dict):
                        raise self.fail("expected a selector table", f"{where}.select", ev["select"])
                    selector = ev["select"]
                    label = note or "selection"
            speed = capacity = 1.0
            if action == "degrade":
                if "speed_factor" not in ev and "capacity_factor" not in ev:
                    raise self.fail("degrade needs speed_factor and/or capacity_factor in (0, 1]", where,
                                    has_value=False)
                speed = self.number(ev, "speed_factor", where, 1.0, high=1.0)
                capacity = self.number(ev, "capacity_factor", where, 1.0, high=1.0)
            events.append(Event(i, action, date, selector, label, note, speed, capacity))
        return events

    def area_selector(self, ev: dict, where: str) -> dict[str, Any]:
        area = ev.get("area")
        if area is None:
            raise self.fail("deny_area needs an 'area'", f"{where}.area", has_value=False)
        if isinstance(area, dict) and ("radius_m" in area):
            return {"near": area}
        area_from_spec(area, file=self.path, field=f"{where}.area")  # validate now
        return {"within": area}

    def evacuation(self) -> EvacuationSpec | None:
        tbl = self.table("evacuation")
        if not tbl:
            return None
        where = "evacuation"
        allowed = {"origin", "origin_radius_m", "origin_area", "destinations", "destination_radius_m", "alternatives",
                   "populations", "persons_per_vehicle", "horizon_hours"}
        for key in tbl:
            if key not in allowed:
                raise self.fail(f"unknown evacuation field; expected one of {', '.join(sorted(allowed))}",
                                f"{where}.{key}", tbl[key])
        origin = self.string(tbl, "origin", where, required=True)
        dests = tbl.get("destinations")
        if not isinstance(dests, list) or not dests or not all(isinstance(d, str) for d in dests):
            raise self.fail("expected a non-empty list of place names", f"{where}.destinations", dests,
                            has_value="destinations" in tbl)
        pops = tbl.get("populations", list(POPULATIONS))
        if not isinstance(pops, list) or not pops or not all(isinstance(p, int) and p > 0 for p in pops):
            raise self.fail("expected a list of positive integers (persons)", f"{where}.populations", pops)
        alternatives = tbl.get("alternatives", ALTERNATIVES)
        if isinstance(alternatives, bool) or not isinstance(alternatives, int) or not 1 <= alternatives <= 10:
            raise self.fail("expected an integer from 1 to 10", f"{where}.alternatives", alternatives)
        return EvacuationSpec(
            origin=origin,
            origin_radius_m=self.number(tbl, "origin_radius_m", where, ORIGIN_RADIUS_M, high=200_000.0),
            destination_radius_m=self.number(tbl, "destination_radius_m", where, DESTINATION_RADIUS_M, high=200_000.0),
            origin_area=self.origin_area(tbl.get("origin_area")),
            destinations=tuple(dests), alternatives=alternatives, populations=tuple(pops),
            persons_per_vehicle=self.number(tbl, "persons_per_vehicle", where, PERSONS_PER_VEHICLE, high=100.0),
            horizon_hours=self.optional_number(tbl, "horizon_hours", where, high=24 * 365))

    def origin_area(self, value: Any) -> Any:
        if value is not None:
            area_from_spec(value, file=self.path, field="evacuation.origin_area")  # validate now
        return value

    def capacity(self) -> dict[str, float]:
        tbl = self.table("capacity")
        per_lane = tbl.get("per_lane_vph", {})
        if not isinstance(per_lane, dict):
            raise self.fail("expected a table highway_class = vehicles/hour/lane", "capacity.per_lane_vph", per_lane)
        out: dict[str, float] = {}
        for cls, _value in per_lane.items():
            if cls not in ROAD_CLASSES:
                raise self.fail(f"unknown highway class; known: {', '.join(ROAD_CLASSES)}",
                                f"capacity.per_lane_vph.{cls}", cls)
            out[cls] = self.number(per_lane, cls, "capacity.per_lane_vph", 0.0, high=10_000.0)
        return out
