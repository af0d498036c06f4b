"""The one graph builder: :class:`~routing.network.osm_file.RoadWays` arrays -> osmnx-compatible graph.

Every source (OSM XML, ``.osm.gz``, PBF, Overpass JSON) is read into the same arrays; this module
turns them into a ``MultiDiGraph`` with array operations, fast and lean enough for a whole
country, and reproduces, edge for edge, what ``osmnx.simplify_graph`` makes of the same roads
(checked against osmnx on real extracts by the tests): ways trimmed to their runs of present
nodes (and counted), one-way and reversed ways as osmnx, great-circle lengths (haversine, earth
radius 6,371,009 m, as osmnx), osmnx's endpoint rules plus bridges/tunnels/layer/highway changes
and kept barrier nodes (osmnx issue #1151), merged edges with a LineString ``geometry`` and list
values where merged ways differ, isolated rings removed, ``street_count`` as osmnx counts it.

The graph is osmnx-compatible: ``crs``; nodes ``x``, ``y`` (degrees), ``street_count``; edges
``osmid``, ``oneway`` (bool), ``reversed``, ``length`` (m), ``geometry`` on merged edges and
the ``EDGE_TAGS`` tags. ``G.graph["load_report"]`` counts read, drivable, trimmed and dropped
ways. :class:`GraphTables` is what the graph cache stores.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import osmium
import shapely
from osmium.osm.mutable import Node, Way
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import Polygon

from ..errors import NetworkLoadError
from ..files import atomic_path
from ..settings import SCHEMATIC_MARKER, SIMPLIFY_EDGE_ATTRS_DIFFER, SIMPLIFY_NODE_ATTRS_INCLUDE
from .arrays import SIGNALS, NetworkArrays, RecordTable
from .attributes import edge_capacity_vph, edge_speed_kph
from .classes import ONEWAY_VALUES, REVERSED_VALUES, BBox, clip_area
from .geometry import EdgeKey, great_circle_m
from .osm_file import RoadWays, read_osm_file
from .restrictions import member_ways, resolve_restrictions, store_restrictions, via_nodes

# Bump when the graph this module builds changes: cached graphs of older versions are rebuilt.
CODE_VERSION = "build-4"


def graph_tables(ways: RoadWays, *, clip: Polygon | BBox | None = None,
                 simplify: bool = True) -> GraphTables:
    """The graph of ``ways`` as tables, computed with array operations.

    ``clip`` (a polygon or a (west, south, east, north) bbox, degrees) treats nodes outside it
    as missing, so ways crossing its border are trimmed like ways of a clipped extract.
    """
    area = clip_area(clip)
    runs = _runs(ways, _present(ways, area))
    nodes = _Nodes.of(ways, runs)
    edges = _directed_edges(ways, runs, nodes)
    if edges.src.size == 0:
        raise NetworkLoadError("no drivable roads with two distinct nodes in the data"
                               + (" inside the clip area" if area is not None else ""), file=ways.source)
    if not simplify:
        return GraphTables.unmerged(ways, runs.report, nodes, np.ones(nodes.n, dtype=bool), None, edges,
                                    np.arange(edges.src.size))
    lo, hi = _undirected(edges.pairs, nodes.n)
    endpoint = _endpoints(ways, nodes, edges, lo, hi)
    chains = _chains(edges.pairs, nodes.n, endpoint, lo, hi)
    keep = np.ones(nodes.n, dtype=bool)
    keep[chains.removed] = False
    keep &= ~_ring_nodes(nodes.n, endpoint, lo, hi)
    kept_edges = np.flatnonzero(keep[edges.src] & keep[edges.dst])
    kept_chains = np.flatnonzero(keep[chains.origin] & keep[chains.dest])
    # osmnx adds merged edges endpoint by endpoint, each endpoint's successors in insertion order
    kept_chains = kept_chains[np.lexsort((edges.pair_first[chains.pairs[chains.start[kept_chains]]],
                                          nodes.rank[chains.origin[kept_chains]]))]
    chain_keys = _merged_keys(chains, kept_chains, edges, nodes.n)
    street_count = _street_count(np.concatenate((edges.src[kept_edges], chains.origin[kept_chains])),
                                 np.concatenate((edges.dst[kept_edges], chains.dest[kept_chains])),
                                 np.concatenate((edges.key[kept_edges], chain_keys)), nodes.n)
    tables = GraphTables.unmerged(ways, runs.report, nodes, keep, street_count, edges, kept_edges)
    tables.add_merged(nodes, edges, chains, kept_chains, chain_keys)
    return tables


def _release_freed_memory() -> None:
    """Hand the heap freed by the array phase back to the OS (glibc ``malloc_trim``).

    Python objects are allocated from their own arenas and cannot reuse that heap, so without
    this the graph phase's memory comes on top of it: about 10 % of the peak. No-op off glibc.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic dicts are created: its
    repeated scans of the growing heap would double the time of the graph phase."""
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
    """Graph nodes: OSM ids (sorted) and coordinates (degrees); arrays elsewhere index into them.
    ``rank`` is each node's position in the order osmnx's graph holds them: the order of first
    appearance along the ways' runs (a ``oneway=-1`` way read backwards), as networkx adds them."""

    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    rank: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)

    @classmethod
    def of(cls, ways: RoadWays, runs: _Runs) -> _Nodes:
        """Every node on a run of a way."""
        in_run = runs.in_run
        ids, first = np.unique(ways.refs[in_run], return_index=True)
        refs_at = np.flatnonzero(in_run)
        starts = np.ones(len(refs_at), dtype=bool)
        starts[1:] = ~runs.seg_ok[refs_at[1:] - 1]
        run_of_ref = np.cumsum(starts)
        along = np.where(_way_direction(ways)[1][runs.way_of_ref[refs_at]], -refs_at, refs_at)
        order = np.lexsort((along, run_of_ref))
        node_of_ref = np.searchsorted(ids, ways.refs[refs_at])
        first_seen = np.full(len(ids), len(refs_at), dtype=np.int64)
        np.minimum.at(first_seen, node_of_ref[order], np.arange(len(order)))
        rank = np.empty(len(ids), dtype=np.int64)
        rank[np.argsort(first_seen, kind="stable")] = np.arange(len(ids))
        return cls(ids, ways.lon[in_run][first], ways.lat[in_run][first], rank)


def _way_direction(ways: RoadWays) -> tuple[np.ndarray, np.ndarray]:
    """Per way: one-way (as osmnx reads ``oneway`` and roundabouts), and drawn against its
    direction (``oneway=-1``/``reverse``)."""
    oneway_tag = [t.get("oneway") for t in ways.way_tags]
    oneway = np.array([v in ONEWAY_VALUES or t.get("junction") == "roundabout"
                       for v, t in zip(oneway_tag, ways.way_tags)], dtype=bool)
    return oneway, np.array([v in REVERSED_VALUES for v in oneway_tag], dtype=bool)


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
    signals: np.ndarray  # traffic signals at the head node that apply in the edge's direction (0 or 1)
    key: np.ndarray
    pairs: np.ndarray
    pair_first: np.ndarray
    pair_count: np.ndarray
    way_oneway: np.ndarray  # per way


def _directed_edges(ways: RoadWays, runs: _Runs, nodes: _Nodes) -> _Edges:
    """Edges way by way, run by run, along the way (reversed for ``oneway=-1``), each forward
    edge followed by its reverse on two-way roads; segments u->u are skipped, as build_graph."""
    refs = ways.refs
    way_oneway, way_reversed = _way_direction(ways)
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
    seg_len = great_circle_m(nodes.y[a], nodes.x[a], nodes.y[b], nodes.x[b])  # symmetric in its ends
    order = np.lexsort((e_rev, np.concatenate((along, along[two])), np.concatenate((run_id, run_id[two]))))
    src, dst, e_way, e_rev = src[order], dst[order], e_way[order], e_rev[order]
    length = np.concatenate((seg_len, seg_len[two]))[order]
    signals = _signals_at_head(ways, nodes.ids[dst], e_rev == way_reversed[e_way])
    pairs, first, pair_of_edge, count = np.unique(src * nodes.n + dst, return_index=True, return_inverse=True,
                                                  return_counts=True)
    key = np.empty(len(src), dtype=np.int64)  # rank among the edges u->v, in insertion order
    key[np.argsort(pair_of_edge, kind="stable")] = np.arange(len(src)) - np.repeat(np.cumsum(count) - count, count)
    return _Edges(src, dst, e_way, e_rev, length, signals, key, pairs, first, count, way_oneway)


def _signals_at_head(ways: RoadWays, head: np.ndarray, along_drawn: np.ndarray) -> np.ndarray:
    """1 where an edge's head (OSM id) is a ``highway=traffic_signals`` node whose signal applies to
    the edge's direction (``along_drawn``: the edge runs the way's drawn direction), else 0.
    ``traffic_signals:direction`` (or ``direction``) ``forward``/``backward`` names the way
    direction the signal faces; anything else: both."""
    facing = {nid: tags.get("traffic_signals:direction") or tags.get("direction")
              for nid, tags in ways.node_tags.items() if tags.get("highway") == "traffic_signals"}
    if not facing:
        return np.zeros(len(head), dtype=np.int64)
    ids = np.fromiter(facing, dtype=np.int64, count=len(facing))
    forward_only = np.isin(head, ids[[facing[i] == "forward" for i in ids.tolist()]])
    backward_only = np.isin(head, ids[[facing[i] == "backward" for i in ids.tolist()]])
    at = np.isin(head, ids) & ~(forward_only & ~along_drawn) & ~(backward_only & along_drawn)
    return at.astype(np.int64)


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
    Turn restrictions keep their via nodes and the end nodes of their member ways, so a
    restriction still names whole edges of the simplified graph (:func:`restriction_nodes`).
    """
    n = nodes.n
    in_deg, out_deg = np.bincount(edges.dst, minlength=n), np.bincount(edges.src, minlength=n)
    neighbours = np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)
    degree = in_deg + out_deg
    endpoint = (in_deg == 0) | (out_deg == 0) | ~((neighbours == 2) & ((degree == 2) | (degree == 4)))
    tagged = [nid for nid, tags in ways.node_tags.items() if any(k in tags for k in SIMPLIFY_NODE_ATTRS_INCLUDE)]
    tagged += restriction_nodes(ways).tolist()
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


def restriction_nodes(ways: RoadWays) -> np.ndarray:
    """Node ids a turn restriction needs as graph nodes: its via nodes and the first and last node
    of every member way (so no member way is merged with a neighbouring way)."""
    members = np.fromiter(member_ways(ways.restrictions), dtype=np.int64)
    at = np.flatnonzero(np.isin(ways.way_ids, members))
    ends = np.concatenate((ways.refs[ways.offsets[at]], ways.refs[ways.offsets[at + 1] - 1]))
    return np.union1d(ends, np.fromiter(via_nodes(ways.restrictions), dtype=np.int64))


@dataclass
class _Chains:
    """Paths between endpoints through interstitial nodes, as osmnx's ``_get_paths_to_simplify``.

    Chain ``c`` is the directed pairs ``pairs[start[c]:end[c]]`` (indices into the unique pair
    array), from node ``origin[c]`` to node ``dest[c]``; its nodes are
    ``seq[start[c] + c:end[c] + c + 1]``. ``removed`` are the interstitial nodes osmnx deletes.
    """

    pairs: np.ndarray
    start: np.ndarray
    end: np.ndarray
    origin: np.ndarray
    dest: np.ndarray
    seq: np.ndarray
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
    end = np.append(start[1:], member.size).astype(np.int64)[: start.size]
    origin, dest = psrc[member[start]], pdst[member[end - 1]]
    seq = np.empty(member.size + start.size, dtype=np.int64)
    seq[start + np.arange(start.size)] = origin
    seq[np.arange(member.size) + np.cumsum(new_chain)] = pdst[member]
    not_last = np.ones(member.size, dtype=bool)
    not_last[end - 1] = False
    return _Chains(member, start, end, origin, dest, seq, pdst[member[not_last]])


def _ring_nodes(n_nodes: int, endpoint: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Nodes of weakly connected components without any endpoint (osmnx ``remove_rings``)."""
    adjacency = coo_matrix((np.ones(len(lo), dtype=np.int8), (lo, hi)), shape=(n_nodes, n_nodes))
    n_comp, label = connected_components(adjacency, directed=False)
    has_endpoint = np.bincount(label, weights=endpoint, minlength=n_comp) > 0
    return ~has_endpoint[label]


def _merged_keys(chains: _Chains, which: np.ndarray, edges: _Edges, n_nodes: int) -> np.ndarray:
    """networkx keys of merged edges: after every original edge u->v, then the merged edges u->v
    osmnx added earlier. osmnx walks an endpoint's successors in the order their first edge was
    added, so parallel chains are ranked by the insertion index of their first pair."""
    uv = chains.origin[which] * n_nodes + chains.dest[which]
    pos = np.minimum(np.searchsorted(edges.pairs, uv), len(edges.pairs) - 1)
    originals = np.where(edges.pairs[pos] == uv, edges.pair_count[pos], 0)
    order = np.lexsort((edges.pair_first[chains.pairs[chains.start[which]]], uv))
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


# ---------------------------------------------------------------- tables -> networkx

def _empty(dtype: type) -> Callable[[], np.ndarray]:
    return lambda: np.zeros(0, dtype=dtype)


@dataclass
class GraphTables:
    """A road graph as plain tables (what the cache stores): kept nodes, unmerged edges, merged
    edges, and the way data they refer to. Ids are OSM ids, coordinates degrees, lengths metres.

    Merged edge ``i`` takes the data of way ``m_way[i]`` (reversed: ``m_rev[i]``), or when it
    merges several ways, of each (way, reversed) in ``m_mixed[i]``; its geometry runs through
    ``m_npoints[i]`` consecutive points of ``m_x``/``m_y``.
    """

    source: str
    notice: str  # the data notice (licence, or the schematic network's label)
    report: dict[str, int]
    simplified: bool
    way_ids: np.ndarray
    way_tags: list[dict[str, str]]
    way_oneway: np.ndarray
    node_tags: dict[int, dict[str, str]]
    node_id: np.ndarray
    node_x: np.ndarray
    node_y: np.ndarray
    street_count: np.ndarray | None
    e_u: np.ndarray
    e_v: np.ndarray
    e_key: np.ndarray
    e_way: np.ndarray
    e_rev: np.ndarray
    e_len: np.ndarray
    e_signals: np.ndarray  # traffic signals each edge reaches (its head node, if one applies)
    m_u: np.ndarray = field(default_factory=_empty(np.int64))
    m_v: np.ndarray = field(default_factory=_empty(np.int64))
    m_key: np.ndarray = field(default_factory=_empty(np.int64))
    m_way: np.ndarray = field(default_factory=_empty(np.int64))
    m_rev: np.ndarray = field(default_factory=_empty(bool))
    m_len: np.ndarray = field(default_factory=_empty(np.float64))
    m_signals: np.ndarray = field(default_factory=_empty(np.int64))  # traffic signals along (interior, head)
    m_npoints: np.ndarray = field(default_factory=_empty(np.int64))
    m_x: np.ndarray = field(default_factory=_empty(np.float64))
    m_y: np.ndarray = field(default_factory=_empty(np.float64))
    m_mixed: dict[int, list[tuple[int, bool]]] = field(default_factory=dict)
    restrictions: list[dict[str, Any]] = field(default_factory=list)  # turn restriction records, as read

    @classmethod
    def unmerged(cls, ways: RoadWays, report: dict[str, int], nodes: _Nodes, keep: np.ndarray,
                 street_count: np.ndarray | None, edges: _Edges, which: np.ndarray) -> GraphTables:
        """Tables of the kept nodes (in osmnx's order) and of the unmerged edges ``which``."""
        kept = np.flatnonzero(keep)
        kept = kept[np.argsort(nodes.rank[kept], kind="stable")]
        kept_ids = nodes.ids[kept]
        tagged = np.fromiter(ways.node_tags, dtype=np.int64, count=len(ways.node_tags))
        node_tags = {n: ways.node_tags[n] for n in tagged[np.isin(tagged, kept_ids)].tolist()}
        return cls(ways.source, ways.notice, report, street_count is not None, ways.way_ids, ways.way_tags,
                   edges.way_oneway,
                   node_tags, kept_ids, nodes.x[kept], nodes.y[kept],
                   street_count[kept] if street_count is not None else None,
                   nodes.ids[edges.src[which]], nodes.ids[edges.dst[which]], edges.key[which], edges.way[which],
                   edges.rev[which], edges.length[which], edges.signals[which],
                   restrictions=list(ways.restrictions))

    def add_merged(self, nodes: _Nodes, edges: _Edges, chains: _Chains, which: np.ndarray,
                   keys: np.ndarray) -> None:
        """Merged edges of chains ``which``, as osmnx's ``simplify_graph``: each pair of a chain
        contributes the data of its first edge; ``length`` is summed; the geometry runs through
        the chain's nodes."""
        if which.size == 0:
            return
        pair_edge = edges.pair_first[chains.pairs]
        combo = edges.way[pair_edge] * 2 + edges.rev[pair_edge]  # (way, reversed) of each pair
        first = combo[chains.start[which]]
        mixed = np.flatnonzero(np.minimum.reduceat(combo, chains.start)[which]
                               != np.maximum.reduceat(combo, chains.start)[which])
        n_points = chains.end[which] - chains.start[which] + 1
        point_at = np.repeat(chains.start[which] + which - np.cumsum(n_points) + n_points, n_points)
        points = chains.seq[point_at + np.arange(int(n_points.sum()))]
        self.m_u, self.m_v = nodes.ids[chains.origin[which]], nodes.ids[chains.dest[which]]
        self.m_key, self.m_way, self.m_rev = keys, first >> 1, (first & 1).astype(bool)
        self.m_len = _sequential_sums(edges.length[pair_edge], chains.start[which], chains.end[which])
        total = np.concatenate(([0], np.cumsum(edges.signals[pair_edge])))
        self.m_signals = total[chains.end[which]] - total[chains.start[which]]
        self.m_npoints, self.m_x, self.m_y = n_points, nodes.x[points], nodes.y[points]
        starts, ends = chains.start[which[mixed]].tolist(), chains.end[which[mixed]].tolist()
        self.m_mixed = {i: [(c >> 1, bool(c & 1)) for c in dict.fromkeys(combo[s:e].tolist())]
                        for i, s, e in zip(mixed.tolist(), starts, ends)}

    @property
    def schematic(self) -> bool:
        """True when the source says it is a schematic network, not OpenStreetMap data."""
        return self.notice.lstrip().upper().startswith(SCHEMATIC_MARKER)

    def to_graph(self, *, enriched: bool = False) -> nx.MultiDiGraph:
        """The osmnx-compatible MultiDiGraph of these tables; ``enriched``: with the edge
        attributes :func:`~routing.network.attributes.enrich` adds (the same values, computed once
        per road record)."""
        _release_freed_memory()
        graph = nx.MultiDiGraph(crs="epsg:4326", source=self.source,
                                created_with=f"corridor-routing (osmnx {version('osmnx')} conventions)")
        with _gc_paused():
            self._fill(graph)
        if self.simplified:
            graph.graph["simplified"] = True
        graph.graph.update(load_report=dict(self.report), data_notice=self.notice, schematic=self.schematic)
        order, u, v = self._edge_order()
        applied, dropped = self._resolve_restrictions(order, u, v) if self.restrictions else ([], [])
        store_restrictions(graph.graph, len(self.restrictions), applied, dropped)
        if enriched:
            record, _, speed, capacity = self._road_records()
            record = record[order]
            length = np.concatenate((self.e_len, self.m_len))[order]
            with _gc_paused():
                for (_, _, d), s, t, c in zip(graph.edges(data=True), speed[record].tolist(),
                                              (length / (speed[record] / 3.6)).tolist(), capacity[record].tolist()):
                    d["speed_kph"], d["travel_time"], d["capacity"] = s, t, c
        return graph

    # ------------------------------------------------------------ the same graph as arrays

    def _node_index(self, ids: np.ndarray) -> np.ndarray:
        """Positions in ``node_id`` (the graph's node order) of the OSM node ids ``ids``."""
        order = np.argsort(self.node_id, kind="stable")
        return order[np.searchsorted(self.node_id[order], ids)]

    def _edge_order(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(order, u, v): the edges (unmerged, then merged, as :meth:`to_graph` adds them) in the
        order ``G.edges(keys=True)`` lists them, and every edge's tail and head node positions.

        networkx lists them tail by tail in node order, a tail's heads in the order their first
        edge was added, a pair's parallel edges in the order they were added."""
        u = self._node_index(np.concatenate((self.e_u, self.m_u)))
        v = self._node_index(np.concatenate((self.e_v, self.m_v)))
        _, first, pair = np.unique(u * len(self.node_id) + v, return_index=True, return_inverse=True)
        return np.lexsort((np.arange(len(u)), first[pair.ravel()], u)), u, v

    def resolved_restrictions(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The turn restrictions resolved on the graph of these tables (applied, dropped), exactly
        as :func:`routing.network.restrictions.attach_restrictions` resolves them on the graph."""
        return self._resolve_restrictions(*self._edge_order()) if self.restrictions else ([], [])

    def _resolve_restrictions(self, order: np.ndarray, u: np.ndarray, v: np.ndarray
                              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """:meth:`resolved_restrictions` with the edge order and ends of :meth:`_edge_order`."""
        n_plain = len(self.e_u)
        members = np.fromiter(member_ways(self.restrictions), dtype=np.int64)
        way = np.concatenate((self.way_ids[self.e_way], self.way_ids[self.m_way]))
        single = np.ones(len(way), dtype=bool)
        single[n_plain + np.fromiter(self.m_mixed, dtype=np.int64, count=len(self.m_mixed))] = False
        hits = np.flatnonzero(single & np.isin(way, members))
        pairs = [(int(e), int(w)) for e, w in zip(hits.tolist(), way[hits].tolist())]
        member_set = set(members.tolist())
        for i, combos in self.m_mixed.items():
            for w in dict.fromkeys(int(self.way_ids[c[0]]) for c in combos):
                if w in member_set:
                    pairs.append((n_plain + i, w))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        pairs.sort(key=lambda p: int(rank[p[0]]))
        keys = np.concatenate((self.e_key, self.m_key))
        ids, xs, ys = self.node_id, self.node_x, self.node_y
        at: dict[EdgeKey, int] = {}
        by_way: dict[int, list[EdgeKey]] = {}
        for e, w in pairs:
            key = (int(ids[u[e]]), int(ids[v[e]]), int(keys[e]))
            at[key] = e
            by_way.setdefault(w, []).append(key)
        starts = np.concatenate(([0], np.cumsum(self.m_npoints)))

        def line(edge: EdgeKey) -> list[tuple[float, float]]:
            e = at[edge]
            if e < n_plain:
                return [(float(xs[u[e]]), float(ys[u[e]])), (float(xs[v[e]]), float(ys[v[e]]))]
            s, t = int(starts[e - n_plain]), int(starts[e - n_plain + 1])
            return list(zip(self.m_x[s:t].tolist(), self.m_y[s:t].tolist()))

        vias = np.fromiter(via_nodes(self.restrictions), dtype=np.int64)
        present = set(vias[np.isin(vias, ids)].tolist())
        return resolve_restrictions(self.restrictions, by_way, present.__contains__, line)

    def network_arrays(self) -> NetworkArrays:
        """The engine arrays of :meth:`to_graph`'s graph after :func:`~routing.network.attributes.enrich`
        (the same nodes, edges, order and attributes), made without building the graph."""
        order, u, v = self._edge_order()
        record, records, speed, capacity = self._road_records()
        record = record[order]
        length = np.concatenate((self.e_len, self.m_len))[order]
        applied = self._resolve_restrictions(order, u, v)[0] if self.restrictions else []
        return NetworkArrays(self.source, self.node_id, self.node_x, self.node_y, u[order], v[order],
                             np.concatenate((self.e_key, self.m_key))[order], length,
                             length / (speed[record] / 3.6), capacity[record],
                             np.concatenate((self.e_signals, self.m_signals))[order], record, records, applied)

    def _road_records(self) -> tuple[np.ndarray, list[dict[str, Any]], np.ndarray, np.ndarray]:
        """(record of each edge, unmerged then merged; the distinct road records; their speed
        (km/h) and capacity (vehicles/hour) as :func:`~routing.network.attributes.enrich` sets them)."""
        n_plain = len(self.e_u)
        table = RecordTable()
        tags, oneway = self.way_tags, self.way_oneway.tolist()
        used = np.unique(np.concatenate((self.e_way, self.m_way)))
        way_record = np.zeros(len(tags), dtype=np.int64)
        way_record[used] = [table.id({**tags[w], "oneway": oneway[w]}) for w in used.tolist()]
        record = np.concatenate((way_record[self.e_way], way_record[self.m_way]))
        for i, combos in self.m_mixed.items():
            merged = _merge_values([{**tags[w], "oneway": oneway[w]} for w, _ in combos])
            record[n_plain + i] = table.id({k: sorted(x, key=str) if isinstance(x, list) else x
                                            for k, x in merged.items()})
        speed = np.empty(len(table.records))
        capacity = np.empty(len(table.records))
        for r, data in enumerate(table.records):  # as enrich() computes them
            speed[r] = edge_speed_kph(data)
            capacity[r] = edge_capacity_vph(data)
        return record, table.records, speed, capacity

    def _fill(self, graph: nx.MultiDiGraph) -> None:
        """Add the nodes, then the unmerged edges, then the merged edges (keys as osmnx gives them),
        then the traffic-signal counts of the edges that pass signals."""
        tags, ids, oneway = self.way_tags, self.way_ids.tolist(), self.way_oneway.tolist()

        def data(way: int, rev: bool) -> dict:
            return {**tags[way], "osmid": ids[way], "oneway": oneway[way], "reversed": rev}

        node_tags = self.node_tags
        rows = zip(self.node_id.tolist(), self.node_x.tolist(), self.node_y.tolist())
        if self.street_count is None:
            graph.add_nodes_from((n, {"y": y, "x": x, **node_tags.get(n, {})}) for n, x, y in rows)
        else:
            graph.add_nodes_from((n, {"y": y, "x": x, **node_tags.get(n, {}), "street_count": c})
                                 for (n, x, y), c in zip(rows, self.street_count.tolist()))
        add_edge = graph.add_edge  # add_edges_from copies each dict through views: 5x slower
        for part in _chunks(len(self.e_u)):
            for u, v, k, w, r, length in zip(self.e_u[part].tolist(), self.e_v[part].tolist(),
                                             self.e_key[part].tolist(), self.e_way[part].tolist(),
                                             self.e_rev[part].tolist(), self.e_len[part].tolist()):
                add_edge(u, v, k, **data(w, r), length=length)
        if len(self.m_u):
            self._fill_merged(graph, data)
        signals = np.concatenate((self.e_signals, self.m_signals))
        at = np.flatnonzero(signals)
        edges = graph.edges
        for u, v, k, n in zip(*(np.concatenate(pair)[at].tolist() for pair in (
                (self.e_u, self.m_u), (self.e_v, self.m_v), (self.e_key, self.m_key))), signals[at].tolist()):
            edges[u, v, k][SIGNALS] = n

    def _fill_merged(self, graph: nx.MultiDiGraph, data: Callable[[int, bool], dict]) -> None:
        """Add the merged edges (keys as osmnx gives them)."""
        add_edge = graph.add_edge
        geometry = shapely.linestrings(np.column_stack((self.m_x, self.m_y)),
                                       indices=np.repeat(np.arange(len(self.m_u)), self.m_npoints))
        mixed = self.m_mixed
        for part in _chunks(len(self.m_u)):
            for i, u, v, k, w, r, length, geom in zip(range(part.start, part.stop), self.m_u[part].tolist(),
                                                      self.m_v[part].tolist(), self.m_key[part].tolist(),
                                                      self.m_way[part].tolist(), self.m_rev[part].tolist(),
                                                      self.m_len[part].tolist(), geometry[part]):
                d = data(w, r) if i not in mixed else _merge_values([data(*c) for c in mixed[i]])
                add_edge(u, v, k, **d, length=length, geometry=geom)


def _sequential_sums(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``sum(values[s:e])`` for each (s, e), added left to right as Python's ``sum`` does (so a
    merged edge's length is bit-for-bit osmnx's; numpy's pairwise sums round differently)."""
    out = np.zeros(len(starts))
    count = ends - starts
    for k in range(int(count.max(initial=0))):
        alive = np.flatnonzero(count > k)
        out[alive] += values[starts[alive] + k]
    return out


def _merge_values(datas: list[dict]) -> dict:
    """osmnx's rule for merged edges: a single value where all agree, else ``list(set(values))``."""
    values: dict[str, list] = {}
    for d in datas:
        for name, value in d.items():
            values.setdefault(name, []).append(value)
    return {name: vals[0] if len(set(vals)) == 1 else list(set(vals)) for name, vals in values.items()}


def _chunks(n: int) -> Iterator[slice]:
    """Slices of 65,536 over ``range(n)``, so the per-edge Python lists stay small."""
    for i in range(0, n, 1 << 16):
        yield slice(i, min(n, i + (1 << 16)))


# ---------------------------------------------------------------- export for XML-only tools

def write_osm_xml(source: str | Path, target: str | Path, *, road_classes: str | Iterable[str] = "drive") -> Path:
    """Write the drivable ways of an OSM file as OSM XML that ``osmnx.graph_from_xml`` can load.

    osmnx raises on ways that reference nodes missing from the file, so ways are trimmed to
    their runs of present nodes, as :func:`graph_tables` trims them: a way cut into several
    runs keeps its id on the first run and the other runs get ids above the file's largest way
    id. Ways carry their kept tags (``settings.EDGE_TAGS``), nodes theirs. Written atomically.
    """
    ways = read_osm_file(source, road_classes)
    runs = _runs(ways, _present(ways, None))
    nodes = _Nodes.of(ways, runs)
    starts = np.flatnonzero(runs.run_start)
    ends = np.flatnonzero(runs.seg_ok & ~np.append(runs.seg_ok[1:], False)) + 2  # one past each run's last ref
    run_way = runs.way_of_ref[starts]
    first_run = np.append(True, run_way[1:] != run_way[:-1])[: starts.size]
    run_ids = np.where(first_run, ways.way_ids[run_way], 0)
    run_ids[~first_run] = int(ways.way_ids.max()) + 1 + np.arange(int((~first_run).sum()))
    target = Path(target)
    with atomic_path(target) as tmp:
        with osmium.SimpleWriter(osmium.io.File(str(tmp), "osm"), overwrite=True) as writer:
            for nid, x, y in zip(nodes.ids.tolist(), nodes.x.tolist(), nodes.y.tolist()):
                writer.add_node(Node(id=nid, location=(x, y), tags=ways.node_tags.get(nid, {})))
            refs = ways.refs
            for wid, w, s, e in zip(run_ids.tolist(), run_way.tolist(), starts.tolist(), ends.tolist()):
                writer.add_way(Way(id=wid, nodes=refs[s:e].tolist(), tags=ways.way_tags[w]))
    return target
