"""Compiled shortest-path core: the graph as CSR arrays, damage as weights, Dijkstra compiled by numba.

An :class:`Engine` is built once per baseline graph: edges sorted by tail (forward CSR) and by head
(reverse CSR), never rebuilt. Damage (removed edges, speed factors) is only a weight array
(removed = ``inf``); nothing is copied from the networkx graph after construction. Parallel edges
need no collapsing: Dijkstra relaxes each of them and remembers the edge it used.

Kernels (``numba.njit``; many-source work runs on all cores once it is big enough to pay for
starting threads, see ``PARALLEL_MIN_WORK``):

* :func:`_sssp` — Dijkstra (4-ary heap) from one node with an optional distance ``limit`` and an
  early stop once a set of target nodes is settled; it also sums a second edge attribute (length
  when routing by time) along the tree paths.
* :func:`_repair_one` — exact re-computation of OD pairs after some edges got slower or were
  removed, from the baseline (:class:`RepairContext`): A* from the origin whose potential is the
  baseline distance to the affected destinations (feasible because damage only raises weights);
  a node whose baseline route to a destination avoids every changed edge closes that
  destination at once (its baseline tail is still valid); a destination cut off is detected by a
  budgeted backward search instead of exhausting the network. Used by incremental OD matrices
  and by criticality.

Why numba rather than scipy.sparse.csgraph or igraph (measured by ``benchmarks/bench_engine.py``,
OD 50 x 50 on the 705k-edge synthetic graph): per source it is at least as fast as scipy's
Dijkstra and about twice as fast as igraph's, it runs sources on all cores, needs no CSR rebuild
per weight vector (scipy needs one, collapsing parallel edges), stops at the targets, and allows
the repair search, which neither library offers.
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
PARALLEL_MIN_WORK = 4_000_000  # sources x edges below which threads cost more than they save
INCREMENTAL_MIN_WORK = 1_000_000  # origins x edges below which a full OD is faster than a repair


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


@njit(cache=True)
def _tree_one(i, indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd):
    """Full shortest-path tree from ``sources[i]`` into row i of dist/pred/auxd."""
    m = adj.shape[0]
    _sssp(indptr, adj, head, wc, auxc, sources[i], limit, np.zeros(1, dtype=np.bool_), 0, dist[i], pred[i], auxd[i],
          np.empty(m + 1), np.empty(m + 1, dtype=np.int32))


@njit(cache=True, parallel=True)
def _trees_par(indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd):
    """:func:`_tree_one` for every source, in parallel."""
    for i in prange(sources.shape[0]):
        _tree_one(i, indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd)


@njit(cache=True)
def _trees_ser(indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd):
    """:func:`_tree_one` for every source, one after the other (small work: no thread start-up)."""
    for i in range(sources.shape[0]):
        _tree_one(i, indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd)


@njit(cache=True)
def _od_one(i, indptr, adj, head, wc, auxc, sources, targets, is_target, n_targets, cost, aux, pred):
    """Cost and aux sums from ``sources[i]`` to every target (early stop), keeping its predecessor row."""
    n = indptr.shape[0] - 1
    m = adj.shape[0]
    dist = np.empty(n)
    auxd = np.empty(n)
    _sssp(indptr, adj, head, wc, auxc, sources[i], np.inf, is_target, n_targets, dist, pred[i], auxd,
          np.empty(m + 1), np.empty(m + 1, dtype=np.int32))
    for j in range(targets.shape[0]):
        cost[i, j] = dist[targets[j]]
        aux[i, j] = auxd[targets[j]] if dist[targets[j]] < np.inf else np.inf


@njit(cache=True, parallel=True)
def _od_par(indptr, adj, head, wc, auxc, sources, targets, is_target, n_targets, cost, aux, pred):
    """:func:`_od_one` for every source, in parallel."""
    for i in prange(sources.shape[0]):
        _od_one(i, indptr, adj, head, wc, auxc, sources, targets, is_target, n_targets, cost, aux, pred)


@njit(cache=True)
def _od_ser(indptr, adj, head, wc, auxc, sources, targets, is_target, n_targets, cost, aux, pred):
    """:func:`_od_one` for every source, one after the other."""
    for i in range(sources.shape[0]):
        _od_one(i, indptr, adj, head, wc, auxc, sources, targets, is_target, n_targets, cost, aux, pred)


@njit(cache=True)
def _incidence(pred, edge_src, origins, targets):
    """(edge, pair) incidences of the tree paths origin row i -> target column j (pair = i * n_dest + j),
    and the hop count of each pair's path (-1 when unreachable or origin == target)."""
    k, n_dest = origins.shape[0], targets.shape[0]
    hops = np.full(k * n_dest, -1, dtype=np.int64)
    total = 0
    for i in range(k):
        for j in range(n_dest):
            if targets[j] == origins[i] or pred[i, targets[j]] < 0:
                continue
            h = 0
            node = targets[j]
            while node != origins[i]:
                node = edge_src[pred[i, node]]
                h += 1
            hops[i * n_dest + j] = h
            total += h
    edges = np.empty(total, dtype=np.int64)
    pairs = np.empty(total, dtype=np.int64)
    pos = 0
    for i in range(k):
        for j in range(n_dest):
            if hops[i * n_dest + j] < 0:
                continue
            node = targets[j]
            while node != origins[i]:
                e = pred[i, node]
                edges[pos] = e
                pairs[pos] = i * n_dest + j
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
def _euler(nxt, edge_dst, root, tin, tout, order, stack):
    """Euler-tour intervals of the tree towards ``root`` given by ``nxt`` (edge out of each node
    towards the root, -1 = none): x lies upstream of a (its route to the root passes through a)
    iff ``tin[a] <= tin[x] < tout[a]``. Unreached nodes get tin = tout = -1."""
    n = nxt.shape[0]
    parent = np.full(n, -1, dtype=np.int64)
    count = np.zeros(n + 1, dtype=np.int64)
    for x in range(n):
        if nxt[x] >= 0:
            parent[x] = edge_dst[nxt[x]]
            count[parent[x] + 1] += 1
    for x in range(n):
        count[x + 1] += count[x]
    fill = count[:-1].copy()
    for x in range(n):
        if parent[x] >= 0:
            order[fill[parent[x]]] = x
            fill[parent[x]] += 1
    tin[:] = -1
    tout[:] = -1
    clock = 0
    stack[0] = root
    top = 1
    tin[root] = clock
    clock += 1
    cursor = count[:-1].copy()
    while top > 0:
        x = stack[top - 1]
        if cursor[x] < count[x + 1]:
            child = order[cursor[x]]
            cursor[x] += 1
            tin[child] = clock
            clock += 1
            stack[top] = child
            top += 1
        else:
            tout[x] = clock
            top -= 1


@njit(cache=True)
def _euler_all(nxt, edge_dst, roots, tin, tout):
    """:func:`_euler` for every column (tree towards ``roots[j]``) of (nodes, roots) arrays."""
    n = nxt.shape[0]
    for j in range(roots.shape[0]):
        a_in, a_out = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32)
        _euler(nxt[:, j], edge_dst, roots[j], a_in, a_out, np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64))
        tin[:, j] = a_in
        tout[:, j] = a_out


@njit(cache=True)
def _repair_one(graph, rev, origin, dest_nodes, cols, base, changed, remove, check, ws_f, ws_i, queue, hkey, hnode,
                counters, out_cost, out_aux, ofs):
    """New cost (and aux sum) from ``origin`` to destination columns ``cols`` (nodes ``dest_nodes``, baseline costs
    ``base``) once the ``changed`` edges are slower (or, with ``remove``, gone). See
    :func:`_repair_jobs`."""
    indptr, adj, head, wc, auxc, rindptr, radj, rhead, w_edge, tail = graph
    H, Haux, nxt, tin, tout = rev
    g, aux, pi = ws_f[0], ws_f[1], ws_f[2]
    gst, closed, bst, rm = ws_i[0], ws_i[1], ws_i[2], ws_i[3]
    counters[0] += 1
    stamp = counters[0]
    rstamp = stamp if remove else -1
    nt = cols.shape[0]
    # per destination: the subtrees of its baseline tree whose route to it uses a changed edge
    n_cuts = 0
    for e in changed:
        if remove:
            rm[e] = stamp
        for a in range(nt):
            if nxt[tail[e], cols[a]] == e:
                n_cuts += 1
    cut_ptr = np.zeros(nt + 1, dtype=np.int64)
    cut_lo = np.empty(n_cuts, dtype=np.int64)
    cut_hi = np.empty(n_cuts, dtype=np.int64)
    for a in range(nt):
        cut_ptr[a + 1] = cut_ptr[a]
        for e in changed:
            if nxt[tail[e], cols[a]] == e:
                cut_lo[cut_ptr[a + 1]] = tin[tail[e], cols[a]]
                cut_hi[cut_ptr[a + 1]] = tout[tail[e], cols[a]]
                cut_ptr[a + 1] += 1
    ub = np.full(nt, np.inf)
    ub_aux = np.full(nt, np.inf)
    state = np.zeros(nt, dtype=np.int8)  # 0 open, 1 done, 2 cut off, 3 known reachable
    live = nt
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
        key, u, size = _pop(hkey, hnode, size)
        if closed[u] == stamp:
            continue
        closed[u] = stamp
        gu = g[u]
        # a node whose baseline route to destination a avoids every changed edge ends a route to a
        for a in range(nt):
            if state[a] == 1 or state[a] == 2:
                continue
            j = cols[a]
            h = H[u, j]
            if h < np.inf and gu + h < ub[a]:
                good = True
                t_in = tin[u, j]
                for c in range(cut_ptr[a], cut_ptr[a + 1]):
                    if cut_lo[c] <= t_in and t_in < cut_hi[c]:
                        good = False
                        break
                if good:
                    ub[a] = gu + h
                    ub_aux[a] = aux[u] + Haux[u, j]
            if ub[a] - base[a] <= key:  # no open node can lead to a shorter route to a
                state[a] = 1
                live -= 1
        if live == 0:
            break
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
        if pops >= next_check:  # long search: look for destinations cut off (backward search)
            next_check *= 2
            for a in range(nt):
                if state[a] != 0 or ub[a] < np.inf:
                    continue
                counters[1] += 1
                found = _reaches_forward(rindptr, radj, rhead, w_edge, rm, rstamp, dest_nodes[cols[a]],
                                         pops, g, gst, stamp, bst, counters[1], queue)
                if found == 2:
                    state[a] = 2
                    live -= 1
                elif found == 1:
                    state[a] = 3
    for a in range(nt):
        out_cost[ofs + a] = ub[a] if state[a] != 2 else np.inf
        out_aux[ofs + a] = ub_aux[a] if state[a] != 2 else np.inf


@njit(cache=True)
def _repair_block(block, n_blocks, graph, rev, base_cost, origin_nodes, dest_nodes, job_origin, job_group, job_ptr,
                  job_cols, job_check, gptr, gedges, remove, out_cost, out_aux):
    """Repair jobs ``block, block + n_blocks, ...`` with one workspace. Job q: origin row
    ``job_origin[q]``, destination columns ``job_cols[job_ptr[q]:job_ptr[q+1]]``, changed edges
    ``gedges[gptr[G]:gptr[G+1]]`` with G = ``job_group[q]`` (``remove``: they are removed, on
    top of the weights in ``graph``; else the weights already carry the change). Results go to
    ``out_cost``/``out_aux[job_ptr[q]:job_ptr[q+1]]``.

    Exact because damage only raises weights: the baseline distance to each destination stays a
    feasible A* potential (minus the destination's baseline cost, minimised over the job's
    destinations, so the search stays near the detours), and a node whose baseline route to a
    destination avoids every changed edge completes a route to it at its baseline cost. A
    destination is final once the smallest open key reaches its best route's detour.
    """
    n = graph[0].shape[0] - 1
    m = graph[1].shape[0]
    ws_f = np.empty((3, n))
    ws_i = np.zeros((3, n), dtype=np.int32)
    rm = np.zeros(m, dtype=np.int32)
    queue = np.empty(n, dtype=np.int32)
    hkey = np.empty(m + 1)
    hnode = np.empty(m + 1, dtype=np.int32)
    counters = np.zeros(2, dtype=np.int64)  # search stamp, backward-search stamp
    for q in range(block, job_origin.shape[0], n_blocks):
        lo, hi = job_ptr[q], job_ptr[q + 1]
        i = job_origin[q]
        cols = job_cols[lo:hi]
        base = np.empty(hi - lo)
        for a in range(hi - lo):
            base[a] = base_cost[i, cols[a]]
        grp = job_group[q]
        _repair_one(graph, rev, origin_nodes[i], dest_nodes, cols, base, gedges[gptr[grp]:gptr[grp + 1]], remove,
                    job_check[q], ws_f, (ws_i[0], ws_i[1], ws_i[2], rm), queue, hkey, hnode, counters,
                    out_cost, out_aux, lo)


@njit(cache=True, parallel=True)
def _repair_par(n_blocks, graph, rev, base_cost, origin_nodes, dest_nodes, job_origin, job_group, job_ptr, job_cols,
                job_check, gptr, gedges, remove, out_cost, out_aux):
    """:func:`_repair_block` for every block, in parallel (jobs dealt round-robin to blocks)."""
    for block in prange(n_blocks):
        _repair_block(block, n_blocks, graph, rev, base_cost, origin_nodes, dest_nodes, job_origin, job_group,
                      job_ptr, job_cols, job_check, gptr, gedges, remove, out_cost, out_aux)


# ---------------------------------------------------------------- Python API

def _parallel(work: int) -> bool:
    """Whether ``work`` (about edges x searches) is worth starting threads for."""
    return get_num_threads() > 1 and work >= PARALLEL_MIN_WORK


def _trees(work: int):
    """The tree kernel for this much work: parallel over sources, or serial."""
    return _trees_par if _parallel(work) else _trees_ser


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
        return self._trees(sources, w, limit, reverse=False)

    def reverse_tree(self, targets: list[int] | np.ndarray, w: np.ndarray, *, limit: float = np.inf) -> PathTree:
        """Shortest-path trees towards node indices ``targets``: ``dist[i, v]`` is from v to target i."""
        return self._trees(targets, w, limit, reverse=True)

    def _trees(self, roots: list[int] | np.ndarray, w: np.ndarray, limit: float, *, reverse: bool) -> PathTree:
        w = self._check(w)
        roots = np.atleast_1d(np.asarray(roots, dtype=np.int64))
        k, n = len(roots), self.n_nodes
        dist, pred, auxd = np.empty((k, n)), np.empty((k, n), dtype=np.int32), np.empty((k, n))
        order, indptr, head = (self._rev, self._rindptr, self._rhead) if reverse else (self._fwd, self._indptr, self._head)
        wc = w[order]
        _trees(k * len(wc))(indptr, order, head, wc, wc, roots, float(limit), dist, pred, auxd)
        return PathTree(roots, dist, pred, self.dst if reverse else self.src, reverse=reverse)

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
    _reverse: "ReverseIndex | None" = field(default=None, repr=False)
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

    def reverse_index(self) -> "ReverseIndex":
        """Baseline trees towards each destination under ``w`` (cached): what the repair search needs."""
        if self._reverse is None:
            eng = self.engine
            targets = self.destination_index
            k, n = len(targets), eng.n_nodes
            dist, pred, auxd = np.empty((k, n)), np.empty((k, n), dtype=np.int32), np.empty((k, n))
            _trees(k * len(self.w))(eng._rindptr, eng._rev, eng._rhead, self.w[eng._rev], self.aux_w[eng._rev],
                                    targets, np.inf, dist, pred, auxd)
            nxt = np.ascontiguousarray(pred.T)
            tin, tout = np.empty((n, k), dtype=np.int32), np.empty((n, k), dtype=np.int32)
            _euler_all(nxt, eng.dst, targets, tin, tout)
            self._reverse = ReverseIndex(np.ascontiguousarray(dist.T), np.ascontiguousarray(auxd.T), nxt, tin, tout)
        return self._reverse

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
        k, n_dest = self.time_s.shape
        return pd.DataFrame({"origin": np.repeat(self.origins, n_dest), "destination": np.tile(self.destinations, k),
                             "time_s": self.time_s.ravel(), "length_m": self.length_m.ravel(),
                             "reachable": np.isfinite(self.time_s).ravel()})


def od_matrix(engine: Engine, origins: list[int], destinations: list[int] | None = None, *,
              weight: str = "travel_time", damage: Damage | None = None, w: np.ndarray | None = None,
              baseline: ODMatrix | None = None, incremental: bool | None = None) -> ODMatrix:
    """Travel time (s) and distance (m) matrices among graph nodes, minimising ``weight``.

    ``damage`` (or explicit per-edge weights ``w``) gives the damaged network. With ``baseline``
    (the matrix for the same origins, destinations and weight on a network this one only makes
    slower), only the pairs whose baseline route uses a slowed or removed edge are searched
    again, by the repair search; the result is the same as a full computation. ``incremental``:
    None = only where it pays (origins x edges >= ``INCREMENTAL_MIN_WORK``), True = whenever a
    compatible baseline is given, False = never. A weight below the baseline forces a full
    computation.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
    destinations = list(origins) if destinations is None else list(destinations)
    origins = list(origins)
    w = engine.weights(weight, damage) if w is None else engine._check(w)
    aux_w = engine.weights(_other(weight), damage)
    if incremental is None:
        incremental = len(origins) * len(w) >= INCREMENTAL_MIN_WORK
    if (incremental and baseline is not None and baseline.pred is not None and baseline.weight == weight
            and baseline.origins == origins and baseline.destinations == destinations):
        changed = np.flatnonzero((w != baseline.w) | (aux_w != baseline.aux_w))
        if not (w[changed] < baseline.w[changed]).any():
            return _od_incremental(engine, baseline, w, aux_w, changed)
    o_idx, d_idx = engine.node_ids(origins), engine.node_ids(destinations)
    k, n_dest = len(o_idx), len(d_idx)
    cost, aux = np.empty((k, n_dest)), np.empty((k, n_dest))
    pred = np.empty((k, engine.n_nodes), dtype=np.int32)
    is_target = np.zeros(engine.n_nodes, dtype=bool)
    is_target[d_idx] = True
    kernel = _od_par if _parallel(k * len(w)) else _od_ser
    kernel(engine._indptr, engine._fwd, engine._head, w[engine._fwd], aux_w[engine._fwd], o_idx, d_idx, is_target,
           int(is_target.sum()), cost, aux, pred)
    time_s, length_m = (cost, aux) if weight == "travel_time" else (aux, cost)
    return ODMatrix(engine, origins, destinations, weight, time_s, length_m, w, aux_w, pred)


@dataclass
class ReverseIndex:
    """Baseline trees towards the destinations of an OD matrix, as (nodes, destinations) arrays:
    ``dist`` (weight units) and ``aux`` (the other attribute) from each node to each destination,
    ``nxt`` the tree edge out of each node (-1 none), and Euler-tour intervals ``tin``/``tout``
    (x's route passes through a iff ``tin[a] <= tin[x] < tout[a]``)."""

    dist: np.ndarray
    aux: np.ndarray
    nxt: np.ndarray
    tin: np.ndarray
    tout: np.ndarray

    def as_tuple(self) -> tuple[np.ndarray, ...]:
        return self.dist, self.aux, self.nxt, self.tin, self.tout


@dataclass
class RepairContext:
    """Arrays the repair search needs, and nothing else (no networkx objects: cheap to pickle to
    executor workers). Built from a baseline :class:`ODMatrix` and the weights of the state to
    evaluate (``w``/``aux_w``: the damaged weights for an incremental OD, the baseline ones for
    criticality, where each job removes a group of edges on top)."""

    graph: tuple[np.ndarray, ...]  # forward CSR, weights, reverse CSR, per-edge weights, edge tails
    reverse: ReverseIndex
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
        graph = (engine._indptr, engine._fwd, engine._head, w[engine._fwd], aux_w[engine._fwd], engine._rindptr,
                 engine._rev, engine._rhead, w, engine.src)
        return cls(graph, baseline.reverse_index(), baseline.cost, baseline.origin_index,
                   baseline.destination_index, ptr, pairs, hops)

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

    def repair(self, pair_keys: np.ndarray, gptr: np.ndarray, gedges: np.ndarray, *,
               remove: bool) -> tuple[np.ndarray, np.ndarray]:
        """New (cost, aux) of the pairs in sorted ``pair_keys`` (``g * n_pairs + i * l + j``), inf
        where cut off. Group g's edges ``gedges[gptr[g]:gptr[g+1]]`` are removed (``remove``) or
        are the edges whose weight the context's ``w`` changed. One job per (group, origin)."""
        if len(pair_keys) == 0:
            return np.empty(0), np.empty(0)
        k, n_dest = self.base_cost.shape
        group, pair = np.divmod(pair_keys, self.n_pairs)
        origin_row, col = np.divmod(pair, n_dest)
        job_key = group * k + origin_row
        starts = np.flatnonzero(np.r_[True, job_key[1:] != job_key[:-1]])
        job_ptr = np.r_[starts, len(pair_keys)].astype(np.int64)
        check = np.add.reduceat(self.hops[pair], starts) * 4 + 1024
        out_cost, out_aux = np.empty(len(pair_keys)), np.empty(len(pair_keys))
        args = (self.graph, self.reverse.as_tuple(), self.base_cost, self.origin_nodes, self.dest_nodes,
                origin_row[starts], group[starts], job_ptr, col, check, np.asarray(gptr, dtype=np.int64),
                np.asarray(gedges, dtype=np.int64), remove, out_cost, out_aux)
        if _parallel(int(check.sum()) * 16):
            _repair_par(min(len(starts), 4 * get_num_threads()), *args)
        else:
            _repair_block(0, 1, *args)
        return out_cost, out_aux


def _od_incremental(engine: Engine, baseline: ODMatrix, w: np.ndarray, aux_w: np.ndarray,
                    changed: np.ndarray) -> ODMatrix:
    ctx = RepairContext.from_baseline(engine, baseline, w, aux_w)
    gptr = np.array([0, len(changed)])
    pairs = ctx.pair_keys(gptr, changed)
    new_cost, new_aux = ctx.repair(pairs, gptr, changed, remove=False)
    aux = (baseline.length_m if baseline.weight == "travel_time" else baseline.time_s).copy()
    cost = baseline.cost.copy()
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
