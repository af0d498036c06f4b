"""Compiled shortest-path core: the graph as CSR arrays, damage as weights, Dijkstra compiled by numba.

An :class:`Engine` is built once per baseline graph: edges sorted by tail (forward CSR) and by head
(reverse CSR), never rebuilt. Damage (removed edges, speed factors) is only a weight array
(removed = ``inf``); nothing is copied from the networkx graph after construction. Parallel edges
need no collapsing: Dijkstra relaxes each of them and remembers the edge it used.

Kernels (all ``numba.njit``, the many-source ones parallel over sources):

* :func:`_sssp` — Dijkstra from one node with an optional distance ``limit`` and early stop once a
  set of target nodes is settled; it also sums a second edge attribute along the tree paths.
* :func:`_repair_jobs` — exact re-computation of OD pairs after some edges got slower or removed,
  from the baseline: A* whose potential is the baseline distance to the affected destinations
  (feasible because damage only raises weights), started from the origin; a destination that
  became unreachable is detected by a budgeted backward search so that it costs little.

Why numba and not scipy/igraph: measured in ``benchmarks/bench_engine.py``; per source it is as
fast as ``scipy.sparse.csgraph.dijkstra``, runs sources on all cores, needs no CSR rebuild per
weight vector, stops at the targets, and allows the repair search criticality relies on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
from numba import get_num_threads, njit, prange

from .damage import Damage, EdgeKey

WEIGHTS = ("travel_time", "length")
NO_PRED = -9999  # "no predecessor" in PathTree.pred (scipy's convention)
INF = np.inf


# ---------------------------------------------------------------- compiled kernels

@njit(cache=True, inline="always")
def _push(hkey, hnode, size, key, node):
    """Insert (key, node) into the 4-ary min-heap held in hkey/hnode[:size]; return the new size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 2
        if hkey[parent] <= key:
            break
        hkey[i] = hkey[parent]
        hnode[i] = hnode[parent]
        i = parent
    hkey[i] = key
    hnode[i] = node
    return size + 1


@njit(cache=True, inline="always")
def _pop(hkey, hnode, size):
    """Remove the smallest entry of the 4-ary heap; return (key, node, new size)."""
    key = hkey[0]
    node = hnode[0]
    size -= 1
    if size > 0:
        last_key = hkey[size]
        last_node = hnode[size]
        i = 0
        while True:
            first = 4 * i + 1
            if first >= size:
                break
            best, best_key = first, hkey[first]
            for c in range(first + 1, min(first + 4, size)):
                if hkey[c] < best_key:
                    best, best_key = c, hkey[c]
            if best_key >= last_key:
                break
            hkey[i] = best_key
            hnode[i] = hnode[best]
            i = best
        hkey[i] = last_key
        hnode[i] = last_node
    return key, node, size


@njit(cache=True)
def _sssp(indptr, adj, head, wc, auxc, source, limit, is_target, n_targets, dist, pred, auxd, hkey, hnode):
    """Dijkstra from ``source`` over CSR arrays (``wc``/``auxc``: weights in CSR order).

    Fills ``dist`` (inf = not reached), ``pred`` (edge id into each node, -1 = none) and ``auxd``
    (sum of ``auxc`` along the path). Stops when ``n_targets`` nodes flagged in ``is_target`` are
    settled (0 = build the whole tree); then only settled nodes have final values.
    """
    dist[:] = np.inf
    pred[:] = -1
    auxd[:] = np.inf
    dist[source] = 0.0
    auxd[source] = 0.0
    size = _push(hkey, hnode, 0, 0.0, source)
    remaining = n_targets
    while size > 0:
        d, u, size = _pop(hkey, hnode, size)
        if d > dist[u]:
            continue
        if n_targets > 0 and is_target[u]:
            remaining -= 1
            if remaining == 0:
                break
        for j in range(indptr[u], indptr[u + 1]):
            nd = d + wc[j]
            v = head[j]
            if nd < dist[v] and nd <= limit:
                dist[v] = nd
                pred[v] = adj[j]
                auxd[v] = auxd[u] + auxc[j]
                size = _push(hkey, hnode, size, nd, v)


@njit(cache=True, parallel=True)
def _trees(indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd):
    """Full shortest-path trees from each of ``sources`` (rows of dist/pred/auxd), in parallel."""
    m = adj.shape[0]
    no_targets = np.zeros(1, dtype=np.bool_)
    for i in prange(sources.shape[0]):
        hkey = np.empty(m + 1)
        hnode = np.empty(m + 1, dtype=np.int32)
        _sssp(indptr, adj, head, wc, auxc, sources[i], limit, no_targets, 0, dist[i], pred[i], auxd[i],
              hkey, hnode)


@njit(cache=True, parallel=True)
def _od(indptr, adj, head, wc, auxc, sources, targets, cost, aux, pred):
    """Cost and aux sums from each source to each target (early stop), keeping predecessor rows."""
    n = indptr.shape[0] - 1
    m = adj.shape[0]
    is_target = np.zeros(n, dtype=np.bool_)
    for t in targets:
        is_target[t] = True
    n_targets = int(is_target.sum())
    for i in prange(sources.shape[0]):
        hkey = np.empty(m + 1)
        hnode = np.empty(m + 1, dtype=np.int32)
        dist = np.empty(n)
        auxd = np.empty(n)
        _sssp(indptr, adj, head, wc, auxc, sources[i], np.inf, is_target, n_targets, dist, pred[i], auxd,
              hkey, hnode)
        for j in range(targets.shape[0]):
            cost[i, j] = dist[targets[j]]
            aux[i, j] = auxd[targets[j]] if dist[targets[j]] < np.inf else np.inf


@njit(cache=True)
def _incidence(pred, edge_src, origins, targets):
    """(edge, pair) incidences of the tree paths origin row i -> target column j (pair = i * l + j),
    and the hop count of each pair's path (-1 when unreachable or origin == target)."""
    k, l = origins.shape[0], targets.shape[0]
    hops = np.full(k * l, -1, dtype=np.int64)
    total = 0
    for i in range(k):
        for j in range(l):
            if targets[j] == origins[i] or pred[i, targets[j]] < 0:
                continue
            h = 0
            node = targets[j]
            while node != origins[i]:
                node = edge_src[pred[i, node]]
                h += 1
            hops[i * l + j] = h
            total += h
    edges = np.empty(total, dtype=np.int64)
    pairs = np.empty(total, dtype=np.int64)
    pos = 0
    for i in range(k):
        for j in range(l):
            if hops[i * l + j] < 0:
                continue
            node = targets[j]
            while node != origins[i]:
                e = pred[i, node]
                edges[pos] = e
                pairs[pos] = i * l + j
                pos += 1
                node = edge_src[e]
    return edges, pairs, hops


@njit(cache=True)
def _potential(H, v, cols, base):
    """A* potential of node v: min over target columns of (baseline distance v -> target - baseline
    distance origin -> target), i.e. the least detour any affected target would accept via v."""
    best = np.inf
    for a in range(cols.shape[0]):
        p = H[v, cols[a]] - base[a]
        if p < best:
            best = p
    return best


@njit(cache=True)
def _reaches_forward(rindptr, radj, rhead, w_edge, rm, rstamp, t, budget, g, gst, stamp, bst, bstamp, queue):
    """Backward BFS from t over alive edges: 1 if it meets a node the forward search reached,
    2 if it exhausts without (t is cut off from the origin), 0 if the budget ran out first."""
    bst[t] = bstamp
    queue[0] = t
    qhead, qtail = 0, 1
    while qhead < qtail:
        x = queue[qhead]
        qhead += 1
        if gst[x] == stamp and g[x] < np.inf:
            return 1
        if qhead > budget:
            return 0
        for j in range(rindptr[x], rindptr[x + 1]):
            e = radj[j]
            if rm[e] == rstamp or not w_edge[e] < np.inf:
                continue
            y = rhead[j]
            if bst[y] != bstamp:
                bst[y] = bstamp
                queue[qtail] = y
                qtail += 1
    return 2


@njit(cache=True)
def _repair_one(indptr, adj, head, wc, auxc, rindptr, radj, rhead, w_edge, H, origin, cols, tnodes, base,
                rm, rstamp, check, ws_f, ws_i, queue, hkey, hnode, counters, out_cost, out_aux, ofs):
    """New cost (and aux sum) from ``origin`` to the target nodes ``tnodes`` (columns ``cols`` of H,
    baseline costs ``base``) with edges marked ``rm[e] == rstamp`` removed. See :func:`_repair_jobs`."""
    g, aux, pi = ws_f[0], ws_f[1], ws_f[2]
    gst, closed, tst, tcnt, bst = ws_i[0], ws_i[1], ws_i[2], ws_i[3], ws_i[4]
    counters[0] += 1
    stamp = counters[0]
    nt = tnodes.shape[0]
    live = 0
    for a in range(nt):
        t = tnodes[a]
        if tst[t] != stamp:
            tst[t] = stamp
            tcnt[t] = 0
        tcnt[t] += 1
        live += 1
    decided = np.zeros(nt, dtype=np.int8)
    gst[origin] = stamp
    g[origin] = 0.0
    aux[origin] = 0.0
    pi[origin] = _potential(H, origin, cols, base)
    size = 0
    if pi[origin] < np.inf:
        size = _push(hkey, hnode, 0, pi[origin], origin)
    pops = 0
    next_check = check
    while size > 0 and live > 0:
        _, u, size = _pop(hkey, hnode, size)
        if closed[u] == stamp:
            continue
        closed[u] = stamp
        if tst[u] == stamp and tcnt[u] > 0:
            live -= tcnt[u]
            tcnt[u] = 0
            if live == 0:
                break
        gu = g[u]
        for j in range(indptr[u], indptr[u + 1]):
            if rm[adj[j]] == rstamp:
                continue
            v = head[j]
            if gst[v] != stamp:
                gst[v] = stamp
                g[v] = np.inf
                pi[v] = _potential(H, v, cols, base)
            ng = gu + wc[j]
            if ng < g[v] and pi[v] < np.inf and closed[v] != stamp:
                g[v] = ng
                aux[v] = aux[u] + auxc[j]
                size = _push(hkey, hnode, size, ng + pi[v], v)
        pops += 1
        if pops >= next_check:
            next_check *= 2
            for a in range(nt):
                t = tnodes[a]
                if decided[a] != 0 or closed[t] == stamp:
                    continue
                counters[1] += 1
                found = _reaches_forward(rindptr, radj, rhead, w_edge, rm, rstamp, t, pops, g, gst, stamp,
                                         bst, counters[1], queue)
                if found == 2:
                    decided[a] = 2
                    tcnt[t] -= 1
                    live -= 1
                elif found == 1:
                    decided[a] = 1
    for a in range(nt):
        t = tnodes[a]
        if closed[t] == stamp:
            out_cost[ofs + a] = g[t]
            out_aux[ofs + a] = aux[t]
        else:
            out_cost[ofs + a] = np.inf
            out_aux[ofs + a] = np.inf


@njit(cache=True, parallel=True)
def _repair_jobs(indptr, adj, head, wc, auxc, rindptr, radj, rhead, w_edge, H, base_cost, origin_nodes,
                 dest_nodes, job_origin, job_group, job_ptr, job_cols, job_check, gptr, gedges, n_blocks, out_cost,
                 out_aux):
    """Run repair jobs in parallel. Job q: origin row ``job_origin[q]``, destination columns
    ``job_cols[job_ptr[q]:job_ptr[q+1]]``, the edges of group ``job_group[q]`` (CSR gptr/gedges)
    removed (-1: none, the weights already carry the damage). Results go to
    ``out_cost``/``out_aux[job_ptr[q]:job_ptr[q+1]]``. Jobs are dealt round-robin to ``n_blocks``
    blocks, each with its own workspace.

    Exact because damage only raises weights: the baseline distance to each destination
    (``H[:, j]``) stays a feasible A* potential, so every destination is settled with its exact
    damaged cost; the search only explores where some destination's detour is smallest.
    """
    n = indptr.shape[0] - 1
    m = adj.shape[0]
    n_jobs = job_origin.shape[0]
    for block in prange(n_blocks):
        ws_f = np.empty((3, n))
        ws_i = np.zeros((5, n), dtype=np.int32)
        queue = np.empty(n, dtype=np.int32)
        hkey = np.empty(m + 1)
        hnode = np.empty(m + 1, dtype=np.int32)
        rm = np.zeros(m, dtype=np.int32)
        counters = np.zeros(3, dtype=np.int64)  # search stamp, BFS stamp, removal stamp
        for q in range(block, n_jobs, n_blocks):
            counters[2] += 1
            grp = job_group[q]
            if grp >= 0:
                for p in range(gptr[grp], gptr[grp + 1]):
                    rm[gedges[p]] = counters[2]
            lo, hi = job_ptr[q], job_ptr[q + 1]
            i = job_origin[q]
            cols = job_cols[lo:hi]
            base = np.empty(hi - lo)
            tnodes = np.empty(hi - lo, dtype=np.int64)
            for a in range(hi - lo):
                base[a] = base_cost[i, cols[a]]
                tnodes[a] = dest_nodes[cols[a]]
            _repair_one(indptr, adj, head, wc, auxc, rindptr, radj, rhead, w_edge, H, origin_nodes[i], cols,
                        tnodes, base, rm, counters[2], job_check[q], ws_f, ws_i, queue, hkey, hnode, counters,
                        out_cost, out_aux, lo)


# ---------------------------------------------------------------- Python API

@dataclass
class PathTree:
    """Shortest-path trees from some sources (or, ``reverse=True``, towards some targets).

    ``dist[i, v]``: weight units (seconds, metres) from ``sources[i]`` to node index v (reverse:
    from v to ``sources[i]``), inf where unreachable. ``pred_edge[i, v]``: edge index into v on
    the tree path (reverse: out of v), -1 where none. ``step_node[e]``: the node one steps back to
    over edge e (its tail; reverse: its head).
    """

    sources: np.ndarray
    dist: np.ndarray
    pred_edge: np.ndarray
    step_node: np.ndarray
    reverse: bool = False

    @property
    def pred(self) -> np.ndarray:
        """Node index preceding each node on its tree path (reverse: following it), -9999 if none."""
        return np.where(self.pred_edge >= 0, self.step_node[np.maximum(self.pred_edge, 0)], NO_PRED)

    def edge_path(self, row: int, target: int) -> list[int] | None:
        """Edge indices of the path from source ``row`` to node index ``target`` (reverse: from node
        ``target`` to target ``row``), in travel order; None if unreachable."""
        if not np.isfinite(self.dist[row, target]):
            return None
        pred, stop = self.pred_edge[row], self.sources[row]
        path, node = [], int(target)
        while node != stop:
            e = int(pred[node])
            path.append(e)
            node = int(self.step_node[e])
        if not self.reverse:
            path.reverse()
        return path


class Engine:
    """CSR view of a MultiDiGraph for fast repeated shortest paths under damage weights.

    Edge ``i`` is ``edges[i]`` = (u, v, key), from node index ``src[i]`` to ``dst[i]``; ``attr``
    holds per-edge ``travel_time`` (s), ``length`` (m) and ``capacity`` (veh/h) arrays.
    """

    def __init__(self, G: nx.MultiDiGraph):
        self.graph = G
        self.nodes: list[int] = list(G.nodes)
        self.node_index: dict[int, int] = {n: i for i, n in enumerate(self.nodes)}
        self.edges: list[EdgeKey] = list(G.edges(keys=True))
        self.edge_index: dict[EdgeKey, int] = {e: i for i, e in enumerate(self.edges)}
        self.src = np.fromiter((self.node_index[u] for u, _, _ in self.edges), dtype=np.int64, count=len(self.edges))
        self.dst = np.fromiter((self.node_index[v] for _, v, _ in self.edges), dtype=np.int64, count=len(self.edges))
        self.attr = {name: np.fromiter((float(d.get(name, np.nan)) for _, _, d in G.edges(data=True)),
                                       dtype=float, count=len(self.edges))
                     for name in ("travel_time", "length", "capacity")}
        n = self.n_nodes
        if max(n, len(self.edges)) >= 2**31 - 1:
            raise ValueError("graphs with 2**31 nodes or edges are not supported")
        # CSR arrays (int32: half the memory traffic of int64)
        self._fwd = np.argsort(self.src, kind="stable").astype(np.int32)  # edge ids in forward-CSR order
        self._indptr = np.searchsorted(self.src[self._fwd], np.arange(n + 1)).astype(np.int32)
        self._head = self.dst[self._fwd].astype(np.int32)
        self._rev = np.argsort(self.dst, kind="stable").astype(np.int32)  # edge ids in reverse-CSR order
        self._rindptr = np.searchsorted(self.dst[self._rev], np.arange(n + 1)).astype(np.int32)
        self._rhead = self.src[self._rev].astype(np.int32)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    def edge_ids(self, edges: set[EdgeKey] | list[EdgeKey]) -> np.ndarray:
        """Indices of the given (u, v, key) edges."""
        return np.fromiter((self.edge_index[e] for e in edges), dtype=np.int64, count=len(edges))

    def node_ids(self, nodes: list[int]) -> np.ndarray:
        """Node indices of the given graph node ids."""
        return np.fromiter((self.node_index[n] for n in nodes), dtype=np.int64, count=len(nodes))

    def weights(self, weight: str = "travel_time", damage: Damage | None = None) -> np.ndarray:
        """Edge weights with damage applied: removed edges inf, travel time divided by speed factors.

        ``travel_time`` in seconds, ``length`` in metres; an edge lacking the attribute is inf.
        """
        if weight not in WEIGHTS:
            raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
        w = np.where(np.isnan(self.attr[weight]), np.inf, self.attr[weight])
        if damage is None or damage.is_empty():
            return w
        if weight == "travel_time" and damage.speed_factor:
            idx = self.edge_ids(list(damage.speed_factor))
            w[idx] /= np.fromiter(damage.speed_factor.values(), dtype=float, count=len(idx))
        if damage.removed_edges:
            w[self.edge_ids(damage.removed_edges)] = np.inf
        return w

    def _check(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        if w.shape != (len(self.edges),):
            raise ValueError(f"weights must have one value per edge ({len(self.edges)}), got shape {w.shape}")
        if (w < 0).any():
            raise ValueError("weights must be non-negative")
        return w

    def tree(self, sources: list[int] | np.ndarray, w: np.ndarray, *, limit: float = np.inf) -> PathTree:
        """Shortest-path trees from node indices ``sources`` under edge weights ``w`` (inf = removed);
        nodes farther than ``limit`` (weight units) are left unreached."""
        w = self._check(w)
        sources = np.atleast_1d(np.asarray(sources, dtype=np.int64))
        k, n = len(sources), self.n_nodes
        dist, pred, auxd = np.empty((k, n)), np.empty((k, n), dtype=np.int32), np.empty((k, n))
        wc = w[self._fwd]
        _trees(self._indptr, self._fwd, self._head, wc, wc, sources, float(limit), dist, pred, auxd)
        return PathTree(sources, dist, pred, self.src)

    def reverse_tree(self, targets: list[int] | np.ndarray, w: np.ndarray, *, limit: float = np.inf) -> PathTree:
        """Shortest-path trees towards node indices ``targets``: ``dist[i, v]`` is from v to target i."""
        w = self._check(w)
        targets = np.atleast_1d(np.asarray(targets, dtype=np.int64))
        k, n = len(targets), self.n_nodes
        dist, pred, auxd = np.empty((k, n)), np.empty((k, n), dtype=np.int32), np.empty((k, n))
        wc = w[self._rev]
        _trees(self._rindptr, self._rev, self._rhead, wc, wc, targets, float(limit), dist, pred, auxd)
        return PathTree(targets, dist, pred, self.dst, reverse=True)

    def path_sum(self, edge_ids: list[int], attr: str) -> float:
        """Sum of a baseline edge attribute (``length``, ``travel_time``) along a path."""
        return float(self.attr[attr][edge_ids].sum()) if edge_ids else 0.0


# ---------------------------------------------------------------- OD matrices

def _other(weight: str) -> str:
    return "length" if weight == "travel_time" else "travel_time"


@dataclass
class ODMatrix:
    """Best routes (by ``weight``) between origin and destination nodes, as matrices.

    ``time_s`` (seconds) and ``length_m`` (metres) are those of the route minimising ``weight``
    (inf where unreachable); rows follow ``origins``, columns ``destinations`` (graph node ids).
    Paths are rebuilt on demand by :meth:`path`. ``recomputed`` marks the pairs an incremental
    computation (``od_matrix(..., baseline=...)``) searched again; the others kept their baseline
    route, which is still optimal.
    """

    engine: Engine
    origins: list[int]
    destinations: list[int]
    weight: str
    time_s: np.ndarray
    length_m: np.ndarray
    w: np.ndarray  # per-edge weights the routes minimised (damage applied)
    aux_w: np.ndarray  # per-edge values of the other attribute (length or travel time), summed along routes
    pred: np.ndarray | None = None  # (origins, nodes) edge index into each node; None if incremental
    baseline: "ODMatrix | None" = None
    recomputed: np.ndarray | None = None
    _potentials: np.ndarray | None = field(default=None, repr=False)
    _incidence: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def cost(self) -> np.ndarray:
        """The minimised weight: ``time_s`` or ``length_m``."""
        return self.time_s if self.weight == "travel_time" else self.length_m

    @property
    def origin_index(self) -> np.ndarray:
        return self.engine.node_ids(self.origins)

    @property
    def destination_index(self) -> np.ndarray:
        return self.engine.node_ids(self.destinations)

    def edge_path(self, i: int, j: int) -> list[int] | None:
        """Edge indices of the route from origin row ``i`` to destination column ``j``; None if none."""
        if not np.isfinite(self.cost[i, j]):
            return None
        if self.pred is None and not self.recomputed[i, j]:
            return self.baseline.edge_path(i, j)
        o, t = int(self.origin_index[i]), int(self.destination_index[j])
        if self.pred is not None:
            pred = self.pred[i]
        else:  # re-search this one pair under the damaged weights
            eng = self.engine
            pred, auxd, dist = np.empty(eng.n_nodes, dtype=np.int32), np.empty(eng.n_nodes), np.empty(eng.n_nodes)
            is_target = np.zeros(eng.n_nodes, dtype=bool)
            is_target[t] = True
            wc = self.w[eng._fwd]
            _sssp(eng._indptr, eng._fwd, eng._head, wc, wc, o, np.inf, is_target, 1, dist, pred, auxd,
                  np.empty(len(wc) + 1), np.empty(len(wc) + 1, dtype=np.int32))
        path, node = [], t
        while node != o:
            e = int(pred[node])
            path.append(e)
            node = int(self.engine.src[e])
        path.reverse()
        return path

    def path(self, origin: int, destination: int) -> list[EdgeKey] | None:
        """The route between two graph nodes as (u, v, key) edges; None if unreachable."""
        i, j = self.origins.index(origin), self.destinations.index(destination)
        ids = self.edge_path(i, j)
        return None if ids is None else [self.engine.edges[e] for e in ids]

    def potentials(self) -> np.ndarray:
        """(nodes, destinations) distance from every node to each destination under ``w`` (cached)."""
        if self._potentials is None:
            tree = self.engine.reverse_tree(self.destination_index, self.w)
            self._potentials = np.ascontiguousarray(tree.dist.T)
        return self._potentials

    def incidence(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inverse index of the routes: ``pairs[ptr[e]:ptr[e+1]]`` are the pairs (i * l + j) whose
        route uses edge e; ``hops[p]`` is the edge count of pair p's route (-1 if none). Cached."""
        if self._incidence is None:
            if self.pred is None:
                raise ValueError("an incrementally computed OD matrix has no route index; use its baseline")
            edges, pairs, hops = _incidence(self.pred, self.engine.src, self.origin_index, self.destination_index)
            order = np.argsort(edges, kind="stable")
            ptr = np.searchsorted(edges[order], np.arange(len(self.engine.edges) + 1)).astype(np.int64)
            self._incidence = (ptr, pairs[order], hops)
        return self._incidence

    def to_frame(self) -> pd.DataFrame:
        """One row per (origin, destination): time_s, length_m, reachable."""
        k, l = self.time_s.shape
        return pd.DataFrame({"origin": np.repeat(self.origins, l), "destination": np.tile(self.destinations, k),
                             "time_s": self.time_s.ravel(), "length_m": self.length_m.ravel(),
                             "reachable": np.isfinite(self.time_s).ravel()})


def od_matrix(engine: Engine, origins: list[int], destinations: list[int] | None = None, *,
              weight: str = "travel_time", damage: Damage | None = None, w: np.ndarray | None = None,
              baseline: ODMatrix | None = None) -> ODMatrix:
    """Travel time (s) and distance (m) matrices among graph nodes, minimising ``weight``.

    ``damage`` (or explicit per-edge weights ``w``) gives the damaged network. With ``baseline``
    (the undamaged matrix for the same origins, destinations and weight), only the pairs whose
    baseline route uses a slowed or removed edge are searched again, by the repair search; the
    result is the same as a full computation. Falls back to a full computation if some weight
    dropped below the baseline.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
    destinations = list(origins) if destinations is None else list(destinations)
    origins = list(origins)
    w = engine.weights(weight, damage) if w is None else engine._check(w)
    aux_w = engine.weights(_other(weight), damage)
    if (baseline is not None and baseline.pred is not None and baseline.weight == weight
            and baseline.origins == origins and baseline.destinations == destinations):
        changed = np.flatnonzero((w != baseline.w) | (aux_w != baseline.aux_w))
        if not (w[changed] < baseline.w[changed]).any():
            return _od_incremental(engine, baseline, w, aux_w, changed)
    o_idx, d_idx = engine.node_ids(origins), engine.node_ids(destinations)
    k, l = len(o_idx), len(d_idx)
    cost, aux = np.empty((k, l)), np.empty((k, l))
    pred = np.empty((k, engine.n_nodes), dtype=np.int32)
    _od(engine._indptr, engine._fwd, engine._head, w[engine._fwd], aux_w[engine._fwd], o_idx, d_idx, cost, aux, pred)
    time_s, length_m = (cost, aux) if weight == "travel_time" else (aux, cost)
    return ODMatrix(engine, origins, destinations, weight, time_s, length_m, w, aux_w, pred)


@dataclass
class RepairContext:
    """Arrays the repair search needs, and nothing else (no networkx objects: cheap to pickle to
    executor workers). Built from a baseline :class:`ODMatrix` and the weights of the state to
    evaluate (``w``/``aux_w``: the damaged weights for an incremental OD, the baseline ones for
    criticality, where each job removes a group of edges on top)."""

    indptr: np.ndarray
    adj: np.ndarray
    head: np.ndarray
    rindptr: np.ndarray
    radj: np.ndarray
    rhead: np.ndarray
    w: np.ndarray  # per-edge weights, edge order
    wc: np.ndarray  # the same in forward-CSR order
    auxc: np.ndarray  # the other attribute (summed along routes), forward-CSR order
    potentials: np.ndarray  # (nodes, destinations) baseline distance to each destination
    base_cost: np.ndarray  # (origins, destinations) baseline cost
    origin_nodes: np.ndarray
    dest_nodes: np.ndarray
    inc_ptr: np.ndarray  # baseline routes: pairs using edge e are inc_pairs[inc_ptr[e]:inc_ptr[e+1]]
    inc_pairs: np.ndarray
    hops: np.ndarray  # edge count of each pair's baseline route

    @classmethod
    def from_baseline(cls, engine: Engine, baseline: ODMatrix, w: np.ndarray | None = None,
                      aux_w: np.ndarray | None = None) -> "RepairContext":
        w = baseline.w if w is None else w
        aux_w = baseline.aux_w if aux_w is None else aux_w
        ptr, pairs, hops = baseline.incidence()
        return cls(engine._indptr, engine._fwd, engine._head, engine._rindptr, engine._rev, engine._rhead, w,
                   w[engine._fwd], aux_w[engine._fwd], baseline.potentials(), baseline.cost,
                   baseline.origin_index, baseline.destination_index, ptr, pairs, hops)

    @property
    def n_pairs(self) -> int:
        return self.base_cost.size

    def pair_keys(self, gptr: np.ndarray, gedges: np.ndarray) -> np.ndarray:
        """Sorted unique ``g * n_pairs + pair`` for every group g of the CSR (gptr, gedges) and
        every OD pair whose baseline route uses an edge of the group."""
        counts = self.inc_ptr[gedges + 1] - self.inc_ptr[gedges]
        total = int(counts.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        group_of_edge = np.repeat(np.arange(len(gptr) - 1, dtype=np.int64), np.diff(gptr))
        offsets = np.repeat(self.inc_ptr[gedges] - (np.cumsum(counts) - counts), counts) + np.arange(total)
        return np.unique(np.repeat(group_of_edge, counts) * self.n_pairs + self.inc_pairs[offsets])

    def repair(self, pair_keys: np.ndarray, gptr: np.ndarray | None = None,
               gedges: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """New (cost, aux) of the pairs in sorted ``pair_keys`` (``g * n_pairs + i * l + j``),
        inf where cut off. With a group CSR, key group g removes ``gedges[gptr[g]:gptr[g+1]]``;
        without, g must be 0 and ``w`` alone is the damaged state. One job per (group, origin)."""
        if len(pair_keys) == 0:
            return np.empty(0), np.empty(0)
        k, l = self.base_cost.shape
        group, pair = np.divmod(pair_keys, self.n_pairs)
        origin_row, col = np.divmod(pair, l)
        job_key = group * k + origin_row
        starts = np.flatnonzero(np.r_[True, job_key[1:] != job_key[:-1]])
        job_ptr = np.r_[starts, len(pair_keys)].astype(np.int64)
        check = np.add.reduceat(self.hops[pair], starts) * 4 + 1024
        if gptr is None:
            job_group, gptr, gedges = np.full(len(starts), -1, dtype=np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64)
        else:
            job_group = group[starts]
        out_cost, out_aux = np.empty(len(pair_keys)), np.empty(len(pair_keys))
        _repair_jobs(self.indptr, self.adj, self.head, self.wc, self.auxc, self.rindptr, self.radj, self.rhead,
                     self.w, self.potentials, self.base_cost, self.origin_nodes, self.dest_nodes,
                     origin_row[starts], job_group, job_ptr, col, check, np.asarray(gptr, dtype=np.int64),
                     np.asarray(gedges, dtype=np.int64), min(len(starts), 4 * get_num_threads()), out_cost, out_aux)
        return out_cost, out_aux


def _od_incremental(engine: Engine, baseline: ODMatrix, w: np.ndarray, aux_w: np.ndarray,
                    changed: np.ndarray) -> ODMatrix:
    ctx = RepairContext.from_baseline(engine, baseline, w, aux_w)
    pairs = ctx.pair_keys(np.array([0, len(changed)]), changed)
    new_cost, new_aux = ctx.repair(pairs)
    cost, aux = baseline.cost.copy(), (baseline.length_m if baseline.weight == "travel_time" else baseline.time_s).copy()
    cost.ravel()[pairs] = new_cost
    aux.ravel()[pairs] = new_aux
    recomputed = np.zeros(cost.shape, dtype=bool)
    recomputed.ravel()[pairs] = True
    time_s, length_m = (cost, aux) if baseline.weight == "travel_time" else (aux, cost)
    return ODMatrix(engine, baseline.origins, baseline.destinations, baseline.weight, time_s, length_m, w, aux_w,
                    None, baseline, recomputed)


def od_change(before: ODMatrix, after: ODMatrix) -> pd.DataFrame:
    """Before/after comparison, one row per pair: times (s), lengths (m), delta_s and status
    (``unchanged``, ``slower``, ``faster``, ``cut off``, ``unreachable before``, ``reachable only after``)."""
    a, b = before.to_frame(), after.to_frame()
    out = a.rename(columns={"time_s": "time_before_s", "length_m": "length_before_m", "reachable": "reachable_before"})
    out["time_after_s"], out["length_after_m"] = b["time_s"].to_numpy(), b["length_m"].to_numpy()
    out["reachable_after"] = b["reachable"].to_numpy()
    out["delta_s"] = out["time_after_s"] - out["time_before_s"]
    status = np.select([~out["reachable_before"] & ~out["reachable_after"], ~out["reachable_before"],
                        ~out["reachable_after"], out["delta_s"] > 1e-6, out["delta_s"] < -1e-6],
                       ["unreachable before", "reachable only after", "cut off", "slower", "faster"], "unchanged")
    out["status"] = status
    return out
