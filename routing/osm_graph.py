"""Build an osmnx-compatible MultiDiGraph from :class:`~routing.osm_read.OsmData`.

Follows osmnx's conventions (node ``x``/``y``; edge ``osmid``, ``oneway``, ``reversed``,
``length`` in metres, ``geometry`` on simplified edges) so the result mixes with osmnx calls.
Differences, on purpose:

* ways that reference nodes missing from the file (clipped extracts) are trimmed to their
  runs of present nodes; runs shorter than two nodes are dropped; both are counted in
  ``G.graph["load_report"]``;
* simplification keeps bridges and tunnels as their own edges and border-control nodes as
  nodes, so they stay selectable (osmnx issue #1151).
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
import osmnx as ox
from shapely.geometry import Polygon, box
from shapely import contains_xy
import numpy as np

from .errors import NetworkLoadError
from .osm_read import OsmData
from .settings import CLASS_SETS, EDGE_TAGS, SIMPLIFY_EDGE_ATTRS_DIFFER, SIMPLIFY_NODE_ATTRS_INCLUDE

ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})  # as osmnx
REVERSED_VALUES = frozenset({"-1", "reverse", "T"})
EXCLUDED_ACCESS = frozenset({"private", "no"})


def resolve_classes(road_classes: str | Iterable[str]) -> frozenset[str]:
    """A named class set ("drive", "major", "drive_service") or an explicit list of highway values."""
    if isinstance(road_classes, str):
        if road_classes not in CLASS_SETS:
            raise NetworkLoadError(f"unknown road class set; use one of {sorted(CLASS_SETS)} or a list",
                                   field="road_classes", value=road_classes)
        return CLASS_SETS[road_classes]
    return frozenset(road_classes)


def is_drivable(tags: dict[str, str], classes: frozenset[str]) -> bool:
    """True when a way's tags make it a drivable road of one of ``classes``."""
    return (
        tags.get("highway") in classes
        and tags.get("area") != "yes"
        and tags.get("access") not in EXCLUDED_ACCESS
        and tags.get("motor_vehicle") != "no"
        and tags.get("motorcar") != "no"
    )


def clip_area(clip: Polygon | tuple[float, float, float, float] | None) -> Polygon | None:
    """A clip polygon from a polygon or a (west, south, east, north) bbox in degrees."""
    if clip is None or isinstance(clip, Polygon):
        return clip
    west, south, east, north = clip
    if not (west < east and south < north):
        raise NetworkLoadError("bbox must be (west, south, east, north) with west<east, south<north",
                               field="bbox", value=tuple(clip))
    return box(west, south, east, north)


def build_graph(data: OsmData, *, road_classes: str | Iterable[str] = "drive", simplify: bool = True,
                clip: Polygon | tuple[float, float, float, float] | None = None) -> nx.MultiDiGraph:
    """Build the drivable road graph of ``data``; see the module docstring for conventions."""
    classes = resolve_classes(road_classes)
    area = clip_area(clip)
    coords = data.node_coords
    if area is not None:
        ids = np.fromiter(coords.keys(), dtype=np.int64, count=len(coords))
        xy = np.array(list(coords.values()), dtype=float).reshape(-1, 2)
        inside = contains_xy(area, xy[:, 0], xy[:, 1]) if len(ids) else np.zeros(0, bool)
        coords = {int(i): (float(x), float(y)) for i, (x, y), keep in zip(ids, xy, inside) if keep}

    G = nx.MultiDiGraph(crs="epsg:4326", created_with=f"corridor-routing (osmnx {ox.__version__} conventions)",
                        source=data.source)
    report = {"ways_read": len(data.ways), "ways_drivable": 0, "ways_trimmed": 0, "ways_dropped_missing_nodes": 0}
    for way_id, refs, tags in data.ways:
        if not is_drivable(tags, classes):
            continue
        report["ways_drivable"] += 1
        runs = _present_runs(refs, coords)
        if len(runs) != 1 or len(runs[0]) != len(refs):
            if runs:
                report["ways_trimmed"] += 1
            else:
                report["ways_dropped_missing_nodes"] += 1
        attrs = {k: v for k, v in tags.items() if k in EDGE_TAGS}
        oneway_tag = tags.get("oneway")
        oneway = oneway_tag in ONEWAY_VALUES or tags.get("junction") == "roundabout"
        is_reversed = oneway_tag in REVERSED_VALUES
        attrs["osmid"] = way_id
        attrs["oneway"] = oneway
        for run in runs:
            nodes = run[::-1] if is_reversed else run
            for nid in nodes:
                if nid not in G:
                    lon, lat = coords[nid]
                    G.add_node(nid, y=lat, x=lon, **data.node_tags.get(nid, {}))
            for u, v in zip(nodes[:-1], nodes[1:]):
                if u == v:
                    continue
                G.add_edge(u, v, **attrs, reversed=False)
                if not oneway:
                    G.add_edge(v, u, **attrs, reversed=True)
    if G.number_of_edges() == 0:
        raise NetworkLoadError(f"no drivable roads of classes {sorted(classes)} in the data"
                               + (" inside the clip area" if area is not None else ""), file=data.source)
    G = ox.distance.add_edge_lengths(G)
    if simplify:
        G = simplify_graph(G)
    G.graph["load_report"] = report
    if data.notice:
        G.graph["data_notice"] = data.notice
    G.graph["schematic"] = data.schematic
    return G


def simplify_graph(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """osmnx simplification that keeps bridges, tunnels and border-control nodes; sets street_count."""
    G = ox.simplify_graph(G, edge_attrs_differ=list(SIMPLIFY_EDGE_ATTRS_DIFFER),
                          node_attrs_include=list(SIMPLIFY_NODE_ATTRS_INCLUDE))
    nx.set_node_attributes(G, ox.stats.count_streets_per_node(G), name="street_count")
    return G


def _present_runs(refs: list[int], coords: dict[int, tuple[float, float]]) -> list[list[int]]:
    """Maximal runs (>= 2 nodes) of consecutive node refs that exist in ``coords``."""
    runs: list[list[int]] = []
    current: list[int] = []
    for nid in refs:
        if nid in coords:
            current.append(nid)
        else:
            if len(current) >= 2:
                runs.append(current)
            current = []
    if len(current) >= 2:
        runs.append(current)
    return runs
