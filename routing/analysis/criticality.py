"""Single-link and multi-link criticality: what the OD matrix loses when one candidate fails alone.

A *candidate* is a group of edges failing together: one directed edge (``"edge"``), one physical
road segment — both directions of the same way between two nodes (``"segment"``, the default: a
two-way road is two directed edges, and failing one direction only gives a U-turn "detour") —,
every edge of an OSM way (``"osmid"``), or any named set of edges (multi-link events: an asset,
every bridge inside a polygon, ...; see :func:`selector_groups`).

For each candidate the table gives the increase in total OD travel time over the pairs that stay
connected (seconds), the pairs it disconnects and the pairs whose baseline route it lies on.

How it stays fast (exact, equal to recomputing every OD pair with the candidate removed):

1. Pruning by an inverse index edge -> OD pairs whose baseline route uses the edge: a candidate
   off every route changes nothing and costs nothing (most of a national network).
2. Chains: a candidate on a pass-through node's edges (a highway between junctions, a bridge
   and its approaches) fails exactly like its neighbours on the chain; one evaluation serves all
   (:func:`chain_classes`).
3. Per (candidate, origin) one *repair search* (:class:`routing.engine.RepairContext`): A* from
   the origin whose potential is the baseline distance to the affected destinations, minus their
   baseline cost, so only the neighbourhood of the detours is explored; a destination is closed
   as soon as the search reaches a node whose baseline route to it avoids the candidate (the
   rest of the route is known), and a destination cut off is detected by a budgeted backward
   search from it instead of exhausting the network.
4. Candidates are evaluated in chunks by a pure function of plain arrays
   (:func:`evaluate_groups`), mapped with ``map_fn`` (builtin ``map`` by default; an executor's
   ``map`` or Dask later); inside a chunk the jobs run in parallel on all cores (numba).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..engine import Network, ODMatrix, RepairContext, RoutingGraph, od_matrix
from ..network import tag_text
from ..scenario import Catalogue, incident_edges, select
from .assets import AssetMatch, assets_on_path

GROUPINGS = ("segment", "edge", "osmid")
TABLE_COLUMNS = ["rank", "group", "road", "osmid", "assets", "u", "v", "name", "ref", "highway", "bridge", "length_m",
                 "n_edges", "delta_total_time_s", "pairs_cut_off", "pairs_rerouted", "pairs_affected"]
MAX_CHUNKS = 200  # progress-bar granularity / executor tasks


@dataclass
class Groups:
    """Candidate groups as CSR: group g is edge indices ``edges[ptr[g]:ptr[g+1]]``, named ``labels[g]``."""

    labels: list[str]
    ptr: np.ndarray
    edges: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def members(self, g: int) -> np.ndarray:
        """Edge indices of group g."""
        return self.edges[self.ptr[g]:self.ptr[g + 1]]

    def on_routing(self, routing: RoutingGraph) -> Groups:
        """The same groups as edges of the routing graph: every copy of each road edge."""
        copies = routing.copies_ptr[self.edges + 1] - routing.copies_ptr[self.edges]
        per_group = np.add.reduceat(copies, self.ptr[:-1]) if len(self.edges) else np.zeros(len(self), np.int64)
        ptr = np.r_[0, np.cumsum(per_group)].astype(np.int64)
        return Groups(self.labels, ptr, routing.copies_of(self.edges))

    @classmethod
    def from_mapping(cls, groups: Mapping[str, Iterable[int]]) -> Groups:
        """Groups from label -> edge indices (duplicates dropped; an empty group is an error)."""
        labels, arrays = list(groups), [np.asarray(sorted(set(v)), dtype=np.int64) for v in groups.values()]
        empty = [label for label, a in zip(labels, arrays) if len(a) == 0]
        if empty:
            raise ValueError(f"candidate groups without edges: {', '.join(map(str, empty[:5]))}")
        ptr = np.r_[0, np.cumsum([len(a) for a in arrays])].astype(np.int64)
        edges = np.concatenate(arrays) if arrays else np.empty(0, dtype=np.int64)
        return cls(labels, ptr, edges.astype(np.int64))


def _osmids(value: Any) -> tuple:
    """An edge's way id(s) as a sorted tuple (osmnx stores a list on merged edges)."""
    values = value if isinstance(value, list) else [value]
    return tuple(sorted(values, key=str))


def edge_groups(network: Network, by: str = "segment") -> Groups:
    """Candidate groups over the whole network.

    ``"edge"``: every directed edge alone. ``"segment"``: the directed edges of the same way(s)
    between the same two nodes, both directions together. ``"osmid"``: every edge built from an
    OSM way (an edge merged from several ways belongs to each of their groups).
    """
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {GROUPINGS}, got {by!r}")
    G = network.graph
    if by == "edge":
        m = len(network.edges)
        return Groups([f"{u}-{v}-{k}" for u, v, k in network.edges], np.arange(m + 1, dtype=np.int64),
                      np.arange(m, dtype=np.int64))
    members: dict[Any, list[int]] = {}
    # G.edges iterates in the Network's edge order (it was built from the same iteration)
    for i, (u, v, osmid) in enumerate(G.edges(data="osmid")):
        ids = _osmids(osmid)
        if by == "segment":
            members.setdefault((min(u, v), max(u, v), ids), []).append(i)
        else:
            for way in ids:
                members.setdefault(way, []).append(i)
    if by == "osmid":  # ways that remove the identical edge set (merged edges) are one candidate
        ways_of: dict[tuple[int, ...], list[Any]] = {}
        for way, edges in members.items():
            ways_of.setdefault(tuple(sorted(edges)), []).append(way)
        return Groups.from_mapping({("way " if len(ways) == 1 else "ways ") + ", ".join(map(str, ways)): list(edges)
                                    for edges, ways in ways_of.items()})
    labels: dict[str, list[int]] = {}
    seen: dict[tuple[int, int], int] = {}
    for (a, b, _), edges in members.items():
        seen[a, b] = seen.get((a, b), 0) + 1  # parallel ways between the same two nodes: "a,b#2", ...
        labels[f"{a},{b}" + (f"#{seen[a, b]}" if seen[a, b] > 1 else "")] = edges
    return Groups.from_mapping(labels)


def selector_groups(network: Network, selectors: Mapping[str, dict], *,
                    catalogue: Catalogue | None = None, allow_empty: bool = False) -> Groups:
    """Multi-link events: one group per named selector (the :mod:`routing.selectors` language).

    E.g. ``{"bridges near Rastan": {"all": [{"near": {"place": "Rastan", "radius_m": 5000}},
    {"tags": {"bridge": "yes"}}]}}``. Selected nodes fail with all their edges. Selectors that
    match nothing raise, unless ``allow_empty`` (then they are left out).
    """
    out: dict[str, np.ndarray] = {}
    for label, selector in selectors.items():
        sel = select(network.graph, selector, catalogue=catalogue, field=f"groups.{label}", allow_empty=allow_empty)
        edges = set(sel.edges) | incident_edges(network.graph, sel.nodes)
        if edges:
            out[label] = network.edge_ids(list(edges))
    return Groups.from_mapping(out)


def asset_groups(network: Network, catalogue: Catalogue) -> Groups:
    """One group per catalogue asset present on this network (labelled by asset key)."""
    return selector_groups(network, {a.key: {"asset": a.key} for a in catalogue.assets.values()},
                           catalogue=catalogue, allow_empty=True)


def chain_classes(network: Network, groups: Groups, keep: Iterable[int]) -> np.ndarray:
    """Representative group of each group (road edges): groups that fail identically share one.

    Node x (a road node index, not in ``keep``) is a *pass-through* node when it only joins two
    neighbours p and q (one-way: p->x->q; two-way: both directions, nothing else). Between
    places other than x, removing any group that lies only on x's edges and blocks the same
    passages through x (p->q, q->p) leaves the same network (x is a dead end either way; a route
    cannot turn back at x, see :func:`routing.engine.turns.continuing_u_turns`, and turn
    restrictions only remove routes), so the whole chain of such groups (a highway between
    junctions, a bridge and its approaches) needs one evaluation. Returns ``rep`` with ``rep[g]``
    the representative of group g.
    """
    n_groups = len(groups)
    parent = np.arange(n_groups)

    def find(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    m = len(network.edges)
    membership = np.bincount(groups.edges, minlength=m)
    edge_group = np.full(m, -1, dtype=np.int64)
    single = membership[groups.edges] == 1
    edge_group[groups.edges[single]] = np.repeat(np.arange(n_groups), np.diff(groups.ptr))[single]
    src, dst, n = network.src, network.dst, network.n_nodes
    indeg = np.bincount(dst, minlength=n)
    outdeg = np.bincount(src, minlength=n)
    candidates = np.flatnonzero(((indeg == 1) & (outdeg == 1)) | ((indeg == 2) & (outdeg == 2)))
    keep_set = set(int(k) for k in keep)
    fwd, rev = np.argsort(src, kind="stable"), np.argsort(dst, kind="stable")
    indptr, rindptr = np.searchsorted(src[fwd], np.arange(n + 1)), np.searchsorted(dst[rev], np.arange(n + 1))
    for x in candidates.tolist():
        if x in keep_set:
            continue
        outs = fwd[indptr[x]:indptr[x + 1]].tolist()
        ins = rev[rindptr[x]:rindptr[x + 1]].tolist()
        out_to = {int(dst[e]): e for e in outs}
        in_from = {int(src[e]): e for e in ins}
        if len(out_to) != len(outs) or len(in_from) != len(ins) or x in out_to or x in in_from:
            continue  # parallel edges or self-loops: not a plain pass-through
        if len(outs) == 1:
            if set(in_from) == set(out_to):
                continue  # a dead end, not a passage
            passages = [(ins[0], outs[0])]
        elif set(in_from) == set(out_to):
            p, q = sorted(in_from)
            passages = [(in_from[p], out_to[q]), (in_from[q], out_to[p])]
        else:
            continue
        incident = set(ins) | set(outs)
        blocked: dict[int, frozenset] = {}
        for e in incident:
            g = int(edge_group[e])
            if g < 0 or not set(groups.members(g).tolist()) <= incident:
                continue
            members = set(groups.members(g).tolist())
            blocked[g] = frozenset(i for i, (a, b) in enumerate(passages) if a in members or b in members)
        for a, b in passages:
            ga, gb = int(edge_group[a]), int(edge_group[b])
            if ga in blocked and gb in blocked and blocked[ga] == blocked[gb]:
                parent[find(ga)] = find(gb)
    return np.array([find(g) for g in range(n_groups)])


# ---------------------------------------------------------------- the per-candidate work

Task = tuple[np.ndarray, np.ndarray, np.ndarray]  # group ids, local CSR ptr, edge indices


def evaluate_groups(ctx: RepairContext, task: Task) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pure per-candidate work, for one chunk of candidates: each group alone removed.

    Returns (group ids, increase in total travel time over pairs still connected in seconds,
    pairs disconnected, pairs whose baseline route uses the group). Depends only on its
    arguments (plain arrays), so any executor can map it.
    """
    ids, ptr, edges = task
    keys = ctx.pair_keys(ptr, edges)
    cost, _ = ctx.repair(keys, ptr, edges, remove=True)
    g, pair = np.divmod(keys, ctx.n_pairs)
    cut = ~np.isfinite(cost)
    delta = np.where(cut, 0.0, np.maximum(cost - ctx.base_cost.ravel()[pair], 0.0))
    n = len(ids)
    return (ids, np.bincount(g, weights=delta, minlength=n), np.bincount(g[cut], minlength=n),
            np.bincount(g, minlength=n))


def make_tasks(ctx: RepairContext, groups: Groups, candidates: np.ndarray,
               max_chunks: int = MAX_CHUNKS) -> tuple[list[Task], np.ndarray]:
    """Chunks of the ``candidates`` (group ids) that lie on some baseline route, of about equal
    work (route-edge incidences); also returns every group's work (0 = pruned: no route uses it)."""
    counts = (ctx.inc_ptr[groups.edges + 1] - ctx.inc_ptr[groups.edges]).astype(np.int64)
    cum = np.r_[0, np.cumsum(counts)]
    work = cum[groups.ptr[1:]] - cum[groups.ptr[:-1]]
    active = candidates[work[candidates] > 0]
    if len(active) == 0:
        return [], work
    n_chunks = min(max_chunks, len(active))
    cum_work = np.cumsum(work[active])
    cuts = np.searchsorted(cum_work, cum_work[-1] * np.arange(1, n_chunks) / n_chunks, side="right")
    tasks = []
    for ids in np.split(active, np.unique(cuts)):
        if len(ids) == 0:
            continue
        sizes = groups.ptr[ids + 1] - groups.ptr[ids]
        local_ptr = np.r_[0, np.cumsum(sizes)].astype(np.int64)
        local_edges = np.concatenate([groups.members(g) for g in ids])
        tasks.append((ids, local_ptr, local_edges))
    return tasks, work


@dataclass
class CriticalityResult:
    """Ranked table (one row per candidate), the baseline OD matrix, the groups and run figures."""

    table: pd.DataFrame
    baseline: ODMatrix
    groups: Groups
    summary: dict[str, Any]


def criticality(network: Network | nx.MultiDiGraph, origins: list[int], destinations: list[int] | None = None, *,
                groups: str | Groups | Mapping[str, Iterable[int]] = "segment", baseline: ODMatrix | None = None,
                map_fn: Callable[[Callable, Iterable], Iterable] | None = None,
                progress: bool = True, assets: Mapping[str, AssetMatch] | None = None) -> CriticalityResult:
    """Criticality of every candidate group: each removed alone, all OD pairs re-evaluated.

    Parameters
    ----------
    network
        The road network (a graph is compiled first).
    origins, destinations
        Graph node ids of the OD pairs (origins x destinations; destinations default to the
        origins), routed by travel time.
    groups
        ``"segment"`` (both directions of a road segment, default), ``"edge"``, ``"osmid"``, a
        :class:`Groups` or a mapping label -> edge indices (multi-link events, e.g. assets).
    baseline
        The baseline OD matrix, if already computed.
    map_fn
        ``map_fn(fn, tasks)`` maps the chunk function (default builtin ``map``; an executor's
        ``map_fn`` runs it on Dask).
    progress
        Show a progress bar over chunks.

    Returns
    -------
    CriticalityResult
        One row per candidate: increase in total OD travel time over the pairs still connected
        (seconds), pairs disconnected, pairs whose baseline route it lies on; ranked by pairs
        disconnected, then added time (both descending).
    """
    t0 = time.perf_counter()
    network = Network.of(network)
    groups_by = groups
    if baseline is None:
        baseline = od_matrix(network, origins, destinations)
    if isinstance(groups, str):
        groups = edge_groups(network, groups)
    elif not isinstance(groups, Groups):
        groups = Groups.from_mapping(groups)
    ctx = RepairContext.from_baseline(network, baseline)
    routing_groups = groups.on_routing(network.routing)
    rep = chain_classes(network, groups, network.node_ids([*baseline.origins, *baseline.destinations]))
    t_base = time.perf_counter() - t0
    n = len(groups)
    representatives = np.unique(rep)
    tasks, work = make_tasks(ctx, routing_groups, representatives)
    delta, cut, affected = np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    results: Iterable = (map_fn or map)(partial(evaluate_groups, ctx), tasks)
    for ids, d, c, a in tqdm(results, total=len(tasks), disable=not progress, desc="criticality", unit="chunk"):
        delta[ids], cut[ids], affected[ids] = d, c, a
    delta, cut, affected = delta[rep], cut[rep], affected[rep]
    table = _table(network, groups, delta, cut, affected, assets or {})
    summary = {"origins": len(baseline.origins), "destinations": len(baseline.destinations),
               "od_pairs_connected": int((np.isfinite(baseline.time_s) & ~baseline.same_node).sum()),
               "baseline_total_time_s": float(baseline.time_s[np.isfinite(baseline.time_s)].sum()),
               "candidates": n, "candidates_on_routes": int((work > 0).sum()),
               "candidates_evaluated": int((work[representatives] > 0).sum()),
               "seconds_baseline": t_base,
               "seconds_total": time.perf_counter() - t0,
               "grouping": groups_by if isinstance(groups_by, str) else "custom groups",
               "road_model": network.road_model()}
    return CriticalityResult(table, baseline, groups, summary)


def describe_groups(network: Network, groups: Groups, ids: Iterable[int] | None = None,
                    assets: Mapping[str, AssetMatch] | None = None) -> pd.DataFrame:
    """One row per group (``ids``, default all) naming its edges: label, road (ref and name), OSM
    way ids, catalogue ``assets`` on it, first edge's u and v, name, ref, highway, bridge, length
    (m, a two-way road counted once), edge count and the (u, v, key) edges."""
    G = network.graph
    rows: dict[str, list] = {c: [] for c in ("group", "road", "osmid", "assets", "u", "v", "name", "ref", "highway",
                                            "bridge", "length_m", "n_edges", "edges")}
    for g in (range(len(groups)) if ids is None else ids):
        members = groups.members(int(g)).tolist()
        data = [G.edges[network.edges[e]] for e in members]
        u, v, _ = network.edges[members[0]]
        ways: dict[Any, None] = {}
        segments: dict[tuple, float] = {}  # a two-way road counts once
        for e, d in zip(members, data):
            way_ids = _osmids(d.get("osmid"))
            ways.update(dict.fromkeys(way_ids))
            a, b, _ = network.edges[e]
            key = (min(a, b), max(a, b), way_ids)
            segments[key] = max(segments.get(key, 0.0), float(d.get("length", 0.0)))

        def tag(name: str, data: list[dict] = data) -> str:
            return next((t for d in data if (t := tag_text(d.get(name), "; "))), "")

        name, ref = tag("name:en") or tag("name"), tag("ref") or tag("int_ref")
        keys = [network.edges[e] for e in members]
        rows["group"].append(groups.labels[int(g)])
        rows["road"].append(" ".join(x for x in (ref, name) if x))
        rows["osmid"].append("; ".join(str(w) for w in ways))
        rows["assets"].append(", ".join(assets_on_path(keys, assets or {})))
        rows["u"].append(u)
        rows["v"].append(v)
        rows["name"].append(tag("name"))
        rows["ref"].append(tag("ref"))
        rows["highway"].append(tag_text(data[0].get("highway"), "; ") or "")
        bridge = any(tag_text(d.get("bridge")) not in (None, "no") for d in data)
        rows["bridge"].append("yes" if bridge else "")
        rows["length_m"].append(sum(segments.values()))
        rows["n_edges"].append(len(members))
        rows["edges"].append(tuple(network.edges[e] for e in members))
    return pd.DataFrame(rows)


def _table(network: Network, groups: Groups, delta: np.ndarray, cut: np.ndarray, affected: np.ndarray,
           assets: Mapping[str, AssetMatch]) -> pd.DataFrame:
    """One row per group (:func:`describe_groups`) with its OD figures, ranked."""
    table = describe_groups(network, groups, assets=assets)
    table["delta_total_time_s"] = delta
    table["pairs_cut_off"] = cut
    table["pairs_rerouted"] = affected - cut
    table["pairs_affected"] = affected
    # cutting people off is worse than slowing them down: disconnections rank first
    table = table.sort_values(["pairs_cut_off", "delta_total_time_s", "pairs_affected"], ascending=False,
                              kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table[[*TABLE_COLUMNS, "edges"]]
