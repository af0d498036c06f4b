"""Parts of OSRM's car model that ours leaves out, as diagnostic variants of our network for the
fidelity benchmark (``bench_fidelity.py``): each says how much of the route difference one part
explains. Figures are facts of the bundled ``car.lua`` (OSRM v26.10); nothing here is the product
(whose car profile has OSRM's class speeds and its 2 s per traffic signal).

- speeds: 0.8 x ``maxspeed`` where tagged, else OSRM's class speed;
- service roads: ``highway=service`` driven (not ``service=emergency_access``), at half the rate
  (twice the weight) on alleys, parking aisles, driveways and drive-throughs;
- signs: seconds added when passing a node tagged ``highway=stop`` (2 s) or ``give_way`` (1 s),
  direction tags ignored;
- turns: every junction with three or more neighbouring nodes expanded, each turn costing a
  sigmoid of its angle (up to 7.5 s, biased against left turns), 2 s more (tapered) across
  oncoming traffic, and 20 s more for a U-turn.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import numpy as np

from routing.engine import Network
from routing.engine.turns import routing_graph
from routing.network import maxspeed_kph

OSRM_CLASS_KPH = {"motorway": 90, "motorway_link": 45, "trunk": 85, "trunk_link": 40, "primary": 65,
                  "primary_link": 30, "secondary": 55, "secondary_link": 25, "tertiary": 40, "tertiary_link": 20,
                  "unclassified": 25, "residential": 25, "living_street": 10, "service": 15}
OSRM_MAXSPEED_FACTOR = 0.8
SERVICE_FORBIDDEN = frozenset({"emergency_access"})
SERVICE_HALF_RATE = frozenset({"alley", "parking", "parking_aisle", "driveway", "drive-through", "drive-thru"})
SIGN_S = {"stop": 2.0, "give_way": 1.0}  # seconds per passage
TURN_S, TURN_BIAS, ONCOMING_S, U_TURN_S = 7.5, 1.075, 2.0, 20.0  # seconds; bias: right-hand traffic


def _values(d: dict, key: str) -> list[str]:
    v = d.get(key)
    return [str(x) for x in v] if isinstance(v, list) else ([] if v is None else [str(v)])


def osrm_speeds(net: Network, G: nx.MultiDiGraph) -> None:
    """Travel times (s) at OSRM's speeds: 0.8 x maxspeed, else its class speed, plus the signal
    delays (in place)."""
    speed = np.empty(len(net.edges))
    for i, (u, v, k) in enumerate(net.edges):
        d = G.edges[u, v, k]
        tagged = maxspeed_kph(d.get("maxspeed"))
        hw = (_values(d, "highway") or ["?"])[0]
        speed[i] = tagged * OSRM_MAXSPEED_FACTOR if tagged else OSRM_CLASS_KPH.get(hw, 25)
    net.attr["travel_time"] = net.attr["length"] / (speed / 3.6) + net.signal_delay_s


def service_rules(net: Network, G: nx.MultiDiGraph) -> None:
    """OSRM's service-road rules on a network loaded with ``road_classes="drive_service"`` (in place):
    forbidden service values closed, half-rate ones at twice the travel time."""
    for i, (u, v, k) in enumerate(net.edges):
        d = G.edges[u, v, k]
        if "service" not in _values(d, "highway"):
            continue
        kinds = set(_values(d, "service"))
        if kinds & SERVICE_FORBIDDEN:
            net.closed[i] = True
        elif kinds & SERVICE_HALF_RATE:
            net.attr["travel_time"][i] *= 2.0


def sign_nodes(pbf: Path) -> dict[int, float]:
    """Seconds charged per passage of each OSM node with a stop or give-way sign."""
    import osmium

    out: dict[int, float] = {}
    for obj in osmium.FileProcessor(str(pbf), osmium.osm.NODE).with_filter(osmium.filter.KeyFilter("highway")):
        s = SIGN_S.get(obj.tags.get("highway", ""))
        if s:
            out[obj.id] = s
    return out


def add_signs(net: Network, edge_nodes: Callable[[int], list[int]], seconds: dict[int, float]) -> None:
    """Add to each edge's travel time the signs on its OSM nodes after its tail (in place);
    ``edge_nodes(i)``: the OSM node ids along road edge i."""
    tt = net.attr["travel_time"]
    for i in range(len(net.edges)):
        tt[i] += sum(seconds.get(n, 0.0) for n in edge_nodes(i)[1:])


def turn_seconds(angle: np.ndarray, u_turn: np.ndarray, oncoming_ok: np.ndarray, left_hand: bool) -> np.ndarray:
    """OSRM car turn cost (s) of turns by ``angle`` (degrees off straight, positive right);
    ``oncoming_ok``: a junction where crossing oncoming traffic costs extra; ``left_hand``: traffic
    drives on the left (the turn costs mirrored)."""
    angle = -angle if left_hand else angle
    a = np.abs(angle) / 180.0
    right = TURN_S / (1 + np.exp(-((13 / TURN_BIAS) * a - 6.5 * TURN_BIAS)))
    left = TURN_S / (1 + np.exp(-((13 * TURN_BIAS) * a - 6.5 / TURN_BIAS)))
    s = np.where(angle >= 0, right, left)
    crossing = (angle < 0) & ~u_turn & oncoming_ok
    s += np.where(crossing, ONCOMING_S / (1 + np.exp(-(13 * a - 3.25))), 0.0)
    return s + np.where(u_turn, U_TURN_S, 0.0)


def _bearings(net: Network, G: nx.MultiDiGraph) -> tuple[np.ndarray, np.ndarray]:
    """Bearing (degrees clockwise from north) of each road edge's first and last segment."""
    first, last = np.empty(len(net.edges)), np.empty(len(net.edges))

    def bearing(p: tuple[float, float], q: tuple[float, float]) -> float:
        dx = (q[0] - p[0]) * math.cos(math.radians((p[1] + q[1]) / 2))
        return math.degrees(math.atan2(dx, q[1] - p[1]))

    for i, (u, v, k) in enumerate(net.edges):
        geom = G.edges[u, v, k].get("geometry")
        pts = list(geom.coords) if geom is not None else [(G.nodes[u]["x"], G.nodes[u]["y"]),
                                                           (G.nodes[v]["x"], G.nodes[v]["y"])]
        first[i], last[i] = bearing(pts[0], pts[1]), bearing(pts[-2], pts[-1])
    return first, last


def turn_network(net: Network, G: nx.MultiDiGraph, left_hand: bool) -> tuple[Network, np.ndarray]:
    """A copy of ``net`` whose routing graph expands every junction (three or more neighbours on
    roads open to the vehicle), and the turn cost (s) of each of its routing edges (0 off turns);
    ``left_hand``: traffic drives on the left."""
    ok = ~net.closed
    n = net.n_nodes
    a, b = np.minimum(net.src, net.dst)[ok], np.maximum(net.src, net.dst)[ok]
    pairs = np.unique(a[a != b] * n + b[a != b])
    degree = np.bincount(pairs // n, minlength=n) + np.bincount(pairs % n, minlength=n)
    out = copy.copy(net)
    out.routing = r = routing_graph(n, net.src, net.dst, net.forbidden, net.destination_only, net.u_turns,
                                    junctions=degree >= 3)
    copies = np.flatnonzero(r.phys >= 0)
    in_copy, out_copy = np.full(r.n, -1), np.full(r.n, -1)
    at_port = r.dst[copies] >= n
    in_copy[r.dst[copies[at_port]]] = copies[at_port]
    at_port = r.src[copies] >= n
    out_copy[r.src[copies[at_port]]] = copies[at_port]
    turn = np.flatnonzero((r.phys < 0) & (in_copy[r.src] >= 0) & (out_copy[r.dst] >= 0))
    e, f = r.phys[in_copy[r.src[turn]]], r.phys[out_copy[r.dst[turn]]]
    first, last = _bearings(net, G)
    angle = (first[f] - last[e] + 180.0) % 360.0 - 180.0
    u_turn = net.dst[f] == net.src[e]
    roundabout = np.array([bool({"roundabout", "circular"} & set(_values(G.edges[key], "junction")))
                           for key in net.edges], dtype=bool)
    cost = np.zeros(r.m)
    cost[turn] = turn_seconds(angle, u_turn, ~roundabout[e] & ~roundabout[f], left_hand)
    return out, cost


def with_turn_costs(net: Network, cost: np.ndarray) -> Network:
    """``net`` whose routing weights include ``cost`` (s per routing edge) on top of the road weights."""
    out = copy.copy(net)
    out.routing_weights = lambda w: net.routing.expand(net.check_weights(w)) + cost  # type: ignore[method-assign]
    return out
