"""A :class:`Network`: a road graph and its compiled arrays, built once, the first argument of
every analysis.

The graph (an osmnx-compatible ``MultiDiGraph``) is read once into CSR arrays: edges sorted by
tail (forward CSR) and by head (reverse CSR). Damage (removed edges, speed and capacity factors)
is only a weight array (removed = ``inf``); nothing is copied from the networkx graph after
construction and the graph is never modified. Parallel edges need no collapsing: Dijkstra
relaxes each of them and remembers the edge it used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ..errors import InputError
from ..network import EdgeKey, edge_capacity_vph, road_class
from ..scenario import Damage
from .kernels import dijkstra, tree_kernel

WEIGHTS = ("travel_time", "length")
NO_PRED = -9999  # "no predecessor" in PathTree.pred (scipy's convention)


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


@dataclass
class NearestTree:
    """Paths from (``reverse``: to) the nearest of several sources: ``dist[v]`` (weight units),
    ``pred_edge[v]`` the edge into v on its path (reverse: out of v; -1 none), ``root[v]`` the
    source's node index (-1 = not reached)."""

    dist: np.ndarray
    pred_edge: np.ndarray
    root: np.ndarray
    step_node: np.ndarray
    reverse: bool = False

    def edge_path(self, target: int) -> list[int] | None:
        """Edge indices of the path from the nearest source to node index ``target`` (reverse:
        from ``target`` to its nearest source), in travel order; None if unreachable."""
        if self.root[target] < 0:
            return None
        path, node = [], int(target)
        while node != self.root[target]:
            e = int(self.pred_edge[node])
            path.append(e)
            node = int(self.step_node[e])
        if not self.reverse:
            path.reverse()
        return path


class Network:
    """A road graph and its compiled arrays, for fast repeated shortest paths and flows under damage.

    Parameters
    ----------
    G
        An osmnx-compatible ``MultiDiGraph`` with ``length`` (m), ``travel_time`` (s) and
        ``capacity`` (vehicles/hour) on its edges (see :func:`routing.load_network`). It is read,
        never modified; build a new Network if you change it.
    capacity_per_lane_vph
        Per-lane capacities (vehicles/hour/lane) replacing the class defaults, by ``highway``
        value, e.g. ``{"motorway": 1800}``.

    Edge ``i`` is ``edges[i]`` = (u, v, key), from node index ``src[i]`` to ``dst[i]``; ``attr``
    holds per-edge ``travel_time`` (s), ``length`` (m) and ``capacity`` (vehicles/hour) arrays.
    ``indptr``/``fwd``/``head`` are the forward CSR (edge ids ``fwd[indptr[v]:indptr[v+1]]``
    leave node v towards ``head``), ``rindptr``/``rev``/``rhead`` the reverse CSR.
    """

    def __init__(self, G: nx.MultiDiGraph, *, capacity_per_lane_vph: Mapping[str, float] | None = None):
        self.graph = G
        self.capacity_overrides: dict[str, float] = dict(capacity_per_lane_vph or {})
        for cls_name, value in self.capacity_overrides.items():
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (number and math.isfinite(value) and value >= 0):
                raise InputError("per-lane capacity must be a finite number >= 0 (vehicles/hour/lane)",
                                 field=f"capacity.per_lane_vph.{cls_name}", value=value)
        self.nodes: list[int] = list(G.nodes)
        self.node_index: dict[int, int] = {n: i for i, n in enumerate(self.nodes)}
        self.edges: list[EdgeKey] = list(G.edges(keys=True))
        self.edge_index: dict[EdgeKey, int] = {e: i for i, e in enumerate(self.edges)}
        m = len(self.edges)
        self.src = np.fromiter((self.node_index[u] for u, _, _ in self.edges), dtype=np.int64, count=m)
        self.dst = np.fromiter((self.node_index[v] for _, v, _ in self.edges), dtype=np.int64, count=m)
        self.attr = {name: np.fromiter((float(d.get(name, np.nan)) for _, _, d in G.edges(data=True)),
                                       dtype=float, count=m)
                     for name in ("travel_time", "length", "capacity")}
        cap, overrides = self.attr["capacity"], self.capacity_overrides
        for i in (range(m) if overrides else np.flatnonzero(~np.isfinite(cap))):
            data = G.edges[self.edges[i]]
            if not np.isfinite(cap[i]) or road_class(data.get("highway"))[0] in overrides:
                cap[i] = edge_capacity_vph(data, overrides)
        n = self.n_nodes
        if max(n, m) >= 2**31 - 1:
            raise ValueError("graphs with 2**31 nodes or edges are not supported")
        # CSR arrays (int32: half the memory traffic of int64)
        self.fwd = np.argsort(self.src, kind="stable").astype(np.int32)  # edge ids in forward-CSR order
        self.indptr = np.searchsorted(self.src[self.fwd], np.arange(n + 1)).astype(np.int32)
        self.head = self.dst[self.fwd].astype(np.int32)
        self.rev = np.argsort(self.dst, kind="stable").astype(np.int32)  # edge ids in reverse-CSR order
        self.rindptr = np.searchsorted(self.dst[self.rev], np.arange(n + 1)).astype(np.int32)
        self.rhead = self.src[self.rev].astype(np.int32)

    @classmethod
    def of(cls, network: Network | nx.MultiDiGraph) -> Network:
        """``network`` itself, or a new Network of a graph."""
        return network if isinstance(network, Network) else cls(network)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    def edge_ids(self, edges: Iterable[EdgeKey]) -> np.ndarray:
        """Indices of the given (u, v, key) edges."""
        edges = list(edges)
        return np.fromiter((self.edge_index[e] for e in edges), dtype=np.int64, count=len(edges))

    def node_ids(self, nodes: Iterable[int]) -> np.ndarray:
        """Node indices of the given graph node ids."""
        nodes = list(nodes)
        return np.fromiter((self.node_index[n] for n in nodes), dtype=np.int64, count=len(nodes))

    def edge_keys(self, edge_ids: Iterable[int]) -> list[EdgeKey]:
        """The (u, v, key) edges of edge indices."""
        return [self.edges[int(e)] for e in edge_ids]

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
            idx = self.edge_ids(damage.speed_factor)
            w[idx] /= np.fromiter(damage.speed_factor.values(), dtype=float, count=len(idx))
        if damage.removed_edges:
            w[self.edge_ids(damage.removed_edges)] = np.inf
        return w

    def capacities(self, damage: Damage | None = None) -> np.ndarray:
        """Edge capacities in vehicles/hour with damage applied: removed edges 0, others times
        their ``capacity_factor``."""
        cap = self.attr["capacity"].copy()
        if damage is not None:
            if damage.capacity_factor:
                idx = self.edge_ids(damage.capacity_factor)
                cap[idx] *= np.fromiter(damage.capacity_factor.values(), dtype=float, count=len(idx))
            if damage.removed_edges:
                cap[self.edge_ids(damage.removed_edges)] = 0.0
        return cap

    def check_weights(self, w: np.ndarray) -> np.ndarray:
        """``w`` as a float array, if it holds one non-negative value per edge."""
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
        w = self.check_weights(w)
        roots = np.atleast_1d(np.asarray(roots, dtype=np.int64))
        k, n = len(roots), self.n_nodes
        dist, pred, auxd = np.empty((k, n)), np.empty((k, n), dtype=np.int32), np.empty((k, n))
        order, indptr, head = (self.rev, self.rindptr, self.rhead) if reverse else (self.fwd, self.indptr, self.head)
        wc = w[order]
        tree_kernel(k * len(wc))(indptr, order, head, wc, wc, roots, float(limit), dist, pred, auxd)
        return PathTree(roots, dist, pred, self.dst if reverse else self.src, reverse=reverse)

    def nearest(self, sources: Iterable[int], w: np.ndarray, *, reverse: bool = False,
                limit: float = np.inf) -> NearestTree:
        """One search from all node indices ``sources`` at once (reverse: towards them) under
        weights ``w``: each node's distance to its nearest source (weight units) and the path."""
        w = self.check_weights(w)
        roots = np.unique(np.asarray(list(sources), dtype=np.int64))
        order, indptr, head = (self.rev, self.rindptr, self.rhead) if reverse else (self.fwd, self.indptr, self.head)
        n, m = self.n_nodes, len(w)
        dist, pred, root = np.empty(n), np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int64)
        wc = w[order]
        dijkstra(indptr, order, head, wc, wc, roots, float(limit), np.zeros(1, dtype=bool), 0, dist, pred, np.empty(n),
                 root, np.empty(m + len(roots) + 1), np.empty(m + len(roots) + 1, dtype=np.int32))
        return NearestTree(dist, pred, root, self.dst if reverse else self.src, reverse)

    def path_sum(self, edge_ids: list[int], attr: str) -> float:
        """Sum of a baseline edge attribute (``length``, ``travel_time``) along a path."""
        return float(self.attr[attr][edge_ids].sum()) if edge_ids else 0.0
