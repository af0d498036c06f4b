"""Every network source -> an osmnx-compatible MultiDiGraph, enriched for routing.

Sources: an OSM file (``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``), an Overpass JSON answer
(``.json``), Overpass itself (a bbox, polygon or place name), a Geofabrik extract by name, a
GraphML file saved earlier, or a graph already in memory. All but GraphML and graphs go through
the same arrays (:class:`~routing.network.osm_file.RoadWays`) and the one builder
(:mod:`routing.network.build`). Every returned graph carries on each edge ``length`` (m),
``speed_kph``, ``travel_time`` (s) and ``capacity`` (vehicles/hour, one direction), and in
``G.graph``: ``source``, ``schematic`` (True for the project's schematic demo network, never
OpenStreetMap data) and ``data_notice``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
from shapely.geometry import Polygon

from ..errors import NetworkLoadError
from ..settings import OSM_COPYRIGHT, SCHEMATIC_BANNER
from . import cache as graph_cache
from .arrays import ARRAYS_VERSION, NetworkArrays
from .attributes import enrich
from .build import CODE_VERSION, GraphTables, graph_tables
from .classes import BBox, clip_area, resolve_classes
from .graphml import load_graphml
from .osm_file import file_format, read_osm_file, require_file
from .overpass import download_road_ways, read_overpass_json


def load_network(source: str | Path | nx.MultiDiGraph, *, road_classes: str | Iterable[str] = "drive",
                 bbox: BBox | None = None, polygon: Polygon | None = None,
                 simplify: bool = True, cache: bool = True) -> nx.MultiDiGraph:
    """Load a road network and enrich it (length, speed_kph, travel_time, capacity).

    Parameters
    ----------
    source
        A file path (``.osm``/``.osm.gz``/``.osm.bz2``/``.xml``, ``.osm.pbf``, ``.json`` from
        Overpass, ``.graphml``), ``"overpass"`` (needs ``bbox`` or ``polygon``),
        ``"place:<name>"`` (Overpass for a geocoded place), ``"geofabrik:asia/syria"`` (a
        Geofabrik extract, downloaded into the cache), or a graph (only enriched).
    road_classes
        ``"drive"``, ``"major"``, ``"drive_service"`` or a list of ``highway`` values.
    bbox, polygon
        (west, south, east, north) in degrees, or a polygon in lon/lat: clip file sources and
        select the Overpass area.
    simplify
        Merge chains of pass-through nodes (bridges, tunnels and border controls stay apart).
    cache
        Keep the graph built from an OSM file in ``settings.cache_dir()`` (see
        :mod:`routing.network.cache`).

    Returns
    -------
    networkx.MultiDiGraph
        osmnx-compatible, enriched; ``G.graph["load_report"]`` counts the ways read and trimmed.
    """
    if isinstance(source, nx.MultiDiGraph):
        return enrich(source)
    text = str(source)
    clip = polygon if polygon is not None else bbox
    if text in ("overpass",) or text.startswith("place:"):
        place = text.removeprefix("place:").strip() if text.startswith("place:") else None
        ways, area, _ = download_road_ways(bbox=bbox, polygon=polygon, place=place, road_classes=road_classes)
        ways.notice = OSM_COPYRIGHT
        return enrich(graph_tables(ways, clip=area, simplify=simplify).to_graph())
    if text.startswith("geofabrik:"):
        from .geofabrik import download_extract

        text = str(download_extract(text.removeprefix("geofabrik:").strip()))
    path = Path(text)
    name = path.name.lower()
    if name.endswith(".graphml"):
        return load_graphml(path)
    if name.endswith(".json"):
        return enrich(graph_tables(read_overpass_json(path, road_classes), clip=clip, simplify=simplify).to_graph())
    if file_format(path) is None:
        raise NetworkLoadError("unknown network format; expected .osm, .osm.gz, .osm.bz2, .xml, .osm.pbf, "
                               ".json (Overpass) or .graphml", file=path)
    G = load_osm_file(path, road_classes=road_classes, clip=clip, simplify=simplify, cache=cache, enriched=True)
    if G.number_of_edges() == 0:
        raise NetworkLoadError("the graph has no edges", file=str(path))
    return G


def load_osm_file(path: str | Path, *, road_classes: str | Iterable[str] = "drive",
                  clip: Polygon | BBox | None = None, simplify: bool = True, cache: bool = True,
                  cache_folder: str | Path | None = None, enriched: bool = False) -> nx.MultiDiGraph:
    """The drivable road graph of an OSM file (lengths in metres; speeds, travel times and
    capacities only when ``enriched``, as :func:`~routing.network.attributes.enrich` sets them).

    With ``cache`` the graph tables are stored in (and on the next call read from)
    ``cache_folder``, default ``settings.cache_dir() / "graphs"``, keyed by the file's SHA-256
    and these options; ``G.graph["cache"]`` says whether the cache was hit.
    """
    path = Path(path)
    require_file(path)
    classes = resolve_classes(road_classes)
    area = clip_area(clip)
    options, build = _tables_of(path, classes, area, simplify)
    if not cache:
        return build().to_graph(enriched=enriched)
    tables, entry = graph_cache.cached(path, options, build, kind=GraphTables, code_version=CODE_VERSION,
                                       folder=cache_folder)
    graph = tables.to_graph(enriched=enriched)
    graph.graph["cache"] = entry
    return graph


def _tables_of(path: Path, classes: frozenset[str], area: Polygon | None, simplify: bool
               ) -> tuple[dict[str, object], Callable[[], GraphTables]]:
    """The graph-cache options of the tables of ``path`` (road classes, clip area, simplify) and
    the function building them."""
    options = {"road_classes": sorted(classes), "clip": area.wkt if area is not None else None,
               "simplify": simplify}
    return options, lambda: graph_tables(read_osm_file(path, classes), clip=area, simplify=simplify)


@dataclass
class GraphLoader:
    """Builds the enriched graph of an OSM file on demand (picklable): from ``tables`` when they
    are in memory, else by :func:`load_osm_file` (a graph cache hit, normally)."""

    path: str
    road_classes: list[str]
    clip: Polygon | BBox | None
    simplify: bool
    cache: bool
    cache_folder: str | None
    tables: GraphTables | None = None

    def __call__(self) -> nx.MultiDiGraph:
        if self.tables is not None:
            return self.tables.to_graph(enriched=True)
        return load_osm_file(self.path, road_classes=self.road_classes, clip=self.clip, simplify=self.simplify,
                             cache=self.cache, cache_folder=self.cache_folder, enriched=True)


def load_osm_arrays(path: str | Path, *, road_classes: str | Iterable[str] = "drive",
                    clip: Polygon | BBox | None = None, simplify: bool = True, cache: bool = True,
                    cache_folder: str | Path | None = None) -> tuple[NetworkArrays, GraphLoader]:
    """The engine arrays of ``load_network(path)``'s graph, and a loader of that graph, without
    building it.

    With ``cache`` the arrays are stored beside the graph tables (same folder and key, plus the
    arrays version) and read back memory-mapped; a miss builds the tables (or reads them from the
    graph cache) and stores both. ``arrays`` equal ``graph_arrays(load_network(path))``.
    """
    path = Path(path)
    require_file(path)
    classes = resolve_classes(road_classes)
    area = clip_area(clip)
    loader = GraphLoader(str(path), sorted(classes), area, simplify, cache,
                         None if cache_folder is None else str(cache_folder))
    options, build_tables = _tables_of(path, classes, area, simplify)
    if not cache:
        loader.tables = build_tables()
        return loader.tables.network_arrays(), loader
    file_hash = graph_cache.file_sha256(path)

    def build() -> NetworkArrays:
        tables, _ = graph_cache.cached(path, options, build_tables, kind=GraphTables, code_version=CODE_VERSION,
                                       folder=cache_folder, file_hash=file_hash)
        loader.tables = tables
        return tables.network_arrays()

    arrays, _ = graph_cache.cached(path, options, build, kind=NetworkArrays,
                                   code_version=f"{CODE_VERSION}/{ARRAYS_VERSION}", folder=cache_folder,
                                   mmap_mode="r", file_hash=file_hash)
    return arrays, loader


def data_notice(G: nx.MultiDiGraph) -> str:
    """The notice every output made from ``G`` carries: the schematic banner, or the data licence."""
    if G.graph.get("schematic"):
        return SCHEMATIC_BANNER
    return str(G.graph.get("data_notice") or OSM_COPYRIGHT)
