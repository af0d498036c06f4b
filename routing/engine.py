"""Compiled shortest-path core: the graph as CSR arrays, damage as masks, scipy's Dijkstra.

An :class:`Engine` is built once per baseline graph. Damage (removed edges, speed factors)
becomes a weight array; nothing is copied from the networkx graph after construction.
Between two nodes, parallel edges collapse to the cheapest alive one for the chosen weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .damage import Damage, EdgeKey

WEIGHTS = ("travel_time", "length")
MIN_WEIGHT = 1e-9  # scipy drops explicit zeros from CSR; zero-length edges get this instead


@dataclass
class PathTree:
    """Shortest-path trees from some sources: ``dist[i, j]`` (weight units), predecessors, and
    the CSR pair -> edge index map used to turn predecessor nodes back into edges."""

    sources: np.ndarray  # node indices
    dist: np.ndarray  # (len(sources), n_nodes), inf where unreachable
    pred: np.ndarray  # (len(sources), n_nodes), -9999 where none
    pair_codes: np.ndarray  # sorted src * n + dst of the alive, cheapest edges
    pair_edges: np.ndarray  # edge index for each pair code
    n_nodes: int

    def edge_path(self, row: int, target: int) -> list[int] | None:
        """Edge indices of the path from source ``row`` to node index ``target``; None if unreachable."""
        if not np.isfinite(self.dist[row, target]):
            return None
        nodes = [target]
        pred = self.pred[row]
        while nodes[-1] != self.sources[row]:
            nodes.append(int(pred[nodes[-1]]))
        nodes.reverse()
        codes = np.asarray(nodes[:-1], dtype=np.int64) * self.n_nodes + np.asarray(nodes[1:], dtype=np.int64)
        return self.pair_edges[np.searchsorted(self.pair_codes, codes)].tolist()


class Engine:
    """CSR view of a MultiDiGraph for fast repeated shortest paths under damage masks."""

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

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    def edge_ids(self, edges: set[EdgeKey] | list[EdgeKey]) -> np.ndarray:
        """Indices of the given (u, v, key) edges."""
        return np.fromiter((self.edge_index[e] for e in edges), dtype=np.int64, count=len(edges))

    def weights(self, weight: str = "travel_time", damage: Damage | None = None) -> np.ndarray:
        """Edge weights with damage applied: removed edges inf, travel time divided by speed factors."""
        if weight not in WEIGHTS:
            raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
        w = np.maximum(self.attr[weight], MIN_WEIGHT)
        if damage is None or damage.is_empty():
            return w
        w = w.copy()
        if weight == "travel_time" and damage.speed_factor:
            idx = self.edge_ids(list(damage.speed_factor))
            w[idx] /= np.fromiter(damage.speed_factor.values(), dtype=float, count=len(idx))
        if damage.removed_edges:
            w[self.edge_ids(damage.removed_edges)] = np.inf
        return w

    def tree(self, sources: list[int] | np.ndarray, w: np.ndarray, *, limit: float = np.inf) -> PathTree:
        """Shortest-path trees from node indices ``sources`` under edge weights ``w`` (inf = removed)."""
        n = self.n_nodes
        alive = np.isfinite(w)
        src, dst, ww, eid = self.src[alive], self.dst[alive], w[alive], np.flatnonzero(alive)
        codes = src * n + dst
        order = np.lexsort((ww, codes))  # by pair, cheapest first
        codes, ww, eid = codes[order], ww[order], eid[order]
        first = np.ones(len(codes), dtype=bool)
        first[1:] = codes[1:] != codes[:-1]
        codes, ww, eid = codes[first], ww[first], eid[first]
        matrix = csr_matrix((ww, (codes // n, codes % n)), shape=(n, n))
        sources = np.asarray(sources, dtype=np.int64)
        dist, pred = dijkstra(matrix, directed=True, indices=sources, return_predecessors=True, limit=limit)
        return PathTree(sources, np.atleast_2d(dist), np.atleast_2d(pred), codes, eid, n)

    def path_sum(self, edge_ids: list[int], attr: str) -> float:
        """Sum of a baseline edge attribute (``length``, ``travel_time``) along a path."""
        return float(self.attr[attr][edge_ids].sum()) if edge_ids else 0.0
