"""OD matrices: travel time and distance between sets of nodes, full or incremental after damage.

An incremental matrix (``od_matrix(..., baseline=...)``) searches again only the pairs whose
baseline route uses a slowed or removed edge, with the repair search of
:func:`routing.engine.kernels.repair_one`; the result equals a full computation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
from numba import get_num_threads

from ..network import EdgeKey
from .jit import for_work
from .kernels import (
    INDEX_CHUNK,
    bucket_width,
    dijkstra,
    index_block,
    index_par,
    od_par,
    od_ser,
    parallel_pays,
    repair_block,
    repair_par,
    repair_workspace,
    route_incidence,
)
from .network import WEIGHTS, Network

if TYPE_CHECKING:
    import pandas as pd

    from ..scenario import Damage

# Incremental or full after damage: an incremental matrix needs the baseline's route index
# (ODMatrix.build_index), which costs more than one full damaged matrix, so od_matrix builds no index on its
# own and one damaged state (`routing run`) is computed in full; a sweep builds the index once for all its
# draws when origins x routing-graph edges reach INCREMENTAL_MIN_WORK (the demo stays full). Measured by
# benchmarks/bench_incremental.py (benchmarks/RESULTS-incremental.md).
INCREMENTAL_MIN_WORK = 100_000  # origins x routing-graph edges: between the demo's and Malta's with 3 places


def _other(weight: str) -> str:
    return "length" if weight == "travel_time" else "travel_time"


class WorkspacePool:
    """Repair workspaces (:func:`~routing.engine.kernels.repair_workspace`) kept between calls:
    setting up their memory (tens of MB on a national graph) cost more than many repair searches.
    A caller takes one for a call and gives it back; two threads never share one. Not pickled."""

    def __init__(self) -> None:
        self.free: list[tuple[np.ndarray, ...]] = []

    @contextmanager
    def take(self, n_blocks: int, n: int, m: int) -> Iterator[tuple[np.ndarray, ...]]:
        """A workspace with rows for ``n_blocks`` blocks on a graph of ``n`` nodes and ``m`` edges."""
        try:
            ws = self.free.pop()
        except IndexError:
            ws = None
        if ws is None or ws[0].shape[0] < n_blocks or ws[0].shape[1] != n or ws[2].shape[1] != m:
            ws = repair_workspace(n_blocks, n, m)
        try:
            yield ws
        finally:
            self.free.append(ws)

    def __getstate__(self) -> dict:
        return {"free": []}


@dataclass
class ODMatrix:
    """Best routes (by ``weight``) between origin and destination nodes, as matrices.

    ``time_s`` (seconds) and ``length_m`` (metres) are those of the route minimising ``weight``
    (inf where unreachable); rows follow ``origins``, columns ``destinations`` (graph node ids).
    Paths are rebuilt on demand by :meth:`path`. ``recomputed`` marks the pairs an incremental
    computation (``od_matrix(..., baseline=...)``) searched again; the others kept their baseline
    route, which is still optimal. ``w``, ``aux_w`` and ``pred`` are on the network's routing
    graph (:attr:`Network.routing`).
    """

    network: Network
    origins: list[int]
    destinations: list[int]
    weight: str
    time_s: np.ndarray
    length_m: np.ndarray
    w: np.ndarray  # routing-graph edge weights the routes minimised (damage applied)
    aux_w: np.ndarray  # routing-graph edge values of the other attribute (length or time), summed along routes
    pred: np.ndarray | None = None  # (origins, routing nodes) edge into each node of a route; None if incremental
    baseline: ODMatrix | None = None
    recomputed: np.ndarray | None = None
    _reverse_index: ReverseIndex | None = field(default=None, repr=False)
    _incidence: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    repair_pool: WorkspacePool = field(default_factory=WorkspacePool, repr=False)
    _repair_context: RepairContext | None = field(default=None, repr=False)

    @property
    def cost(self) -> np.ndarray:
        """The minimised weight: ``time_s`` or ``length_m``."""
        return self.time_s if self.weight == "travel_time" else self.length_m

    @property
    def same_node(self) -> np.ndarray:
        """(origins, destinations) True where origin and destination are the same graph node."""
        return np.asarray(self.origins)[:, None] == np.asarray(self.destinations)[None, :]

    @property
    def origin_index(self) -> np.ndarray:
        """Routing-graph nodes where the routes from the origins start."""
        return self.network.routing.start[self.network.node_ids(self.origins)]

    @property
    def destination_index(self) -> np.ndarray:
        """Routing-graph nodes where the routes to the destinations end."""
        return self.network.routing.end[self.network.node_ids(self.destinations)]

    def routing_path(self, i: int, j: int) -> list[int] | None:
        """Routing-graph edges of the route from origin row ``i`` to destination column ``j``;
        None if unreachable."""
        if not np.isfinite(self.cost[i, j]):
            return None
        if self.origins[i] == self.destinations[j]:
            return []
        if self.pred is None:
            assert self.baseline is not None and self.recomputed is not None  # an incremental matrix
            if not self.recomputed[i, j]:
                return self.baseline.routing_path(i, j)
        o, t = int(self.origin_index[i]), int(self.destination_index[j])
        r = self.network.routing
        if self.pred is not None:
            pred = self.pred[i]
        else:  # re-search this one pair under the damaged weights
            pred, auxd, dist = np.empty(r.n, dtype=np.int32), np.empty(r.n), np.empty(r.n)
            is_target = np.zeros(r.n, dtype=bool)
            is_target[t] = True
            wc = self.w[r.fwd]
            for_work(dijkstra, r.m)(r.indptr, r.fwd, r.head, wc, wc, np.array([o]), np.inf, is_target, 1, dist, pred,
                                    auxd, np.empty(r.n, dtype=np.int64), np.empty(len(wc) + 1),
                                    np.empty(len(wc) + 1, dtype=np.int32))
        path, node = [], t
        while node != o:
            e = int(pred[node])
            path.append(e)
            node = int(r.src[e])
        path.reverse()
        return path

    def edge_path(self, i: int, j: int) -> list[int] | None:
        """Road edge indices of the route from origin row ``i`` to destination column ``j``; None if none."""
        path = self.routing_path(i, j)
        return None if path is None else self.network.routing.road_edges(path)

    def path(self, origin: int, destination: int) -> list[EdgeKey] | None:
        """The route between two graph nodes as (u, v, key) edges; None if unreachable."""
        i, j = self.origins.index(origin), self.destinations.index(destination)
        ids = self.edge_path(i, j)
        return None if ids is None else [self.network.edges[e] for e in ids]

    def reverse_index(self) -> ReverseIndex:
        """Baseline trees towards each destination under ``w`` (cached): what the repair search needs."""
        if self._reverse_index is None:
            r = self.network.routing
            sg = r.search_csr(reverse=True)
            k, n = len(self.destinations), r.n
            dist, aux = np.empty((n, k)), np.empty((n, k))
            nxt, tin, tout = (np.empty((n, k), dtype=np.int32) for _ in range(3))
            args = (sg.indptr, sg.adj, sg.head, self.w[sg.adj], self.aux_w[sg.adj], sg.node_of, sg.root_side,
                    sg.rank[self.destination_index], dist, aux, nxt, tin, tout)
            if parallel_pays(k * len(self.w)):
                index_par(min(get_num_threads(), -(-k // INDEX_CHUNK)), *args)
            else:
                for_work(index_block, k * len(self.w))(0, 1, *args)
            self._reverse_index = ReverseIndex(dist, aux, nxt, tin, tout)
        return self._reverse_index

    @property
    def indexed(self) -> bool:
        """Whether the route index incremental matrices start from is built (:meth:`build_index`)."""
        return self._reverse_index is not None and self._incidence is not None

    def build_index(self) -> ODMatrix:
        """Build (and cache) the route index incremental matrices start from: :meth:`reverse_index`,
        :meth:`incidence` and :meth:`repair_context`. Worth it before evaluating several damaged
        states (see ``INCREMENTAL_MIN_WORK``). Returns this matrix."""
        self.repair_context()  # builds the other two
        return self

    def repair_context(self) -> RepairContext:
        """The repair search's arrays under this matrix's own weights (cached): an incremental
        matrix whose damage only removes edges repairs from it (no per-edge arrays to gather)."""
        if self._repair_context is None:
            self._repair_context = RepairContext.from_baseline(self.network, self)
        return self._repair_context

    def incidence(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inverse index of the routes: ``pairs[ptr[e]:ptr[e+1]]`` are the pairs (i * l + j) whose
        route uses routing-graph edge e; ``hops[p]`` is the edge count of pair p's route (-1 if none).
        Cached."""
        if self._incidence is None:
            if self.pred is None:
                raise ValueError("an incrementally computed OD matrix has no route index; use its baseline")
            r = self.network.routing
            edges, pairs, hops = for_work(route_incidence, self.pred.size)(self.pred, r.src, self.origin_index,
                                                                           self.destination_index, self.same_node)
            order = np.argsort(edges, kind="stable")
            ptr = np.searchsorted(edges[order], np.arange(r.m + 1)).astype(np.int64)
            self._incidence = (ptr, pairs[order], hops)
        return self._incidence

    def to_frame(self) -> pd.DataFrame:
        """One row per (origin, destination): time_s, length_m, reachable."""
        import pandas as pd  # imported on use: OD matrices need no pandas

        k, n_dest = self.time_s.shape
        return pd.DataFrame({"origin": np.repeat(self.origins, n_dest), "destination": np.tile(self.destinations, k),
                             "time_s": self.time_s.ravel(), "length_m": self.length_m.ravel(),
                             "reachable": np.isfinite(self.time_s).ravel()})


def od_matrix(network: Network | nx.MultiDiGraph, origins: list[int], destinations: list[int] | None = None, *,
              weight: str = "travel_time", damage: Damage | None = None, w: np.ndarray | None = None,
              baseline: ODMatrix | None = None, incremental: bool | None = None) -> ODMatrix:
    """Travel time (s) and distance (m) matrices among graph nodes, minimising ``weight``.

    Parameters
    ----------
    network
        The road network (a graph is compiled first).
    origins, destinations
        Graph node ids; destinations default to the origins.
    weight
        ``"travel_time"`` (seconds) or ``"length"`` (metres): what the routes minimise.
    damage, w
        The damaged network, as a :class:`~routing.scenario.Damage` or explicit road edge weights.
    baseline
        The matrix for the same origins, destinations and weight on a network this one only makes
        slower: only the pairs whose baseline route uses a slowed or removed edge are searched
        again (repair search); the result is the same as a full computation.
    incremental
        None = use ``baseline`` only where it pays: its route index is already built
        (:meth:`ODMatrix.build_index`; building it for one matrix never pays) and origins x
        edges >= ``INCREMENTAL_MIN_WORK``. True = whenever a compatible baseline is given (its
        index is built if needed), False = never. A weight below the baseline forces a full
        computation.

    Returns
    -------
    ODMatrix
        ``time_s`` and ``length_m`` (origins x destinations; inf = unreachable) and the routes.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
    network = Network.of(network)
    destinations = list(origins) if destinations is None else list(destinations)
    origins = list(origins)
    w = network.damaged_routing_weights(weight, damage) if w is None else network.routing_weights(w)
    aux_w = network.damaged_routing_weights(_other(weight), damage)
    if incremental is None:
        incremental = baseline is not None and baseline.indexed and len(origins) * len(w) >= INCREMENTAL_MIN_WORK
    if (incremental and baseline is not None and baseline.pred is not None and baseline.weight == weight
            and baseline.origins == origins and baseline.destinations == destinations):
        changed = np.flatnonzero((w != baseline.w) | (aux_w != baseline.aux_w))
        if not (w[changed] < baseline.w[changed]).any():
            return _od_incremental(network, baseline, w, aux_w, changed)
    r = network.routing
    o_idx, d_idx = r.start[network.node_ids(origins)], r.end[network.node_ids(destinations)]
    k, n_dest = len(o_idx), len(d_idx)
    cost, aux = np.empty((k, n_dest)), np.empty((k, n_dest))
    pred = np.empty((k, r.n), dtype=np.int32)
    sg = r.search_csr()
    is_target = np.zeros(r.n, dtype=bool)
    is_target[sg.rank[d_idx]] = True
    kernel = od_par if parallel_pays(k * len(w)) else for_work(od_ser, k * len(w))
    wc = w[sg.adj]
    kernel(min(get_num_threads(), k), sg.indptr, sg.adj, sg.head, wc, aux_w, sg.root_side, sg.node_of, sg.rank[o_idx],
           sg.rank[d_idx], is_target, int(is_target.sum()), cost, aux, pred, *bucket_width(wc))
    time_s, length_m = (cost, aux) if weight == "travel_time" else (aux, cost)
    matrix = ODMatrix(network, origins, destinations, weight, time_s, length_m, w, aux_w, pred)
    time_s[matrix.same_node] = length_m[matrix.same_node] = 0.0  # not a loop through an expanded junction
    return matrix


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
    pool: WorkspacePool = field(default_factory=WorkspacePool, repr=False)

    @classmethod
    def from_baseline(cls, network: Network, baseline: ODMatrix, w: np.ndarray | None = None,
                      aux_w: np.ndarray | None = None) -> RepairContext:
        w = baseline.w if w is None else w
        aux_w = baseline.aux_w if aux_w is None else aux_w
        ptr, pairs, hops = baseline.incidence()
        r = network.routing
        graph = (r.indptr, r.fwd, r.head, w[r.fwd], aux_w[r.fwd], r.rindptr, r.rev, r.rhead, w, r.src)
        return cls(graph, baseline.reverse_index(), baseline.cost, baseline.origin_index,
                   baseline.destination_index, ptr, pairs, hops, baseline.repair_pool)

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
        n_blocks = min(len(starts), 2 * get_num_threads()) if parallel_pays(int(check.sum()) * 16) else 1
        with self.pool.take(n_blocks, len(self.graph[0]) - 1, len(self.graph[1])) as ws:
            if n_blocks > 1:
                repair_par(n_blocks, *args, ws)
            else:  # jobs x edges: at most what the repairs search
                for_work(repair_block, len(starts) * len(self.graph[1]))(0, 1, *args, ws)
        return out_cost, out_aux


def _od_incremental(network: Network, baseline: ODMatrix, w: np.ndarray, aux_w: np.ndarray,
                    changed: np.ndarray) -> ODMatrix:
    # removed edges only: the baseline's arrays with those edges skipped equal the damaged arrays
    remove = bool(np.isinf(w[changed]).all())
    ctx = baseline.repair_context() if remove else RepairContext.from_baseline(network, baseline, w, aux_w)
    gptr = np.array([0, len(changed)])
    pairs = ctx.pair_keys(gptr, changed)
    new_cost, new_aux = ctx.repair(pairs, gptr, changed, remove=remove)
    aux = (baseline.length_m if baseline.weight == "travel_time" else baseline.time_s).copy()
    cost = baseline.cost.copy()
    cost.ravel()[pairs] = new_cost
    aux.ravel()[pairs] = new_aux
    recomputed = np.zeros(cost.shape, dtype=bool)
    recomputed.ravel()[pairs] = True
    time_s, length_m = (cost, aux) if baseline.weight == "travel_time" else (aux, cost)
    return ODMatrix(network, baseline.origins, baseline.destinations, baseline.weight, time_s, length_m, w, aux_w,
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
