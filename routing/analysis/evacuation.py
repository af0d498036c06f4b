"""Evacuation capacity: maximum flow out of an origin area, its min-cut bottleneck, clearance time.

Units: capacities and flows in vehicles/hour (``_vph``, whole vehicles), people in persons and
persons/hour, travel times in seconds (``_s``), clearance in hours (``_hours``).

Model (see docs/evacuation-method.md): every edge carries at most its capacity (vehicles/hour,
one direction; :meth:`routing.engine.Network.capacities`, with the network's per-class
overrides, times the damage capacity factor; removed edges carry nothing). A super-source feeds every origin
node and every destination node drains into a super-sink, so the maximum flow is the steady
evacuation throughput (Ford & Fulkerson). Edges into an origin node or out of a destination node
are left out: an evacuee leaves the origin area once and stops at the first safe destination;
this changes neither the maximum flow nor the minimum cut value.

Clearance of N persons is bracketed: an achievable time from the temporally repeated max flow
(send each path's flow for as long as needed) and a lower bound from the minimum cut (no one
crosses a cut edge faster than its capacity, nor arrives sooner than the fastest path through it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from ..engine import Network, RoutingGraph
from ..engine.jit import for_work
from ..engine.kernels import dijkstra
from ..errors import InputError
from ..network import EdgeKey
from ..network.tags import road_label, tag_text, truthy
from ..scenario import Damage
from ..settings import PERSONS_PER_VEHICLE, POPULATIONS

INT32_MAX = np.iinfo(np.int32).max  # scipy's maximum_flow works on int32 capacities
ROUTES_SHOWN = 10  # routes in to_dict() unless asked otherwise


@dataclass
class BottleneckEdge:
    """One edge of the minimum cut: saturated, it limits the evacuation throughput.

    ``edge_id`` indexes ``Network.edges``; ``capacity_vph`` is after damage (and equals the edge's
    flow), ``base_capacity_vph`` before damage; ``label`` is a readable road name for reports.
    """

    u: int
    v: int
    key: int
    edge_id: int
    osmid: Any
    name: str | None
    ref: str | None
    highway: str | None
    bridge: bool
    tunnel: bool
    capacity_vph: int
    base_capacity_vph: float
    label: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields."""
        return {"u": self.u, "v": self.v, "key": self.key, "edge_id": self.edge_id, "osmid": _plain(self.osmid),
                "name": self.name, "ref": self.ref, "highway": self.highway, "bridge": self.bridge,
                "tunnel": self.tunnel, "capacity_vph": self.capacity_vph,
                "base_capacity_vph": self.base_capacity_vph, "label": self.label}


@dataclass
class FlowRoute:
    """One path of the flow decomposition, from an origin node to a destination's node.

    ``flow_vph`` vehicles/hour run along it (``flow_persons_per_hour`` persons/hour);
    ``travel_time_s`` is its free-flow travel time under damage (seconds), ``length_m`` metres;
    ``via`` the road names/refs it follows, in order.
    """

    destination: str
    origin_node: int
    destination_node: int
    edges: list[EdgeKey]
    flow_vph: int
    flow_persons_per_hour: float
    travel_time_s: float
    length_m: float
    via: list[str]

    def to_dict(self, *, include_edges: bool = False) -> dict[str, Any]:
        """JSON-serialisable fields; the edge list only when asked (it can be long)."""
        out: dict[str, Any] = {"destination": self.destination, "origin_node": self.origin_node,
                               "destination_node": self.destination_node, "flow_vph": self.flow_vph,
                               "flow_persons_per_hour": self.flow_persons_per_hour,
                               "travel_time_s": self.travel_time_s, "length_m": self.length_m, "via": self.via}
        if include_edges:
            out["edges"] = [list(e) for e in self.edges]
        return out


@dataclass
class EvacuationResult:
    """Evacuation throughput, bottleneck and clearance for one network state (baseline or damaged).

    - ``max_flow_vph``: maximum evacuation flow, vehicles/hour (``max_flow_persons_per_hour``
      = times ``persons_per_vehicle``).
    - ``destination_flow_vph``: that flow split per destination name, vehicles/hour.
    - ``bottleneck``: the minimum-cut edges (closest to the origin), saturated; their capacities
      add up to ``max_flow_vph``.
    - ``routes``: flow decomposition into origin→destination paths, largest flow first.
    - ``edge_flows_vph``: vehicles/hour on each edge carrying flow, keyed by (u, v, key).
    - ``clearance_hours``: per population N (persons), hours to clear N with the temporally
      repeated max flow: achievable in the model, so an upper bound on the quickest clearance.
    - ``clearance_lower_bound_hours``: per N, no schedule clears N sooner (min-cut bound).
    - ``clearance_simple_hours``: per N, N / max flow + fastest travel time (weaker lower bound).
    - ``fastest_travel_time_s``: fastest origin→destination path with capacity, seconds.
    - ``evacuated_by_horizon_persons`` / ``evacuated_by_horizon_upper_bound_persons``: persons out
      within ``horizon_hours`` (achievable / at most); None without a horizon.
    Infinite clearance (no flow) is ``math.inf``; ``to_dict`` writes it as null.
    """

    max_flow_vph: int
    persons_per_vehicle: float
    destination_flow_vph: dict[str, int]
    bottleneck: list[BottleneckEdge]
    routes: list[FlowRoute]
    edge_flows_vph: dict[EdgeKey, int]
    clearance_hours: dict[int, float]
    clearance_lower_bound_hours: dict[int, float]
    clearance_simple_hours: dict[int, float]
    fastest_travel_time_s: float
    origin_nodes: list[int]
    destination_nodes: dict[str, list[int]]
    capacity_overrides: dict[str, float] = field(default_factory=dict)
    horizon_hours: float | None = None
    evacuated_by_horizon_persons: float | None = None
    evacuated_by_horizon_upper_bound_persons: float | None = None

    @property
    def max_flow_persons_per_hour(self) -> float:
        """Maximum evacuation flow in persons/hour."""
        return self.max_flow_vph * self.persons_per_vehicle

    @property
    def destination_flow_persons_per_hour(self) -> dict[str, float]:
        """Flow per destination in persons/hour."""
        return {k: v * self.persons_per_vehicle for k, v in self.destination_flow_vph.items()}

    def to_dict(self, *, max_routes: int = ROUTES_SHOWN, include_edge_flows: bool = False) -> dict[str, Any]:
        """JSON-serialisable summary for metrics.json (units in key names; inf as null)."""
        out: dict[str, Any] = {
            "max_flow_vph": self.max_flow_vph,
            "max_flow_persons_per_hour": self.max_flow_persons_per_hour,
            "persons_per_vehicle": self.persons_per_vehicle,
            "destination_flow_vph": dict(self.destination_flow_vph),
            "destination_flow_persons_per_hour": self.destination_flow_persons_per_hour,
            "bottleneck": [b.to_dict() for b in self.bottleneck],
            "bottleneck_capacity_vph": sum(b.capacity_vph for b in self.bottleneck),
            "routes_count": len(self.routes),
            "routes": [r.to_dict() for r in self.routes[:max_routes]],
            "clearance_hours": _json_hours(self.clearance_hours),
            "clearance_lower_bound_hours": _json_hours(self.clearance_lower_bound_hours),
            "clearance_simple_hours": _json_hours(self.clearance_simple_hours),
            "fastest_travel_time_s": _finite_or_none(self.fastest_travel_time_s),
            "origin_nodes_count": len(self.origin_nodes),
            "destination_nodes_count": {k: len(v) for k, v in self.destination_nodes.items()},
            "capacity_overrides_vph_per_lane": dict(self.capacity_overrides),
            "horizon_hours": self.horizon_hours,
            "evacuated_by_horizon_persons": self.evacuated_by_horizon_persons,
            "evacuated_by_horizon_upper_bound_persons": self.evacuated_by_horizon_upper_bound_persons,
        }
        if include_edge_flows:
            out["edge_flows_vph"] = [[u, v, k, f] for (u, v, k), f in self.edge_flows_vph.items()]
        return out


# ---------------------------------------------------------------- main entry point

def evacuation_capacity(network: Network | nx.MultiDiGraph, origin_nodes: Iterable[int],
                        destination_nodes: Mapping[str, Iterable[int]], *, damage: Damage | None = None,
                        persons_per_vehicle: float = PERSONS_PER_VEHICLE, populations: Sequence[int] = POPULATIONS,
                        horizon_hours: float | None = None) -> EvacuationResult:
    """Maximum evacuation flow from ``origin_nodes`` to the destinations, bottleneck and clearance.

    Parameters
    ----------
    network
        The road network (a graph is compiled first; pass a :class:`~routing.engine.Network` to
        reuse its arrays and per-class capacity overrides).
    origin_nodes
        Graph nodes of the origin area (e.g. all nodes within a radius of a place).
    destination_nodes
        Destination name -> its graph nodes (a node in two destinations counts for the first).
    damage
        The damaged state; None is the baseline.
    persons_per_vehicle
        Converts vehicles/hour to persons/hour.
    populations
        Evacuee counts N (persons) to clear.
    horizon_hours
        Asks how many persons get out within that many hours.
    """
    network = Network.of(network)
    origins, dest_of = _validate(network, origin_nodes, destination_nodes, persons_per_vehicle,
                                 populations, horizon_hours)
    r = network.routing
    cap_road = np.floor(network.capacities(damage) + 1e-6).astype(np.int64)  # whole vehicles/hour, never rounded up
    w_road = network.weights("travel_time", damage)  # seconds; inf where removed or closed to the vehicle
    # turn and hub arcs never bind: each carries at most what the one road edge it feeds carries
    cap = r.expand(cap_road.astype(float), arc_value=float(cap_road.max(initial=0) + 1)).astype(np.int64)
    w = r.expand(w_road)
    n_road = network.n_nodes
    is_origin, is_dest = np.zeros(n_road, dtype=bool), np.zeros(n_road, dtype=bool)
    is_origin[origins] = True
    is_dest[list(dest_of)] = True
    at_dst, at_src = r.node_road[r.dst], r.node_road[r.src]
    into_origin = is_origin[at_dst] & (r.src != r.start[at_dst])  # evacuees leave the origin area once
    out_of_dest = is_dest[at_src] & (r.dst != r.end[at_src])  # and stop at the first safe destination
    usable = (cap > 0) & np.isfinite(w) & (r.src != r.dst) & ~into_origin & ~out_of_dest
    sources = r.start[origins]
    sink_of = {int(r.end[d]): name for d, name in dest_of.items()}
    sinks = np.array(list(sink_of), dtype=np.int64)

    value, flow, reach = _max_flow(r, cap, w, usable, sources, sinks)
    road = r.phys >= 0
    if (np.bincount(r.phys[road], weights=flow[road], minlength=len(cap_road)) > cap_road).any():
        value, flow, reach = _max_flow_shared(r, cap, cap_road, usable, sources, sinks)
    flow_road = np.bincount(r.phys[road], weights=flow[road], minlength=len(cap_road)).astype(np.int64)
    cut_x = np.flatnonzero(usable & road & reach[r.src] & ~reach[r.dst])
    base_cap = network.capacities(None)
    cut_road = np.unique(r.phys[cut_x])
    bottleneck = [_bottleneck_edge(network, int(e), int(cap_road[e]), float(base_cap[e])) for e in cut_road]

    routes = _decompose(network, flow, w, sources, sink_of, persons_per_vehicle)
    dest_flow = {name: 0 for name in destination_nodes}
    for route in routes:
        dest_flow[route.destination] += route.flow_vph

    # fastest path with capacity, and per cut edge the fastest origin->destination time through it
    w_usable = np.where(usable, w, np.inf)
    from_origin = network.search(sources, w_usable).dist
    to_dest = network.search(sinks, w_usable, reverse=True).dist
    fastest_s = float(from_origin[sinks].min())
    through_x = (from_origin[r.src[cut_x]] + w[cut_x] + to_dest[r.dst[cut_x]]) / 3600.0
    through_cut_h = np.full(len(cap_road), np.inf)
    np.minimum.at(through_cut_h, r.phys[cut_x], through_x)
    through_cut_h = through_cut_h[cut_road]
    cut_rate = cap_road[cut_road] * persons_per_vehicle  # persons/hour
    path_rate = np.array([route.flow_persons_per_hour for route in routes])
    path_delay = np.array([route.travel_time_s / 3600.0 for route in routes])

    persons_per_hour = value * persons_per_vehicle
    result = EvacuationResult(
        max_flow_vph=value, persons_per_vehicle=persons_per_vehicle, destination_flow_vph=dest_flow,
        bottleneck=bottleneck, routes=routes,
        edge_flows_vph={network.edges[e]: int(flow_road[e]) for e in np.flatnonzero(flow_road > 0)},
        clearance_hours={N: clearance_time_hours(path_rate, path_delay, N) for N in populations},
        clearance_lower_bound_hours={N: clearance_time_hours(cut_rate, through_cut_h, N) for N in populations},
        clearance_simple_hours={N: (N / persons_per_hour + fastest_s / 3600.0) if persons_per_hour > 0 else math.inf
                                for N in populations},
        fastest_travel_time_s=fastest_s, origin_nodes=[network.nodes[i] for i in origins],
        destination_nodes={k: [int(x) for x in v] for k, v in destination_nodes.items()},
        capacity_overrides=dict(network.capacity_overrides), horizon_hours=horizon_hours)
    if horizon_hours is not None:
        result.evacuated_by_horizon_persons = persons_evacuated(path_rate, path_delay, horizon_hours)
        result.evacuated_by_horizon_upper_bound_persons = persons_evacuated(cut_rate, through_cut_h, horizon_hours)
    return result


def compare_evacuation(before: EvacuationResult, after: EvacuationResult) -> dict[str, Any]:
    """Change from ``before`` (baseline) to ``after`` (damaged), JSON-serialisable.

    Flow loss in vehicles/hour, persons/hour and percent; clearance hours before and after per N;
    per-destination flow; bottleneck edges that are new after damage.
    """
    lost = before.max_flow_vph - after.max_flow_vph
    before_cut = {(b.u, b.v, b.key) for b in before.bottleneck}
    return {
        "max_flow_before_vph": before.max_flow_vph,
        "max_flow_after_vph": after.max_flow_vph,
        "max_flow_lost_vph": lost,
        "max_flow_lost_persons_per_hour": lost * after.persons_per_vehicle,
        "max_flow_lost_percent": (100.0 * lost / before.max_flow_vph) if before.max_flow_vph else None,
        "clearance_hours": {str(N): {"before": _finite_or_none(before.clearance_hours.get(N, math.inf)),
                                     "after": _finite_or_none(t)} for N, t in after.clearance_hours.items()},
        "destination_flow_vph": {name: {"before": before.destination_flow_vph.get(name, 0), "after": f}
                                 for name, f in after.destination_flow_vph.items()},
        "new_bottleneck": [b.to_dict() for b in after.bottleneck if (b.u, b.v, b.key) not in before_cut],
    }


# ---------------------------------------------------------------- clearance

def persons_evacuated(rate_per_hour: np.ndarray, delay_hours: np.ndarray, hours: float) -> float:
    """Persons delivered by ``hours`` when channel i delivers ``rate_per_hour[i]`` persons/hour
    from time ``delay_hours[i]`` on: sum_i rate_i · max(0, hours − delay_i)."""
    return float(np.sum(rate_per_hour * np.maximum(0.0, hours - delay_hours)))


def clearance_time_hours(rate_per_hour: np.ndarray, delay_hours: np.ndarray, persons: float) -> float:
    """Smallest T (hours) with sum_i rate_i · max(0, T − delay_i) >= ``persons``; inf without rate.

    Channels open in order of delay; with the first k open, T = (persons + Σ rate·delay) / Σ rate,
    valid when it does not pass the next channel's delay.
    """
    keep = rate_per_hour > 0
    rate, delay = rate_per_hour[keep], delay_hours[keep]
    if not len(rate):
        return math.inf
    order = np.argsort(delay, kind="stable")
    rate, delay = rate[order], delay[order]
    total_rate = np.cumsum(rate)
    t = (persons + np.cumsum(rate * delay)) / total_rate
    nxt = np.append(delay[1:], math.inf)
    return float(t[np.flatnonzero(t <= nxt)[0]])


# ---------------------------------------------------------------- internals

def _validate(network: Network, origin_nodes: Iterable[int], destination_nodes: Mapping[str, Iterable[int]],
              persons_per_vehicle: float, populations: Sequence[int],
              horizon_hours: float | None) -> tuple[list[int], dict[int, str]]:
    """Node indices of the origins and destination node index -> destination name."""
    if not (math.isfinite(persons_per_vehicle) and persons_per_vehicle > 0):
        raise InputError("must be a positive number", field="evacuation.persons_per_vehicle",
                         value=persons_per_vehicle)
    if any(not (isinstance(N, (int, np.integer)) and N > 0) for N in populations):
        raise InputError("populations must be positive whole numbers of persons", field="evacuation.populations",
                         value=list(populations))
    if horizon_hours is not None and not (math.isfinite(horizon_hours) and horizon_hours > 0):
        raise InputError("must be a positive number of hours", field="evacuation.horizon_hours", value=horizon_hours)
    origins = sorted({int(x) for x in origin_nodes})
    unknown = [x for x in origins if x not in network.node_index]
    if not origins or unknown:
        raise InputError("no origin nodes, or nodes not in the graph", field="evacuation.origin",
                         value=unknown or origins, has_value=True)
    dest_of: dict[int, str] = {}
    for name, nodes in destination_nodes.items():
        nodes = [int(x) for x in nodes]
        unknown = [x for x in nodes if x not in network.node_index]
        if not nodes or unknown:
            raise InputError("destination has no nodes, or nodes not in the graph",
                             field=f"evacuation.destinations.{name}", value=unknown or nodes, has_value=True)
        for x in nodes:
            dest_of.setdefault(network.node_index[x], name)
    if not dest_of:
        raise InputError("no destinations", field="evacuation.destinations", value=dict(destination_nodes),
                         has_value=True)
    both = [x for x in origins if network.node_index[x] in dest_of]
    if both:
        raise InputError("nodes are both origin and destination (shrink the origin area)",
                         field="evacuation.origin", value=both)
    return [network.node_index[x] for x in origins], dest_of


def _max_flow(r: RoutingGraph, cap: np.ndarray, w: np.ndarray, usable: np.ndarray, sources: np.ndarray,
              sinks: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Max flow value (veh/h), per routing-graph edge flow (veh/h) and the residual-reachable node
    mask, with scipy's maximum flow.

    Parallel edges add up; the pair's flow is given to its fastest edges first. Super-source
    arcs get each source's out-capacity + 1 (and sink arcs each sink's in-capacity + 1):
    never saturated, so the minimum cut holds only road edges.
    """
    graph, source, sink = _flow_problem(r, cap, usable, sources, sinks)
    result = maximum_flow(graph, source, sink)
    flow = result.flow.tocsr()
    residual = (graph - flow).tocsr()  # flow is antisymmetric: reverse arcs appear where flow > 0
    residual.data[residual.data < 0] = 0
    residual.eliminate_zeros()
    reach = np.zeros(r.n + 2, dtype=bool)
    reach[breadth_first_order(residual, source, directed=True, return_predecessors=False)] = True

    # pair flow to parallel edges, fastest first, each up to its capacity
    n = r.n
    ids = np.flatnonzero(usable)
    codes = r.src[ids] * n + r.dst[ids]
    pair_flow = _lookup(flow, codes, n)
    order = np.lexsort((w[ids], codes))
    ids, codes, pair_flow = ids[order], codes[order], pair_flow[order]
    cum = np.cumsum(cap[ids])
    group_start = np.ones(len(ids), dtype=bool)
    group_start[1:] = codes[1:] != codes[:-1]
    before_in_group = cum - cap[ids] - np.maximum.accumulate(np.where(group_start, cum - cap[ids], 0))
    edge_flow = np.zeros(r.m, dtype=np.int64)
    edge_flow[ids] = np.clip(pair_flow - before_in_group, 0, cap[ids])
    return int(result.flow_value), edge_flow, reach[:n]


def _flow_problem(r: RoutingGraph, cap: np.ndarray, usable: np.ndarray, sources: np.ndarray,
                  sinks: np.ndarray) -> tuple[csr_matrix, int, int]:
    """The usable edges as an (n + 2)-node capacity matrix with a super-source and super-sink."""
    n = r.n
    source, sink = n, n + 1
    src, dst, c = r.src[usable], r.dst[usable], cap[usable]
    s_cap = np.bincount(src, weights=c, minlength=n)[sources] + 1
    t_cap = np.bincount(dst, weights=c, minlength=n)[sinks] + 1
    if s_cap.sum() > INT32_MAX or t_cap.sum() > INT32_MAX:
        raise InputError("origin or destination capacity exceeds 2^31 vehicles/hour; shrink the areas",
                         field="evacuation.origin", value=float(s_cap.sum()))
    rows = np.concatenate([src, np.full(len(sources), source), sinks])
    cols = np.concatenate([dst, sources, np.full(len(sinks), sink)])
    graph = csr_matrix((np.concatenate([c, s_cap, t_cap]).astype(np.int32), (rows, cols)), shape=(n + 2, n + 2))
    graph.sum_duplicates()
    return graph, source, sink


def _max_flow_shared(r: RoutingGraph, cap: np.ndarray, cap_road: np.ndarray, usable: np.ndarray,
                     sources: np.ndarray, sinks: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Max flow when copies of one road edge (a via-way edge entered from a restricted approach, a
    destination-only road used at the start and at the end of routes) must share its capacity:
    a linear program (HiGHS) with one bundle constraint per shared road edge. Returns the value,
    the per-edge flow (rounded to whole vehicles/hour) and the residual-reachable node mask."""
    n = r.n
    ids = np.flatnonzero(usable)
    k = len(ids)
    s_cap = np.bincount(r.src[ids], weights=cap[ids], minlength=n)[sources] + 1
    t_cap = np.bincount(r.dst[ids], weights=cap[ids], minlength=n)[sinks] + 1
    tails = np.concatenate([r.src[ids], np.full(len(sources), n), sinks])
    heads = np.concatenate([r.dst[ids], sources, np.full(len(sinks), n + 1)])
    n_var = len(tails)
    var = np.arange(n_var)
    conserve = coo_matrix((np.r_[np.ones(n_var), -np.ones(n_var)], (np.r_[heads, tails], np.r_[var, var])),
                          shape=(n + 2, n_var)).tocsr()[:n]
    road = r.phys[ids] >= 0
    shared_edges, counts = np.unique(r.phys[ids][road], return_counts=True)
    shared = shared_edges[counts > 1]
    rows = np.searchsorted(shared, r.phys[ids][road])
    in_bundle = rows < len(shared)
    in_bundle[in_bundle] = shared[rows[in_bundle]] == r.phys[ids][road][in_bundle]
    bundle = coo_matrix((np.ones(int(in_bundle.sum())), (rows[in_bundle], np.flatnonzero(road)[in_bundle])),
                        shape=(len(shared), n_var)).tocsr()
    objective = np.zeros(n_var)
    objective[k:k + len(sources)] = -1.0
    bounds = np.column_stack([np.zeros(n_var), np.r_[cap[ids], s_cap, t_cap]])
    solution = linprog(objective, A_ub=bundle, b_ub=cap_road[shared], A_eq=conserve, b_eq=np.zeros(n),
                       bounds=bounds, method="highs")
    if not solution.success:
        raise RuntimeError(f"evacuation flow: the linear program failed: {solution.message}")
    x = np.round(solution.x).astype(np.int64)
    flow = np.zeros(r.m, dtype=np.int64)
    flow[ids] = x[:k]
    # residual graph: a road edge's copies share what is left of its capacity
    left_road = cap_road - np.bincount(r.phys[ids][road], weights=x[:k][road], minlength=len(cap_road))
    left = cap[ids] - x[:k]
    left[road] = np.minimum(left[road], left_road[r.phys[ids][road]])
    forward = np.r_[left, s_cap - x[k:k + len(sources)], t_cap - x[k + len(sources):]]
    residual = csr_matrix((np.r_[forward, x].astype(float), (np.r_[tails, heads], np.r_[heads, tails])),
                          shape=(n + 2, n + 2))
    residual.data[residual.data < 0.5] = 0
    residual.eliminate_zeros()
    reach = np.zeros(n + 2, dtype=bool)
    reach[breadth_first_order(residual, n, directed=True, return_predecessors=False)] = True
    return int(np.floor(-solution.fun + 1e-6)), flow, reach[:n]


def _lookup(matrix: csr_matrix, codes: np.ndarray, n: int) -> np.ndarray:
    """Positive part of ``matrix[i, j]`` for pair codes ``i * n + j`` (0 where absent)."""
    coo = matrix.tocoo()
    keep = (coo.row < n) & (coo.col < n) & (coo.data > 0)
    keys = coo.row[keep].astype(np.int64) * n + coo.col[keep]
    order = np.argsort(keys)
    keys = np.append(keys[order], -1)  # sentinel: searchsorted past the end lands on it
    values = np.append(coo.data[keep][order].astype(np.int64), 0)
    pos = np.searchsorted(keys[:-1], codes)
    return np.where(keys[pos] == codes, values[pos], 0)


def _decompose(network: Network, edge_flow: np.ndarray, w: np.ndarray, sources: np.ndarray,
               sink_of: dict[int, str], persons_per_vehicle: float) -> list[FlowRoute]:
    """Split the routing-graph edge flow (veh/h) into origin→destination paths, fastest path of the
    remaining flow first.

    Origins have no flow in and destinations no flow out, so while flow value is left an
    origin→destination path carries it. Each step zeroes at least one edge, so the loop ends;
    what may remain is circulation, which carries no evacuees. The searches run on the
    flow-carrying edges only (a compact CSR), with the engine's multi-source Dijkstra.
    """
    r = network.routing
    ids = np.flatnonzero(edge_flow > 0)
    nodes, inverse = np.unique(np.concatenate([r.src[ids], r.dst[ids]]), return_inverse=True)
    m = len(nodes)
    tail, head = inverse[:len(ids)], inverse[len(ids):]
    order = np.argsort(tail, kind="stable").astype(np.int32)  # local edge ids in CSR order
    indptr = np.searchsorted(tail[order], np.arange(m + 1)).astype(np.int32)
    csr_head = head[order].astype(np.int32)
    starts = np.flatnonzero(np.isin(nodes, sources))
    ends = np.array([i for i, node in enumerate(nodes) if int(node) in sink_of], dtype=np.int64)
    dist, pred, root, aux = np.empty(m), np.empty(m, dtype=np.int32), np.empty(m, dtype=np.int64), np.empty(m)
    no_target = np.zeros(1, dtype=bool)
    hkey, hnode = np.empty(len(ids) + m + 1), np.empty(len(ids) + m + 1, dtype=np.int32)
    remaining = edge_flow.copy()
    routes: list[FlowRoute] = []
    while starts.size and ends.size:
        wl = np.where(remaining[ids] > 0, w[ids], np.inf)
        wc = wl[order]
        for_work(dijkstra, len(ids))(indptr, order, csr_head, wc, wc, starts, np.inf, no_target, 0, dist, pred, aux,
                                     root, hkey, hnode)
        target = int(ends[np.argmin(dist[ends])])
        if not np.isfinite(dist[target]):
            break
        local, node = [], target
        while node != root[target]:
            local.append(int(pred[node]))
            node = int(tail[pred[node]])
        local.reverse()
        edge_ids = ids[local]
        f = int(remaining[edge_ids].min())
        remaining[edge_ids] -= f
        road_ids = r.road_edges(edge_ids)
        edges = network.edge_keys(road_ids)
        routes.append(FlowRoute(
            destination=sink_of[int(nodes[target])], origin_node=network.nodes[int(r.node_road[nodes[node]])],
            destination_node=network.nodes[int(r.node_road[nodes[target]])], edges=edges, flow_vph=f,
            flow_persons_per_hour=f * persons_per_vehicle, travel_time_s=float(w[edge_ids].sum()),
            length_m=network.path_sum(road_ids, "length"), via=via_roads(network.graph, edges)))
    routes.sort(key=lambda route: (-route.flow_vph, route.travel_time_s))
    return routes


def via_roads(G: nx.MultiDiGraph, edges: list[EdgeKey]) -> list[str]:
    """Roads along a path, in order, each named once by its ref (else name); unnamed edges skipped.

    Consecutive edges sharing any ref, int_ref or name are one road (OSM tags one highway
    unevenly: some ways carry ``ref=M5``, others only ``int_ref=M45`` and the name).
    """
    out: list[str] = []
    aliases: set[str] = set()
    for u, v, k in edges:
        data = G.edges[u, v, k]
        names = [t for t in (tag_text(data.get(tag)) for tag in ("ref", "int_ref", "name:en", "name")) if t]
        if not names:
            continue
        if aliases & set(names):
            aliases |= set(names)
        else:
            out.append(names[0])
            aliases = set(names)
    return out


def _bottleneck_edge(network: Network, edge_id: int, capacity: int, base_capacity: float) -> BottleneckEdge:
    u, v, k = network.edges[edge_id]
    data = network.graph.edges[u, v, k]
    return BottleneckEdge(u=u, v=v, key=k, edge_id=edge_id, osmid=data.get("osmid"),
                          name=tag_text(data.get("name:en")) or tag_text(data.get("name")),
                          ref=tag_text(data.get("ref")) or tag_text(data.get("int_ref")),
                          highway=tag_text(data.get("highway")), bridge=truthy(data.get("bridge")),
                          tunnel=truthy(data.get("tunnel")), capacity_vph=capacity,
                          base_capacity_vph=base_capacity, label=road_label(data))


def _plain(value: Any) -> Any:
    """numpy scalars and lists of them as plain Python values."""
    if isinstance(value, list):
        return [_plain(x) for x in value]
    return value.item() if isinstance(value, np.generic) else value


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _json_hours(hours: dict[int, float]) -> dict[str, float | None]:
    return {str(N): _finite_or_none(t) for N, t in hours.items()}
