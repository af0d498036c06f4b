"""Compiled shortest-path kernels (numba) over CSR arrays; the Python API is in
:mod:`routing.engine.network` and :mod:`routing.engine.od`.

* :func:`od_one` — the OD search on the search numbering of
  :class:`~routing.engine.turns.SearchCSR`, with a bucket queue (buckets of a fixed width of
  distance, emptied in order; :func:`bucket_width`) instead of a heap: exact, and no heap to
  reorder on each node settled (the OD 50x50 of ``benchmarks/bench_engine.py`` compares it with
  scipy's Dijkstra).
* :func:`index_block` — the route index of incremental OD (trees towards each destination, their
  Euler tours): Dijkstra with an indexed 4-ary heap (decrease-key); nodes reached through
  zero-weight arcs at the smallest distance are settled without a heap entry. Written a chunk of
  destinations at a time.
* :func:`tree_one` — the full-tree search: Dijkstra with a radix heap (keys bucketed by the
  highest bit where their float64 bits differ from the last key popped; monotone, so exact;
  measured 10-15% faster than the lazy 4-ary heap on the 705k-edge synthetic graph).
* :func:`dijkstra` — Dijkstra (4-ary heap) from one node, or from several at once, with an
  optional distance ``limit`` and an early stop once a set of target nodes is settled; it also
  sums a second edge attribute (length when routing by time) along the tree paths.
* :func:`repair_one` — exact re-computation of OD pairs after some edges got slower or were
  removed, from the baseline (:class:`routing.engine.od.RepairContext`): A* from the origin whose
  potential is the baseline distance to the affected destinations (feasible because damage only
  raises weights); a node whose baseline route to a destination avoids every changed edge closes
  that destination at once (its baseline tail is still valid) and is not expanded for it (nor is a
  node expanded at all unless some open destination still needs it: on the 705k-edge synthetic
  graph this skipped most of the nodes the repairs settled, and the damage + OD scenario took
  about a third of the time); a destination cut off is detected
  by a budgeted backward search instead of exhausting the network. Used by incremental OD
  matrices and by criticality; its workspaces (:func:`repair_workspace`) are kept between calls.

Many-source work runs on all cores once it is big enough to pay for starting threads
(:data:`PARALLEL_MIN_WORK`, :func:`parallel_pays`).
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange
from numba.cpython.unsafe.numbers import leading_zeros

from .jit import for_work

PARALLEL_MIN_WORK = 4_000_000  # sources x edges below which threads cost more than they save
BUCKET_WIDTH_OF_MEDIAN = 0.25  # od_one's bucket width / the median edge weight (OD time flat from 1/4 to 1)
MAX_BUCKETS = 1 << 20  # od_one's circular buckets at most (the width grows for a few very long edges)

@njit(cache=True, inline="always")
def heap_push(hkey, hnode, size, key, node):
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
def heap_pop(hkey, hnode, size):
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


@njit(cache=True, inline="always")
def radix_bucket(bits, last):
    """Radix-heap bucket of a key (its float64 bits) given the last key popped: the length of the
    highest bit where they differ (0 = equal)."""
    x = bits ^ last
    return 0 if x == 0 else 64 - leading_zeros(x)  # type: ignore[call-arg]  # a numba intrinsic


@njit(cache=True, inline="always")
def radix_push(pkey, pbits, pnode, pnext, bhead, used, last, key, node):
    """Insert (key, node) into the radix heap (entry ``used`` of the pool ``pkey``/``pnode``/``pnext``,
    ``pbits`` = ``pkey`` viewed as uint64; bucket lists start at ``bhead``); return the new pool use."""
    pkey[used] = key
    pnode[used] = node
    b = radix_bucket(pbits[used], last)
    pnext[used] = bhead[b]
    bhead[b] = used
    return used + 1


@njit(cache=True, inline="always")
def radix_pop(pkey, pbits, pnode, pnext, bhead, last):
    """Remove a smallest entry of a non-empty radix heap; return (key, node, new last key bits).

    Valid for monotone use (no key pushed below the last popped one, as in Dijkstra): keys of
    non-negative floats compare like their bits, and the entries of the first non-empty bucket
    are spread into lower buckets around their minimum, which then becomes ``last``.
    """
    if bhead[0] < 0:
        b = 1
        while bhead[b] < 0:
            b += 1
        x = bhead[b]
        last = pbits[x]
        while x >= 0:
            if pbits[x] < last:
                last = pbits[x]
            x = pnext[x]
        x = bhead[b]
        bhead[b] = -1
        while x >= 0:
            after = pnext[x]
            c = radix_bucket(pbits[x], last)
            pnext[x] = bhead[c]
            bhead[c] = x
            x = after
    x = bhead[0]
    bhead[0] = pnext[x]
    return pkey[x], pnode[x], last


@njit(cache=True)
def dijkstra(indptr, adj, head, wc, auxc, sources, limit, is_target, n_targets, dist, pred, auxd, root, hkey, hnode):
    """Dijkstra from every node of ``sources`` at once (each at distance 0) over CSR arrays
    (``wc``/``auxc``: weights in CSR order); one source gives the ordinary single-source search.

    Fills ``dist`` (to the nearest source; inf = not reached), ``pred`` (edge id into each node,
    -1 = none), ``auxd`` (sum of ``auxc`` along the path) and ``root`` (the source each node is
    reached from, -1 = none). Nodes farther than ``limit`` are left unreached. Stops when
    ``n_targets`` nodes flagged in ``is_target`` are settled (0 = build the whole tree); then only
    settled nodes have final values. The heaps ``hkey``/``hnode`` need room for every edge plus
    every source.
    """
    dist[:] = np.inf
    pred[:] = -1
    auxd[:] = np.inf
    root[:] = -1
    size = 0
    for s in sources:
        if dist[s] > 0.0:
            dist[s] = 0.0
            auxd[s] = 0.0
            root[s] = s
            size = heap_push(hkey, hnode, size, 0.0, s)
    remaining = n_targets
    while size > 0:
        d, u, size = heap_pop(hkey, hnode, size)
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
                root[v] = root[u]
                size = heap_push(hkey, hnode, size, nd, v)


@njit(cache=True)
def tree_one(i, indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd, pool):
    """Full shortest-path tree from ``sources[i]`` (Dijkstra with a radix heap; nodes farther than
    ``limit`` left unreached) into row i of dist/pred/auxd. ``pool``: radix-heap workspace (see
    :func:`radix_pool`)."""
    pkey, pbits, pnode, pnext, bhead = pool
    d_row, p_row, a_row = dist[i], pred[i], auxd[i]
    d_row[:] = np.inf
    p_row[:] = -1
    a_row[:] = np.inf
    bhead[:] = -1
    s = sources[i]
    d_row[s] = 0.0
    a_row[s] = 0.0
    last = np.uint64(0)
    used = radix_push(pkey, pbits, pnode, pnext, bhead, 0, last, 0.0, s)
    popped = 0
    while popped < used:
        d, u, last = radix_pop(pkey, pbits, pnode, pnext, bhead, last)
        popped += 1
        if d > d_row[u]:
            continue
        for j in range(indptr[u], indptr[u + 1]):
            nd = d + wc[j]
            v = head[j]
            if nd < d_row[v] and nd <= limit:
                d_row[v] = nd
                p_row[v] = adj[j]
                a_row[v] = a_row[u] + auxc[j]
                used = radix_push(pkey, pbits, pnode, pnext, bhead, used, last, nd, v)


@njit(cache=True)
def radix_pool(m):
    """A radix-heap workspace for ``m`` pushes: keys, their bits, nodes, links, bucket heads."""
    pkey = np.empty(m)
    return pkey, pkey.view(np.uint64), np.empty(m, dtype=np.int32), np.empty(m, dtype=np.int32), \
        np.empty(65, dtype=np.int32)


@njit(cache=True)
def trees_block(block, n_blocks, indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd):
    """:func:`tree_one` for sources ``block, block + n_blocks, ...`` with one workspace."""
    pool = radix_pool(adj.shape[0] + 1)
    for i in range(block, sources.shape[0], n_blocks):
        tree_one(i, indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd, pool)


@njit(cache=True, parallel=True)
def trees_par(indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd):
    """:func:`tree_one` for every source, in parallel (round-robin over 8 blocks)."""
    n_blocks = min(8, sources.shape[0])
    for block in prange(n_blocks):
        # prange's index is unsigned: as int64, the serial and parallel paths share one trees_block
        trees_block(np.int64(block), n_blocks, indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd)


@njit(cache=True)
def trees_ser(indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd):
    """:func:`tree_one` for every source, one after the other (small work: no thread start-up)."""
    # int64, not the literals 0 and 1 (a compile of their own): the block function trees_par uses
    trees_block(np.int64(0), np.int64(1), indptr, adj, head, wc, auxc, sources, limit, dist, pred, auxd)


@njit(cache=True)
def od_one(i, indptr, adj, head, wc, aux_w, root_side, node_of, sources, targets, is_target, n_targets, cost, aux,
           pred, inv_width, dist, queue, ws, hit, path):
    """Cost from ``sources[i]`` to every target, and the target routes in ``pred[i]``, by a search
    with a bucket queue: node x waits in bucket floor(dist[x] / width) (``inv_width`` = 1 / width),
    the buckets taken in increasing order, the nodes of one bucket in any order (one node may be
    scanned again if a shorter route to it is found from the same bucket). When a bucket is empty,
    every distance below its upper bound is final (an edge leaving it leads to the same bucket or
    a later one), so the search stops after the bucket in which the last target was first reached.
    Results equal Dijkstra's: each distance is the smallest of the sums ``dist[u] + w`` over the
    edges into the node, from final ``dist[u]``. The queue code is written out: as inlined functions
    it measured 2.2-2.4x slower on the 705k-edge synthetic graph.

    The graph is the :class:`~routing.engine.turns.SearchCSR` (``sources``, ``targets``,
    ``is_target``, ``dist`` in its numbering; search node x is routing node ``node_of[x]``);
    ``pred[i]`` is on the routing graph: the routing edge into each routing node on a route to a
    target, -1 at the origin and at unreachable targets (other entries are left as they were). The
    aux sums (``aux_w``: per routing edge) are added along the target routes afterwards, so the
    search loop touches only ``dist``, ``ws`` (edge into each search node) and the queue. ``queue``
    holds the circular buckets' first nodes and, per node, the next and previous node in its bucket
    and the bucket it is in (-1 none); ``hit`` marks targets reached, ``path`` holds one route.
    """
    bucket_first, nxt, prv, where = queue
    n_buckets = bucket_first.shape[0]
    dist[:] = np.inf
    where[:] = -1
    bucket_first[:] = -1
    hit[:] = False
    s = sources[i]
    dist[s] = 0.0
    nxt[s] = prv[s] = -1
    bucket_first[0] = s
    where[s] = 0
    size = 1  # nodes in the queue
    b = 0  # the bucket being emptied
    remaining = n_targets
    while size > 0:
        u = bucket_first[b]
        if u == -1:  # bucket b is empty: every distance up to its end is final
            if remaining == 0:
                break
            b = b + 1 if b + 1 < n_buckets else 0
            continue
        x = nxt[u]
        bucket_first[b] = x
        if x != -1:
            prv[x] = -1
        where[u] = -1
        size -= 1
        d = dist[u]
        if is_target[u] and not hit[u]:
            hit[u] = True
            remaining -= 1
        for j in range(indptr[u], indptr[u + 1]):
            nd = d + wc[j]
            v = head[j]
            if nd < dist[v]:
                dist[v] = nd
                ws[v] = adj[j]
                to = np.int64(nd * inv_width) % n_buckets
                at = where[v]
                if at == to:
                    continue
                if at == -1:
                    size += 1
                else:  # unlinked from its bucket
                    before, after = prv[v], nxt[v]
                    if before == -1:
                        bucket_first[at] = after
                    else:
                        nxt[before] = after
                    if after != -1:
                        prv[after] = before
                first = bucket_first[to]
                nxt[v] = first
                prv[v] = -1
                if first != -1:
                    prv[first] = v
                bucket_first[to] = v
                where[v] = to
    p = pred[i]
    p[node_of[s]] = -1
    for j in range(targets.shape[0]):
        t = targets[j]
        cost[i, j] = dist[t]
        if not dist[t] < np.inf:
            aux[i, j] = np.inf
            p[node_of[t]] = -1
            continue
        hops = 0
        x = t
        while x != s:
            e = ws[x]
            p[node_of[x]] = e
            path[hops] = e
            x = root_side[e]
            hops += 1
        total = 0.0
        for h in range(hops - 1, -1, -1):  # from the source, as the search would have summed
            total += aux_w[path[h]]
        aux[i, j] = total


def bucket_width(wc: np.ndarray) -> tuple[float, int]:
    """Bucket width (weight units) and number of circular buckets of :func:`od_one`'s queue for
    edge weights ``wc``: ``BUCKET_WIDTH_OF_MEDIAN`` x the median positive finite weight (of a
    sample of about 4,096 edges), at least the largest finite weight / ``MAX_BUCKETS``; the
    circular queue spans the largest weight (an edge never skips past the bucket being emptied)."""
    sample = wc[:: max(1, len(wc) // 4096)]
    sample = sample[(sample > 0) & (sample < np.inf)]
    top = float(np.max(wc, initial=0.0, where=wc < np.inf))  # the largest finite weight
    width = BUCKET_WIDTH_OF_MEDIAN * float(np.median(sample)) if len(sample) else 1.0
    width = max(width, top / MAX_BUCKETS)
    return width, int(top / width) + 2


@njit(cache=True)
def od_block(block, n_blocks, indptr, adj, head, wc, aux_w, root_side, node_of, sources, targets, is_target, n_targets,
             cost, aux, pred, width, n_buckets):
    """:func:`od_one` for sources ``block, block + n_blocks, ...`` with one workspace."""
    n = indptr.shape[0] - 1
    dist, path = np.empty(n), np.empty(n, dtype=np.int64)
    queue = (np.empty(n_buckets, dtype=np.int32), np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32),
             np.empty(n, dtype=np.int32))
    ws, hit = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.bool_)
    for i in range(block, sources.shape[0], n_blocks):
        od_one(i, indptr, adj, head, wc, aux_w, root_side, node_of, sources, targets, is_target, n_targets, cost, aux,
               pred, 1.0 / width, dist, queue, ws, hit, path)


@njit(cache=True, parallel=True)
def od_par(n_blocks, indptr, adj, head, wc, aux_w, root_side, node_of, sources, targets, is_target, n_targets, cost,
           aux, pred, width, n_buckets):
    """:func:`od_one` for every source, in parallel (sources dealt round-robin to ``n_blocks`` blocks)."""
    for block in prange(n_blocks):
        # prange's index is unsigned: as int64, the serial and parallel paths share one od_block
        od_block(np.int64(block), n_blocks, indptr, adj, head, wc, aux_w, root_side, node_of, sources, targets,
                 is_target, n_targets, cost, aux, pred, width, n_buckets)


@njit(cache=True)
def od_ser(n_blocks, indptr, adj, head, wc, aux_w, root_side, node_of, sources, targets, is_target, n_targets, cost,
           aux, pred, width, n_buckets):
    """:func:`od_one` for every source, one after the other (``n_blocks`` unused: :func:`od_par`'s signature)."""
    # int64, not the literals 0 and 1 (a compile of their own): the block function od_par uses
    od_block(np.int64(0), np.int64(1), indptr, adj, head, wc, aux_w, root_side, node_of, sources, targets, is_target,
             n_targets, cost, aux, pred, width, n_buckets)


@njit(cache=True)
def route_incidence(pred, edge_src, origins, targets, same):
    """(edge, pair) incidences of the tree paths origin row i -> target column j (pair = i * n_dest + j),
    and the hop count of each pair's path (-1 when unreachable or ``same[i, j]``: origin and target are
    the same graph node)."""
    k, n_dest = origins.shape[0], targets.shape[0]
    hops = np.full(k * n_dest, -1, dtype=np.int64)
    total = 0
    for i in range(k):
        for j in range(n_dest):
            if same[i, j] or pred[i, targets[j]] < 0:
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
def potential(H, v, cols, base):
    """A* potential of node v: min over target columns of (baseline distance v -> target - baseline
    distance origin -> target), i.e. the least detour any affected target would accept via v."""
    best = np.inf
    for a in range(cols.shape[0]):
        p = H[v, cols[a]] - base[a]
        if p < best:
            best = p
    return best


@njit(cache=True)
def reaches_forward(rindptr, radj, rhead, w_edge, rm, rstamp, t, budget, node, stamp, bst, bstamp, queue):
    """Backward BFS from t over alive edges: 1 if it meets a node the forward search reached
    (``node``: the search's per-node state, see :func:`repair_one`), 2 if it exhausts without (t is
    cut off from the origin), 0 if the budget ran out first."""
    bst[t] = bstamp
    queue[0] = t
    qhead, qtail = 0, 1
    while qhead < qtail:
        x = queue[qhead]
        qhead += 1
        if abs(node[x, 3]) == stamp and node[x, 0] < np.inf:
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
def euler(nxt, edge_dst, root, tin, tout, work):
    """Euler-tour intervals of the tree towards ``root`` given by ``nxt`` (edge out of each node
    towards the root, -1 = none): x lies upstream of a (its route to the root passes through a)
    iff ``tin[a] <= tin[x] < tout[a]``. Unreached nodes get tin = tout = -1. ``work``: int64
    workspaces (parent, child counts and cursors with room for n + 1, children, stack)."""
    parent, count, cursor, order, stack = work
    n = nxt.shape[0]
    count[:] = 0
    for x in range(n):
        parent[x] = -1
        if nxt[x] >= 0:
            parent[x] = edge_dst[nxt[x]]
            count[parent[x] + 1] += 1
    for x in range(n):
        count[x + 1] += count[x]
    cursor[:] = count
    for x in range(n):
        if parent[x] >= 0:
            order[cursor[parent[x]]] = x
            cursor[parent[x]] += 1
    cursor[:] = count
    tin[:] = -1
    tout[:] = -1
    clock = 0
    stack[0] = root
    top = 1
    tin[root] = clock
    clock += 1
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
def index_one(j, indptr, adj, head, wc, auxc, root_side, roots, d, a, p, e_in, e_out, ws):
    """Baseline tree towards ``roots[j]`` (backward Dijkstra, indexed 4-ary heap, the aux sum
    carried along) on a backward
    :class:`~routing.engine.turns.SearchCSR`, and its Euler-tour intervals (:func:`euler`), in
    search numbering: distance ``d``, aux sum ``a``, routing edge out of each node towards the
    root ``p``, intervals ``e_in``/``e_out``. ``ws``: workspaces (:func:`index_block`)."""
    hkey, hnode, pos, stack, work = ws
    d[:] = np.inf
    a[:] = np.inf
    p[:] = -1
    pos[:] = -1
    s = roots[j]
    d[s] = 0.0
    a[s] = 0.0
    hkey[0] = 0.0
    hnode[0] = s
    pos[s] = 0
    size = 1
    top = 0  # nodes settled through zero-weight arcs (stack), scanned before the next heap entry
    while size > 0 or top > 0:
        if top > 0:
            top -= 1
            u = stack[top]
            du = d[u]
        else:
            du = hkey[0]  # the heap code written out: as (inlined) functions it measured 20-30 % slower
            u = hnode[0]
            pos[u] = -2
            size -= 1
            if size > 0:
                last_key = hkey[size]
                last_node = hnode[size]
                k = 0
                while True:
                    first = 4 * k + 1
                    if first >= size:
                        break
                    best = first
                    best_key = hkey[first]
                    for c in range(first + 1, min(first + 4, size)):
                        if hkey[c] < best_key:
                            best = c
                            best_key = hkey[c]
                    if best_key >= last_key:
                        break
                    hkey[k] = best_key
                    hnode[k] = hnode[best]
                    pos[hnode[best]] = k
                    k = best
                hkey[k] = last_key
                hnode[k] = last_node
                pos[last_node] = k
        for jj in range(indptr[u], indptr[u + 1]):
            nd = du + wc[jj]
            v = head[jj]
            if nd < d[v]:
                d[v] = nd
                p[v] = adj[jj]
                a[v] = a[u] + auxc[jj]
                k = pos[v]
                if nd == du and k == -1:  # reached at the smallest distance: settled now, as the heap would
                    pos[v] = -2
                    stack[top] = v
                    top += 1
                    continue
                if k == -1:
                    k = size
                    size += 1
                while k > 0:
                    parent = (k - 1) >> 2
                    if hkey[parent] <= nd:
                        break
                    hkey[k] = hkey[parent]
                    hnode[k] = hnode[parent]
                    pos[hnode[parent]] = k
                    k = parent
                hkey[k] = nd
                hnode[k] = v
                pos[v] = k
    euler(p, root_side, s, e_in, e_out, work)


INDEX_CHUNK = 8  # roots whose trees are written to the index together (8 float64 = one cache line)


@njit(cache=True)
def index_block(block, n_blocks, indptr, adj, head, wc, auxc, node_of, root_side, roots, dist, aux, nxt, tin, tout):
    """:func:`index_one` for the chunks of :data:`INDEX_CHUNK` consecutive roots numbered ``block,
    block + n_blocks, ...``, written to their columns of the (routing nodes, roots) arrays ``dist``,
    ``aux``, ``nxt``, ``tin``, ``tout``: a chunk's trees are kept in search numbering, then written
    node by node (a cache line a node and chunk instead of one a node and root: the route index of
    the 705k-edge synthetic graph built 20-30 % faster on 2 threads, the writes half the time on one)."""
    n = indptr.shape[0] - 1
    c_max = min(INDEX_CHUNK, roots.shape[0])
    d, a = np.empty((c_max, n)), np.empty((c_max, n))
    p, e_in, e_out = np.empty((c_max, n), dtype=np.int32), np.empty((c_max, n), dtype=np.int32), \
        np.empty((c_max, n), dtype=np.int32)
    work = (np.empty(n, dtype=np.int64), np.empty(n + 1, dtype=np.int64), np.empty(n + 1, dtype=np.int64),
            np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64))
    ws = (np.empty(n), np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32), work)
    n_chunks = (roots.shape[0] + INDEX_CHUNK - 1) // INDEX_CHUNK
    for c in range(block, n_chunks, n_blocks):
        j0 = c * INDEX_CHUNK
        size = min(INDEX_CHUNK, roots.shape[0] - j0)
        for b in range(size):
            index_one(j0 + b, indptr, adj, head, wc, auxc, root_side, roots, d[b], a[b], p[b], e_in[b], e_out[b], ws)
        for x in range(n):
            y = node_of[x]
            for b in range(size):
                dist[y, j0 + b] = d[b, x]
                aux[y, j0 + b] = a[b, x]
                nxt[y, j0 + b] = p[b, x]
                tin[y, j0 + b] = e_in[b, x]
                tout[y, j0 + b] = e_out[b, x]


@njit(cache=True, parallel=True)
def index_par(n_blocks, indptr, adj, head, wc, auxc, node_of, root_side, roots, dist, aux, nxt, tin, tout):
    """:func:`index_block` for every block, in parallel (chunks of roots dealt round-robin to blocks)."""
    for block in prange(n_blocks):
        # prange's index is unsigned: as int64, the serial and parallel paths share one index_block
        index_block(np.int64(block), n_blocks, indptr, adj, head, wc, auxc, node_of, root_side, roots, dist, aux,
                    nxt, tin, tout)


@njit(cache=True)
def repair_one(graph, rev, origin, dest_nodes, cols, base, changed, remove, check, node, ws_i, queue, hkey, hnode,
                counters, out_cost, out_aux, ofs):
    """New cost (and aux sum) from ``origin`` to destination columns ``cols`` (nodes ``dest_nodes``, baseline costs
    ``base``) once the ``changed`` edges are slower (or, with ``remove``, gone). See
    :func:`repair_block`.

    ``node`` (nodes, 4): the search's state of each node in one row (one cache line: read together),
    distance, aux sum, potential and this search's stamp (+stamp reached, -stamp closed; other
    values: not reached yet). ``ws_i``: the backward searches' stamps (per node) and the removal
    stamps (per edge)."""
    indptr, adj, head, wc, auxc, rindptr, radj, rhead, w_edge, tail = graph
    H, Haux, nxt, tin, tout = rev
    bst, rm = ws_i
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
    # Euler intervals are nested or disjoint: keep the outermost ones, sorted (a node is then
    # tested by one binary search instead of against every cut)
    cut_end = cut_ptr[1:].copy()
    for a in range(nt):
        lo, hi = cut_ptr[a], cut_ptr[a + 1]
        if hi - lo > 1:
            order = np.argsort(cut_lo[lo:hi])
            los, his = cut_lo[lo:hi][order], cut_hi[lo:hi][order]
            kept = lo
            for c in range(hi - lo):
                if kept == lo or los[c] >= cut_hi[kept - 1]:
                    cut_lo[kept] = los[c]
                    cut_hi[kept] = his[c]
                    kept += 1
            cut_end[a] = kept
    ub = np.full(nt, np.inf)
    ub_aux = np.full(nt, np.inf)
    state = np.zeros(nt, dtype=np.int8)  # 0 open, 1 done, 2 cut off, 3 known reachable
    live = nt
    node[origin, 0] = 0.0
    node[origin, 1] = 0.0
    node[origin, 2] = potential(H, origin, cols, base)
    node[origin, 3] = stamp
    size = 0
    if node[origin, 2] < np.inf:
        size = heap_push(hkey, hnode, 0, node[origin, 2], origin)
    pops = 0
    next_check = check
    while size > 0 and live > 0:
        key, u, size = heap_pop(hkey, hnode, size)
        if node[u, 3] == -stamp:
            continue
        node[u, 3] = -stamp
        gu = node[u, 0]
        aux_u = node[u, 1]
        # a node whose baseline route to destination a avoids every changed edge ends a route to a;
        # u is expanded only for the open destinations where it does not: a route to a through u
        # costs at least gu + H[u, a] (damage only raises weights), so an intact route from u, or
        # gu + H[u, a] >= ub[a], leaves nothing for a to find beyond u
        expand = False
        for a in range(nt):
            if state[a] == 1 or state[a] == 2:
                continue
            j = cols[a]
            h = H[u, j]
            need = False
            if h < np.inf and gu + h < ub[a]:
                t_in = tin[u, j]
                lo, hi = cut_ptr[a], cut_end[a]  # after the search: the cuts starting at or before t_in
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if cut_lo[mid] <= t_in:
                        lo = mid + 1
                    else:
                        hi = mid
                if lo == cut_ptr[a] or t_in >= cut_hi[lo - 1]:  # in no cut subtree: its route avoids the changes
                    ub[a] = gu + h
                    ub_aux[a] = aux_u + Haux[u, j]
                else:
                    need = True
            if ub[a] - base[a] <= key:  # no open node can lead to a shorter route to a
                state[a] = 1
                live -= 1
            elif need:
                expand = True
        if live == 0:
            break
        if not expand:
            continue
        for j in range(indptr[u], indptr[u + 1]):
            v = head[j]
            if node[v, 3] == -stamp or (remove and rm[adj[j]] == stamp):
                continue
            if node[v, 3] != stamp:
                node[v, 0] = np.inf
                node[v, 2] = potential(H, np.int64(v), cols, base)
                node[v, 3] = stamp
            ng = gu + wc[j]
            if ng < node[v, 0] and node[v, 2] < np.inf:
                node[v, 0] = ng
                node[v, 1] = aux_u + auxc[j]
                size = heap_push(hkey, hnode, size, ng + node[v, 2], v)
        pops += 1
        if pops >= next_check:  # long search: look for destinations cut off (backward search)
            next_check *= 2
            for a in range(nt):
                if state[a] != 0 or ub[a] < np.inf:
                    continue
                counters[1] += 1
                found = reaches_forward(rindptr, radj, rhead, w_edge, rm, rstamp, dest_nodes[cols[a]],
                                         pops, node, stamp, bst, counters[1], queue)
                if found == 2:
                    state[a] = 2
                    live -= 1
                elif found == 1:
                    state[a] = 3
    for a in range(nt):
        out_cost[ofs + a] = ub[a] if state[a] != 2 else np.inf
        out_aux[ofs + a] = ub_aux[a] if state[a] != 2 else np.inf


def repair_workspace(n_blocks: int, n: int, m: int) -> tuple[np.ndarray, ...]:
    """Workspaces of :func:`repair_block` for ``n_blocks`` blocks on a graph of ``n`` nodes and ``m``
    edges, one row per block: node state (see :func:`repair_one`), backward-search stamps, removal
    stamps, queue, heap keys and nodes, and the counters (search stamp, backward-search stamp).
    Kept between calls (stamps keep counting up), so the memory is set up once, not per call."""
    return (np.zeros((n_blocks, n, 4)), np.zeros((n_blocks, n), dtype=np.int32),
            np.zeros((n_blocks, m), dtype=np.int32), np.empty((n_blocks, n), dtype=np.int32),
            np.empty((n_blocks, m + 1)), np.empty((n_blocks, m + 1), dtype=np.int32),
            np.zeros((n_blocks, 2), dtype=np.int64))


@njit(cache=True)
def repair_block(block, n_blocks, graph, rev, base_cost, origin_nodes, dest_nodes, job_origin, job_group, job_ptr,
                  job_cols, job_check, gptr, gedges, remove, out_cost, out_aux, ws):
    """Repair jobs ``block, block + n_blocks, ...`` with row ``block`` of the workspaces ``ws``
    (:func:`repair_workspace`). Job q: origin row ``job_origin[q]``, destination columns
    ``job_cols[job_ptr[q]:job_ptr[q+1]]``, changed edges ``gedges[gptr[G]:gptr[G+1]]`` with G =
    ``job_group[q]`` (``remove``: they are removed, on top of the weights in ``graph``; else the
    weights already carry the change). Results go to ``out_cost``/``out_aux[job_ptr[q]:job_ptr[q+1]]``.

    Exact because damage only raises weights: the baseline distance to each destination stays a
    feasible A* potential (minus the destination's baseline cost, minimised over the job's
    destinations, so the search stays near the detours), and a node whose baseline route to a
    destination avoids every changed edge completes a route to it at its baseline cost. A
    destination is final once the smallest open key reaches its best route's detour.
    """
    node, bst, rm, queue, hkey, hnode, counters = ws
    for q in range(block, job_origin.shape[0], n_blocks):
        lo, hi = job_ptr[q], job_ptr[q + 1]
        i = job_origin[q]
        cols = job_cols[lo:hi]
        base = np.empty(hi - lo)
        for a in range(hi - lo):
            base[a] = base_cost[i, cols[a]]
        grp = job_group[q]
        repair_one(graph, rev, origin_nodes[i], dest_nodes, cols, base, gedges[gptr[grp]:gptr[grp + 1]], remove,
                    job_check[q], node[block], (bst[block], rm[block]), queue[block], hkey[block], hnode[block],
                    counters[block], out_cost, out_aux, lo)


@njit(cache=True, parallel=True)
def repair_par(n_blocks, graph, rev, base_cost, origin_nodes, dest_nodes, job_origin, job_group, job_ptr, job_cols,
                job_check, gptr, gedges, remove, out_cost, out_aux, ws):
    """:func:`repair_block` for every block, in parallel (jobs dealt round-robin to blocks)."""
    for block in prange(n_blocks):
        # prange's index is unsigned: as int64, the serial and parallel paths share one repair_block
        repair_block(np.int64(block), n_blocks, graph, rev, base_cost, origin_nodes, dest_nodes, job_origin, job_group,
                      job_ptr, job_cols, job_check, gptr, gedges, remove, out_cost, out_aux, ws)


def parallel_pays(work: int) -> bool:
    """Whether ``work`` (about edges x searches) is worth starting threads for."""
    return get_num_threads() > 1 and work >= PARALLEL_MIN_WORK


def tree_kernel(work: int):
    """The tree kernel for this much work: parallel over sources, or serial (interpreted when small,
    see :mod:`routing.engine.jit`)."""
    return trees_par if parallel_pays(work) else for_work(trees_ser, work)
