"""Evacuation capacity: max flow, min cut, flow split and clearance on hand-computable graphs,
properties on random graphs (checked against networkx), and a run on the real Homs fragment."""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.analysis.evacuation import (
    clearance_time_hours,
    compare_evacuation,
    evacuation_capacity,
    persons_evacuated,
)
from routing.engine import Network
from routing.errors import InputError
from routing.network import enrich, load_network
from routing.scenario import Damage

HOMS = Path("/work/shared/data/osm/homs_maskanah_major_roads.osm")


def graph(*edges: tuple) -> nx.MultiDiGraph:
    """Edges (u, v, capacity veh/h[, travel time s[, attrs]]); travel time defaults to 60 s."""
    G = nx.MultiDiGraph()
    for u, v, cap, *rest in edges:
        tt = rest[0] if rest else 60.0
        attrs = rest[1] if len(rest) > 1 else {}
        G.add_edge(u, v, capacity=float(cap), travel_time=float(tt), length=tt * 20.0, **attrs)
    return G


def two_roads_then_bridge() -> nx.MultiDiGraph:
    """0 -> {1: 1000, 2: 2000} -> 3 -> bridge 1500 -> 4. Max flow 1500, min cut = the bridge."""
    return graph((0, 1, 1000, 60, {"name": "Road A"}), (1, 3, 1000), (0, 2, 2000, 60, {"name": "Road B"}),
                 (2, 3, 2000), (3, 4, 1500, 60, {"ref": "M5", "bridge": "yes", "osmid": 42}))


def cut_keys(result) -> set[tuple[int, int, int]]:
    return {(b.u, b.v, b.key) for b in result.bottleneck}


# ---------------------------------------------------------------- hand-computed max flow and min cut

def test_bottleneck_after_two_parallel_roads():
    r = evacuation_capacity(two_roads_then_bridge(), [0], {"coast": [4]})
    assert r.max_flow_vph == 1500
    assert r.max_flow_persons_per_hour == 4500.0  # 3 persons/vehicle default
    assert cut_keys(r) == {(3, 4, 0)}
    (b,) = r.bottleneck
    assert (b.ref, b.bridge, b.osmid, b.capacity_vph, b.label) == ("M5", True, 42, 1500, "M5 (bridge)")
    assert r.destination_flow_vph == {"coast": 1500}
    assert r.edge_flows_vph[(3, 4, 0)] == 1500
    assert r.edge_flows_vph[(0, 1, 0)] + r.edge_flows_vph[(0, 2, 0)] == 1500
    assert sum(route.flow_vph for route in r.routes) == 1500
    assert all(route.edges[-1] == (3, 4, 0) and route.travel_time_s == 180.0 for route in r.routes)
    assert sorted(route.via for route in r.routes) == [["Road A", "M5"], ["Road B", "M5"]]


def test_route_names_one_road_once_across_uneven_tags():
    M5 = {"ref": "M5", "int_ref": "M45", "name:en": "Aleppo-Damascus International Highway"}
    G = graph((0, 1, 4000, 60, M5), (1, 2, 4000, 60, {"int_ref": "M45"}),
              (2, 3, 4000, 60, {"name:en": "Aleppo-Damascus International Highway"}), (3, 4, 4000),
              (4, 5, 1500, 60, {"ref": "M1"}))
    (route,) = evacuation_capacity(G, [0], {"Tartus": [5]}).routes
    assert route.via == ["M5", "M1"]


def test_parallel_edges_add_up_and_both_are_cut():
    G = graph((0, 1, 1000), (0, 1, 500), (1, 2, 4000))
    r = evacuation_capacity(G, [0], {"d": [2]})
    assert r.max_flow_vph == 1500
    assert cut_keys(r) == {(0, 1, 0), (0, 1, 1)}
    assert r.edge_flows_vph == {(0, 1, 0): 1000, (0, 1, 1): 500, (1, 2, 0): 1500}


def test_zero_length_edges_carry_flow():
    G = graph((0, 1, 1000, 0.0), (1, 2, 800, 60.0), (0, 2, 300, 0.0))
    r = evacuation_capacity(G, [0], {"d": [2]})
    assert r.max_flow_vph == 1100
    assert sorted((x.flow_vph, round(x.travel_time_s)) for x in r.routes) == [(300, 0), (800, 60)]


def test_parallel_edges_fill_the_fastest_first():
    G = graph((0, 1, 1000, 300), (0, 1, 1000, 30), (1, 2, 1500))
    r = evacuation_capacity(G, [0], {"d": [2]})
    assert r.edge_flows_vph[(0, 1, 1)] == 1000 and r.edge_flows_vph[(0, 1, 0)] == 500
    assert cut_keys(r) == {(1, 2, 0)}
    assert [(route.flow_vph, route.travel_time_s) for route in r.routes] == [(1000, 90.0), (500, 360.0)]


def test_removed_edge_moves_the_bottleneck_to_the_remaining_road():
    d = Damage()
    d.remove_edges({(0, 2, 0)}, "strike on road B")
    r = evacuation_capacity(two_roads_then_bridge(), [0], {"coast": [4]}, damage=d)
    assert r.max_flow_vph == 1000
    assert cut_keys(r) == {(0, 1, 0)}  # the min cut closest to the origin
    assert (0, 2, 0) not in r.edge_flows_vph


def test_removed_bridge_leaves_no_flow_and_infinite_clearance():
    d = Damage()
    d.remove_edges({(3, 4, 0)}, "bridge struck")
    r = evacuation_capacity(two_roads_then_bridge(), [0], {"coast": [4]}, horizon_hours=10, damage=d)
    assert r.max_flow_vph == 0 and r.routes == [] and r.edge_flows_vph == {} and r.bottleneck == []
    assert all(math.isinf(t) for t in r.clearance_hours.values())
    assert r.evacuated_by_horizon_persons == 0.0
    out = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert out["clearance_hours"] == {"280000": None, "1500000": None}


def test_degraded_capacity_binds_only_where_it_is_smallest():
    G = two_roads_then_bridge()
    d = Damage()
    d.degrade({(0, 1, 0)}, speed=1.0, capacity=0.5, label="road A cratered")
    assert evacuation_capacity(G, [0], {"coast": [4]}, damage=d).max_flow_vph == 1500  # 500 + 2000 > 1500
    d.degrade({(3, 4, 0)}, speed=0.5, capacity=0.2, label="bridge damaged")
    r = evacuation_capacity(G, [0], {"coast": [4]}, damage=d)
    assert r.max_flow_vph == 300
    assert r.bottleneck[0].capacity_vph == 300 and r.bottleneck[0].base_capacity_vph == 1500.0
    assert min(route.travel_time_s for route in r.routes) == 240.0  # bridge 60 s / speed factor 0.5


def test_edges_inside_the_origin_area_carry_nothing_and_the_cut_is_its_boundary():
    G = graph((0, 1, 9000), (1, 0, 9000), (0, 9, 1000), (1, 9, 500), (9, 0, 800))
    r = evacuation_capacity(G, [0, 1], {"safe": [9]})
    assert r.max_flow_vph == 1500
    assert cut_keys(r) == {(0, 9, 0), (1, 9, 0)}
    assert set(r.edge_flows_vph) == {(0, 9, 0), (1, 9, 0)}


def test_flow_split_per_destination_and_a_node_in_two_destinations_counts_for_the_first():
    G = graph((0, 1, 3000), (1, 2, 1200), (1, 3, 700), (3, 4, 5000))
    r = evacuation_capacity(G, [0], {"Tartus": [2], "Lebanon": [3, 4], "Again": [2]})
    assert r.max_flow_vph == 1900
    assert r.destination_flow_vph == {"Tartus": 1200, "Lebanon": 700, "Again": 0}
    assert (3, 4, 0) not in r.edge_flows_vph  # the evacuee stops at the first safe node
    assert cut_keys(r) == {(1, 2, 0), (1, 3, 0)}


def test_capacity_overrides_are_per_lane_for_a_highway_class():
    G = nx.MultiDiGraph()
    G.add_edge(0, 1, length=1000.0, highway="primary")  # 1 lane/direction x 1500
    G.add_edge(0, 1, length=1000.0, highway="trunk", lanes="4")  # two-way: 2 lanes/direction x 2000
    G.add_edge(1, 2, length=1000.0, highway="motorway")  # 2 x 2000
    enrich(G)
    assert evacuation_capacity(G, [0], {"d": [2]}).max_flow_vph == 4000  # motorway binds
    r = evacuation_capacity(Network(G, capacity_per_lane_vph={"trunk": 500, "primary": 1000}), [0], {"d": [2]})
    assert r.max_flow_vph == 2000  # 1000 + 2 x 500
    assert r.to_dict()["capacity_overrides_vph_per_lane"] == {"trunk": 500, "primary": 1000}


def test_persons_per_vehicle_scales_persons_and_clearance():
    G = graph((0, 1, 1000, 1800))  # 1000 veh/h, 0.5 h
    r1 = evacuation_capacity(G, [0], {"d": [1]}, persons_per_vehicle=1.0, populations=(3000,))
    r3 = evacuation_capacity(G, [0], {"d": [1]}, persons_per_vehicle=3.0, populations=(3000,))
    assert r1.clearance_hours == {3000: pytest.approx(3.5)}
    assert r3.clearance_hours == {3000: pytest.approx(1.5)}
    assert r3.clearance_lower_bound_hours == {3000: pytest.approx(1.5)}  # one path: bounds meet


# ---------------------------------------------------------------- clearance

def test_clearance_opens_slower_paths_only_when_worth_it():
    rate = np.array([3000.0, 1500.0])  # persons/hour
    delay = np.array([0.5, 1.0])  # hours
    assert clearance_time_hours(rate, delay, 1500) == pytest.approx(1.0)  # fast path alone
    assert clearance_time_hours(rate, delay, 6000) == pytest.approx(2.0)  # (6000 + 1500 + 1500) / 4500
    assert persons_evacuated(rate, delay, 2.0) == pytest.approx(6000.0)
    assert math.isinf(clearance_time_hours(np.array([0.0]), np.array([1.0]), 10))


def test_clearance_through_two_routes_and_horizon():
    # fast route 1000 veh/h in 0.5 h, slow route 500 veh/h in 1 h; 3 persons/vehicle
    G = graph((0, 1, 1000, 1800), (0, 2, 500, 1800), (2, 1, 5000, 1800))
    r = evacuation_capacity(G, [0], {"d": [1]}, populations=(1500, 6000), horizon_hours=2.0)
    assert r.max_flow_vph == 1500
    assert r.clearance_hours == {1500: pytest.approx(1.0), 6000: pytest.approx(2.0)}
    assert r.clearance_simple_hours == {1500: pytest.approx(1500 / 4500 + 0.5), 6000: pytest.approx(6000 / 4500 + 0.5)}
    assert r.evacuated_by_horizon_persons == pytest.approx(6000.0)
    assert r.fastest_travel_time_s == pytest.approx(1800.0)


# ---------------------------------------------------------------- inputs and outputs

def test_bad_inputs_name_the_field():
    G = two_roads_then_bridge()
    with pytest.raises(InputError, match="evacuation.origin"):
        evacuation_capacity(G, [0, 4], {"coast": [4]})
    with pytest.raises(InputError, match="evacuation.origin"):
        evacuation_capacity(G, [99], {"coast": [4]})
    with pytest.raises(InputError, match="evacuation.destinations.coast"):
        evacuation_capacity(G, [0], {"coast": []})
    with pytest.raises(InputError, match="persons_per_vehicle"):
        evacuation_capacity(G, [0], {"coast": [4]}, persons_per_vehicle=0)
    with pytest.raises(InputError, match=r"capacity\.per_lane_vph\.primary"):
        evacuation_capacity(Network(G, capacity_per_lane_vph={"primary": -1}), [0], {"coast": [4]})


def test_to_dict_and_compare_are_json_with_units():
    G = two_roads_then_bridge()
    before = evacuation_capacity(G, [0], {"coast": [4]})
    d = Damage()
    d.remove_edges({(0, 2, 0)}, "strike")
    after = evacuation_capacity(G, [0], {"coast": [4]}, damage=d)
    out = json.loads(json.dumps(before.to_dict(include_edge_flows=True), allow_nan=False))
    assert out["max_flow_vph"] == 1500 and out["bottleneck_capacity_vph"] == 1500
    assert sorted(f for *_, f in out["edge_flows_vph"]) == sorted(before.edge_flows_vph.values())
    cmp = json.loads(json.dumps(compare_evacuation(before, after), allow_nan=False))
    assert cmp["max_flow_lost_vph"] == 500 and cmp["max_flow_lost_percent"] == pytest.approx(100 / 3)
    assert [(b["u"], b["v"]) for b in cmp["new_bottleneck"]] == [(0, 1)]
    assert cmp["clearance_hours"]["280000"]["after"] > cmp["clearance_hours"]["280000"]["before"]


# ---------------------------------------------------------------- properties on random graphs

@st.composite
def networks(draw):
    """A random multigraph (parallel edges, both directions), disjoint origin/destination sets, damage."""
    n = draw(st.integers(4, 9))
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1])
    raw = draw(st.lists(st.tuples(pairs, st.integers(0, 3000), st.floats(1, 600)), min_size=1, max_size=25))
    G = nx.MultiDiGraph()
    G.add_nodes_from(range(n))
    for (u, v), cap, tt in raw:
        G.add_edge(u, v, capacity=float(cap), travel_time=tt, length=tt * 20.0)
    nodes = list(range(n))
    origins = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3, unique=True))
    rest = [x for x in nodes if x not in origins]
    dests = draw(st.lists(st.sampled_from(rest), min_size=1, max_size=3, unique=True))
    edges = list(G.edges(keys=True))
    damage = Damage()
    damage.remove_edges(set(draw(st.lists(st.sampled_from(edges), max_size=4))), "removed")
    for e in draw(st.lists(st.sampled_from(edges), max_size=6)):
        damage.degrade({e}, speed=draw(st.floats(0.1, 1.0)), capacity=draw(st.floats(0.0, 1.0)), label="degraded")
    destinations = {"A": dests[:1], "B": dests[1:]} if len(dests) > 1 else {"A": dests}
    return G, origins, destinations, damage


def networkx_max_flow(G, origins, destinations) -> int:
    """Independent oracle: networkx max flow on the same capacities, no edges dropped."""
    D = nx.DiGraph()
    for u, v, data in G.edges(data=True):
        c = math.floor(data["capacity"] + 1e-6)
        D.add_edge(u, v, capacity=D.get_edge_data(u, v, {"capacity": 0})["capacity"] + c)
    for o in origins:
        D.add_edge("S", o)  # no capacity attribute: infinite
    for nodes in destinations.values():
        for d in nodes:
            D.add_edge(d, "T")
    return int(nx.maximum_flow_value(D, "S", "T"))


def damaged_copy(G, damage):
    H = nx.MultiDiGraph()
    H.add_nodes_from(G)
    for u, v, k, data in G.edges(keys=True, data=True):
        if (u, v, k) not in damage.removed_edges:
            H.add_edge(u, v, k, capacity=data["capacity"] * damage.capacity_factor.get((u, v, k), 1.0))
    return H


@settings(max_examples=80, deadline=None)
@given(networks())
def test_max_flow_matches_networkx_and_the_cut_and_routes_account_for_it(case):
    G, origins, dests, damage = case
    for dmg in (None, damage):
        r = evacuation_capacity(G, origins, dests, damage=dmg)
        oracle = networkx_max_flow(G if dmg is None else damaged_copy(G, dmg), origins, dests)
        assert r.max_flow_vph == oracle
        assert sum(b.capacity_vph for b in r.bottleneck) == oracle  # max-flow = min-cut
        assert sum(x.flow_vph for x in r.routes) == oracle == sum(r.destination_flow_vph.values())
        # the edge flows are the routes' flows added up, within capacity
        summed: dict = {}
        for x in r.routes:
            for e in x.edges:
                summed[e] = summed.get(e, 0) + x.flow_vph
        assert summed == r.edge_flows_vph
        for (u, v, k), f in r.edge_flows_vph.items():
            base = G.edges[u, v, k]["capacity"] * (1.0 if dmg is None else dmg.capacity_factor.get((u, v, k), 1.0))
            assert 0 < f <= base + 1e-6
            assert dmg is None or (u, v, k) not in dmg.removed_edges


@settings(max_examples=80, deadline=None)
@given(networks())
def test_damage_never_increases_capacity_nor_shortens_clearance(case):
    G, origins, dests, damage = case
    before = evacuation_capacity(G, origins, dests)
    after = evacuation_capacity(G, origins, dests, damage=damage)
    assert after.max_flow_vph <= before.max_flow_vph
    assert after.fastest_travel_time_s >= before.fastest_travel_time_s
    for N, hours in before.clearance_simple_hours.items():
        assert after.clearance_simple_hours[N] >= hours
    more = damage.merged(Damage(removed_edges={next(iter(G.edges(keys=True)))}))
    assert evacuation_capacity(G, origins, dests, damage=more).max_flow_vph <= after.max_flow_vph


@settings(max_examples=60, deadline=None)
@given(networks(), st.lists(st.integers(1, 5_000_000), min_size=2, max_size=5, unique=True), st.floats(0.01, 500))
def test_clearance_is_monotone_in_n_and_bracketed_by_its_bounds(case, populations, horizon):
    G, origins, dests, damage = case
    populations = sorted(populations)
    r = evacuation_capacity(G, origins, dests, populations=populations, horizon_hours=horizon, damage=damage)
    assert 0 <= r.evacuated_by_horizon_persons <= r.evacuated_by_horizon_upper_bound_persons * (1 + 1e-9) + 1e-6
    up = [r.clearance_hours[N] for N in populations]
    low = [r.clearance_lower_bound_hours[N] for N in populations]
    assert up == sorted(up) and low == sorted(low)
    for N in populations:
        if r.max_flow_vph:
            assert r.clearance_simple_hours[N] <= r.clearance_lower_bound_hours[N] * (1 + 1e-9)
            assert r.clearance_lower_bound_hours[N] <= r.clearance_hours[N] * (1 + 1e-9)
        else:
            assert math.isinf(r.clearance_hours[N]) and math.isinf(r.clearance_lower_bound_hours[N])


# ---------------------------------------------------------------- the real Homs fragment

@pytest.mark.skipif(not HOMS.exists(), reason="shared OSM sample not present")
def test_real_homs_graph_gives_a_finite_positive_flow():
    G = load_network(HOMS)
    core = max(nx.strongly_connected_components(G), key=len)
    # origin: the core node furthest north; destinations: the three furthest south
    by_lat = sorted(core, key=lambda n: G.nodes[n]["y"])
    origin, dests = [by_lat[-1]], {"south": by_lat[:3]}
    r = evacuation_capacity(G, origin, dests, horizon_hours=12)
    out_cap = sum(d["capacity"] for _, _, d in G.out_edges(origin[0], data=True))
    assert 0 < r.max_flow_vph <= out_cap
    assert sum(b.capacity_vph for b in r.bottleneck) == r.max_flow_vph
    assert all(b.label and b.highway for b in r.bottleneck)
    assert all(math.isfinite(t) and t > 0 for t in r.clearance_hours.values())
    assert r.clearance_hours[1_500_000] > r.clearance_hours[280_000]
    # the min cut separates origin from destinations: striking it stops the evacuation
    d = Damage()
    d.remove_edges({(b.u, b.v, b.key) for b in r.bottleneck}, "strike the cut")
    assert evacuation_capacity(G, origin, dests, damage=d).max_flow_vph == 0
