"""The compiled engine against networkx: shortest-path trees, reverse trees, OD matrices (full and
incremental, under damage) and isochrones, on seeded random multigraphs and the real Homs graph."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from routing.analysis.isochrones import isochrone, isochrone_change
from routing.engine import Network, PathTree, od_change, od_matrix
from routing.errors import InputError
from routing.network import road_class
from routing.scenario import Damage


def random_graph(seed: int, n: int = 60, m: int = 170) -> nx.MultiDiGraph:
    """Seeded random MultiDiGraph: one-way and two-way roads, parallel edges with different
    weights, zero-length edges, self-loops, and a separate component (nodes n..n+5)."""
    rng = np.random.default_rng(seed)
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(n + 6):
        G.add_node(i, x=36.0 + rng.random() * 0.2, y=34.0 + rng.random() * 0.2)

    def road(u: int, v: int, osmid: int) -> None:
        length = 0.0 if rng.random() < 0.05 else float(rng.uniform(10, 3000))
        speed = float(rng.choice([30, 50, 80, 120]))
        attrs = {"length": length, "travel_time": length / (speed / 3.6), "capacity": 600.0, "osmid": osmid,
                 "highway": "primary", "name": f"road {osmid}"}
        G.add_edge(u, v, **attrs)
        if rng.random() < 0.6:
            G.add_edge(v, u, **attrs)

    for way in range(m):
        u, v = (int(x) for x in rng.integers(0, n, 2))
        road(u, v, way)
        if rng.random() < 0.1:
            road(u, v, way + 10_000)  # a parallel way between the same nodes
    for way in range(8):
        u, v = (int(x) for x in rng.integers(n, n + 6, 2))
        road(u, v, 20_000 + way)
    return G


def nx_lengths(G: nx.MultiDiGraph, source: int, weight: str = "travel_time") -> dict:
    return nx.single_source_dijkstra_path_length(G, source, weight=weight)


def assert_row(eng: Network, row: np.ndarray, lengths: dict) -> None:
    ref = np.full(eng.n_nodes, np.inf)
    for node, d in lengths.items():
        ref[eng.node_index[node]] = d
    assert np.array_equal(np.isfinite(row), np.isfinite(ref))
    assert np.allclose(row[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=1e-12, atol=1e-9)


def random_damage(G: nx.MultiDiGraph, seed: int, removed: int = 15, slowed: int = 15) -> Damage:
    rng = np.random.default_rng(seed + 1000)
    edges = list(G.edges(keys=True))
    damage = Damage()
    damage.remove_edges({edges[i] for i in rng.choice(len(edges), removed, replace=False)}, "test")
    damage.degrade({edges[i] for i in rng.choice(len(edges), slowed, replace=False)}, 0.4, 0.5, "test")
    return damage


def damaged_networkx(G: nx.MultiDiGraph, damage: Damage) -> nx.MultiDiGraph:
    """An independent networkx copy of the damaged network (slowed edges' travel time divided)."""
    H = G.copy()
    for e, f in damage.speed_factor.items():
        H.edges[e]["travel_time"] /= f
    H.remove_edges_from(damage.removed_edges)
    return H


# ---------------------------------------------------------------- trees

@pytest.mark.parametrize("seed", range(6))
def test_trees_equal_networkx(seed: int) -> None:
    G = random_graph(seed)
    eng = Network(G)
    w = eng.weights("travel_time")
    tree = eng.tree(list(range(eng.n_nodes)), w)
    back = eng.reverse_tree(list(range(eng.n_nodes)), w)
    dist, back_dist = tree.node_dist(), back.node_dist()
    R = G.reverse(copy=False)
    for s in range(0, eng.n_nodes, 3):
        assert_row(eng, dist[s], nx_lengths(G, eng.nodes[s]))
        assert_row(eng, back_dist[s], nx_lengths(R, eng.nodes[s]))
        for t in range(eng.n_nodes):
            path, rpath = tree.edge_path(s, t), back.edge_path(s, t)  # s -> t, and t -> s
            assert (path is None) == (not np.isfinite(dist[s, t]))
            assert (rpath is None) == (not np.isfinite(back_dist[s, t]))
            if path is not None:
                assert math.isclose(w[path].sum(), dist[s, t], rel_tol=1e-12, abs_tol=1e-9)
                nodes = [s, *eng.dst[path].tolist()]
                assert nodes[-1] == t and eng.src[path].tolist() == nodes[:-1]
            if rpath:
                assert math.isclose(w[rpath].sum(), back_dist[s, t], rel_tol=1e-12, abs_tol=1e-9)
                assert eng.src[rpath[0]] == t and eng.dst[rpath[-1]] == s
                assert eng.dst[rpath[:-1]].tolist() == eng.src[rpath[1:]].tolist()


def test_tree_limit_and_paths() -> None:
    G = random_graph(7)
    eng = Network(G)
    w = eng.weights("length")
    full, cut = eng.tree([0, 1], w).node_dist(), eng.tree([0, 1], w, limit=2500.0).node_dist()
    reach = np.isfinite(full) & (full <= 2500.0)
    assert np.array_equal(np.isfinite(cut), reach)
    assert np.array_equal(cut[reach], full[reach])
    assert full[0, 0] == 0.0 and full[1, 1] == 0.0 and eng.tree([0, 1], w).edge_path(0, 0) == []
    v = int(np.flatnonzero(np.isfinite(full[0]) & (np.arange(eng.n_nodes) != 0))[0])
    path = eng.tree([0, 1], w).edge_path(0, v)
    assert eng.src[path[0]] == 0 and eng.dst[path[-1]] == v


def test_removed_edges_are_never_used() -> None:
    G = random_graph(8)
    eng = Network(G)
    damage = random_damage(G, 8, removed=40, slowed=0)
    w = eng.weights("travel_time", damage)
    removed = set(eng.edge_ids(list(damage.removed_edges)).tolist())
    tree = eng.tree(list(range(eng.n_nodes)), w)
    dist = tree.node_dist()
    H = damaged_networkx(G, damage)
    for s in range(eng.n_nodes):
        assert_row(eng, dist[s], nx_lengths(H, eng.nodes[s]))
        for t in range(0, eng.n_nodes, 5):
            assert not removed & set(tree.edge_path(s, t) or [])


def test_engine_public_api() -> None:
    G = random_graph(9)
    eng = Network(G)
    assert len(eng.nodes) == len(eng.node_index) == G.number_of_nodes()
    assert len(eng.edges) == len(eng.edge_index) == len(eng.src) == len(eng.dst) == G.number_of_edges()
    assert set(eng.attr) == {"travel_time", "length", "capacity"}
    assert eng.edge_ids(eng.edges[:3]).tolist() == [0, 1, 2]
    assert eng.path_sum([0, 1], "length") == pytest.approx(eng.attr["length"][[0, 1]].sum())
    assert eng.path_sum([], "length") == 0.0
    assert isinstance(eng.tree([0], eng.weights()), PathTree)
    with pytest.raises(ValueError):
        eng.weights("speed")
    with pytest.raises(ValueError):
        eng.tree([0], np.ones(3))
    for bad in (-1.0, np.nan):  # a NaN would silently act as a removed edge
        w = eng.weights()
        w[4] = bad
        match = rf"1 edge\(s\) have another value, e.g. {bad} on edge \({eng.edges[4][0]}, "
        with pytest.raises(ValueError, match=match):
            od_matrix(eng, [0, 1], w=w)


def test_graph_without_travel_times_gets_the_profile_speeds() -> None:
    """An osmnx graph without travel_time (speeds never added): the network times each edge from
    its length and the road class speed, as the loader does, instead of leaving it impassable."""
    G = random_graph(3)
    for _, _, d in G.edges(data=True):
        del d["travel_time"]
    eng = Network(G)
    speed_ms = road_class("primary")[1].speed_kph / 3.6
    assert np.allclose(eng.attr["travel_time"], eng.attr["length"] / speed_ms)
    assert np.isfinite(od_matrix(eng, [0, 1, 2]).time_s).any()


@pytest.mark.parametrize(("name", "value"), [("travel_time", -3.0), ("travel_time", -np.inf), ("length", np.nan),
                                           ("capacity", -100.0)])
def test_bad_edge_times_and_lengths_are_named(name: str, value: float) -> None:
    """A negative or NaN length, a negative travel time or capacity on the graph: an error naming
    the edge, the attribute and the value (before, a NaN made the road silently impassable)."""
    G = random_graph(3)
    u, v, k = list(G.edges(keys=True))[5]
    G[u][v][k][name] = value
    with pytest.raises(InputError, match=rf"edge \({u}, {v}, {k}\) {name} = {value}: must be a number >= 0"):
        Network(G)


# ---------------------------------------------------------------- OD matrices

@pytest.mark.parametrize("weight", ["travel_time", "length"])
def test_od_matrix_equals_networkx(weight: str) -> None:
    G = random_graph(10)
    eng = Network(G)
    nodes = list(range(0, 66, 4))
    od = od_matrix(eng, nodes, weight=weight)
    other = "length" if weight == "travel_time" else "travel_time"
    for i, o in enumerate(nodes):
        lengths = nx_lengths(G, o, weight)
        for j, d in enumerate(nodes):
            cost = od.time_s[i, j] if weight == "travel_time" else od.length_m[i, j]
            if d not in lengths:
                assert not np.isfinite(cost) and od.path(o, d) is None
                continue
            assert cost == pytest.approx(lengths[d], rel=1e-12, abs=1e-9)
            path = od.edge_path(i, j)
            aux = od.length_m[i, j] if weight == "travel_time" else od.time_s[i, j]
            assert aux == pytest.approx(eng.attr[other][path].sum() if path else 0.0, rel=1e-12, abs=1e-9)
            assert od.path(o, d) == [eng.edges[e] for e in path]
    frame = od.to_frame()
    assert len(frame) == len(nodes) ** 2 and set(frame.columns) >= {"origin", "destination", "time_s", "length_m"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), removed=st.integers(0, 40), slowed=st.integers(0, 40))
def test_damaged_od_full_and_incremental_equal_networkx(seed: int, removed: int, slowed: int) -> None:
    G = random_graph(seed, n=40, m=110)
    eng = Network(G)
    nodes = list(range(0, 46, 3))
    damage = random_damage(G, seed, removed, slowed)
    baseline = od_matrix(eng, nodes)
    full = od_matrix(eng, nodes, damage=damage)
    inc = od_matrix(eng, nodes, damage=damage, baseline=baseline, incremental=True)
    assert inc.pred is None and inc.recomputed is not None
    H = damaged_networkx(G, damage)
    w = eng.weights("travel_time", damage)
    for i, o in enumerate(nodes):
        lengths = nx_lengths(H, o)
        ref = np.array([lengths.get(d, np.inf) for d in nodes])
        for got in (full.time_s[i], inc.time_s[i]):
            assert np.array_equal(np.isfinite(got), np.isfinite(ref))
            assert np.allclose(got[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=1e-12, atol=1e-9)
        for j in range(len(nodes)):
            path = inc.edge_path(i, j)
            if path is not None:
                assert w[path].sum() == pytest.approx(inc.time_s[i, j], rel=1e-12, abs=1e-9)
                assert inc.length_m[i, j] == pytest.approx(eng.attr["length"][path].sum(), rel=1e-9, abs=1e-6) or \
                    inc.recomputed[i, j]  # equal-time routes may differ in length
    kept = ~inc.recomputed  # pairs whose route missed the damage keep their baseline value
    assert np.array_equal(inc.time_s[kept], baseline.time_s[kept])


def test_incremental_falls_back_when_weights_drop() -> None:
    G = random_graph(11)
    eng = Network(G)
    nodes = list(range(0, 60, 6))
    baseline = od_matrix(eng, nodes)
    w = eng.weights() * 0.5
    od = od_matrix(eng, nodes, w=w, baseline=baseline, incremental=True)
    assert od.pred is not None  # full computation
    assert np.allclose(od.time_s[np.isfinite(od.time_s)], od_matrix(eng, nodes, w=w).time_s[np.isfinite(od.time_s)])


def test_od_change_statuses() -> None:
    G = random_graph(12)
    eng = Network(G)
    nodes = list(range(0, 60, 5))
    before = od_matrix(eng, nodes)
    after = od_matrix(eng, nodes, damage=random_damage(G, 12, removed=60, slowed=30), baseline=before,
                      incremental=True)
    change = od_change(before, after)
    assert len(change) == len(nodes) ** 2
    assert set(change["status"]) <= {"unchanged", "slower", "cut off", "unreachable before"}
    cut = change["status"] == "cut off"
    assert (change.loc[cut, "reachable_before"] & ~change.loc[cut, "reachable_after"]).all()
    assert (change.loc[change["status"] == "slower", "delta_s"] > 0).all()


def test_homs_real_graph_equals_networkx(homs_graph: nx.MultiDiGraph) -> None:
    eng = Network(homs_graph)
    nodes = list(homs_graph.nodes)
    od = od_matrix(eng, nodes)
    for i, o in enumerate(nodes):
        lengths = nx_lengths(homs_graph, o)
        ref = np.array([lengths.get(d, np.inf) for d in nodes])
        assert np.array_equal(np.isfinite(od.time_s[i]), np.isfinite(ref))
        assert np.allclose(od.time_s[i][np.isfinite(ref)], ref[np.isfinite(ref)], rtol=1e-12)
    edges = list(homs_graph.edges(keys=True))
    damage = Damage()
    damage.remove_edges(set(edges[::7]), "test")
    inc = od_matrix(eng, nodes, damage=damage, baseline=od, incremental=True)
    assert inc.pred is None
    full = od_matrix(eng, nodes, damage=damage)
    assert np.array_equal(np.isfinite(inc.time_s), np.isfinite(full.time_s))
    assert np.allclose(inc.time_s[np.isfinite(full.time_s)], full.time_s[np.isfinite(full.time_s)])


# ---------------------------------------------------------------- isochrones

def test_isochrone_matches_networkx_cutoff(homs_graph: nx.MultiDiGraph) -> None:
    eng = Network(homs_graph)
    scc = max(nx.strongly_connected_components(homs_graph), key=len)
    source = sorted(scc)[0]
    iso = isochrone(eng, [source], 15)
    ref = nx.single_source_dijkstra_path_length(homs_graph, source, cutoff=900, weight="travel_time")
    assert set(iso.node_time_s.index) == set(ref)
    for node, t in ref.items():
        assert iso.node_time_s[node] == pytest.approx(t)
    for u, v, k in iso.edges:
        assert ref[u] + homs_graph.edges[u, v, k]["travel_time"] <= 900 + 1e-9
    for (u, v, k), fraction in iso.partial:
        assert 0 < fraction < 1
        assert ref[u] + fraction * homs_graph.edges[u, v, k]["travel_time"] == pytest.approx(900)
    for node in ref:
        assert iso.polygon.buffer(1e-6).contains(Point(homs_graph.nodes[node]["x"], homs_graph.nodes[node]["y"]))
    assert iso.area_km2 > 0

    to = isochrone(eng, [source], 15, direction="to")
    ref_to = nx.single_source_dijkstra_path_length(homs_graph.reverse(), source, cutoff=900, weight="travel_time")
    assert set(to.node_time_s.index) == set(ref_to)


def test_isochrone_before_after_and_service_area(homs_graph: nx.MultiDiGraph) -> None:
    eng = Network(homs_graph)
    scc = sorted(max(nx.strongly_connected_components(homs_graph), key=len))
    before = isochrone(eng, [scc[0]], 30)
    damage = Damage()
    damage.remove_edges(set(homs_graph.out_edges(scc[0], keys=True)), "closure")
    after = isochrone(eng, [scc[0]], 30, damage=damage)
    change = isochrone_change(before, after)
    assert change["area_after_km2"] < change["area_before_km2"]
    assert change["area_lost_km2"] > 0 and set(change["nodes_lost"]) == set(before.node_time_s.index) - {scc[0]}
    both = isochrone(eng, [scc[0], scc[-1]], 10)  # a service area of two facilities: the union
    one, two = isochrone(eng, [scc[0]], 10), isochrone(eng, [scc[-1]], 10)
    assert set(both.node_time_s.index) == set(one.node_time_s.index) | set(two.node_time_s.index)
    with pytest.raises(ValueError):
        isochrone(eng, [scc[0]], 10, direction="sideways")
