"""Scenario files (TOML): network source, places of interest, evacuation settings, dated events.

Events are applied to a baseline graph as a :class:`~routing.damage.Damage` mask::

    [[events]]
    date = 2024-12-06
    action = "destroy"          # destroy | close | degrade | deny_area
    asset = "rastan_bridge"     # a catalogue asset, or: select = { ... } (see routing.selectors)
    note = "M5 bridge over the Orontes struck"

``degrade`` takes ``speed_factor`` and/or ``capacity_factor`` in (0, 1]; ``deny_area`` takes
``area = [[lon, lat], ...]``, ``area = { bbox = [w, s, e, n] }`` or
``area = { place = "...", radius_m = ... }`` / ``{ lat, lon, radius_m }``; ``restrict`` takes
``max_weight_t``, ``max_height_m`` and/or ``vehicles = ["car", ...]``. ``label`` names an event
in reports.

The file is validated by strict models (:mod:`routing.scenario.validation`): unknown keys, wrong
types, NaN/inf, booleans as numbers and out-of-range values are refused with
``file: field = value: problem``. A TOML datetime (``2024-12-06T10:00:00``) given for ``as_of``
or an event ``date`` counts as its date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import networkx as nx
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from ..errors import CatalogueError, ScenarioError
from ..files import read_toml
from ..network import load_network
from ..network.osm_file import file_format
from ..settings import (
    ACCESS_CRITICALITY_THRESHOLD_MIN,
    ACCESS_MAX_SNAP_M,
    ACCESS_THRESHOLDS_MIN,
    ALTERNATIVES,
    CLASS_SETS,
    DESTINATION_RADIUS_M,
    ORIGIN_RADIUS_M,
    OSM_PLACE_TYPES,
    PERSONS_PER_VEHICLE,
    POPULATIONS,
    ROAD_CLASSES,
    data_path,
    expand_path,
)
from .catalogue import Catalogue, Place, PlaceTable, load_catalogue
from .selector_schema import Area, AreaOrCircle, Selector, Tags, WhereValue
from .selectors import area_from_spec
from .validation import (
    NO_VALUE,
    BBox,
    Date,
    Factor,
    Positive,
    Strict,
    Text,
    in_range,
    problem,
    unique_names,
    validate,
)

ACTIONS = ("destroy", "close", "degrade", "deny_area", "restrict")
PROFILES = ("car", "truck")  # vehicle profiles (the keys of the network profiles table)
Action = Literal["destroy", "close", "degrade", "deny_area", "restrict"]
Profile = Literal["car", "truck"]


# ------------------------------------------------------------------ the file's tables (strict models)

class ScenarioTable(Strict):
    """``[scenario]``: name, description, the date events are applied up to, another catalogue."""

    name: Text
    description: str = ""
    as_of: Date | None = None
    catalogue: Text | None = None


def _road_classes(value: Any) -> Any:
    if isinstance(value, str):
        if value not in CLASS_SETS:
            raise problem(f"unknown road class set; use one of {sorted(CLASS_SETS)} or a list of highway values")
        return value
    if isinstance(value, list) and value and all(isinstance(c, str) and c.strip() for c in value):
        return value
    raise problem("expected a class set name or a non-empty list of highway values")


class VehicleSpec(Strict):
    """``[network] vehicle``: the routed truck's dimensions (tonnes, metres); unset: the profile's."""

    weight_t: Positive | None = None
    height_m: Positive | None = None
    width_m: Positive | None = None
    length_m: Positive | None = None


class NetworkTable(Strict):
    """``[network]``: where the roads come from, which classes, the clip box, the vehicle profile."""

    source: Text
    road_classes: Annotated[Any, BeforeValidator(_road_classes)] = "drive"
    bbox: BBox | None = None
    profile: Profile = "car"
    vehicle: VehicleSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> NetworkTable:
        if self.vehicle is not None and self.profile != "truck":
            raise problem('vehicle dimensions need profile = "truck"', field="vehicle",
                          value=self.vehicle.model_dump(exclude_none=True))
        if self.source == "overpass" and self.bbox is None:
            raise problem("an Overpass source needs network.bbox", field="bbox")
        return self


def _distinct_od(names: list[str]) -> list[str]:
    if len(names) < 2:
        raise problem("needs at least two places for an OD table")
    unique_names(list(enumerate(names)), "place")
    return names


def _distinct_places(table: dict[str, PlaceTable]) -> dict[str, PlaceTable]:
    unique_names([(name, name) for name in table], "place name")
    return table


class PlacesTable(Strict):
    """``[places]``: the OD places (catalogue names), the scenario's own places, the snap limit."""

    od: Annotated[list[Text], AfterValidator(_distinct_od)] | None = None
    custom: Annotated[dict[Text, PlaceTable], AfterValidator(_distinct_places)] = Field(default_factory=dict)
    max_snap_m: Positive | None = None  # metres; a place farther from the network is an error


Radius = Annotated[float, in_range(0, 200_000)]  # metres


class EvacuationTable(Strict):
    """``[evacuation]``: origin, destinations, population and vehicles (see :class:`EvacuationSpec`)."""

    origin: Text
    origin_radius_m: Radius = ORIGIN_RADIUS_M
    destination_radius_m: Radius = DESTINATION_RADIUS_M
    origin_area: Area | None = None
    destinations: Annotated[list[Text], Field(min_length=1)]
    alternatives: Annotated[int, in_range(1, 10, low_open=False)] = ALTERNATIVES
    populations: Annotated[list[Annotated[int, in_range(0, 1e10)]], Field(min_length=1)] = Field(
        default_factory=lambda: list(POPULATIONS))  # persons
    persons_per_vehicle: Annotated[float, in_range(0, 100)] = PERSONS_PER_VEHICLE
    horizon_hours: Annotated[float, in_range(0, 24 * 365)] | None = None


def _road_class(name: str) -> str:
    if name not in ROAD_CLASSES:
        raise problem(f"unknown highway class; known: {', '.join(ROAD_CLASSES)}")
    return name


class CapacityTable(Strict):
    """``[capacity]``: per-lane capacity overrides by highway class (vehicles/hour/lane)."""

    per_lane_vph: dict[Annotated[str, AfterValidator(_road_class)], Annotated[float, in_range(0, 10_000)]] = Field(
        default_factory=dict)


ONLY_FOR = {"speed_factor": "degrade", "capacity_factor": "degrade", "area": "deny_area",
            "max_weight_t": "restrict", "max_height_m": "restrict", "vehicles": "restrict"}


def _plain(value: Any) -> Any:
    return value.model_dump(by_alias=True, exclude_none=True) if isinstance(value, BaseModel) else value


class EventTable(Strict):
    """One ``[[events]]`` table."""

    action: Action
    date: Date | None = None
    note: str = ""
    label: Text | None = None
    asset: Text | None = None
    select: Selector | None = None
    area: AreaOrCircle | None = None
    speed_factor: Factor | None = None
    capacity_factor: Factor | None = None
    max_weight_t: Positive | None = None  # restrict: heavier vehicles may not pass (tonnes)
    max_height_m: Positive | None = None  # restrict: higher vehicles may not pass (metres)
    vehicles: Annotated[list[Profile], Field(min_length=1)] | None = None  # restrict: only these may pass

    @model_validator(mode="after")
    def _fits_action(self) -> EventTable:
        for key, action in ONLY_FOR.items():
            if getattr(self, key) is not None and self.action != action:
                raise problem(f'only for action = "{action}"', field=key, value=_plain(getattr(self, key)))
        given = {k: _plain(getattr(self, k)) for k in ("asset", "select") if getattr(self, k) is not None}
        if self.action == "deny_area":
            if given:
                raise problem("deny_area takes an 'area', not 'asset' or 'select'", value=given)
            if self.area is None:
                raise problem("deny_area needs an 'area'", field="area")
        elif len(given) != 1:
            raise problem("give exactly one of 'asset' or 'select'", value=given or NO_VALUE)
        if self.action == "degrade" and self.speed_factor is None and self.capacity_factor is None:
            raise problem("degrade needs speed_factor and/or capacity_factor in (0, 1]")
        if self.action == "restrict" and (self.max_weight_t, self.max_height_m, self.vehicles) == (None,) * 3:
            raise problem("restrict needs max_weight_t, max_height_m and/or vehicles")
        return self


Where = dict[Text, WhereValue]  # attribute -> value or list of values (any of)
NonNegative = Annotated[float, in_range(0, float("inf"), low_open=False, high_open=True)]


class PopulationTable(Strict):
    """``[access.population]``: where the people are.

    ``source = "osm"`` reads ``place=*`` nodes with ``population=*`` (of ``place_types``) from the
    network's OSM file, or from Overpass for an Overpass network; otherwise a file: a raster
    (``.tif``, persons per cell), a vector file or CSV (lat/lon) with a population ``column``
    (``layer``, ``where`` and ``name`` as for areas). ``spread_m`` shares each point's people
    among the road nodes within that radius (metres; a town given as one point). ``notice`` is
    repeated in every output (e.g. "SCHEMATIC population").
    """

    source: Text
    column: Text = "population"
    layer: Text | None = None
    where: Where | None = None
    name: Text | None = None
    place_types: Annotated[list[Text], Field(min_length=1)] = Field(default_factory=lambda: list(OSM_PLACE_TYPES))
    spread_m: NonNegative = 0.0
    notice: str = ""


class FacilityTable(Strict):
    """``[access.facilities.NAME]``: one facility type, from exactly one source: ``osm`` tags (any
    of them; from the network's OSM file or Overpass, or from ``file`` when it is an OSM file),
    a vector/CSV ``file`` (``where``, ``layer``, ``name``), catalogue ``places`` by name, or
    every catalogue place of a ``kind`` (e.g. "border_crossing")."""

    osm: Tags | None = None
    file: Text | None = None
    where: Where | None = None
    layer: Text | None = None
    name: Text | None = None
    places: Annotated[list[Text], Field(min_length=1)] | None = None
    kind: Text | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FacilityTable:
        given = [k for k in ("file", "places", "kind") if getattr(self, k) is not None]
        if len(given) > 1 or (self.osm is not None and given and given != ["file"]) or (not given and self.osm is None):
            raise problem("give one source: osm = {tags}, file = \"...\" (with osm tags for an OSM file), "
                          "places = [...] or kind = \"...\"", value={k: _plain(getattr(self, k)) for k in given}
                          or NO_VALUE)
        return self


class AreasTable(Strict):
    """``[access.areas]``: admin polygons for per-area tables (``name``: the attribute naming each)."""

    file: Text
    where: Where | None = None
    layer: Text | None = None
    name: Text | None = None


class AccessTable(Strict):
    """``[access]``: population access to facilities, before and after the events.

    ``thresholds_min``: travel-time thresholds reported (minutes); ``max_snap_m``: people and
    facilities farther from a road node stay unsnapped (counted); ``criticality_threshold_min``:
    "loses access" for ``routing criticality --weight population``.
    """

    population: PopulationTable
    facilities: Annotated[dict[Text, FacilityTable], Field(min_length=1)]
    thresholds_min: Annotated[list[Positive], Field(min_length=1)] = Field(
        default_factory=lambda: list(ACCESS_THRESHOLDS_MIN))
    max_snap_m: Positive = ACCESS_MAX_SNAP_M
    criticality_threshold_min: Positive = ACCESS_CRITICALITY_THRESHOLD_MIN
    areas: AreasTable | None = None


class ScenarioFile(Strict):
    """A scenario file: its tables."""

    scenario: ScenarioTable
    network: NetworkTable
    places: PlacesTable = PlacesTable()
    evacuation: EvacuationTable | None = None
    capacity: CapacityTable = CapacityTable()
    events: list[EventTable] = Field(default_factory=list)
    access: AccessTable | None = None

    @model_validator(mode="after")
    def _something_to_compute(self) -> ScenarioFile:
        if self.places.od is None and self.evacuation is None and self.access is None:
            raise problem("a scenario needs [places] od (two or more places), an [evacuation] or an [access] table",
                          field="places")
        return self


# ------------------------------------------------------------------ what the rest of the code uses

@dataclass(frozen=True)
class NetworkSpec:
    """Where the road network comes from, and for which vehicle."""

    source: str  # a file path (resolved), "overpass", "place:<name>" or "geofabrik:<name>"
    road_classes: str | list[str] = "drive"
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north (degrees)
    profile: str = "car"  # a vehicle profile: "car" or "truck"
    vehicle: VehicleSpec | None = None  # truck dimensions; None: the profile's defaults


@dataclass(frozen=True)
class Event:
    """One dated event of a scenario."""

    index: int
    action: str
    date: dt.date | None
    selector: dict[str, Any]  # {"asset": key} or an inline selector; for deny_area, {"within"/"near": ...}
    label: str  # short human label: the event's label, else the asset key, else the note
    note: str = ""
    speed_factor: float = 1.0
    capacity_factor: float = 1.0
    max_weight_t: float | None = None  # restrict (tonnes)
    max_height_m: float | None = None  # restrict (metres)
    vehicles: tuple[str, ...] | None = None  # restrict: the profiles that may still pass

    @classmethod
    def from_table(cls, index: int, ev: EventTable) -> Event:
        """The event of one validated ``[[events]]`` table."""
        if ev.action == "deny_area":
            assert ev.area is not None
            area = _plain(ev.area)
            selector = {"near": area} if isinstance(area, dict) and "radius_m" in area else {"within": area}
            label = ev.label or ev.note or "denied area"
        elif ev.asset is not None:
            selector, label = {"asset": ev.asset}, ev.label or ev.asset
        else:
            assert ev.select is not None
            selector, label = ev.select.as_dict(), ev.label or ev.note or "selection"
        return cls(index, ev.action, ev.date, selector, label, ev.note,
                   ev.speed_factor if ev.speed_factor is not None else 1.0,
                   ev.capacity_factor if ev.capacity_factor is not None else 1.0,
                   ev.max_weight_t, ev.max_height_m, tuple(ev.vehicles) if ev.vehicles is not None else None)


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

    @classmethod
    def from_table(cls, tbl: EvacuationTable, path: Path | None = None) -> EvacuationSpec:
        """The settings of a validated ``[evacuation]`` table (``path``: the scenario file, for an
        ``origin_area = {file = ...}`` relative to it)."""
        area = _plain(tbl.origin_area)
        if isinstance(area, dict) and "file" in area:
            area = {**area, "file": expand_path(area["file"], path)}
        return cls(origin=tbl.origin, origin_radius_m=tbl.origin_radius_m,
                   destination_radius_m=tbl.destination_radius_m, origin_area=area,
                   destinations=tuple(tbl.destinations), alternatives=tbl.alternatives,
                   populations=tuple(tbl.populations), persons_per_vehicle=tbl.persons_per_vehicle,
                   horizon_hours=tbl.horizon_hours)


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
    max_snap_m: float | None = None  # metres; a place farther from the network is an error (None: the default)
    access: AccessTable | None = None  # population access (file paths resolved)

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        """Read and validate a scenario TOML file (or a shipped scenario by name, see
        :func:`scenario_path`); errors name the file, field and value."""
        path = scenario_path(path)
        return cls.from_dict(read_toml(path, ScenarioError, "scenario file"), path=path)

    @classmethod
    def from_dict(cls, doc: dict[str, Any], *, path: Path | None = None) -> Scenario:
        """Validate a parsed scenario document (``path`` is used for messages and relative paths)."""
        return _from_file(validate(ScenarioFile, doc, file=path, error=ScenarioError), path)

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
    """``name`` as a path when such a file exists (a folder does not count: ``routing run demo
    --out demo`` leaves one), else the shipped scenario of that name (``"demo"``,
    ``"demo-western-syria"``, ``"sweep-western-syria.toml"``), else ``name`` unchanged (reading it
    then reports it missing)."""
    path = Path(name)
    if path.is_file() or path.parent != Path("."):
        return path
    shipped = shipped_scenarios()
    stem = SHIPPED_ALIASES.get(path.stem, path.stem)
    return shipped.get(stem, path)


def _from_file(doc: ScenarioFile, path: Path | None) -> Scenario:
    """The :class:`Scenario` of a validated file: paths resolved, every name looked up."""
    meta, places, net = doc.scenario, doc.places, doc.network

    def fail(problem_: str, field_: str, value: Any) -> ScenarioError:
        return ScenarioError(problem_, file=path, field=field_, value=value)

    source = net.source
    if source != "overpass" and not source.startswith(("place:", "geofabrik:")):
        source = expand_path(source, path)
        if not Path(source).exists():
            raise fail("network file not found", "network.source", source)
    network = NetworkSpec(source=source, road_classes=net.road_classes,
                          bbox=tuple(net.bbox) if net.bbox else None,  # type: ignore[arg-type]
                          profile=net.profile, vehicle=net.vehicle)
    scenario = Scenario(
        name=meta.name, path=path, network=network, od_places=list(places.od or []),
        events=[Event.from_table(i, ev) for i, ev in enumerate(doc.events)], description=meta.description,
        as_of=meta.as_of, evacuation=EvacuationSpec.from_table(doc.evacuation, path) if doc.evacuation else None,
        capacity_per_lane_vph=dict(doc.capacity.per_lane_vph),
        extra_places={name: tbl.place(name) for name, tbl in places.custom.items()},
        catalogue_path=Path(expand_path(meta.catalogue, path)) if meta.catalogue else None,
        max_snap_m=places.max_snap_m, access=_access(doc.access, path) if doc.access else None)
    try:
        catalogue = scenario.catalogue()  # every place name must be known now, not mid-run
    except CatalogueError as exc:
        if exc.field is not None or scenario.catalogue_path is None:
            raise  # a problem inside the catalogue: its file and field say where
        raise fail(exc.problem, "scenario.catalogue", str(scenario.catalogue_path)) from exc
    for i, p in enumerate(scenario.od_places):
        catalogue.place(p, file=path, field=f"places.od[{i}]")
    if scenario.evacuation:
        catalogue.place(scenario.evacuation.origin, file=path, field="evacuation.origin")
        for i, p in enumerate(scenario.evacuation.destinations):
            catalogue.place(p, file=path, field=f"evacuation.destinations[{i}]")
    for ev in scenario.events:
        if "asset" in ev.selector:
            catalogue.asset(ev.selector["asset"], file=path, field=f"events[{ev.index}].asset")
        within = ev.selector.get("within")
        if isinstance(within, dict) and "file" in within:  # the file, its attribute and value exist now
            area_from_spec(within, file=path, field=f"events[{ev.index}].area")
    if scenario.access is not None:
        _check_access(scenario, catalogue)
    return scenario


def _access(tbl: AccessTable, path: Path | None) -> AccessTable:
    """``tbl`` with every file path resolved (relative to the scenario file, $ROUTING_SHARED_DATA)."""
    def resolve(model: Any, key: str) -> Any:
        value = getattr(model, key)
        if value is None or (key == "source" and value == "osm"):
            return model
        return model.model_copy(update={key: expand_path(value, path)})

    return tbl.model_copy(update={
        "population": resolve(tbl.population, "source"),
        "facilities": {name: resolve(f, "file") for name, f in tbl.facilities.items()},
        "areas": resolve(tbl.areas, "file") if tbl.areas is not None else None})


def _check_access(scenario: Scenario, catalogue: Catalogue) -> None:
    """Files exist, catalogue names are known, "osm" sources have an OSM network to read."""
    access, path = scenario.access, scenario.path
    assert access is not None
    osm_network = scenario.network.source == "overpass" or file_format(Path(scenario.network.source)) is not None

    def need_file(value: str, field_: str) -> None:
        if not Path(value).is_file():
            raise ScenarioError("file not found", file=path, field=field_, value=value)

    pop = access.population
    if pop.source == "osm":
        if not osm_network:
            raise ScenarioError("population from OSM places needs an OSM network file or an Overpass network "
                                f"(the network is {scenario.network.source!r}); give a population file",
                                file=path, field="access.population.source", value="osm")
    else:
        need_file(pop.source, "access.population.source")
    for name, fac in access.facilities.items():
        where = f"access.facilities.{name}"
        if fac.file is not None:
            need_file(fac.file, f"{where}.file")
        elif fac.osm is not None and not osm_network:
            raise ScenarioError("facilities from OSM tags need an OSM network file or an Overpass network",
                                file=path, field=f"{where}.osm", value=fac.osm)
        for i, place in enumerate(fac.places or []):
            catalogue.place(place, file=path, field=f"{where}.places[{i}]")
        if fac.kind is not None and not any(p.kind == fac.kind for p in catalogue.places.values()):
            kinds = sorted({p.kind for p in catalogue.places.values()})
            raise ScenarioError(f"no catalogue place of this kind; kinds: {', '.join(kinds)}", file=path,
                                field=f"{where}.kind", value=fac.kind)
    if access.areas is not None:
        need_file(access.areas.file, "access.areas.file")
