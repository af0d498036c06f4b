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
from ..network.profiles import CLOSED, DESTINATION, Vehicle, access, fits, speed_kph
from ..network.profiles import vehicle as make_vehicle
from ..network.restrictions import restriction_value
from ..scenario import Damage
from ..settings import DEFAULT_PROFILE
from .kernels import dijkstra, tree_kernel
from .turns import RoutingGraph, continuing_u_turns, enclosed_roads, forbidden_sequences, routing_graph

WEIGHTS = ("travel_time", "length")


@dataclass
class PathTree:
    """Shortest-path trees from some road nodes (or, ``reverse=True``, towards them), computed on
    the routing graph ``routing``.

    ``dist[i, x]``: weight units (seconds, metres) from root ``i`` to routing node x (reverse: from
    x to root i), inf where unreachable; ``pred_edge[i, x]``: the routing edge into x on the tree
    path (reverse: out of x), -1 where none. ``roots``: routing node indices of the roots.
    """

    routing: RoutingGraph
    roots: np.ndarray
    dist: np.ndarray
    pred_edge: np.ndarray
    reverse: bool = False

    def node_dist(self) -> np.ndarray:
        """(roots, road nodes) distances: to road node v (reverse: from v); 0 at the root's node."""
        d = self.dist[:, self.routing.start if self.reverse else self.routing.end]
        d[np.arange(len(self.roots)), self.routing.node_road[self.roots]] = 0.0
        return d

    def routing_path(self, row: int, x: int) -> list[int] | None:
        """Routing edges of the tree path between root ``row`` and routing node ``x``, in travel
        order; None if unreachable."""
        if not np.isfinite(self.dist[row, x]):
            return None
        return _tree_path(self.routing, self.pred_edge[row], int(x), int(self.roots[row]), self.reverse)

    def edge_path(self, row: int, node: int) -> list[int] | None:
        """Road edges of the path from root ``row`` to road node index ``node`` (reverse: from
        ``node`` to root ``row``), in travel order; None if unreachable."""
        if self.routing.node_road[self.roots[row]] == node:
            return []
        x = self.routing.start[node] if self.reverse else self.routing.end[node]
        path = self.routing_path(row, int(x))
        return None if path is None else self.routing.road_edges(path)


@dataclass
class NearestTree:
    """Paths from (``reverse``: to) the nearest of several road nodes, on the routing graph:
    ``dist[x]`` (weight units) and ``pred_edge[x]`` (routing edge into x on its path; reverse: out
    of x; -1 none) per routing node, ``root[x]`` the routing node of the source (-1 = not reached)."""

    routing: RoutingGraph
    dist: np.ndarray
    pred_edge: np.ndarray
    root: np.ndarray
    reverse: bool = False

    def node_dist(self) -> np.ndarray:
        """Distance of each road node to (reverse: from) its nearest source; 0 at the sources."""
        d = self.dist[self.routing.start if self.reverse else self.routing.end]
        roots = np.unique(self.root[self.root >= 0])
        d[self.routing.node_road[roots]] = 0.0
        return d

    def edge_path(self, node: int) -> list[int] | None:
        """Road edges of the path from the nearest source to road node index ``node`` (reverse:
        from ``node`` to its nearest source), in travel order; None if unreachable."""
        x = int(self.routing.start[node] if self.reverse else self.routing.end[node])
        if self.root[x] < 0:
            return None
        if node in self.routing.node_road[np.unique(self.root[self.root >= 0])]:
            return []
        return self.routing.road_edges(_tree_path(self.routing, self.pred_edge, x, int(self.root[x]), self.reverse))


def _tree_path(routing: RoutingGraph, pred_edge: np.ndarray, x: int, root: int, reverse: bool) -> list[int]:
    """Routing edges of the tree path between ``root`` and routing node ``x`` (following
    ``pred_edge``), in travel order."""
    step = routing.dst if reverse else routing.src
    path = []
    while x != root:
        e = int(pred_edge[x])
        path.append(e)
        x = int(step[e])
    if not reverse:
        path.reverse()
    return path


class Network:
    """A road graph compiled for one vehicle profile, for fast repeated shortest paths and flows.

    Parameters
    ----------
    G
        An osmnx-compatible ``MultiDiGraph`` with ``length`` (m), ``travel_time`` (s) and
        ``capacity`` (vehicles/hour) on its edges (see :func:`routing.load_network`), and its turn
        restrictions in ``G.graph["turn_restrictions"]``. It is read, never modified; build a new
        Network if you change it.
    profile, vehicle
        The vehicle profile (``settings.PROFILES``: ``"car"``, ``"truck"``) and, optionally, its
        dimensions (``weight_t``, ``height_m``, ``width_m``, ``length_m``) replacing the profile's.
        The profile decides which roads exist for the vehicle (access tags, weight/height/width/
        length limits), their speeds, and which turn restrictions apply. The car profile uses the
        graph's ``travel_time``; other profiles compute it from ``length`` and their speeds.
    capacity_per_lane_vph
        Per-lane capacities (vehicles/hour/lane) replacing the class defaults, by ``highway``
        value, e.g. ``{"motorway": 1800}``.

    Road edge ``i`` is ``edges[i]`` = (u, v, key), from node index ``src[i]`` to ``dst[i]``;
    ``attr`` holds per-edge ``travel_time`` (s, inf where the vehicle may not drive), ``length``
    (m) and ``capacity`` (vehicles/hour) arrays. ``routing`` is the graph the searches run on:
    the road graph expanded where turn restrictions or destination-only access make the way a
    vehicle arrived matter (:mod:`routing.engine.turns`).
    """

    def __init__(self, G: nx.MultiDiGraph, *, profile: str = DEFAULT_PROFILE,
                 vehicle: Mapping[str, float | None] | None = None,
                 capacity_per_lane_vph: Mapping[str, float] | None = None):
        self.graph = G
        self.capacity_overrides: dict[str, float] = dict(capacity_per_lane_vph or {})
        for cls_name, value in self.capacity_overrides.items():
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (number and math.isfinite(value) and value >= 0):
                raise InputError("per-lane capacity must be a finite number >= 0 (vehicles/hour/lane)",
                                 field=f"capacity.per_lane_vph.{cls_name}", value=value)
        try:
            self.vehicle: Vehicle = make_vehicle(profile, **dict(vehicle or {}))
        except ValueError as exc:
            raise InputError(str(exc), field="network.profile", value=profile) from exc
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
        destination_only = self._apply_profile()
        out_order = np.argsort(self.src, kind="stable")
        out_ptr = np.searchsorted(self.src[out_order], np.arange(self.n_nodes + 1))
        # road edge sequences no route may contain: turn restrictions, and no U-turn where a road continues
        self.forbidden: list[tuple[int, ...]] = forbidden_sequences(
            self.restrictions(), self.edge_index, lambda v: out_order[out_ptr[v]:out_ptr[v + 1]], self.dst)
        self.u_turns = continuing_u_turns(self.n_nodes, self.src, self.dst)
        self.destination_only = destination_only
        self.routing: RoutingGraph = routing_graph(self.n_nodes, self.src, self.dst, self.forbidden,
                                                   destination_only, self.u_turns)

    def _apply_profile(self) -> np.ndarray:
        """Close the roads the vehicle may not use (travel time inf), set the profile's travel
        times; return the destination-only mask (with the roads reached only through such roads,
        see :func:`~routing.engine.turns.enclosed_roads`)."""
        profile = self.vehicle.profile
        m = len(self.edges)
        kind = np.empty(m, dtype=object)
        fit = np.ones(m, dtype=bool)
        speed = np.empty(m)
        for i, (_, _, d) in enumerate(self.graph.edges(data=True)):
            kind[i] = access(d, profile)
            fit[i] = fits(d, self.vehicle)
            speed[i] = speed_kph(d, profile)
        if profile.name != DEFAULT_PROFILE:
            self.attr["travel_time"] = self.attr["length"] / (speed / 3.6)
        self.closed = np.asarray((kind == CLOSED) | ~fit, dtype=bool)
        self.attr["capacity"][self.closed] = 0.0
        destination = np.asarray(kind == DESTINATION, dtype=bool) & ~self.closed
        return destination | enclosed_roads(self.n_nodes, self.src, self.dst, ~self.closed & ~destination, destination)

    def restrictions(self) -> list[dict]:
        """The graph's resolved turn restrictions that apply to this vehicle, each with the
        ``kind`` ("no"/"only") of the form that applies (e.g. ``restriction:hgv`` for trucks)."""
        out = []
        for record in self.graph.graph.get("turn_restrictions") or []:
            value = restriction_value(record, self.vehicle.profile)
            if value is not None and value.split("_", 1)[0] in ("no", "only"):
                out.append({**record, "kind": value.split("_", 1)[0]})
        return out

    def road_model(self) -> dict[str, object]:
        """What this network routes: the vehicle (profile, tonnes, metres, speed cap km/h) and how
        many directed edges it may not use or may use only to reach a destination, how many turn
        restrictions apply to it and how many junctions the routing graph expands."""
        v = self.vehicle
        return {"profile": v.name, "weight_t": v.weight_t, "height_m": v.height_m, "width_m": v.width_m,
                "length_m": v.length_m, "max_speed_kph": v.profile.max_speed_kph,
                "edges_closed_to_vehicle": int(self.closed.sum()),
                "edges_destination_only": int(self.destination_only.sum()),
                "turn_restrictions_applied": len(self.restrictions()),
                "junctions_expanded": int(self.routing.expanded_junctions)}

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
        """Road edge weights with damage applied: removed edges and edges the vehicle may not use
        inf, travel time divided by speed factors.

        ``travel_time`` in seconds, ``length`` in metres; an edge lacking the attribute is inf.
        """
        if weight not in WEIGHTS:
            raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
        w = np.where(np.isnan(self.attr[weight]) | self.closed, np.inf, self.attr[weight])
        if damage is None or damage.is_empty():
            return w
        if weight == "travel_time" and damage.speed_factor:
            idx = self.edge_ids(damage.speed_factor)
            w[idx] /= np.fromiter(damage.speed_factor.values(), dtype=float, count=len(idx))
        if damage.removed_edges:
            w[self.edge_ids(damage.removed_edges)] = np.inf
        if damage.restricted:
            w[self.edge_ids(self.barred(damage))] = np.inf
        return w

    def barred(self, damage: Damage) -> list[EdgeKey]:
        """The restricted edges this network's vehicle may not pass."""
        v = self.vehicle
        return [e for e, r in damage.restricted.items() if not r.admits(v.name, v.weight_t, v.height_m)]

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
            if damage.restricted:
                cap[self.edge_ids(self.barred(damage))] = 0.0
        return cap

    def check_weights(self, w: np.ndarray) -> np.ndarray:
        """``w`` as a float array, if it holds one non-negative value per edge."""
        w = np.asarray(w, dtype=float)
        if w.shape != (len(self.edges),):
            raise ValueError(f"weights must have one value per edge ({len(self.edges)}), got shape {w.shape}")
        if (w < 0).any():
            raise ValueError("weights must be non-negative")
        return w

    def routing_weights(self, w: np.ndarray) -> np.ndarray:
        """Road edge weights ``w`` (one per edge, non-negative, inf = removed) on the routing graph
        (turn and hub arcs weigh 0)."""
        return self.routing.expand(self.check_weights(w))

    def tree(self, sources: list[int] | np.ndarray, w: np.ndarray, *, limit: float = np.inf) -> PathTree:
        """Shortest-path trees from road node indices ``sources`` under road edge weights ``w``
        (inf = removed); nodes farther than ``limit`` (weight units) are left unreached."""
        return self._trees(self.routing.start[np.asarray(sources, dtype=np.int64)], w, limit, reverse=False)

    def reverse_tree(self, targets: list[int] | np.ndarray, w: np.ndarray, *, limit: float = np.inf) -> PathTree:
        """Shortest-path trees towards road node indices ``targets``: ``node_dist()[i, v]`` is from v
        to target i."""
        return self._trees(self.routing.end[np.asarray(targets, dtype=np.int64)], w, limit, reverse=True)

    def _trees(self, roots: np.ndarray, w: np.ndarray, limit: float, *, reverse: bool) -> PathTree:
        r = self.routing
        wx = self.routing_weights(w)
        roots = np.atleast_1d(roots).astype(np.int64)
        k = len(roots)
        dist, pred, auxd = np.empty((k, r.n)), np.empty((k, r.n), dtype=np.int32), np.empty((k, r.n))
        order, indptr, head = (r.rev, r.rindptr, r.rhead) if reverse else (r.fwd, r.indptr, r.head)
        wc = wx[order]
        tree_kernel(k * len(wc))(indptr, order, head, wc, wc, roots, float(limit), dist, pred, auxd)
        return PathTree(r, roots, dist, pred, reverse=reverse)

    def nearest(self, sources: Iterable[int], w: np.ndarray, *, reverse: bool = False,
                limit: float = np.inf) -> NearestTree:
        """One search from all road node indices ``sources`` at once (reverse: towards them) under
        road edge weights ``w``: each node's distance to its nearest source (weight units) and the
        path."""
        nodes = np.unique(np.asarray(list(sources), dtype=np.int64))
        roots = (self.routing.end if reverse else self.routing.start)[nodes]
        return self.search(roots, self.routing_weights(w), reverse=reverse, limit=limit)

    def search(self, roots: np.ndarray, wx: np.ndarray, *, reverse: bool = False,
               limit: float = np.inf) -> NearestTree:
        """:meth:`nearest` on the routing graph itself: from routing nodes ``roots`` under
        routing-graph edge weights ``wx``."""
        r = self.routing
        roots = np.asarray(roots, dtype=np.int64)
        order, indptr, head = (r.rev, r.rindptr, r.rhead) if reverse else (r.fwd, r.indptr, r.head)
        dist, pred, root = np.empty(r.n), np.empty(r.n, dtype=np.int32), np.empty(r.n, dtype=np.int64)
        wc = np.asarray(wx, dtype=float)[order]
        dijkstra(indptr, order, head, wc, wc, roots, float(limit), np.zeros(1, dtype=bool), 0, dist, pred,
                 np.empty(r.n), root, np.empty(r.m + len(roots) + 1), np.empty(r.m + len(roots) + 1, dtype=np.int32))
        return NearestTree(r, dist, pred, root, reverse)

    def path_sum(self, edge_ids: list[int], attr: str) -> float:
        """Sum of a baseline edge attribute (``length``, ``travel_time``) along a path."""
        return float(self.attr[attr][edge_ids].sum()) if edge_ids else 0.0
