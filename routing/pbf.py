"""OSM PBF extracts -> osmnx-compatible road graph, fast and lean enough for a whole country.

Reader: **pyosmium** (Python bindings of libosmium, binary wheels on PyPI). Chosen because its
C++ decoder reads PBF blocks on worker threads, its tag filters run in C++ so buildings,
land use and footpaths never reach Python, it keeps a compact node-location index (16 bytes a
node) and it hands each way's coordinates over in one call (WKB). pyrosm, the other compiled
reader on PyPI, decodes a whole file into (Geo)DataFrames at once and has no streaming filter.

Pipeline (one pass over the file, then numpy):

1. :func:`read_pbf` streams the file once: ways with ``highway`` in the requested classes that
   are drivable (:func:`routing.osm_graph.is_drivable`), their node ids, the coordinates of
   every referenced node (NaN where the node is missing from a clipped extract), the kept tags
   (``settings.EDGE_TAGS``) and the kept node tags (border controls, traffic signals...).
2. :func:`graph_from_ways` builds the graph with array operations and reproduces, edge for
   edge, what :func:`routing.osm_graph.build_graph` makes with networkx and
   ``osmnx.simplify_graph``: ways trimmed to their runs of present nodes (and counted), one-way
   and reversed ways as osmnx, great-circle lengths (haversine, earth radius 6,371,009 m, as
   osmnx), osmnx's endpoint rules plus bridges/tunnels/layer/highway changes and kept barrier
   nodes (osmnx issue #1151), merged edges with a LineString ``geometry`` and list values where
   merged ways differ, isolated rings removed, ``street_count`` as osmnx counts it.

The graph is osmnx-compatible: ``crs``; nodes ``x``, ``y`` (degrees), ``street_count``; edges
``osmid``, ``oneway`` (bool), ``reversed``, ``length`` (m), ``geometry`` on merged edges and
the ``EDGE_TAGS`` tags. ``G.graph["load_report"]`` counts read, drivable, trimmed and dropped
ways. :func:`load_pbf` adds the persistent cache (:mod:`routing.graph_cache`).
"""

from __future__ import annotations

import contextlib
import gc
import struct
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import osmnx as ox
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import Polygon

from . import graph_cache
from .errors import NetworkLoadError
from .osm_graph import ONEWAY_VALUES, REVERSED_VALUES, clip_area, is_drivable, resolve_classes
from .osm_read import _require_file, kept_node_tags
from .settings import EDGE_TAGS, NODE_TAGS, SIMPLIFY_EDGE_ATTRS_DIFFER, SIMPLIFY_NODE_ATTRS_INCLUDE

# Bump when the graph this module builds changes: cached graphs of older versions are rebuilt.
CODE_VERSION = "pbf-1"
EARTH_RADIUS_M = ox.distance.EARTH_RADIUS_M  # 6,371,009 m, as osmnx
LOCATION_INDEX = "sparse_mem_array"  # 16 bytes per node of the file, independent of id range
OSM_COPYRIGHT = "© OpenStreetMap contributors, ODbL 1.0"
_FILTER_KEYS = ("area", "motor_vehicle", "motorcar")  # tags is_drivable reads besides EDGE_TAGS
_WAY_KEYS = tuple(dict.fromkeys(EDGE_TAGS + _FILTER_KEYS))
_WKB_HEADER = 9  # WKB LineString: byte order (1), geometry type (4), point count (4), then x/y doubles


@dataclass
class RoadWays:
    """The drivable ways of a PBF file as flat arrays.

    Way ``i`` has id ``way_ids[i]``, kept tags ``way_tags[i]`` and node ids
    ``refs[offsets[i]:offsets[i + 1]]``; ``lon``/``lat`` (degrees, WGS84) are given per entry of
    ``refs`` and are NaN where the node is missing from the file (clipped extract).
    """

    source: str
    way_ids: np.ndarray  # int64, (W,)
    way_tags: list[dict[str, str]]
    offsets: np.ndarray  # int64, (W + 1,)
    refs: np.ndarray  # int64, (R,)
    lon: np.ndarray  # float64, (R,)
    lat: np.ndarray  # float64, (R,)
    node_tags: dict[int, dict[str, str]]  # kept tags of tagged nodes (settings.NODE_TAGS)
    ways_read: int  # ways of the requested highway classes in the file, drivable or not


# ---------------------------------------------------------------- reading

def read_pbf(path: str | Path, road_classes: str | Iterable[str] = "drive") -> RoadWays:
    """Stream a PBF file once and return its drivable ways of ``road_classes`` (see module doc).

    Raises :class:`NetworkLoadError` naming the file when it is missing, empty, not PBF,
    corrupt or truncated, or holds no drivable way of the requested classes.
    """
    path = Path(path)
    _require_file(path)
    classes = resolve_classes(road_classes)
    way_filter = osmium.filter.TagFilter(*(("highway", c) for c in sorted(classes)))
    way_filter.enable_for(osmium.osm.WAY)
    node_filter = osmium.filter.KeyFilter(*NODE_TAGS)
    node_filter.enable_for(osmium.osm.NODE)
    wkb = osmium.geom.WKBFactory()
    all_nodes = osmium.geom.use_nodes.ALL
    intern = sys.intern
    way_ids: list[int] = []
    way_tags: list[dict[str, str]] = []
    counts: list[int] = []
    refs: list[int] = []
    coords = bytearray()  # WKB LineStrings of all ways, back to back
    node_tags: dict[int, dict[str, str]] = {}
    ways_read = 0
    try:
        processor = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
                     .with_locations(osmium.index.create_map(LOCATION_INDEX))
                     .with_filter(way_filter).with_filter(node_filter))
        for obj in processor:
            if obj.is_node():
                get = obj.tags.get
                kept = kept_node_tags({k: v for k in NODE_TAGS if (v := get(k)) is not None})
                if kept:
                    node_tags[obj.id] = kept
                continue
            ways_read += 1
            get = obj.tags.get
            tags = {k: intern(v) for k in _WAY_KEYS if (v := get(k)) is not None}
            if not is_drivable(tags, classes):
                continue
            nodes = obj.nodes
            n = len(nodes)
            if n == 0:
                continue
            way_ids.append(obj.id)
            way_tags.append({k: v for k, v in tags.items() if k not in _FILTER_KEYS})
            counts.append(n)
            refs.extend([node.ref for node in nodes])
            try:
                coords += bytes.fromhex(wkb.create_linestring(nodes, all_nodes))
            except (osmium.InvalidLocationError, RuntimeError):  # a node outside the extract, or 1 node
                coords += _wkb_with_gaps(nodes)
    except RuntimeError as exc:  # libosmium: PBF decoding errors, truncated blocks, not a PBF file
        raise NetworkLoadError(f"not a readable OSM PBF file (corrupt or truncated?): {exc}", file=path) from exc
    if not way_ids:
        raise NetworkLoadError(f"no drivable ways of classes {sorted(classes)} in the file"
                               + ("" if ways_read else " (is it an OSM PBF extract?)"), file=path)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    lon, lat = _parse_wkb(bytes(coords), np.asarray(counts, dtype=np.int64))
    return RoadWays(source=str(path), way_ids=np.asarray(way_ids, dtype=np.int64), way_tags=way_tags,
                    offsets=offsets, refs=np.asarray(refs, dtype=np.int64), lon=lon, lat=lat,
                    node_tags=node_tags, ways_read=ways_read)


def _wkb_with_gaps(nodes: osmium.osm.WayNodeList) -> bytes:
    """A little-endian WKB LineString of all ``nodes``, NaN where a location is missing."""
    flat: list[float] = []
    for node in nodes:
        loc = node.location
        flat.extend((loc.lon, loc.lat) if loc.valid() else (np.nan, np.nan))
    return struct.pack(f"<BII{len(flat)}d", 1, 2, len(nodes), *flat)


def _parse_wkb(buf: bytes, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split back-to-back WKB LineStrings with ``counts`` points each into lon, lat arrays."""
    sizes = _WKB_HEADER + 16 * counts
    if int(sizes.sum()) != len(buf):
        raise RuntimeError("internal error: WKB buffer does not match the way node counts")
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    raw = np.frombuffer(buf, dtype=np.uint8)
    if not (raw[starts] == 1).all():
        raise RuntimeError("internal error: big-endian WKB from pyosmium")
    keep = np.ones(len(buf), dtype=bool)
    keep[(starts[:, None] + np.arange(_WKB_HEADER)).ravel()] = False
    xy = raw[keep].view("<f8").reshape(-1, 2)
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])


# ---------------------------------------------------------------- graph building

def great_circle_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Haversine distance in metres, the same formula and radius as ``osmnx.distance.great_circle``."""
    y1, y2 = np.deg2rad(lat1), np.deg2rad(lat2)
    x1, x2 = np.deg2rad(lon1), np.deg2rad(lon2)
    h = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin((x2 - x1) / 2) ** 2
    return 2 * np.arcsin(np.sqrt(np.minimum(1, h))) * EARTH_RADIUS_M


def graph_from_ways(ways: RoadWays, *, simplify: bool = True,
                    clip: Polygon | tuple[float, float, float, float] | None = None) -> nx.MultiDiGraph:
    """Build the road graph of ``ways`` with array operations (see the module docstring).

    ``clip`` (a polygon or a (west, south, east, north) bbox, degrees) treats nodes outside it
    as missing, so ways crossing its border are trimmed like ways of a clipped extract.
    """
    area = clip_area(clip)
    runs = _runs(ways, _present(ways, area))
    nodes = _Nodes.of(ways, runs.in_run)
    edges = _directed_edges(ways, runs, nodes)
    if edges.src.size == 0:
        raise NetworkLoadError("no drivable road with two distinct nodes in the file"
                               + (" inside the clip area" if area is not None else ""), file=ways.source)
    graph = nx.MultiDiGraph(crs="epsg:4326", source=ways.source,
                            created_with=f"corridor-routing pbf (osmnx {ox.__version__} conventions)")
    everything = np.arange(edges.src.size)
    if not simplify:
        with _gc_paused():
            graph.add_nodes_from(_node_attrs(ways, nodes, np.ones(nodes.n, dtype=bool), None))
            _add_edges(graph, _original_edges(ways, nodes, edges, everything))
        graph.graph.update(load_report=runs.report, data_notice=OSM_COPYRIGHT, schematic=False)
        return graph

    lo, hi = _undirected(edges.pairs, nodes.n)
    endpoint = _endpoints(ways, nodes, edges, lo, hi)
    chains = _chains(edges.pairs, nodes.n, endpoint, lo, hi)
    keep = np.ones(nodes.n, dtype=bool)
    keep[chains.removed] = False
    keep &= ~_ring_nodes(nodes.n, endpoint, lo, hi)
    kept_edges = np.flatnonzero(keep[edges.src] & keep[edges.dst])
    kept_chains = np.flatnonzero(keep[chains.origin] & keep[chains.dest])
    chain_keys = _merged_keys(chains, kept_chains, edges, nodes.n)
    street_count = _street_count(np.concatenate((edges.src[kept_edges], chains.origin[kept_chains])),
                                 np.concatenate((edges.dst[kept_edges], chains.dest[kept_chains])),
                                 np.concatenate((edges.key[kept_edges], chain_keys)), nodes.n)
    with _gc_paused():
        graph.add_nodes_from(_node_attrs(ways, nodes, keep, street_count))
        _add_edges(graph, _original_edges(ways, nodes, edges, kept_edges))
        _add_edges(graph, _merged_edges(ways, nodes, edges, chains, kept_chains, chain_keys))
    graph.graph.update(simplified=True, load_report=runs.report, data_notice=OSM_COPYRIGHT, schematic=False)
    return graph


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic dicts are created: otherwise
    its repeated full scans take most of the time of building a national graph."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _Runs:
    """Where each way's runs of present nodes are (see :func:`_runs`)."""

    way_of_ref: np.ndarray  # way index of each ref, (R,)
    seg_ok: np.ndarray  # segment ref i -> i+1 lies inside a run, (R - 1,)
    run_start: np.ndarray  # segment i starts a run, (R - 1,)
    in_run: np.ndarray  # ref i belongs to a run of >= 2 present nodes, (R,)
    report: dict[str, int]


def _present(ways: RoadWays, area: Polygon | None) -> np.ndarray:
    """Per ref: the node is in the file and, with a clip area, inside it."""
    present = ~np.isnan(ways.lon)
    if area is not None:
        idx = np.flatnonzero(present)
        present[idx] = shapely.contains_xy(area, ways.lon[idx], ways.lat[idx])
    return present


def _runs(ways: RoadWays, present: np.ndarray) -> _Runs:
    """Trim ways to their maximal runs (>= 2 nodes) of present nodes and count, as build_graph."""
    n_ways = len(ways.way_ids)
    way_of_ref = np.repeat(np.arange(n_ways, dtype=np.int64), np.diff(ways.offsets))
    seg_ok = (way_of_ref[:-1] == way_of_ref[1:]) & present[:-1] & present[1:]
    run_start = seg_ok & ~np.concatenate(([False], seg_ok[:-1]))
    runs = np.bincount(way_of_ref[:-1][run_start], minlength=n_ways)
    missing = np.bincount(way_of_ref[~present], minlength=n_ways)
    complete = (runs == 1) & (missing == 0)
    in_run = np.zeros(len(present), dtype=bool)
    in_run[:-1] |= seg_ok
    in_run[1:] |= seg_ok
    report = {"ways_read": ways.ways_read, "ways_drivable": n_ways,
              "ways_trimmed": int(((runs > 0) & ~complete).sum()),
              "ways_dropped_missing_nodes": int((runs == 0).sum())}
    return _Runs(way_of_ref, seg_ok, run_start, in_run, report)


@dataclass
class _Nodes:
    """Graph nodes: OSM ids (sorted) and coordinates (degrees); arrays elsewhere index into them."""

    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, ways: RoadWays, in_run: np.ndarray) -> _Nodes:
        """Every node on a run of a way."""
        ids, first = np.unique(ways.refs[in_run], return_index=True)
        return cls(ids, ways.lon[in_run][first], ways.lat[in_run][first])


@dataclass
class _Edges:
    """Directed edges of the unsimplified graph, in the order build_graph adds them.

    ``src``/``dst`` index :class:`_Nodes`; ``key`` is the networkx multi-edge key; edges with
    the same (src, dst) form a pair: ``pairs`` holds ``src * n + dst`` sorted, ``pair_first``
    the first edge of each pair and ``pair_count`` how many edges it has.
    """

    src: np.ndarray
    dst: np.ndarray
    way: np.ndarray
    rev: np.ndarray  # the edge runs against the way's (oneway-corrected) direction
    length: np.ndarray  # metres
    key: np.ndarray
    pairs: np.ndarray
    pair_first: np.ndarray
    pair_count: np.ndarray
    way_oneway: np.ndarray  # per way


def _directed_edges(ways: RoadWays, runs: _Runs, nodes: _Nodes) -> _Edges:
    """Edges way by way, run by run, along the way (reversed for ``oneway=-1``), each forward
    edge followed by its reverse on two-way roads; segments u->u are skipped, as build_graph."""
    refs = ways.refs
    oneway_tag = [t.get("oneway") for t in ways.way_tags]
    way_oneway = np.array([v in ONEWAY_VALUES or t.get("junction") == "roundabout"
                           for v, t in zip(oneway_tag, ways.way_tags)], dtype=bool)
    way_reversed = np.array([v in REVERSED_VALUES for v in oneway_tag], dtype=bool)
    seg = np.flatnonzero(runs.seg_ok & (refs[:-1] != refs[1:]))
    way = runs.way_of_ref[seg]
    a, b = np.searchsorted(nodes.ids, refs[seg]), np.searchsorted(nodes.ids, refs[seg + 1])
    flip = way_reversed[way]
    u, v = np.where(flip, b, a), np.where(flip, a, b)
    run_id = np.cumsum(runs.run_start)[seg] - 1
    along = np.where(flip, -seg, seg)
    two = ~way_oneway[way]
    src, dst = np.concatenate((u, v[two])), np.concatenate((v, u[two]))
    e_way = np.concatenate((way, way[two]))
    e_rev = np.concatenate((np.zeros(len(u), dtype=bool), np.ones(int(two.sum()), dtype=bool)))
    order = np.lexsort((e_rev, np.concatenate((along, along[two])), np.concatenate((run_id, run_id[two]))))
    src, dst, e_way, e_rev = src[order], dst[order], e_way[order], e_rev[order]
    length = great_circle_m(nodes.y[src], nodes.x[src], nodes.y[dst], nodes.x[dst])
    pairs, first, pair_of_edge, count = np.unique(src * nodes.n + dst, return_index=True, return_inverse=True,
                                                  return_counts=True)
    key = np.empty(len(src), dtype=np.int64)  # rank among the edges u->v, in insertion order
    key[np.argsort(pair_of_edge, kind="stable")] = np.arange(len(src)) - np.repeat(np.cumsum(count) - count, count)
    return _Edges(src, dst, e_way, e_rev, length, key, pairs, first, count, way_oneway)


def _undirected(pairs: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct undirected node pairs (lo < hi) of the directed pairs ``u * n + v``."""
    u, v = pairs // n_nodes, pairs % n_nodes
    keys = _unique(np.minimum(u, v) * n_nodes + np.maximum(u, v))
    return keys // n_nodes, keys % n_nodes


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: faster than numpy 2's hash-based ``np.unique`` here)."""
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if ordered.size else ordered


def _endpoints(ways: RoadWays, nodes: _Nodes, edges: _Edges, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """osmnx's endpoint rules (``simplification._is_endpoint``) for every node at once.

    A node is an endpoint when it has no in- or no out-edges, when it does not have exactly
    two neighbours with 2 or 4 incident directed edges, when it carries one of
    ``SIMPLIFY_NODE_ATTRS_INCLUDE``, or when its edges differ in one of
    ``SIMPLIFY_EDGE_ATTRS_DIFFER``. (osmnx's self-loop rule never fires: edges u->u are skipped.)
    """
    n = nodes.n
    in_deg, out_deg = np.bincount(edges.dst, minlength=n), np.bincount(edges.src, minlength=n)
    neighbours = np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)
    degree = in_deg + out_deg
    endpoint = (in_deg == 0) | (out_deg == 0) | ~((neighbours == 2) & ((degree == 2) | (degree == 4)))
    tagged = [nid for nid, tags in ways.node_tags.items() if any(k in tags for k in SIMPLIFY_NODE_ATTRS_INCLUDE)]
    if tagged:
        tagged_ids = np.asarray(tagged, dtype=np.int64)
        pos = np.minimum(np.searchsorted(nodes.ids, tagged_ids), n - 1)
        endpoint[pos[nodes.ids[pos] == tagged_ids]] = True
    classes: dict[tuple[str | None, ...], int] = {}
    way_class = np.array([classes.setdefault(tuple(t.get(k) for k in SIMPLIFY_EDGE_ATTRS_DIFFER), len(classes))
                          for t in ways.way_tags], dtype=np.int64)
    e_class = way_class[edges.way]
    low, high = np.full(n, len(classes), dtype=np.int64), np.full(n, -1, dtype=np.int64)
    for ends in (edges.src, edges.dst):
        np.minimum.at(low, ends, e_class)
        np.maximum.at(high, ends, e_class)
    return endpoint | ((high >= 0) & (low != high))


@dataclass
class _Chains:
    """Paths between endpoints through interstitial nodes, as osmnx's ``_get_paths_to_simplify``.

    Chain ``c`` is the directed pairs ``pairs[start[c]:end[c]]`` (indices into the unique pair
    array), from node ``origin[c]`` to node ``dest[c]``; its node sequence is
    ``seq[seq_start[c]:seq_start[c + 1]]``. ``removed`` are the interstitial nodes osmnx deletes.
    """

    pairs: np.ndarray
    start: np.ndarray
    end: np.ndarray
    origin: np.ndarray
    dest: np.ndarray
    seq: np.ndarray
    seq_chain: np.ndarray  # chain index of each entry of seq
    removed: np.ndarray


def _chains(pairs: np.ndarray, n_nodes: int, endpoint: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> _Chains:
    """Find every chain by linking each pair u->v (v interstitial) to v->w, w v's other neighbour.

    A chain starts at a pair leaving an endpoint and ends at a pair entering an endpoint (or,
    as in osmnx, at an interstitial node where the next pair does not exist). Chains are ranked
    by pointer jumping (O(P log L) array operations); pairs of isolated rings never reach a
    start and are left out, as osmnx leaves them (and then removes the rings).
    """
    n_pairs = len(pairs)
    psrc, pdst = pairs // n_nodes, pairs % n_nodes
    nb_node, nb_other = np.concatenate((lo, hi)), np.concatenate((hi, lo))
    by_node = np.argsort(nb_node, kind="stable")
    nb_other = nb_other[by_node]
    first_nb = np.searchsorted(nb_node[by_node], np.arange(n_nodes))

    entering = np.flatnonzero(~endpoint[pdst])  # interstitial nodes have exactly two neighbours
    via, came_from = pdst[entering], psrc[entering]
    n0, n1 = nb_other[first_nb[via]], nb_other[first_nb[via] + 1]
    nxt_key = via * n_nodes + np.where(n0 == came_from, n1, n0)
    pos = np.minimum(np.searchsorted(pairs, nxt_key), n_pairs - 1)
    linked = pairs[pos] == nxt_key
    prev = np.full(n_pairs, -1, dtype=np.int64)
    prev[pos[linked]] = entering[linked]

    # pointer jumping: anc -> the chain's first pair, rank -> position in the chain
    anc = np.where(prev >= 0, prev, np.arange(n_pairs, dtype=np.int64))
    rank = (prev >= 0).astype(np.int64)
    active = np.flatnonzero(prev >= 0)
    for _ in range(n_pairs.bit_length() + 1):
        if active.size == 0:
            break
        up = anc[active]
        rank[active] = rank[active] + rank[up]
        anc[active] = anc[up]
        active = active[anc[active] != anc[anc[active]]]
    member = np.flatnonzero((prev[anc] < 0) & endpoint[psrc[anc]] & ~endpoint[pdst[anc]])
    member = member[np.lexsort((rank[member], anc[member]))]
    head = anc[member]
    new_chain = np.concatenate(([True], head[1:] != head[:-1]))[: member.size]
    start = np.flatnonzero(new_chain)
    end = np.append(start[1:], member.size)
    origin, dest = psrc[member[start]], pdst[member[end - 1]]
    seq = np.empty(member.size + start.size, dtype=np.int64)
    seq[start + np.arange(start.size)] = origin
    seq[np.arange(member.size) + np.cumsum(new_chain)] = pdst[member]
    not_last = np.ones(member.size, dtype=bool)
    not_last[end - 1] = False
    return _Chains(member, start, end, origin, dest, seq, np.repeat(np.arange(start.size), end - start + 1),
                   pdst[member[not_last]])


def _ring_nodes(n_nodes: int, endpoint: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Nodes of weakly connected components without any endpoint (osmnx ``remove_rings``)."""
    adjacency = coo_matrix((np.ones(len(lo), dtype=np.int8), (lo, hi)), shape=(n_nodes, n_nodes))
    n_comp, label = connected_components(adjacency, directed=False)
    has_endpoint = np.bincount(label, weights=endpoint, minlength=n_comp) > 0
    return ~has_endpoint[label]


def _merged_keys(chains: _Chains, which: np.ndarray, edges: _Edges, n_nodes: int) -> np.ndarray:
    """networkx keys of merged edges: after every original edge u->v, then earlier merged ones."""
    uv = chains.origin[which] * n_nodes + chains.dest[which]
    pos = np.minimum(np.searchsorted(edges.pairs, uv), len(edges.pairs) - 1)
    originals = np.where(edges.pairs[pos] == uv, edges.pair_count[pos], 0)
    order = np.argsort(uv, kind="stable")
    rank = np.empty(len(uv), dtype=np.int64)
    rank[order] = np.arange(len(uv)) - np.searchsorted(uv[order], uv[order], side="left")
    return originals + rank


def _street_count(u: np.ndarray, v: np.ndarray, key: np.ndarray, n_nodes: int) -> np.ndarray:
    """``osmnx.stats.count_streets_per_node``: u->v and v->u with the same key are one street;
    a node with self-loops counts 2 for them."""
    loop = u == v
    n_keys = int(key.max(initial=0)) + 1
    streets = _unique((np.minimum(u, v) * n_nodes + np.maximum(u, v))[~loop] * n_keys + key[~loop]) // n_keys
    return (2 * np.bincount(_unique(u[loop]), minlength=n_nodes)
            + np.bincount(streets // n_nodes, minlength=n_nodes) + np.bincount(streets % n_nodes, minlength=n_nodes))


# ---------------------------------------------------------------- networkx objects

_EdgeTuple = tuple[int, int, int, dict]


def _node_attrs(ways: RoadWays, nodes: _Nodes, keep: np.ndarray,
                street_count: np.ndarray | None) -> Iterator[tuple[int, dict]]:
    """(node id, attributes) of the kept nodes: ``y``, ``x`` (degrees), kept tags, ``street_count``."""
    tags = ways.node_tags
    idx = np.flatnonzero(keep)
    rows = zip(nodes.ids[idx].tolist(), nodes.x[idx].tolist(), nodes.y[idx].tolist())
    if street_count is None:
        for nid, x, y in rows:
            yield nid, {"y": y, "x": x, **tags.get(nid, {})}
    else:
        for (nid, x, y), count in zip(rows, street_count[idx].tolist()):
            yield nid, {"y": y, "x": x, **tags.get(nid, {}), "street_count": count}


def _edge_data(ways: RoadWays, oneway: list[bool]) -> Callable[[int, bool], dict]:
    """``data(way, reversed)``: a new dict of the way's kept tags, ``osmid``, ``oneway``, ``reversed``."""
    tags, ids = ways.way_tags, ways.way_ids.tolist()

    def data(way: int, rev: bool) -> dict:
        return {**tags[way], "osmid": ids[way], "oneway": oneway[way], "reversed": rev}

    return data


def _original_edges(ways: RoadWays, nodes: _Nodes, edges: _Edges, which: np.ndarray) -> Iterator[_EdgeTuple]:
    """Unmerged edges (u, v, key, data) with their ``length`` (m)."""
    data = _edge_data(ways, edges.way_oneway.tolist())
    for u, v, k, w, r, length in zip(nodes.ids[edges.src[which]].tolist(), nodes.ids[edges.dst[which]].tolist(),
                                     edges.key[which].tolist(), edges.way[which].tolist(),
                                     edges.rev[which].tolist(), edges.length[which].tolist()):
        d = data(w, r)
        d["length"] = length
        yield u, v, k, d


def _merged_edges(ways: RoadWays, nodes: _Nodes, edges: _Edges, chains: _Chains, which: np.ndarray,
                  keys: np.ndarray) -> Iterator[_EdgeTuple]:
    """Merged edges (u, v, key, data) of chains ``which``, as osmnx's ``simplify_graph``.

    Each pair of a chain contributes the data of its first edge; an attribute keeps a single
    value where all pairs agree, else ``list(set(values))``; ``length`` is summed (m) and
    ``geometry`` is the LineString through the chain's nodes (degrees).
    """
    if which.size == 0:
        return
    pair_edge = edges.pair_first[chains.pairs]
    combo = edges.way[pair_edge] * 2 + edges.rev[pair_edge]  # (way, reversed) of each pair
    uniform = np.minimum.reduceat(combo, chains.start) == np.maximum.reduceat(combo, chains.start)
    length = np.add.reduceat(edges.length[pair_edge], chains.start)
    seq_keep = np.isin(chains.seq_chain, which)
    geometry = shapely.linestrings(np.column_stack((nodes.x[chains.seq[seq_keep]], nodes.y[chains.seq[seq_keep]])),
                                   indices=np.searchsorted(which, chains.seq_chain[seq_keep]))
    data = _edge_data(ways, edges.way_oneway.tolist())
    combo_l, start_l, end_l = combo.tolist(), chains.start.tolist(), chains.end.tolist()
    for c, u, v, k, flat, ln, geom in zip(which.tolist(), nodes.ids[chains.origin[which]].tolist(),
                                          nodes.ids[chains.dest[which]].tolist(), keys.tolist(),
                                          uniform[which].tolist(), length[which].tolist(), geometry):
        if flat:
            d = data(combo_l[start_l[c]] >> 1, bool(combo_l[start_l[c]] & 1))
        else:
            values: dict[str, list] = {}
            for cmb in dict.fromkeys(combo_l[start_l[c]:end_l[c]]):
                for name, value in data(cmb >> 1, bool(cmb & 1)).items():
                    values.setdefault(name, []).append(value)
            d = {name: vals[0] if len(set(vals)) == 1 else list(set(vals)) for name, vals in values.items()}
        d["length"] = ln
        d["geometry"] = geom
        yield u, v, k, d


def _add_edges(graph: nx.MultiDiGraph, edges: Iterable[_EdgeTuple]) -> None:
    """Add (u, v, key, data) edges whose nodes are in ``graph``, keeping ``data`` as the edge's
    attribute dict (networkx's add_edges_from copies every dict through views, 5x slower)."""
    add_edge = graph.add_edge
    for u, v, k, d in edges:
        add_edge(u, v, k, **d)
