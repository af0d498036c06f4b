"""Every network source -> an osmnx-compatible MultiDiGraph, enriched for routing.

Sources: Overpass (through osmnx, for a bbox, polygon or place name), an OSM XML file, an
Overpass JSON dump, an OSM PBF file, or a GraphML file saved earlier. Every returned graph
carries on each edge ``length`` (m), ``speed_kph``, ``travel_time`` (s) and ``capacity``
(vehicles/hour, one direction), and in ``G.graph``: ``source``, ``schematic`` (True for the
project's schematic demo network, never OpenStreetMap data) and ``data_notice``.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import networkx as nx
import osmnx as ox
from shapely.geometry import Polygon

from . import osm_graph, osm_read
from .errors import NetworkLoadError
from .settings import EDGE_TAGS, FALLBACK_CLASS, NODE_TAGS, ROAD_CLASSES, RoadClass

OSM_COPYRIGHT = "© OpenStreetMap contributors, ODbL 1.0"


def load_network(source: str | Path | nx.MultiDiGraph, *, road_classes: str | Iterable[str] = "drive",
                 bbox: tuple[float, float, float, float] | None = None, polygon: Polygon | None = None,
                 simplify: bool = True, cache: bool = True) -> nx.MultiDiGraph:
    """Load a road network and enrich it (length, speed_kph, travel_time, capacity).

    ``source`` is a file path (``.osm``/``.osm.gz``/``.xml``, ``.json``, ``.osm.pbf``/``.pbf``,
    ``.graphml``), ``"overpass"`` (needs ``bbox`` or ``polygon``), ``"geofabrik:asia/syria"`` (download a Geofabrik extract
    into the cache, then load it), ``"place:<name>"`` (Overpass
    for a geocoded place), or an existing graph (only enriched). ``road_classes`` is ``"drive"``,
    ``"major"`` or a list of ``highway`` values; ``bbox`` (west, south, east, north, degrees)
    or ``polygon`` clip file sources and select the Overpass area. ``cache`` keeps the graph
    built from a PBF file in ``settings.cache_dir()`` (see :mod:`routing.graph_cache`).
    """
    if isinstance(source, nx.MultiDiGraph):
        return enrich(source)
    text = str(source)
    if text == "overpass":
        return graph_from_overpass(bbox=bbox, polygon=polygon, road_classes=road_classes, simplify=simplify)
    if text.startswith("place:"):
        return graph_from_overpass(place=text.removeprefix("place:").strip(), road_classes=road_classes,
                                   simplify=simplify)
    if text.startswith("geofabrik:"):
        from .geofabrik import download_extract

        text = str(download_extract(text.removeprefix("geofabrik:").strip()))
    path = Path(text)
    name = path.name.lower()
    clip = polygon if polygon is not None else bbox
    if name.endswith(".graphml"):
        return load_graphml(path)
    if name.endswith((".osm.pbf", ".pbf")):
        from . import pbf  # compiled reader, imported only when needed

        return enrich(pbf.load_pbf(path, road_classes=road_classes, clip=clip, simplify=simplify, cache=cache))
    if name.endswith(".json"):
        data = osm_read.read_overpass_json(path)
    elif name.endswith((".osm", ".osm.gz", ".xml", ".osm.xml")):
        data = osm_read.read_osm_xml(path)
    else:
        raise NetworkLoadError("unknown network format; expected .osm, .osm.gz, .xml, .json (Overpass), "
                               ".osm.pbf or .graphml", file=path)
    G = osm_graph.build_graph(data, road_classes=road_classes, simplify=simplify, clip=clip)
    return enrich(G)


# ---------------------------------------------------------------- enrichment

def _first_number(value: object) -> float | None:
    """The first number in one OSM tag value (``"2"``, ``"50 mph"``); None if there is none."""
    if value is None:
        return None
    match = re.search(r"\d+(?:\.\d+)?", str(value))
    return float(match.group()) if match else None


def road_class(highway: object) -> tuple[str, RoadClass]:
    """The (highway value, defaults) of an edge; a list (merged ways) takes its highest known class,
    so the answer does not depend on the list's order."""
    values = highway if isinstance(highway, list) else [highway]
    for name, cls in ROAD_CLASSES.items():  # ordered from motorway down
        if name in values:
            return name, cls
    return (str(sorted(map(str, values))[0]) if values else "unknown"), FALLBACK_CLASS


def maxspeed_kph(value: object) -> float | None:
    """Parse an OSM ``maxspeed`` value (``"80"``, ``"50 mph"``) to km/h; a list (merged ways) gives
    the mean of its usable values, as osmnx does; None if unusable."""
    if isinstance(value, list):
        speeds = [v for v in (maxspeed_kph(item) for item in value) if v is not None]
        return sum(speeds) / len(speeds) if speeds else None
    number = _first_number(value)
    if number is None or number <= 0:
        return None
    return number * 1.609344 if "mph" in str(value) else number


def edge_capacity_vph(data: dict, per_lane_vph: dict[str, float] | None = None) -> float:
    """Capacity of one directed edge (vehicles/hour): lanes in this direction x per-lane capacity.

    ``lanes`` on a two-way road counts both directions; half of it (at least one) is used.
    ``per_lane_vph`` overrides the class default per lane (vehicles/hour/lane) by highway value.
    """
    name, cls = road_class(data.get("highway"))
    per_lane = (per_lane_vph or {}).get(name, cls.capacity_per_lane_vph)
    lanes_tag = data.get("lanes")
    known = [n for n in (_first_number(v) for v in (lanes_tag if isinstance(lanes_tag, list) else [lanes_tag]))
             if n is not None]
    lanes = min(known) if known else None  # a merged edge is as wide as its narrowest way
    if lanes is None or lanes <= 0:
        per_direction = cls.lanes_per_direction
    elif data.get("oneway") in (True, "True", "true", "yes"):
        per_direction = max(1, int(lanes))
    else:
        per_direction = max(1, math.ceil(lanes / 2))
    return float(per_direction * per_lane)


def enrich(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Add ``speed_kph``, ``travel_time`` (s) and ``capacity`` (veh/h) to every edge, in place.

    Speed is the edge's ``maxspeed`` where tagged, else its class default (settings.ROAD_CLASSES).
    """
    if G.number_of_edges() == 0:
        raise NetworkLoadError("the graph has no edges", file=G.graph.get("source"))
    for _, _, data in G.edges(data=True):
        if "length" not in data:
            raise NetworkLoadError("edge without 'length' attribute; not an osmnx graph?",
                                   file=G.graph.get("source"))
        _, cls = road_class(data.get("highway"))
        speed = maxspeed_kph(data.get("maxspeed")) or cls.speed_kph
        data["speed_kph"] = float(speed)
        data["travel_time"] = float(data["length"]) / (speed / 3.6)
        data["capacity"] = edge_capacity_vph(data)
    G.graph.setdefault("schematic", False)
    G.graph.setdefault("crs", "epsg:4326")
    return G


def apply_capacity_overrides(G: nx.MultiDiGraph, per_lane_vph: dict[str, float]) -> None:
    """Recompute edge ``capacity`` (veh/h) with per-lane capacities overridden by highway class."""
    for _, _, data in G.edges(data=True):
        data["capacity"] = edge_capacity_vph(data, per_lane_vph)
    G.graph["capacity_overrides_vph_per_lane"] = dict(per_lane_vph)


# ---------------------------------------------------------------- GraphML

def load_graphml(path: str | Path) -> nx.MultiDiGraph:
    """Load a GraphML saved by :func:`save_graphml` (or osmnx) and enrich it."""
    path = Path(path)
    osm_read._require_file(path)
    try:
        G = ox.load_graphml(path, edge_dtypes={"capacity": float, "speed_kph": float, "travel_time": float,
                                                "layer": str, "lanes": str},
                            graph_dtypes={"schematic": lambda s: s == "True"})
    except Exception as exc:  # lxml/networkx raise many types for a corrupt file
        raise NetworkLoadError(f"not a readable GraphML file: {exc}", file=path) from exc
    if not isinstance(G, nx.MultiDiGraph) or len(G) == 0:
        raise NetworkLoadError("GraphML holds no road graph", file=path)
    return enrich(G)


def save_graphml(G: nx.MultiDiGraph, path: str | Path) -> Path:
    """Save a graph as GraphML atomically (temp file + rename)."""
    from .atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        H = G.copy()
        H.graph.pop("load_report", None)
        ox.save_graphml(H, tmp)
    return path


# ---------------------------------------------------------------- Overpass (through osmnx)

@contextlib.contextmanager
def _osmnx_tags() -> Iterator[None]:
    """Temporarily make osmnx keep the way and node tags selectors need."""
    saved = (ox.settings.useful_tags_way, ox.settings.useful_tags_node)
    ox.settings.useful_tags_way = sorted(set(saved[0]) | set(EDGE_TAGS))
    ox.settings.useful_tags_node = sorted(set(saved[1]) | set(NODE_TAGS))
    try:
        yield
    finally:
        ox.settings.useful_tags_way, ox.settings.useful_tags_node = saved


def overpass_filter(classes: frozenset[str]) -> str:
    """An Overpass way filter for the given highway classes (drivable, no private access)."""
    alternation = "|".join(sorted(classes))
    return (f'["highway"~"^({alternation})$"]["area"!~"yes"]["access"!~"private|no"]'
            f'["motor_vehicle"!~"no"]["motorcar"!~"no"]')


def graph_from_overpass(*, bbox: tuple[float, float, float, float] | None = None,
                        polygon: Polygon | None = None, place: str | None = None,
                        road_classes: str | Iterable[str] = "drive", simplify: bool = True) -> nx.MultiDiGraph:
    """Download a road graph from Overpass through osmnx (osmnx's cache applies: ox.settings.use_cache).

    Simplification is ours (bridges and border controls kept separate), so osmnx downloads the
    unsimplified graph.
    """
    classes = osm_graph.resolve_classes(road_classes)
    custom_filter = overpass_filter(classes)
    with _osmnx_tags():
        if place is not None:
            G = ox.graph_from_place(place, custom_filter=custom_filter, simplify=False, retain_all=True)
            source = f"overpass: place {place!r}"
        elif polygon is not None:
            G = ox.graph_from_polygon(polygon, custom_filter=custom_filter, simplify=False, retain_all=True)
            source = f"overpass: polygon {polygon.bounds}"
        elif bbox is not None:
            osm_graph.clip_area(bbox)  # validates the order of the four numbers
            G = ox.graph_from_bbox(tuple(bbox), custom_filter=custom_filter, simplify=False, retain_all=True)
            source = f"overpass: bbox {tuple(bbox)}"
        else:
            raise NetworkLoadError("Overpass needs a bbox, a polygon or a place", field="network.source",
                                   value="overpass")
    for n, data in G.nodes(data=True):
        if data.get("barrier") not in osm_read.KEPT_BARRIERS:
            data.pop("barrier", None)
    if simplify:
        G = osm_graph.simplify_graph(G)
    G.graph.update(source=source, data_notice=OSM_COPYRIGHT, schematic=False)
    return enrich(G)
