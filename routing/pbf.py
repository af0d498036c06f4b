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

import struct
import sys
from collections.abc import Iterable
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


@dataclass
class _Runs:
    """Where each way's runs of present nodes are (see :func:`_runs`)."""

    way_of_ref: np.ndarray  # way index of each ref
    seg_ok: np.ndarray  # segment ref i -> i+1 lies inside a run, (R - 1,)
    run_start: np.ndarray  # segment i starts a run, (R - 1,)
    in_run: np.ndarray  # ref i belongs to a run of >= 2 present nodes, (R,)
    report: dict[str, int]


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


def _present(ways: RoadWays, area: Polygon | None) -> np.ndarray:
    """Per ref: the node is in the file and, with a clip area, inside it."""
    present = ~np.isnan(ways.lon)
    if area is not None:
        idx = np.flatnonzero(present)
        present[idx] = shapely.contains_xy(area, ways.lon[idx], ways.lat[idx])
    return present


def graph_from_ways(ways: RoadWays, *, simplify: bool = True,
                    clip: Polygon | tuple[float, float, float, float] | None = None) -> nx.MultiDiGraph:
    """Build the road graph of ``ways`` with array operations (see the module docstring).

    ``clip`` (a polygon or a (west, south, east, north) bbox, degrees) treats nodes outside it
    as missing, so ways crossing its border are trimmed like ways of a clipped extract.
    """
    area = clip_area(clip)
    runs = _runs(ways, _present(ways, area))
    refs = ways.refs
    node_ids, first_ref = np.unique(refs[runs.in_run], return_index=True)
    node_x = ways.lon[runs.in_run][first_ref]
    node_y = ways.lat[runs.in_run][first_ref]
    n_nodes = len(node_ids)

    # directed edges in the order build_graph adds them: way by way, run by run, along the
    # (possibly reversed) way, forward edge then its reverse for two-way roads
    seg = np.flatnonzero(runs.seg_ok & (refs[:-1] != refs[1:]))
    if seg.size == 0:
        raise NetworkLoadError("no drivable roads with two or more nodes in the file"
                               + (" inside the clip area" if area is not None else ""), file=ways.source)
    oneway_tag = [t.get("oneway") for t in ways.way_tags]
    way_oneway = np.array([v in ONEWAY_VALUES or t.get("junction") == "roundabout"
                           for v, t in zip(oneway_tag, ways.way_tags)], dtype=bool)
    way_reversed = np.array([v in REVERSED_VALUES for v in oneway_tag], dtype=bool)
    way = runs.way_of_ref[seg]
    a = np.searchsorted(node_ids, refs[seg])
    b = np.searchsorted(node_ids, refs[seg + 1])
    flip = way_reversed[way]
    u, v = np.where(flip, b, a), np.where(flip, a, b)
    run_id = np.cumsum(runs.run_start)[seg] - 1
    along = np.where(flip, -seg, seg)
    two = ~way_oneway[way]
    src = np.concatenate((u, v[two]))
    dst = np.concatenate((v, u[two]))
    e_way = np.concatenate((way, way[two]))
    e_rev = np.concatenate((np.zeros(len(u), dtype=bool), np.ones(int(two.sum()), dtype=bool)))
    order = np.lexsort((e_rev, np.concatenate((along, along[two])), np.concatenate((run_id, run_id[two]))))
    src, dst, e_way, e_rev = src[order], dst[order], e_way[order], e_rev[order]
    e_len = great_circle_m(node_y[src], node_x[src], node_y[dst], node_x[dst])

    pair_key = src * n_nodes + dst
    pairs, pair_first, pair_of_edge, pair_count = np.unique(pair_key, return_index=True, return_inverse=True,
                                                            return_counts=True)
    by_pair = np.argsort(pair_of_edge, kind="stable")
    e_key = np.empty(len(src), dtype=np.int64)  # multi-edge key: rank among edges u->v in insertion order
    e_key[by_pair] = np.arange(len(src)) - np.repeat(np.cumsum(pair_count) - pair_count, pair_count)

    graph = nx.MultiDiGraph(crs="epsg:4326", created_with=f"corridor-routing pbf (osmnx {ox.__version__} conventions)",
                            source=ways.source)
    builder = _EdgeBuilder(ways, way_oneway)
    if not simplify:
        graph.add_nodes_from(_node_attrs(ways, node_ids, node_x, node_y, np.ones(n_nodes, dtype=bool), None))
        graph.add_edges_from(builder.originals(node_ids[src], node_ids[dst], e_key, e_way, e_rev, e_len))
        graph.graph.update(load_report=runs.report, data_notice=OSM_COPYRIGHT, schematic=False)
        return graph

    endpoint = _endpoints(ways, node_ids, src, dst, e_way, pairs, n_nodes)
    chains = _chains(pairs, n_nodes, endpoint)
    keep = np.ones(n_nodes, dtype=bool)
    keep[chains.removed] = False
    keep &= ~_ring_nodes(pairs, n_nodes, endpoint)

    kept_e = np.flatnonzero(keep[src] & keep[dst])
    ch_keep = np.flatnonzero(keep[chains.origin] & keep[chains.dest])
    # key of a merged edge: after all original edges u->v, then earlier merged edges u->v
    c_key = chains.origin[ch_keep] * n_nodes + chains.dest[ch_keep]
    pos = np.minimum(np.searchsorted(pairs, c_key), len(pairs) - 1)
    originals_uv = np.where(pairs[pos] == c_key, pair_count[pos], 0)
    by_key = np.argsort(c_key, kind="stable")
    starts = np.searchsorted(c_key[by_key], c_key[by_key], side="left")
    c_rank = np.empty(len(ch_keep), dtype=np.int64)
    c_rank[by_key] = np.arange(len(ch_keep)) - starts
    chain_keys = originals_uv + c_rank

    pair_edge = pair_first[chains.pairs]  # the first edge of each merged pair carries its data
    chain_len = np.add.reduceat(e_len[pair_edge], chains.start) if chains.start.size else np.zeros(0)
    geometry = shapely.linestrings(np.column_stack((node_x[chains.seq], node_y[chains.seq])),
                                   indices=chains.seq_chain) if chains.start.size else np.zeros(0, dtype=object)
    edges_u = np.concatenate((src[kept_e], chains.origin[ch_keep]))
    edges_v = np.concatenate((dst[kept_e], chains.dest[ch_keep]))
    edges_k = np.concatenate((e_key[kept_e], chain_keys))
    street_count = _street_count(edges_u, edges_v, edges_k, n_nodes)

    graph.add_nodes_from(_node_attrs(ways, node_ids, node_x, node_y, keep, street_count))
    graph.add_edges_from(builder.originals(node_ids[src[kept_e]], node_ids[dst[kept_e]], e_key[kept_e],
                                           e_way[kept_e], e_rev[kept_e], e_len[kept_e]))
    graph.add_edges_from(builder.merged(chains, ch_keep, node_ids[chains.origin[ch_keep]],
                                        node_ids[chains.dest[ch_keep]], chain_keys, e_way[pair_edge],
                                        e_rev[pair_edge], chain_len, geometry))
    graph.graph.update(simplified=True, load_report=runs.report, data_notice=OSM_COPYRIGHT, schematic=False)
    return graph


def _endpoints(ways: RoadWays, node_ids: np.ndarray, src: np.ndarray, dst: np.ndarray, e_way: np.ndarray,
               pairs: np.ndarray, n_nodes: int) -> np.ndarray:
    """osmnx's endpoint rules (``simplification._is_endpoint``) for every node at once.

    A node is an endpoint when it has no in- or no out-edges, when it does not have exactly
    two neighbours with 2 or 4 incident directed edges, when it carries one of
    ``SIMPLIFY_NODE_ATTRS_INCLUDE``, or when its edges differ in one of
    ``SIMPLIFY_EDGE_ATTRS_DIFFER``. (osmnx's self-loop rule never fires: edges u->u are skipped.)
    """
    in_deg = np.bincount(dst, minlength=n_nodes)
    out_deg = np.bincount(src, minlength=n_nodes)
    lo, hi = _undirected(pairs, n_nodes)
    neighbours = np.bincount(lo, minlength=n_nodes) + np.bincount(hi, minlength=n_nodes)
    degree = in_deg + out_deg
    endpoint = (in_deg == 0) | (out_deg == 0) | ~((neighbours == 2) & ((degree == 2) | (degree == 4)))
    tagged = [nid for nid, tags in ways.node_tags.items() if any(k in tags for k in SIMPLIFY_NODE_ATTRS_INCLUDE)]
    if tagged:
        tagged_ids = np.asarray(tagged, dtype=np.int64)
        pos = np.minimum(np.searchsorted(node_ids, tagged_ids), n_nodes - 1)
        endpoint[pos[node_ids[pos] == tagged_ids]] = True
    classes: dict[tuple[str | None, ...], int] = {}
    way_class = np.array([classes.setdefault(tuple(t.get(k) for k in SIMPLIFY_EDGE_ATTRS_DIFFER), len(classes))
                          for t in ways.way_tags], dtype=np.int64)
    e_class = way_class[e_way]
    low = np.full(n_nodes, len(classes), dtype=np.int64)
    high = np.full(n_nodes, -1, dtype=np.int64)
    for ends in (src, dst):
        np.minimum.at(low, ends, e_class)
        np.maximum.at(high, ends, e_class)
    return endpoint | ((high >= 0) & (low != high))


def _undirected(pairs: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct undirected node pairs (lo < hi) of the directed pairs ``u * n + v``."""
    u, v = pairs // n_nodes, pairs % n_nodes
    keys = np.unique(np.minimum(u, v) * n_nodes + np.maximum(u, v))
    return keys // n_nodes, keys % n_nodes


@dataclass
class _Chains:
    """Paths between endpoints through interstitial nodes, as osmnx's ``_get_paths_to_simplify``.

    Chain ``c`` runs over directed pairs ``pairs[start[c]:end[c]]`` (indices into the unique
    pair array) from node ``origin[c]`` to ``dest[c]``; its node sequence is
    ``seq[seq_chain == c]``. ``removed`` are the interstitial nodes osmnx deletes.
    """

    pairs: np.ndarray
    start: np.ndarray
    end: np.ndarray
    origin: np.ndarray
    dest: np.ndarray
    seq: np.ndarray
    seq_chain: np.ndarray
    removed: np.ndarray


def _chains(pairs: np.ndarray, n_nodes: int, endpoint: np.ndarray) -> _Chains:
    """Find every chain by linking each pair u->v (v interstitial) to v->w, w v's other neighbour.

    A chain starts at a pair leaving an endpoint and ends at a pair entering an endpoint (or,
    as in osmnx, at an interstitial node where the next pair does not exist). Chains are ranked
    by pointer jumping (O(P log L) array operations); pairs of isolated rings never reach a
    start and are left out, as osmnx leaves them (and then removes the rings).
    """
    n_pairs = len(pairs)
    psrc, pdst = pairs // n_nodes, pairs % n_nodes
    lo, hi = _undirected(pairs, n_nodes)
    nb_node = np.concatenate((lo, hi))
    nb_other = np.concatenate((hi, lo))
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
    idx = np.arange(n_pairs, dtype=np.int64)
    anc = np.where(prev >= 0, prev, idx)
    rank = (prev >= 0).astype(np.int64)
    active = np.flatnonzero(prev >= 0)
    for _ in range(n_pairs.bit_length() + 1):
        if active.size == 0:
            break
        up = anc[active]
        rank[active] = rank[active] + rank[up]
        anc[active] = anc[up]
        active = active[anc[active] != anc[anc[active]]]
    head = anc
    member = (prev[head] < 0) & endpoint[psrc[head]] & ~endpoint[pdst[head]]
    mem = np.flatnonzero(member)
    mem = mem[np.lexsort((rank[mem], head[mem]))]
    new_chain = np.concatenate(([True], head[mem][1:] != head[mem][:-1])) if mem.size else np.zeros(0, bool)
    start = np.flatnonzero(new_chain)
    end = np.concatenate((start[1:], [mem.size])).astype(np.int64)
    chain_of = np.cumsum(new_chain) - 1
    origin, dest = psrc[mem[start]], pdst[mem[end - 1]]
    seq = np.empty(mem.size + start.size, dtype=np.int64)
    seq[start + np.arange(start.size)] = origin
    seq[np.arange(mem.size) + chain_of + 1] = pdst[mem]
    seq_chain = np.repeat(np.arange(start.size), end - start + 1)
    not_last = np.ones(mem.size, dtype=bool)
    not_last[end - 1] = False
    return _Chains(mem, start, end, origin, dest, seq, seq_chain, pdst[mem[not_last]])


def _ring_nodes(pairs: np.ndarray, n_nodes: int, endpoint: np.ndarray) -> np.ndarray:
    """Nodes of weakly connected components without any endpoint (osmnx ``remove_rings``)."""
    lo, hi = _undirected(pairs, n_nodes)
    adjacency = coo_matrix((np.ones(len(lo), dtype=np.int8), (lo, hi)), shape=(n_nodes, n_nodes))
    n_comp, label = connected_components(adjacency, directed=False)
    has_endpoint = np.bincount(label, weights=endpoint, minlength=n_comp) > 0
    return ~has_endpoint[label]


def _street_count(u: np.ndarray, v: np.ndarray, key: np.ndarray, n_nodes: int) -> np.ndarray:
    """``osmnx.stats.count_streets_per_node``: u->v and v->u with the same key are one street;
    a node with self-loops counts 2 for them."""
    loop = u == v
    n_keys = int(key.max(initial=0)) + 1
    streets = np.unique((np.minimum(u, v) * n_nodes + np.maximum(u, v))[~loop] * n_keys + key[~loop]) // n_keys
    return (2 * np.bincount(np.unique(u[loop]), minlength=n_nodes)
            + np.bincount(streets // n_nodes, minlength=n_nodes) + np.bincount(streets % n_nodes, minlength=n_nodes))


def _node_attrs(ways: RoadWays, node_ids: np.ndarray, x: np.ndarray, y: np.ndarray, keep: np.ndarray,
                street_count: np.ndarray | None) -> Iterable[tuple[int, dict]]:
    """(node id, attributes) of the kept nodes: ``y``, ``x`` (degrees), kept tags, ``street_count``."""
    tags = ways.node_tags
    idx = np.flatnonzero(keep)
    counts = street_count[idx].tolist() if street_count is not None else None
    for i, (nid, xi, yi) in enumerate(zip(node_ids[idx].tolist(), x[idx].tolist(), y[idx].tolist())):
        attrs = {"y": yi, "x": xi, **tags.get(nid, {})}
        if counts is not None:
            attrs["street_count"] = counts[i]
        yield nid, attrs


class _EdgeBuilder:
    """Edge attribute dicts as osmnx builds them: way tags, osmid, oneway, reversed, length."""

    def __init__(self, ways: RoadWays, way_oneway: np.ndarray):
        self.tags = ways.way_tags
        self.ids = ways.way_ids.tolist()
        self.oneway = way_oneway.tolist()

    def _base(self, way: int, rev: bool) -> dict:
        return {**self.tags[way], "osmid": self.ids[way], "oneway": self.oneway[way], "reversed": rev}

    def originals(self, u: np.ndarray, v: np.ndarray, key: np.ndarray, way: np.ndarray, rev: np.ndarray,
                  length: np.ndarray) -> Iterable[tuple[int, int, int, dict]]:
        """Unmerged edges (u, v, key, data), ``u``/``v`` as node ids."""
        for ui, vi, ki, w, r, ln in zip(u.tolist(), v.tolist(), key.tolist(), way.tolist(), rev.tolist(),
                                        length.tolist()):
            yield ui, vi, ki, {**self._base(w, r), "length": ln}

    def merged(self, chains: _Chains, which: np.ndarray, u: np.ndarray, v: np.ndarray, keys: np.ndarray,
               pair_way: np.ndarray, pair_rev: np.ndarray, length: np.ndarray,
               geometry: np.ndarray) -> Iterable[tuple[int, int, int, dict]]:
        """Merged edges (u, v, key, data) of chains ``which``: the attributes of the chain's pairs,
        a single value where all agree, else ``list(set(values))`` (osmnx); ``length`` summed."""
        ways_l, revs_l = pair_way.tolist(), pair_rev.tolist()
        start_l, end_l = chains.start.tolist(), chains.end.tolist()
        length_l = length.tolist()
        for c, ui, vi, ki in zip(which.tolist(), u.tolist(), v.tolist(), keys.tolist()):
            s, e = start_l[c], end_l[c]
            combos = dict.fromkeys(zip(ways_l[s:e], revs_l[s:e]))
            if len(combos) == 1:
                data = self._base(*next(iter(combos)))
            else:
                values: dict[str, list] = {}
                for w, r in combos:
                    for k, val in self._base(w, r).items():
                        values.setdefault(k, []).append(val)
                data = {k: vals[0] if len(set(vals)) == 1 else list(set(vals)) for k, vals in values.items()}
            data["length"] = length_l[c]
            data["geometry"] = geometry[c]
            yield ui, vi, ki, data
