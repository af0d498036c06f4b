"""Selector language: a TOML/dict description -> the edges and nodes it names on a network.

Keys (several keys in one table must all hold):

==============  ======================================================  =============
key             matches                                                 kind
==============  ======================================================  =============
``way``         OSM way id(s) an edge was built from                     edges
``node``        node id(s)                                               nodes
``tags``        edge tags: ``{bridge = "yes", highway = ["motorway"]}``  edges
                (a list is any-of, ``true`` = present, ``false`` = absent)
``node_tags``   node tags, same rules                                    nodes
``ref``         a token of ``ref``/``int_ref``/``old_ref`` (``M5``)      edges
``name``        case-insensitive substring of ``name``/``name:*``        edges
``near``        within ``radius_m`` metres of ``{lat, lon}`` or          edges + nodes
                ``{place = "..."}``
``within``      inside a polygon ``[[lon, lat], ...]``,                  edges + nodes
                ``{bbox = [west, south, east, north]}`` or the polygons
                of a file: ``{file = "zones.geojson",
                where = {controlled_by = "X"}}``
``asset``       the selector of a catalogue asset                        its own
``all``         list of selectors, all must hold                         intersection
``any``         list of selectors, one must hold                         union
``not``         a selector; everything it does not match                 complement
==============  ======================================================  =============

A selector that matches nothing raises :class:`~routing.errors.SelectorError`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self, TypeGuard

import geopandas as gpd
import networkx as nx
from shapely.geometry import Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from ..errors import SelectorError
from ..layers import area_union
from ..network.geometry import EdgeKey, edge_lines
from ..settings import expand_path
from .catalogue import Catalogue
from .selector_schema import AREA, BBoxArea, FileArea, Selector
from .validation import validate, validate_value

KEYS = ("way", "node", "tags", "node_tags", "ref", "name", "near", "within", "asset", "all", "any", "not")
REF_KEYS = ("ref", "int_ref", "old_ref")


@dataclass
class Selection:
    """Edges ((u, v, key)) and nodes a selector names."""

    edges: set[EdgeKey] = field(default_factory=set)
    nodes: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.edges or self.nodes)

    def __and__(self, other: Selection) -> Selection:
        return Selection(self.edges & other.edges, self.nodes & other.nodes)

    def __or__(self, other: Selection) -> Selection:
        return Selection(self.edges | other.edges, self.nodes | other.nodes)


class _PerGraph:
    """A structure derived from a graph once and cached for that graph's lifetime (``of(G)``)."""

    _cache: ClassVar[weakref.WeakKeyDictionary]

    def __init_subclass__(cls) -> None:
        cls._cache = weakref.WeakKeyDictionary()

    def __init__(self, G: nx.MultiDiGraph) -> None:
        raise NotImplementedError

    @classmethod
    def of(cls, G: nx.MultiDiGraph) -> Self:
        found = cls._cache.get(G)
        if found is None:
            found = cls._cache[G] = cls(G)
        return found


class _Frames(_PerGraph):
    """Edges and nodes of a graph as GeoDataFrames in a local metric CRS (cached per graph)."""

    def __init__(self, G: nx.MultiDiGraph):
        nodes = list(G.nodes(data=True))
        node_points = gpd.GeoSeries([Point(d["x"], d["y"]) for _, d in nodes], crs="EPSG:4326")
        self.crs = node_points.estimate_utm_crs()
        self.node_ids = [n for n, _ in nodes]
        self.nodes = gpd.GeoDataFrame({"node": self.node_ids}, geometry=node_points).to_crs(self.crs)
        keys = list(G.edges(keys=True))
        lines = edge_lines(G, keys)
        self.edge_keys = keys
        self.edges = gpd.GeoDataFrame({"i": range(len(keys))}, geometry=gpd.GeoSeries(lines, crs="EPSG:4326")
                                      ).to_crs(self.crs)

    def touching(self, area_lonlat: Any) -> Selection:
        """Edges intersecting and nodes inside an area given in lon/lat degrees."""
        area = gpd.GeoSeries([area_lonlat], crs="EPSG:4326").to_crs(self.crs).iloc[0]
        return self.touching_metric(area)

    def touching_metric(self, area: Any) -> Selection:
        edge_hits = self.edges.sindex.query(area, predicate="intersects")
        node_hits = self.nodes.sindex.query(area, predicate="intersects")
        return Selection({self.edge_keys[i] for i in edge_hits}, {self.node_ids[i] for i in node_hits})

    def near(self, lon: float, lat: float, radius_m: float) -> Selection:
        centre = gpd.GeoSeries([Point(lon, lat)], crs="EPSG:4326").to_crs(self.crs).iloc[0]
        return self.touching_metric(centre.buffer(radius_m))


def _values(value: Any) -> list[str]:
    """An attribute value (scalar or list from simplification) as a list of strings."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


class _EdgeValues(_PerGraph):
    """Per graph and attribute: each distinct value (as a string) -> the edges holding it.

    Built lazily, one pass per attribute, and cached per graph, so a clause costs a dictionary
    lookup (or a scan of distinct values for ``name``) instead of a pass over every edge."""

    def __init__(self, G: nx.MultiDiGraph):
        self.G = G
        self.by_key: dict[str, dict[str, set[EdgeKey]]] = {}
        self._name_keys: list[str] | None = None

    def index(self, key: str) -> dict[str, set[EdgeKey]]:
        """Distinct string values of ``key`` -> edges (list values count once per element)."""
        if key not in self.by_key:
            idx: dict[str, set[EdgeKey]] = {}
            for u, v, k, value in self.G.edges(keys=True, data=key):
                for text in _values(value):
                    idx.setdefault(text, set()).add((u, v, k))
            self.by_key[key] = idx
        return self.by_key[key]

    def with_value(self, key: str, texts: set[str] | None = None) -> set[EdgeKey]:
        """Edges whose ``key`` holds one of ``texts`` (any value when None)."""
        idx = self.index(key)
        chosen = idx.values() if texts is None else (idx[t] for t in texts if t in idx)
        return set().union(*chosen)

    def name_keys(self) -> list[str]:
        """``name`` and every ``name:*`` attribute present on some edge."""
        if self._name_keys is None:
            keys = {key for *_, d in self.G.edges(data=True) for key in d}
            self._name_keys = sorted(k for k in keys if k == "name" or k.startswith("name:"))
        return self._name_keys


def _tags_match(data: dict, wanted: dict[str, Any]) -> bool:
    for key, want in wanted.items():
        have = _values(data.get(key))
        if want is True:
            ok = bool(have)
        elif want is False:
            ok = not have
        else:
            options = {str(w) for w in (want if isinstance(want, list) else [want])}
            ok = any(h in options for h in have)
        if not ok:
            return False
    return True


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _norm_ref(text: str) -> str:
    return text.replace(" ", "").replace("-", "").casefold()


class _Resolver:
    def __init__(self, G: nx.MultiDiGraph, catalogue: Catalogue | None, file: str | Path | None):
        self.G, self.catalogue, self.file = G, catalogue, file
        self.assets_in_progress: set[str] = set()

    def fail(self, problem: str, field_: str, value: Any) -> SelectorError:
        return SelectorError(problem, file=self.file, field=field_, value=value)

    def all_edges(self) -> set[EdgeKey]:
        return set(self.G.edges(keys=True))

    def resolve(self, sel: Any, path: str) -> Selection:
        if not isinstance(sel, dict) or not sel:
            raise self.fail(f"a selector is a non-empty table with keys from {', '.join(KEYS)}", path, sel)
        result: Selection | None = None
        for key, value in sel.items():
            if key not in KEYS:
                raise self.fail(f"unknown selector key; use one of {', '.join(KEYS)}", f"{path}.{key}", value)
            part = getattr(self, f"_{key}")(value, f"{path}.{key}")
            result = part if result is None else result & part
        assert result is not None
        return result

    def _way(self, value: Any, path: str) -> Selection:
        ids = value if isinstance(value, list) else [value]
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise self.fail("expected an OSM way id or a list of them (integers)", path, value)
        return Selection(_EdgeValues.of(self.G).with_value("osmid", {str(i) for i in ids}))

    def _node(self, value: Any, path: str) -> Selection:
        ids = value if isinstance(value, list) else [value]
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise self.fail("expected a node id or a list of them (integers)", path, value)
        return Selection(nodes={i for i in ids if i in self.G})

    def _check_tags(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict) or not value:
            raise self.fail("expected a table of tag = value (string, list of strings, true or false)", path, value)
        return value

    def _tags(self, value: Any, path: str) -> Selection:
        wanted = self._check_tags(value, path)
        values = _EdgeValues.of(self.G)
        edges: set[EdgeKey] | None = None
        for key, want in wanted.items():
            if want is True:
                part = values.with_value(key)
            elif want is False:
                part = self.all_edges() - values.with_value(key)
            else:
                part = values.with_value(key, {str(w) for w in (want if isinstance(want, list) else [want])})
            edges = part if edges is None else edges & part
        return Selection(edges or set())

    def _node_tags(self, value: Any, path: str) -> Selection:
        wanted = self._check_tags(value, path)
        return Selection(nodes={n for n, d in self.G.nodes(data=True) if _tags_match(d, wanted)})

    def _ref(self, value: Any, path: str) -> Selection:
        if not isinstance(value, str) or not value.strip():
            raise self.fail("expected a road reference such as 'M5'", path, value)
        want = _norm_ref(value)
        values = _EdgeValues.of(self.G)
        return Selection(set().union(*(
            edges for key in REF_KEYS for text, edges in values.index(key).items()
            if any(_norm_ref(tok) == want for tok in text.split(";")))))

    def _name(self, value: Any, path: str) -> Selection:
        if not isinstance(value, str) or not value.strip():
            raise self.fail("expected a (part of a) road name", path, value)
        want = value.casefold()
        values = _EdgeValues.of(self.G)
        return Selection(set().union(*(
            edges for key in values.name_keys() for text, edges in values.index(key).items()
            if want in text.casefold())))

    def _near(self, value: Any, path: str) -> Selection:
        if not isinstance(value, dict):
            raise self.fail("expected {lat, lon, radius_m} or {place, radius_m}", path, value)
        radius = value.get("radius_m")
        if isinstance(radius, bool) or not isinstance(radius, (int, float)) or radius <= 0:
            raise self.fail("radius_m must be a positive number of metres", f"{path}.radius_m", radius)
        if "place" in value:
            if self.catalogue is None:
                raise self.fail("a place needs a catalogue", f"{path}.place", value["place"])
            place = self.catalogue.place(str(value["place"]), file=self.file, field=f"{path}.place")
            lon, lat = place.lon, place.lat
        else:
            given_lat, given_lon = value.get("lat"), value.get("lon")
            if not (_is_number(given_lat) and _is_number(given_lon)):
                raise self.fail("expected numeric lat and lon (degrees) or a place", path, value)
            lat, lon = float(given_lat), float(given_lon)
        return _Frames.of(self.G).near(lon, lat, float(radius))

    def _within(self, value: Any, path: str) -> Selection:
        return _Frames.of(self.G).touching(area_from_spec(value, file=self.file, field=path))

    def _asset(self, value: Any, path: str) -> Selection:
        if self.catalogue is None:
            raise self.fail("an asset needs a catalogue", path, value)
        if not isinstance(value, str):
            raise self.fail("expected an asset key from the catalogue", path, value)
        asset = self.catalogue.asset(value, file=self.file, field=path)
        if asset.key in self.assets_in_progress:
            raise self.fail("asset refers to itself", path, value)
        self.assets_in_progress.add(asset.key)
        try:
            return self.resolve(asset.select, f"{path}({asset.key}).select")
        finally:
            self.assets_in_progress.discard(asset.key)

    def _list(self, value: Any, path: str) -> list[Selection]:
        if not isinstance(value, list) or not value:
            raise self.fail("expected a non-empty list of selectors", path, value)
        return [self.resolve(s, f"{path}[{i}]") for i, s in enumerate(value)]

    def _all(self, value: Any, path: str) -> Selection:
        parts = self._list(value, path)
        out = parts[0]
        for p in parts[1:]:
            out = out & p
        return out

    def _any(self, value: Any, path: str) -> Selection:
        out = Selection()
        for p in self._list(value, path):
            out = out | p
        return out

    def _not(self, value: Any, path: str) -> Selection:
        inner = self.resolve(value, path)
        return Selection(self.all_edges() - inner.edges, set(self.G.nodes) - inner.nodes)


def area_from_spec(value: Any, *, file: str | Path | None = None, field: str = "within") -> BaseGeometry:
    """A (multi)polygon in lon/lat degrees from ``[[lon, lat], ...]``, ``{bbox = [west, south,
    east, north]}`` or ``{file = "zones.geojson", where = {attribute = "value"}}`` (the union of
    the file's polygons that ``where`` selects; a relative path is relative to ``file``'s folder)."""
    area = validate_value(AREA, value, file=file, error=SelectorError, at=field)
    if isinstance(area, FileArea):
        path = expand_path(area.file, Path(file) if file is not None else None)
        return area_union(path, where=area.where, layer=area.layer, field=field)
    return box(*area.bbox) if isinstance(area, BBoxArea) else Polygon(area)


def select(G: nx.MultiDiGraph, selector: dict[str, Any], *, catalogue: Catalogue | None = None,
           file: str | Path | None = None, field: str = "select", allow_empty: bool = False) -> Selection:
    """Resolve ``selector`` on ``G``; raises SelectorError if it is malformed or (unless
    ``allow_empty``) matches nothing."""
    validate(Selector, selector, file=file, error=SelectorError, at=field)
    selection = _Resolver(G, catalogue, file).resolve(selector, field)
    if not selection and not allow_empty:
        raise SelectorError("matches nothing on this network", file=file, field=field, value=selector)
    return selection


def area_selection(G: nx.MultiDiGraph, area: BaseGeometry) -> Selection:
    """Edges intersecting and nodes inside ``area`` (lon/lat degrees)."""
    return _Frames.of(G).touching(area)
