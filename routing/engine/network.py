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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
from shapely.geometry import Polygon

from ..errors import InputError
from ..network import EdgeKey, edge_capacity_vph, road_class
from ..network.arrays import NetworkArrays, graph_arrays
from ..network.classes import BBox
from ..network.osm_file import file_format
from ..network.profiles import CLOSED, DESTINATION, Vehicle, access, fits, speed_kph
from ..network.profiles import vehicle as make_vehicle
from ..network.restrictions import restriction_value
from ..network.sources import load_network, load_osm_arrays
from ..settings import DEFAULT_PROFILE
from .index import EdgeIndex, EdgeKeys, NodeIds, NodeIndex, spatial_order
from .jit import for_work
from .kernels import dijkstra, tree_kernel
from .turns import RoutingGraph, continuing_u_turns, enclosed_roads, forbidden_sequences, routing_graph

if TYPE_CHECKING:
    from ..scenario import Damage

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
        Network if you change it. With ``arrays``, a function building the graph also does.
    profile, vehicle
        The vehicle profile (``settings.PROFILES``: ``"car"``, ``"truck"``) and, optionally, its
        dimensions (``weight_t``, ``height_m``, ``width_m``, ``length_m``) replacing the profile's.
        The profile decides which roads exist for the vehicle (access tags, weight/height/width/
        length limits), their speeds, and which turn restrictions apply. The car profile uses the
        graph's ``travel_time``; other profiles compute it from ``length`` and their speeds.
    capacity_per_lane_vph
        Per-lane capacities (vehicles/hour/lane) replacing the class defaults, by ``highway``
        value, e.g. ``{"motorway": 1800}``.
    arrays
        The engine arrays of ``G`` (:class:`~routing.network.arrays.NetworkArrays`), when the
        loader has them: the graph is then not read (see :meth:`from_arrays`).

    Road edge ``i`` is ``edges[i]`` = (u, v, key), from node index ``src[i]`` to ``dst[i]``;
    ``attr`` holds per-edge ``travel_time`` (s, inf where the vehicle may not drive; the driving
    time plus ``signal_delay_s``, the profile's delay for each traffic signal passed on the edge),
    ``length`` (m) and ``capacity`` (vehicles/hour) arrays. ``routing`` is the graph the searches run on:
    the road graph expanded where turn restrictions or destination-only access make the way a
    vehicle arrived matter (:mod:`routing.engine.turns`).
    """

    def __init__(self, G: nx.MultiDiGraph | Callable[[], nx.MultiDiGraph], *, profile: str = DEFAULT_PROFILE,
                 vehicle: Mapping[str, float | None] | None = None,
                 capacity_per_lane_vph: Mapping[str, float] | None = None, arrays: NetworkArrays | None = None):
        if arrays is None:
            if not isinstance(G, nx.MultiDiGraph):
                raise TypeError("Network needs a MultiDiGraph (or its arrays, see Network.from_arrays)")
            arrays = graph_arrays(G)
        self._compile(arrays, G, profile, vehicle, capacity_per_lane_vph)

    @classmethod
    def from_arrays(cls, arrays: NetworkArrays, graph: nx.MultiDiGraph | Callable[[], nx.MultiDiGraph], *,
                    profile: str = DEFAULT_PROFILE, vehicle: Mapping[str, float | None] | None = None,
                    capacity_per_lane_vph: Mapping[str, float] | None = None) -> Network:
        """The Network of the graph whose engine arrays are ``arrays`` (as made by the loader or
        :func:`~routing.network.arrays.graph_arrays`), without reading the graph: ``graph`` is the
        graph, or a function that builds it when :attr:`graph` is first used (picklable, to send
        the network to sweep workers). Same engine as ``Network(graph)``."""
        return cls(graph, profile=profile, vehicle=vehicle, capacity_per_lane_vph=capacity_per_lane_vph, arrays=arrays)

    @classmethod
    def load(cls, source: str | Path, *, profile: str = DEFAULT_PROFILE,
             vehicle: Mapping[str, float | None] | None = None,
             capacity_per_lane_vph: Mapping[str, float] | None = None, road_classes: str | Iterable[str] = "drive",
             bbox: BBox | None = None, polygon: Polygon | None = None, simplify: bool = True,
             cache: bool = True) -> Network:
        """``Network(load_network(source, ...), ...)`` in one step, the fast way for an OSM file:
        the engine is compiled from the loader's arrays (read memory-mapped from the graph cache
        after the first load) and the graph is built when :attr:`graph` is first used. Other
        sources are loaded as :func:`~routing.network.load_network` loads them."""
        text = str(source)
        graph: nx.MultiDiGraph | Callable[[], nx.MultiDiGraph]
        if file_format(Path(text)) is None or text.startswith(("geofabrik:", "place:")):
            graph = load_network(source, road_classes=road_classes, bbox=bbox, polygon=polygon, simplify=simplify,
                                 cache=cache)
            arrays = None
        else:
            arrays, graph = load_osm_arrays(text, road_classes=road_classes, simplify=simplify, cache=cache,
                                            clip=polygon if polygon is not None else bbox)
        return cls(graph, profile=profile, vehicle=vehicle, capacity_per_lane_vph=capacity_per_lane_vph, arrays=arrays)

    def _compile(self, arrays: NetworkArrays, graph: nx.MultiDiGraph | Callable[[], nx.MultiDiGraph],
                 profile: str, vehicle: Mapping[str, float | None] | None,
                 capacity_per_lane_vph: Mapping[str, float] | None) -> None:
        if isinstance(graph, nx.MultiDiGraph):
            self._graph: nx.MultiDiGraph | None = graph
            self._make_graph: Callable[[], nx.MultiDiGraph] | None = None
        else:
            self._graph, self._make_graph = None, graph
        self._base_cache: dict[tuple[str, bool], np.ndarray] = {}  # see _base_weights
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
        # node indices in spatial order (memory locality for the searches); edges keep the graph's order
        order = spatial_order(arrays.node_x, arrays.node_y)
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        node_id = np.array(arrays.node_id, dtype=np.int64)[order]
        self.nodes = NodeIds(node_id)
        self.node_index = NodeIndex(node_id)
        self.src = rank[np.asarray(arrays.edge_src, dtype=np.int64)]
        self.dst = rank[np.asarray(arrays.edge_dst, dtype=np.int64)]
        self.edges = EdgeKeys(node_id[self.src], node_id[self.dst], np.array(arrays.edge_key, dtype=np.int64))
        self.edge_index = EdgeIndex(self.node_index, self.edges, self.src, self.dst)
        self.records: list[dict] = list(arrays.records)  # road record of each edge: records[edge_record[i]]
        self.edge_record = np.array(arrays.edge_record, dtype=np.int64)
        self._restriction_records = list(arrays.restrictions)
        self.attr = {name: np.array(getattr(arrays, name), dtype=float)
                     for name in ("travel_time", "length", "capacity")}
        self.signals = np.asarray(arrays.signals, dtype=np.int64)
        cap, overrides, rec = self.attr["capacity"], self.capacity_overrides, self.edge_record
        redo = ~np.isfinite(cap)
        if overrides:
            overridden = np.array([road_class(r.get("highway"))[0] in overrides for r in self.records], dtype=bool)
            redo |= overridden[rec]
        if redo.any():
            cap[redo] = np.array([edge_capacity_vph(r, overrides) for r in self.records])[rec[redo]]
        destination_only = self._apply_profile()
        for name, unit in (("length", "metres; inf = impassable"), ("travel_time", "seconds; inf = impassable"),
                           ("capacity", "vehicles/hour")):
            bad = np.flatnonzero(~(self.attr[name] >= 0))  # negative or NaN (a NaN would act as a removed road)
            if len(bad):
                e = int(bad[0])
                raise InputError(f"must be a number >= 0 ({unit}); {len(bad):,} edge(s) of the graph have another "
                                 f"value", field=f"edge {self.edges[e]} {name}", value=float(self.attr[name][e]))
        out_order = np.argsort(self.src, kind="stable")
        out_ptr = np.searchsorted(self.src[out_order], np.arange(self.n_nodes + 1))
        # road edge sequences no route may contain: turn restrictions, and no U-turn where a road continues
        self.forbidden: list[tuple[int, ...]] = forbidden_sequences(
            self.restrictions(), self.edge_index, lambda v: out_order[out_ptr[v]:out_ptr[v + 1]], self.dst)
        self.u_turns = continuing_u_turns(self.n_nodes, self.src, self.dst)
        self.destination_only = destination_only
        self.routing: RoutingGraph = routing_graph(self.n_nodes, self.src, self.dst, self.forbidden,
                                                   destination_only, self.u_turns)

    @property
    def graph(self) -> nx.MultiDiGraph:
        """The road graph (built on first use when the network was made from the loader's arrays)."""
        if self._graph is None:
            assert self._make_graph is not None
            self._graph = self._make_graph()
            self._make_graph = None
        return self._graph

    def __getstate__(self) -> dict:
        """Pickled with its graph (built first if still pending), never with the function making it."""
        state = dict(self.__dict__)
        state["_graph"], state["_make_graph"] = self.graph, None
        state["_base_cache"] = {}  # rebuilt on use, not sent along
        return state

    def _apply_profile(self) -> np.ndarray:
        """Close the roads the vehicle may not use (travel time inf), set the profile's travel
        times (with the default profile the graph's, where it has them; driving time plus the delay
        of the traffic signals passed, ``signal_delay_s``); return the destination-only mask (with
        the roads reached only through such roads, see :func:`~routing.engine.turns.enclosed_roads`).
        Decided once per road record."""
        profile = self.vehicle.profile
        rec = self.edge_record
        kind = np.array([access(r, profile) for r in self.records], dtype=object)[rec]
        fit = np.array([fits(r, self.vehicle) for r in self.records], dtype=bool)[rec]
        # the profile's speeds; with the default profile only where the graph has no travel time (as the loader sets it)
        timed = np.isnan(self.attr["travel_time"]) if profile.name == DEFAULT_PROFILE else np.ones(len(rec), bool)
        if timed.any():
            speed = np.array([speed_kph(r, profile) for r in self.records], dtype=float)[rec[timed]]
            self.attr["travel_time"][timed] = self.attr["length"][timed] / (speed / 3.6)
        self.signal_delay_s = profile.signal_delay_s * self.signals
        self.attr["travel_time"] += self.signal_delay_s
        self.closed = np.asarray((kind == CLOSED) | ~fit, dtype=bool)
        self.attr["capacity"][self.closed] = 0.0
        destination = np.asarray(kind == DESTINATION, dtype=bool) & ~self.closed
        return destination | enclosed_roads(self.n_nodes, self.src, self.dst, ~self.closed & ~destination, destination)

    def restrictions(self) -> list[dict]:
        """The graph's resolved turn restrictions that apply to this vehicle, each with the
        ``kind`` ("no"/"only") of the form that applies (e.g. ``restriction:hgv`` for trucks)."""
        out = []
        for record in self._restriction_records:
            value = restriction_value(record, self.vehicle.profile)
            if value is not None and value.split("_", 1)[0] in ("no", "only"):
                out.append({**record, "kind": value.split("_", 1)[0]})
        return out

    def road_model(self) -> dict[str, object]:
        """What this network routes: the vehicle (profile, tonnes, metres, speed cap km/h) and how
        many directed edges it may not use or may use only to reach a destination, how many turn
        restrictions apply to it, the delay per traffic signal (s) and how many signal passages its
        open edges hold (a two-way road through a signal counts twice), and how many junctions the
        routing graph expands."""
        v = self.vehicle
        return {"profile": v.name, "weight_t": v.weight_t, "height_m": v.height_m, "width_m": v.width_m,
                "length_m": v.length_m, "max_speed_kph": v.profile.max_speed_kph,
                "edges_closed_to_vehicle": int(self.closed.sum()),
                "edges_destination_only": int(self.destination_only.sum()),
                "turn_restrictions_applied": len(self.restrictions()),
                "signal_delay_s": v.profile.signal_delay_s,
                "traffic_signals_on_edges": int(self.signals[~self.closed].sum()),
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
        """Indices of the given (u, v, key) edges; KeyError names the first edge not in the network."""
        return _indices(self.edge_index, list(edges))

    def node_ids(self, nodes: Iterable[int]) -> np.ndarray:
        """Node indices of the given graph node ids; KeyError names the first node not in the network."""
        return _indices(self.node_index, list(nodes))

    def edge_keys(self, edge_ids: Iterable[int]) -> list[EdgeKey]:
        """The (u, v, key) edges of edge indices."""
        return [self.edges[int(e)] for e in edge_ids]

    def weights(self, weight: str = "travel_time", damage: Damage | None = None) -> np.ndarray:
        """Road edge weights with damage applied: removed edges and edges the vehicle may not use
        inf, travel time divided by speed factors.

        ``travel_time`` in seconds, ``length`` in metres.
        """
        w = self._base_weights(weight, routing=False).copy()
        if damage is not None and not damage.is_empty():
            idx, values = self._damage_patch(weight, damage)
            w[idx] = values
        return w

    def damaged_routing_weights(self, weight: str = "travel_time", damage: Damage | None = None) -> np.ndarray:
        """``routing_weights(weights(weight, damage))`` (a new array), made from the cached undamaged
        routing weights by rewriting only the copies of the edges the damage changes."""
        w = self._base_weights(weight, routing=True).copy()
        if damage is not None and not damage.is_empty():
            idx, values = self._damage_patch(weight, damage)
            r = self.routing
            w[r.copies_of(idx)] = np.repeat(values, r.copies_ptr[idx + 1] - r.copies_ptr[idx])
        return w

    def _base_weights(self, weight: str, *, routing: bool) -> np.ndarray:
        """Undamaged road (``routing``: routing-graph) edge weights of ``weight``, cached read-only
        (made from ``attr`` and ``closed`` on first use: change those only before)."""
        key = (weight, routing)
        if key not in self._base_cache:
            if routing:
                w = self.routing_weights(self._base_weights(weight, routing=False))
            else:
                if weight not in WEIGHTS:
                    raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
                w = np.where(self.closed, np.inf, self.attr[weight])  # no NaN: the graph's are checked
            w.flags.writeable = False
            self._base_cache[key] = w
        return self._base_cache[key]

    def _damage_patch(self, weight: str, damage: Damage) -> tuple[np.ndarray, np.ndarray]:
        """The road edges whose ``weight`` the damage changes (each once) and their damaged values:
        inf where removed or barred (over any speed factor), else the travel time with the driving
        part divided by the speed factor (the signals' delay unchanged)."""
        gone = np.unique(self.edge_ids([*damage.removed_edges, *self.barred(damage)]))
        if weight != "travel_time" or not damage.speed_factor:
            return gone, np.full(len(gone), np.inf)
        slow = self.edge_ids(damage.speed_factor)
        factor = np.fromiter(damage.speed_factor.values(), dtype=float, count=len(slow))
        delay = self.signal_delay_s[slow]
        slowed = (self._base_weights(weight, routing=False)[slow] - delay) / factor + delay
        keep = ~np.isin(slow, gone)
        return np.r_[slow[keep], gone], np.r_[slowed[keep], np.full(len(gone), np.inf)]

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
        """``w`` as a float array, if it holds one non-negative value per edge (inf = removed)."""
        w = np.asarray(w, dtype=float)
        if w.shape != (len(self.edges),):
            raise ValueError(f"weights must have one value per edge ({len(self.edges)}), got shape {w.shape}")
        bad = np.flatnonzero(~(w >= 0))  # negative or NaN
        if len(bad):
            e = int(bad[0])
            raise ValueError(f"weights must be non-negative numbers (inf for a removed edge); {len(bad):,} edge(s) "
                             f"have another value, e.g. {w[e]} on edge {self.edges[e]}")
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
        for_work(dijkstra, r.m)(indptr, order, head, wc, wc, roots, float(limit), np.zeros(1, dtype=bool), 0, dist,
                                pred, np.empty(r.n), root, np.empty(r.m + len(roots) + 1),
                                np.empty(r.m + len(roots) + 1, dtype=np.int32))
        return NearestTree(r, dist, pred, root, reverse)

    def path_sum(self, edge_ids: list[int], attr: str) -> float:
        """Sum of a baseline edge attribute (``length``, ``travel_time``) along a path."""
        return float(self.attr[attr][edge_ids].sum()) if edge_ids else 0.0


def _indices(index: NodeIndex | EdgeIndex, keys: list) -> np.ndarray:
    """Indices of ``keys`` in ``index`` (one batch lookup; one by one when a key is not a plain
    integer id or edge); KeyError names the first key not in it."""
    try:
        idx = index.lookup(keys)
    except (TypeError, ValueError, OverflowError):
        idx = np.array([index.get(k, -1) for k in keys], dtype=np.int64)
    missing = np.flatnonzero(idx < 0)
    if missing.size:
        raise KeyError(keys[int(missing[0])])
    return idx

