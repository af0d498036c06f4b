"""The road model on real OSM extracts: exact simplification, turn restrictions, access, profiles.

References: the unsimplified graph (simplification must not change a single travel time or max
flow), an independent walk of every route against the restriction relations read straight from
the file, and networkx on an explicit turn graph.
"""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path

import numpy as np
import osmium
import pytest
from conftest import HOMS_OSM, helsinki_pbf
from osmium.osm.mutable import Node, Way
from road_model_reference import relations, restriction_violations, turn_graph_distances

from routing import Network, evacuation_capacity, load_network, od_matrix
from routing.engine.turns import routing_graph
from routing.network.profiles import access, length_m, vehicle, weight_t
from routing.settings import PROFILES, ROAD_CLASSES, RoadClass, shared_data_dir

REAL = shared_data_dir() / "osm" / "real"
EXTRACTS = {"malta": REAL / "malta-2018-08-27.osm.pbf", "liechtenstein": REAL / "liechtenstein-2024-03-04.osm.pbf",
            "andorra": REAL / "andorra-2020-05-01.osm.pbf", "porto": REAL / "porto.osm.pbf",
            "bayreuth": REAL / "north-bayreuth.osm.gz"}


def extract(name: str) -> Path:
    path = helsinki_pbf() if name == "helsinki" else HOMS_OSM if name == "homs" else EXTRACTS[name]
    if not path.exists():
        pytest.fail(f"real extract missing: {path} (set ROUTING_SHARED_DATA)")
    return path


def sample_nodes(net: Network, k: int, seed: int, among: np.ndarray | None = None) -> list[int]:
    """k graph node ids of the network's largest strongly connected component (usable roads)."""
    from routing.analysis.places import main_component_nodes

    nodes = main_component_nodes(net)
    if among is not None:
        nodes = nodes[np.isin(np.asarray(net.nodes)[nodes], among)]
    rng = np.random.default_rng(seed)
    return [net.nodes[i] for i in rng.choice(nodes, size=min(k, len(nodes)), replace=False)]


# ---------------------------------------------------------------- exact simplification

@pytest.mark.parametrize("name", ["malta", "liechtenstein", "andorra", "porto", "bayreuth", "helsinki", "homs"])
def test_simplification_changes_no_travel_time_and_no_max_flow(name: str) -> None:
    classes = "major" if name == "homs" else "drive"
    simple = Network(load_network(extract(name), road_classes=classes))
    full = Network(load_network(extract(name), road_classes=classes, simplify=False))
    nodes = sample_nodes(simple, 24, seed=1)
    a = od_matrix(simple, nodes)
    b = od_matrix(full, nodes)
    assert np.array_equal(np.isfinite(a.time_s), np.isfinite(b.time_s))
    ok = np.isfinite(a.time_s)
    assert np.allclose(a.time_s[ok], b.time_s[ok], rtol=1e-9, atol=1e-9)
    assert np.allclose(a.length_m[ok], b.length_m[ok], rtol=1e-9, atol=1e-6)
    origin, dests = nodes[:3], {"d": nodes[3:6]}
    flows = [evacuation_capacity(net, origin, dests).max_flow_vph for net in (simple, full)]
    assert flows[0] == flows[1] > 0


def _write(path: Path, nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict]],
           relations: list[tuple[int, list[tuple[str, str, int]], dict]] = ()) -> Path:
    with osmium.SimpleWriter(str(path)) as writer:
        for nid in sorted(nodes):
            writer.add_node(Node(id=nid, location=nodes[nid]))
        for wid, refs, tags in ways:
            writer.add_way(Way(id=wid, nodes=refs, tags=tags))
        for rid, members, tags in relations:
            writer.add_relation(osmium.osm.mutable.Relation(id=rid, members=members, tags=tags))
    return path


@pytest.mark.parametrize("residential_kph", [ROAD_CLASSES["residential"].speed_kph, 15.0])
def test_minimal_chain_keeps_each_segments_speed_and_the_narrowest_lanes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, residential_kph: float) -> None:
    """Way A (maxspeed 50, 4 lanes) then an untagged residential way B, about 1 km each; with the
    residential default of the issue (15 km/h, MATSim's, the default before OSRM's class speeds)
    the chain takes the issue's 312 s, with today's default (25 km/h) 216 s."""
    monkeypatch.setitem(ROAD_CLASSES, "residential", RoadClass(residential_kph, 1, 600))
    step = 0.009  # degrees of latitude: about 1 km
    nodes = {1: (36.0, 35.0), 2: (36.0, 35.0 + step / 2), 3: (36.0, 35.0 + step), 4: (36.0, 35.0 + 2 * step)}
    path = _write(tmp_path / "chain.osm.pbf", nodes, [
        (10, [1, 2, 3], {"highway": "residential", "maxspeed": "50", "lanes": "4"}),
        (11, [3, 4], {"highway": "residential"})])
    G = load_network(path, cache=False)
    H = load_network(path, cache=False, simplify=False)
    length_a = sum(d["length"] for u, v, d in H.edges(data=True) if d["osmid"] == 10 and v > u)
    length_b = sum(d["length"] for u, v, d in H.edges(data=True) if d["osmid"] == 11 and v > u)
    expected = length_a / (50 / 3.6) + length_b / (residential_kph / 3.6)
    assert expected == pytest.approx({15.0: 312, 25.0: 216}[residential_kph], abs=2)
    od = od_matrix(G, [1, 4])
    assert od.time_s[0, 1] == pytest.approx(expected, rel=1e-12)
    assert od.time_s[0, 1] == pytest.approx(od_matrix(H, [1, 4]).time_s[0, 1], rel=1e-12)
    assert evacuation_capacity(G, [1], {"end": [4]}).max_flow_vph == 600  # the narrow residential way binds
    assert {d["speed_kph"] for *_, d in G.edges(data=True)} == {50.0, residential_kph}  # no mean of two speeds


# ---------------------------------------------------------------- turn restrictions

@pytest.mark.parametrize("name", ["malta", "liechtenstein", "andorra", "porto", "bayreuth", "helsinki"])
def test_no_route_breaks_a_turn_restriction(name: str) -> None:
    path = extract(name)
    G = load_network(path)
    net = Network(G)
    assert G.graph["load_report"]["restrictions_applied"] > 0
    rels = relations(path)
    rng = np.random.default_rng(7)
    origins = sample_nodes(net, 25, seed=2)
    dests = sample_nodes(net, 25, seed=3)
    od = od_matrix(net, origins, dests)
    checked = ambiguous = 0
    turns_at_via = 0
    via = {n for r in rels for n in r["via_nodes"]}
    for i in range(len(origins)):
        for j in rng.permutation(len(dests))[:25]:
            route = od.path(origins[i], dests[j])
            if not route:
                continue
            broken, amb = restriction_violations(G, route, rels)
            assert not broken, f"route {origins[i]} -> {dests[j]} breaks relations {broken}"
            ambiguous += amb
            checked += 1
            turns_at_via += sum(e[1] in via for e in route[:-1])
    assert checked >= 500 and turns_at_via > 0


@pytest.mark.parametrize("name", ["andorra", "porto", "helsinki"])
def test_restricted_routes_equal_networkx_on_an_explicit_turn_graph(name: str) -> None:
    net = Network(load_network(extract(name)))
    assert net.forbidden and all(len(s) == 2 for s in net.forbidden)  # via-node restrictions only here
    w = net.weights("travel_time")
    pairs = set(net.forbidden) | set(map(tuple, net.u_turns.tolist()))
    origins = sample_nodes(net, 6, seed=4)
    targets = sample_nodes(net, 40, seed=5)
    od = od_matrix(net, origins, targets)
    for i, o in enumerate(origins):
        ref = turn_graph_distances(net.src, net.dst, w, pairs, net.destination_only, net.node_index[o],
                                   [net.node_index[t] for t in targets])
        got = od.time_s[i]
        expect = np.array([ref[net.node_index[t]] for t in targets])
        assert np.array_equal(np.isfinite(got), np.isfinite(expect))
        assert np.allclose(got[np.isfinite(got)], expect[np.isfinite(expect)], rtol=1e-12, atol=1e-9)


def test_expanding_every_junction_changes_no_route_time() -> None:
    """Junctions expanded beyond those a rule needs (``routing_graph(junctions=...)``, as the
    fidelity benchmark's turn-cost variant does) get zero-weight turn arcs: the same times."""
    net = Network(load_network(extract("porto")))
    nodes = sample_nodes(net, 20, seed=6)
    wide = copy.copy(net)
    wide.routing = routing_graph(net.n_nodes, net.src, net.dst, net.forbidden, net.destination_only, net.u_turns,
                                 junctions=np.ones(net.n_nodes, dtype=bool))
    assert wide.routing.expanded_junctions == net.n_nodes > 10 * net.routing.expanded_junctions
    before, after = od_matrix(net, nodes).time_s, od_matrix(wide, nodes).time_s
    assert np.array_equal(np.isfinite(before), np.isfinite(after))
    assert np.allclose(before[np.isfinite(before)], after[np.isfinite(after)], rtol=1e-12, atol=1e-9)


def test_restrictions_are_read_applied_and_counted() -> None:
    G = load_network(extract("liechtenstein"))
    report = G.graph["load_report"]
    assert report["restrictions_read"] == report["restrictions_applied"] + report["restrictions_dropped"]
    assert report["restrictions_read"] == 79  # every type=restriction relation of the file (osmium count)
    via_way = [r for r in G.graph["turn_restrictions"] if r["via_ways"]]
    assert via_way and all(len(s) >= 3 for r in via_way for s in r["sequences"])
    for r in G.graph["turn_restrictions"]:
        for n in r["via_nodes"]:
            assert n in G  # via nodes survive simplification
    assert all(d["reason"] for d in G.graph["turn_restrictions_dropped"])


def _junction(tmp_path: Path, restriction: dict) -> Path:
    """A plus-shaped junction 0 with arms west 1, north 2, east 3, south 4 (two-way tertiary roads)
    and a longer ring road 1-5-2-6-3-7-4-8-1 around it, so that a forbidden turn has a detour."""
    d, c = 0.01, 0.015
    nodes = {0: (36.0, 35.0), 1: (36.0 - d, 35.0), 2: (36.0, 35.0 + d), 3: (36.0 + d, 35.0), 4: (36.0, 35.0 - d),
             5: (36.0 - c, 35.0 + c), 6: (36.0 + c, 35.0 + c), 7: (36.0 + c, 35.0 - c), 8: (36.0 - c, 35.0 - c)}
    ways = [(100 + a, [a, 0], {"highway": "tertiary"}) for a in (1, 2, 3, 4)]
    ways.append((200, [1, 5, 2, 6, 3, 7, 4, 8, 1], {"highway": "tertiary"}))
    rel = (900, [("w", 101, "from"), ("n", 0, "via"), ("w", 102, "to")], {"type": "restriction", **restriction})
    return _write(tmp_path / "junction.osm.pbf", nodes, ways, [rel])


@pytest.mark.parametrize("tags, car_turns, truck_turns", [
    ({"restriction": "no_left_turn"}, False, False),
    ({"restriction": "no_left_turn", "except": "hgv"}, False, True),
    ({"restriction:hgv": "no_left_turn"}, True, False),
    ({"restriction": "only_straight_on"}, True, True),  # the only way allowed is onto the to-way
])
def test_vehicle_specific_restrictions(tmp_path: Path, tags: dict, car_turns: bool, truck_turns: bool) -> None:
    G = load_network(_junction(tmp_path, tags), cache=False)
    for profile, turns in (("car", car_turns), ("truck", truck_turns)):
        net = Network(G, profile=profile)
        route = od_matrix(net, [1], [2]).path(1, 2)
        assert (route == [(1, 0, 0), (0, 2, 0)]) is turns, (profile, route)
        assert route and all(e in G.edges for e in route)  # a detour exists: the ring road


def test_only_restriction_allows_the_named_turn(tmp_path: Path) -> None:
    G = load_network(_junction(tmp_path, {"restriction": "only_left_turn"}), cache=False)
    od = od_matrix(G, [1], [2, 3, 4])
    assert od.path(1, 2) == [(1, 0, 0), (0, 2, 0)]  # the one allowed turn
    for target in (3, 4):  # from the west arm, no other turn at 0 (a U-turn at junction 2 and back is fine)
        route = od.path(1, target)
        assert all(not (a == (1, 0, 0) and b[1] != 2) for a, b in itertools.pairwise(route)), route


# ---------------------------------------------------------------- access and profiles

def test_destination_roads_are_never_a_through_road() -> None:
    G = load_network(extract("helsinki"))
    net = Network(G)
    dest = net.destination_only
    assert dest.sum() > 10, "Helsinki has motor_vehicle=destination streets"
    od = od_matrix(net, sample_nodes(net, 40, seed=8), sample_nodes(net, 40, seed=9))
    through_before = 0  # routes starting or ending on a destination-only street
    for i, o in enumerate(od.origins):
        for j, t in enumerate(od.destinations):
            path = od.edge_path(i, j)
            if not path:
                continue
            flags = dest[path]
            # destination-only edges only in a prefix and/or a suffix of the route
            inner = np.flatnonzero(~flags)
            if len(inner):
                assert not flags[inner[0]:inner[-1] + 1].any(), (o, t)
            through_before += int(flags.any())
    # the same network with the destination tags ignored: some routes did pass through such streets
    H = G.copy()
    for *_, d in H.edges(data=True):
        for key in ("access", "vehicle", "motor_vehicle", "motorcar"):
            if d.get(key) in ("destination", "delivery", "customers"):
                del d[key]
    free = od_matrix(Network(H), od.origins, od.destinations)
    ok = np.isfinite(free.time_s)
    assert (od.time_s[ok] >= free.time_s[ok] - 1e-9).all()
    assert (od.time_s[ok] > free.time_s[ok] + 1e-6).sum() >= 5


def test_a_street_reached_only_through_destination_streets_can_be_left(tmp_path: Path) -> None:
    """Malta has them: a dead-end living street whose only way out is an access=destination
    street. Its residents reach the main road; through traffic still avoids the zone."""
    d = 0.005
    nodes = {1: (14.40, 35.90), 2: (14.40 + d, 35.90), 3: (14.40 + 2 * d, 35.90),  # main road 1-2-3
             4: (14.40 + d, 35.90 + d), 5: (14.40 + d, 35.90 + 2 * d),  # destination street 2-4-3 (shortcut)
             6: (14.40 + d / 2, 35.90 + d)}  # dead-end living street 4-6, not tagged
    path = _write(tmp_path / "zone.osm.pbf", nodes, [
        (1, [1, 2], {"highway": "primary"}), (2, [2, 5, 3], {"highway": "primary"}),
        (3, [2, 4, 3], {"highway": "residential", "motor_vehicle": "destination"}),
        (4, [4, 6], {"highway": "living_street"})])
    net = Network(load_network(path, cache=False))
    living = net.edge_ids([e for e in net.edges if 6 in e[:2]])
    assert net.destination_only[living].all()  # part of the zone it hangs from
    od = od_matrix(net, [6, 1], [1, 3, 6])
    assert np.isfinite(od.time_s).all()  # in and out of the dead end both ways
    through = od.edge_path(1, 1)  # 1 -> 3 takes the main road, not the shortcut through the zone
    assert not net.destination_only[through].any()


def test_access_hierarchy_and_limits() -> None:
    car, truck = PROFILES["car"], PROFILES["truck"]
    assert access({"access": "no", "motor_vehicle": "yes"}, car) == "open"
    assert access({"motor_vehicle": "destination"}, car) == "destination"
    assert access({"motorcar": "no"}, truck) == "open" and access({"hgv": "no"}, truck) == "closed"
    assert access({"access": "private"}, car) == "closed"
    assert weight_t("7.5") == 7.5 and weight_t("12000 kg") == 12.0 and weight_t("none") is None
    assert length_m("4.2 m") == 4.2 and length_m("14'6\"") == pytest.approx(4.4196)
    assert vehicle("truck", weight_t=24).weight_t == 24 and vehicle("truck").height_m == 4.0


def test_truck_avoids_a_weight_limited_bridge_the_car_crosses(tmp_path: Path) -> None:
    d = 0.01
    nodes = {1: (36.0, 35.0), 2: (36.0 + d, 35.0), 3: (36.0 + 2 * d, 35.0), 4: (36.0 + d, 35.0 + 3 * d)}
    path = _write(tmp_path / "bridge.osm.pbf", nodes, [
        (1, [1, 2], {"highway": "primary"}),
        (2, [2, 3], {"highway": "primary", "bridge": "yes", "maxweight": "7.5"}),
        (3, [1, 4, 3], {"highway": "secondary"}),
        (4, [3, 5], {"highway": "primary", "hgv": "no"})])
    G = load_network(path, cache=False)
    car, truck = od_matrix(Network(G), [1], [3]), od_matrix(Network(G, profile="truck"), [1], [3])
    assert (2, 3, 0) in car.path(1, 3) and (2, 3, 0) not in truck.path(1, 3)
    assert truck.time_s[0, 0] > car.time_s[0, 0]
    light = od_matrix(Network(G, profile="truck", vehicle={"weight_t": 7.0}), [1], [3])
    assert (2, 3, 0) in light.path(1, 3)
    assert math.isinf(Network(G, profile="truck").weights()[Network(G).edge_index[(1, 2, 0)]]) is False


def test_truck_speeds_are_capped() -> None:
    G = load_network(extract("malta"))
    car, truck = Network(G), Network(G, profile="truck")
    fast = np.flatnonzero(np.isfinite(truck.attr["travel_time"]) & (car.attr["length"] > 0))
    speed = truck.attr["length"][fast] / truck.attr["travel_time"][fast] * 3.6
    assert speed.max() <= 80 + 1e-9
    assert (truck.attr["travel_time"][fast] >= car.attr["travel_time"][fast] - 1e-9).all()
    assert truck.closed.sum() > car.closed.sum()  # weight and height limits, hgv=no


@pytest.mark.parametrize("name", ["porto", "helsinki"])
def test_main_component_nodes_reach_each_other_by_legal_routes(name: str) -> None:
    """Every node where places may be snapped reaches, and is reached from, one of them on the
    routing graph (turn restrictions honoured): so every OD pair among them has a route."""
    from routing.analysis.places import main_component_nodes

    net = Network(load_network(extract(name)))
    main = main_component_nodes(net)
    assert len(main) > 0.8 * net.n_nodes
    w = net.weights()
    x = [net.nodes[int(main[0])]]
    assert np.isfinite(net.tree(net.node_ids(x), w).node_dist()[0, main]).all()
    assert np.isfinite(net.reverse_tree(net.node_ids(x), w).node_dist()[0, main]).all()
