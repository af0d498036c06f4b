"""Exact repair of a nearest-source forest after edges are removed, weighted by node values.

The baseline is one multi-source search (:meth:`routing.engine.Network.nearest`, usually reverse:
each node's travel time to its nearest facility). Removing a group of edges can only change the
nodes whose tree path uses one of them: the subtrees hanging below the removed tree edges. Those
are found in the preorder of the forest (one interval per subtree), given new distances by one
Dijkstra restricted to them, seeded from their unaffected neighbours, and summed with node
weights (persons): weight losing access within a limit, weight cut off, weight × added seconds.
A group off every tree path changes nothing and costs nothing.

Groups are evaluated in parallel blocks (numba), each block with its own scratch arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import get_num_threads, njit, prange

from .kernels import heap_pop, heap_push
from .network import Network

RESULT_COLUMNS = ("weight_losing", "weight_cut", "weight_seconds_added", "weight_affected", "nodes_affected")


@njit(cache=True)
def forest_preorder(parent, reached, order, tin, tout):
    """Preorder of the forest given by ``parent`` (node index, -1 = root or unreached): the nodes of
    x's subtree are ``order[tin[x]:tout[x]]``. Unreached nodes get tin = tout = -1."""
    n = parent.shape[0]
    count = np.zeros(n + 1, dtype=np.int64)
    for x in range(n):
        if parent[x] >= 0:
            count[parent[x] + 1] += 1
    for x in range(n):
        count[x + 1] += count[x]
    children = np.empty(max(count[n], 1), dtype=np.int64)
    fill = count[:-1].copy()
    for x in range(n):
        if parent[x] >= 0:
            children[fill[parent[x]]] = x
            fill[parent[x]] += 1
    tin[:] = -1
    tout[:] = -1
    stack = np.empty(n, dtype=np.int64)
    clock = 0
    for r in range(n):
        if parent[r] >= 0 or not reached[r]:
            continue
        stack[0] = r
        top = 1
        while top > 0:
            x = stack[top - 1]
            top -= 1
            tin[x] = clock
            order[clock] = x
            clock += 1
            for j in range(count[x], count[x + 1]):
                stack[top] = children[j]
                top += 1
    # subtree sizes from the preorder, backwards
    size = np.ones(n, dtype=np.int64)
    for p in range(clock - 1, -1, -1):
        x = order[p]
        if parent[x] >= 0:
            size[parent[x]] += size[x]
    for x in range(n):
        if tin[x] >= 0:
            tout[x] = tin[x] + size[x]
    return clock


@njit(cache=True)
def repair_group(gedges, indptr, fwd, head, rindptr, rev, rhead, w, src, dist, pred_edge, order, tin, tout, weight,
                 limit, removed, affected, newd, alist, hkey, hnode, out):
    """Remove the edges ``gedges`` and write the weighted change into ``out`` (see RESULT_COLUMNS).

    ``dist``/``pred_edge``: the baseline forest (towards the sources when the CSR arrays are the
    forward ones and distances are "to the nearest source", i.e. a reverse search). Scratch
    arrays ``removed`` (edges), ``affected``, ``newd``, ``alist`` (nodes) and the heap are left
    clean for the next group.
    """
    for e in gedges:
        removed[e] = True
    k = 0
    for e in gedges:
        x = src[e]
        if pred_edge[x] == e and not affected[x]:
            for p in range(tin[x], tout[x]):
                v = order[p]
                if not affected[v]:
                    affected[v] = True
                    alist[k] = v
                    k += 1
    size = 0
    for i in range(k):
        a = alist[i]
        best = np.inf
        for j in range(indptr[a], indptr[a + 1]):
            e = fwd[j]
            u = head[j]
            if removed[e] or affected[u]:
                continue
            c = w[e] + dist[u]
            if c < best:
                best = c
        newd[a] = best
        if best < np.inf:
            size = heap_push(hkey, hnode, size, best, a)
    while size > 0:
        d, a, size = heap_pop(hkey, hnode, size)
        if d > newd[a]:
            continue
        for j in range(rindptr[a], rindptr[a + 1]):
            e = rev[j]
            x = rhead[j]
            if not affected[x] or removed[e]:
                continue
            nd = d + w[e]
            if nd < newd[x]:
                newd[x] = nd
                size = heap_push(hkey, hnode, size, nd, x)
    losing = cut = seconds = hit = 0.0
    for i in range(k):
        a = alist[i]
        p = weight[a]
        if p > 0.0 and newd[a] > dist[a]:
            hit += p
            if newd[a] == np.inf:
                cut += p
            else:
                seconds += p * (newd[a] - dist[a])
            if dist[a] <= limit < newd[a]:
                losing += p
        affected[a] = False
    for e in gedges:
        removed[e] = False
    out[0] = losing
    out[1] = cut
    out[2] = seconds
    out[3] = hit
    out[4] = k


@njit(cache=True, parallel=True)
def repair_groups(gptr, gedges, indptr, fwd, head, rindptr, rev, rhead, w, src, dist, pred_edge, order, tin, tout,
                  weight, limit, n_blocks, out):
    """:func:`repair_group` for every group of the CSR (gptr, gedges), in ``n_blocks`` parallel blocks."""
    n_groups = gptr.shape[0] - 1
    n, m = dist.shape[0], w.shape[0]
    for b in prange(n_blocks):
        removed = np.zeros(m, dtype=np.bool_)
        affected = np.zeros(n, dtype=np.bool_)
        newd = np.empty(n)
        alist = np.empty(n, dtype=np.int64)
        hkey = np.empty(m + n + 1)
        hnode = np.empty(m + n + 1, dtype=np.int32)
        for g in range(b, n_groups, n_blocks):
            repair_group(gedges[gptr[g]:gptr[g + 1]], indptr, fwd, head, rindptr, rev, rhead, w, src, dist,
                         pred_edge, order, tin, tout, weight, limit, removed, affected, newd, alist, hkey, hnode,
                         out[g])


@dataclass
class NearestForest:
    """A reverse nearest-source search on the routing graph (:mod:`routing.engine.turns`: the road
    graph, expanded where turn restrictions apply), prepared for removal repairs: per routing node
    the tree (``dist`` in seconds to the nearest source, ``pred_edge`` the routing edge out of it
    on its path, ``root`` its source), the forest's preorder (``order``, ``tin``, ``tout``), the
    routing-edge weights ``w`` and the routing graph's CSR arrays. A route from road node v starts
    at routing node ``start[v]``. Plain arrays only: cheap to send to workers."""

    dist: np.ndarray
    pred_edge: np.ndarray
    root: np.ndarray
    w: np.ndarray
    order: np.ndarray
    tin: np.ndarray
    tout: np.ndarray
    start: np.ndarray
    csr: tuple[np.ndarray, ...]  # indptr, fwd, head, rindptr, rev, rhead, src (routing graph)

    @classmethod
    def build(cls, network: Network, sources: np.ndarray, w: np.ndarray) -> NearestForest:
        """Search towards road node indices ``sources`` under road edge weights ``w`` and index the forest."""
        r = network.routing
        tree = network.nearest(sources, w, reverse=True)
        parent = np.where(tree.pred_edge >= 0, r.dst[np.maximum(tree.pred_edge, 0)], -1).astype(np.int64)
        order, tin, tout = np.empty(r.n, dtype=np.int64), np.empty(r.n, dtype=np.int64), np.empty(r.n, dtype=np.int64)
        forest_preorder(parent, tree.root >= 0, order, tin, tout)
        csr = (r.indptr, r.fwd, r.head, r.rindptr, r.rev, r.rhead, r.src)
        return cls(tree.dist, tree.pred_edge, tree.root, network.routing_weights(w), order, tin, tout,
                   np.asarray(r.start, dtype=np.int64), csr)

    def routing_weight(self, node_weight: np.ndarray, sources: np.ndarray) -> np.ndarray:
        """Per routing node: the weight (persons) of each road node at the node its routes start
        from; none at the sources (their own people are 0 s away, whatever fails elsewhere)."""
        out = np.zeros(len(self.dist))
        np.add.at(out, self.start, node_weight)
        out[self.start[sources]] = 0.0
        return out

    def subtree_weight(self, weight: np.ndarray) -> np.ndarray:
        """Per routing edge: the routing-node weight (persons) whose path to its nearest source
        uses the edge."""
        reached = self.tin >= 0
        pre = np.zeros(len(self.dist) + 1)
        ordered = self.order[:int(reached.sum())]
        pre[1:len(ordered) + 1] = np.cumsum(weight[ordered])
        below = np.zeros(len(self.dist))
        below[reached] = pre[self.tout[reached]] - pre[self.tin[reached]]
        out = np.zeros(len(self.w))
        on_tree = self.pred_edge >= 0
        out[self.pred_edge[on_tree]] = below[on_tree]
        return out

    def removal_impact(self, gptr: np.ndarray, gedges: np.ndarray, weight: np.ndarray, limit: float) -> np.ndarray:
        """(groups, 5) array of RESULT_COLUMNS when each group's routing edges alone are removed:
        routing-node weight losing access within ``limit`` (seconds), weight cut off, weight ×
        seconds added (over weight still connected), weight whose time grows, nodes searched again."""
        n_groups = len(gptr) - 1
        out = np.zeros((n_groups, len(RESULT_COLUMNS)))
        if n_groups == 0:
            return out
        blocks = min(n_groups, 4 * get_num_threads())
        indptr, fwd, head, rindptr, rev, rhead, src = self.csr
        repair_groups(np.asarray(gptr, dtype=np.int64), np.asarray(gedges, dtype=np.int64), indptr, fwd, head,
                      rindptr, rev, rhead, self.w, src, self.dist, self.pred_edge, self.order, self.tin, self.tout,
                      np.asarray(weight, dtype=float), float(limit), blocks, out)
        return out
