"""Population access to facilities: snapping, one multi-source search per state, population-weighted
criticality; checked against brute-force networkx on real Malta and on random graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from conftest import line_graph
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.analysis.access import access_criticality, accessibility, snap_layer
from routing.analysis.criticality import edge_groups
from routing.engine import Network
from routing.layers import PointLayer, read_osm_places, read_osm_pois
from routing.network import load_network
from routing.scenario import Damage
from routing.settings import shared_data_dir

MALTA = shared_data_dir() / "osm" / "real" / "malta-2018-08-27.osm.pbf"
HEALTH = {"amenity": ["hospital", "clinic", "doctors"]}


def nx_time_to_nearest(G: nx.MultiDiGraph, sources: list[int], removed: set = frozenset()) -> dict[int, float]:
    """Brute force: networkx multi-source Dijkstra on the reversed graph without the removed edges."""
    H = nx.DiGraph()
    H.add_nodes_from(G.nodes)
    for u, v, k, d in G.edges(keys=True, data=True):
        if (u, v, k) in removed:
            continue
        t = d["travel_time"]
        if not H.has_edge(v, u) or H[v][u]["t"] > t:
            H.add_edge(v, u, t=t)
    return nx.multi_source_dijkstra_path_length(H, set(sources), weight="t")


def nx_times(G: nx.MultiDiGraph, network: Network, sources: list[int], removed: set = frozenset()) -> np.ndarray:
    found = nx_time_to_nearest(G, sources, removed)
    return np.array([found.get(n, np.inf) for n in network.nodes])


def nx_routing_times(network: Network, sources: list[int], removed: set = frozenset()) -> np.ndarray:
    """Brute force on a real extract with turn restrictions and access rules: networkx
    multi-source Dijkstra on the network's routing graph (the road graph expanded where turn
    restrictions apply, :mod:`routing.engine.turns`), reversed; a road node's time is that of the
    routing node its routes start from."""
    r = network.routing
    w = network.weights("travel_time")
    if removed:
        w[network.edge_ids(removed)] = np.inf
    wx = r.expand(w)
    H = nx.DiGraph()
    H.add_nodes_from(range(r.n))
    for x in np.flatnonzero(np.isfinite(wx)):
        a, b = int(r.dst[x]), int(r.src[x])
        if not H.has_edge(a, b) or H[a][b]["t"] > wx[x]:
            H.add_edge(a, b, t=float(wx[x]))
    idx = network.node_ids(sources)
    found = nx.multi_source_dijkstra_path_length(H, set(r.end[idx].tolist()), weight="t")
    out = np.array([found.get(int(x), np.inf) for x in r.start])
    out[idx] = 0.0
    return out


@pytest.fixture(scope="module")
def malta():
    if not MALTA.exists():
        pytest.fail(f"real Malta extract missing: {MALTA} (set ROUTING_SHARED_DATA)")
    G = load_network(MALTA)
    return G, Network(G), read_osm_places(MALTA), read_osm_pois(MALTA, HEALTH)


def test_malta_layers_read_real_places_and_facilities(malta):
    _, _, places, health = malta
    # 65 place nodes carry a population; the country node (Malta, 423,282) is left out
    assert len(places) == 64 and places.total == 422_429
    assert "Birkirkara" in places.names and "Malta" not in places.names
    assert len(health) == 29  # amenity=hospital|clinic|doctors: 26 nodes + closed ways
    assert "Mater Dei Hospital" in health.names


def test_malta_equals_networkx_before_and_after(malta):
    _, net, places, health = malta
    rng = np.random.default_rng(7)
    cut = {net.edges[i] for i in rng.choice(len(net.edges), 400, replace=False)}
    damage = Damage(removed_edges=cut)
    acc = accessibility(net, places, {"health": health}, damage=damage, spread_m=800)
    sources = [net.nodes[i] for i in acc.types["health"].facilities.nodes()]
    persons = acc.population.node_values()
    populated = persons > 0
    assert net.routing.n > net.n_nodes  # Malta's turn restrictions expand some junctions
    for state, removed in (("baseline", set()), ("damaged", cut)):
        ref = nx_routing_times(net, sources, removed)
        ours = acc.types["health"].time_s[state]
        np.testing.assert_allclose(ours[populated], ref[populated], rtol=1e-9)
        within = persons[populated & (ref <= 15 * 60)].sum()
        row = acc.summary[(acc.summary.state == state)].iloc[0]
        assert row["within_15_min"] == pytest.approx(within)
        assert row["population"] == pytest.approx(places.total)


def test_malta_criticality_equals_networkx_for_top_candidates(malta):
    _, net, places, health = malta
    result = access_criticality(net, places, health, threshold_min=5, top=25, spread_m=800, progress=False)
    pop = snap_layer(net, places, spread_m=800)
    persons = pop.node_values()
    sources = [net.nodes[i] for i in snap_layer(net, health).nodes()]
    base = nx_routing_times(net, sources)
    populated = persons > 0
    assert len(result.table) == 25
    for row in result.table.head(8).itertuples():
        after = nx_routing_times(net, sources, set(row.edges))
        grew = populated & (after > base + 1e-9)
        losing = persons[grew & (base <= 300) & (after > 300)].sum()
        finite = grew & np.isfinite(after)
        hours = (persons[finite] * (after[finite] - base[finite])).sum() / 3600
        assert row.population_losing_access == pytest.approx(losing)
        assert row.person_hours_added == pytest.approx(hours, rel=1e-9, abs=1e-9)
        assert row.population_cut_off == pytest.approx(persons[grew & ~np.isfinite(after)].sum())
    assert result.table["population_losing_access"].is_monotonic_decreasing


def _random_graph(seed: int, n: int, extra: int) -> nx.MultiDiGraph:
    rng = np.random.default_rng(seed)
    coords = {i: (float(rng.uniform(0, 0.2)), float(rng.uniform(0, 0.2))) for i in range(n)}
    edges = []
    for i in range(1, n):  # a random tree keeps most nodes connected, extra edges add cycles
        j = int(rng.integers(0, i))
        edges.append((j, i, {"maxspeed": str(int(rng.integers(20, 100)))}))
        if rng.random() < 0.7:
            edges.append((i, j, {"maxspeed": str(int(rng.integers(20, 100)))}))
    for _ in range(extra):
        a, b = (int(x) for x in rng.integers(0, n, 2))
        if a != b:
            edges.append((a, b, {"maxspeed": str(int(rng.integers(20, 100)))}))
    return line_graph(edges, coords)


def _population(G: nx.MultiDiGraph, seed: int, k: int) -> PointLayer:
    rng = np.random.default_rng(seed)
    nodes = list(G.nodes)
    pick = rng.choice(len(nodes), k)
    lon = np.array([G.nodes[nodes[i]]["x"] for i in pick]) + rng.normal(0, 1e-4, k)
    lat = np.array([G.nodes[nodes[i]]["y"] for i in pick]) + rng.normal(0, 1e-4, k)
    return PointLayer(lon, lat, rng.integers(1, 500, k).astype(float), source="random test points")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 40), extra=st.integers(0, 60), n_fac=st.integers(1, 4),
       n_cut=st.integers(0, 15))
def test_random_graphs_equal_networkx_and_damage_never_increases_access(seed, n, extra, n_fac, n_cut):
    G = _random_graph(seed, n, extra)
    net = Network(G)
    rng = np.random.default_rng(seed + 1)
    pop = _population(G, seed + 2, 3 * n)
    fac_nodes = [net.nodes[i] for i in rng.choice(net.n_nodes, n_fac, replace=False)]
    facilities = PointLayer([G.nodes[f]["x"] for f in fac_nodes], [G.nodes[f]["y"] for f in fac_nodes],
                            np.ones(n_fac), source="random facilities")
    cut = {net.edges[i] for i in rng.choice(len(net.edges), min(n_cut, len(net.edges)), replace=False)}
    slow = {net.edges[i]: 0.5 for i in rng.choice(len(net.edges), min(3, len(net.edges)), replace=False)}
    acc = accessibility(net, pop, {"f": facilities}, damage=Damage(removed_edges=cut, speed_factor=slow),
                        thresholds_min=(1, 3, 10), max_snap_m=5_000, areas=None)
    fa = acc.types["f"]
    sources = [net.nodes[i] for i in fa.facilities.nodes()]
    np.testing.assert_allclose(fa.time_s["baseline"], nx_times(G, net, sources), rtol=1e-9)
    # damage never shortens a trip, never adds population within a threshold, never removes "no access"
    assert (fa.time_s["damaged"] >= fa.time_s["baseline"] - 1e-9).all()
    before, after = (acc.summary[acc.summary.state == s].iloc[0] for s in ("baseline", "damaged"))
    for t in (1, 3, 10):
        assert after[f"within_{t:g}_min"] <= before[f"within_{t:g}_min"] + 1e-9
    assert after["no_access"] >= before["no_access"] - 1e-9
    assert (acc.change["population_losing"] >= 0).all()
    # criticality: every segment alone, against networkx
    result = access_criticality(net, pop, facilities, threshold_min=3, groups=edge_groups(net, "segment"),
                                max_snap_m=5_000, progress=False)
    persons = acc.population.node_values()
    base = nx_times(G, net, sources)
    for row in result.table.itertuples():
        after_t = nx_times(G, net, sources, set(row.edges))
        grew = (persons > 0) & (after_t > base + 1e-9)
        assert row.population_losing_access == pytest.approx(persons[grew & (base <= 180) & (after_t > 180)].sum())
        finite = grew & np.isfinite(after_t)
        hours = (persons[finite] * (after_t[finite] - base[finite])).sum() / 3600
        assert row.person_hours_added == pytest.approx(hours, rel=1e-9, abs=1e-9)


def test_unsnapped_population_is_counted_never_dropped(demo_graph):
    net = Network(demo_graph)
    nodes = list(demo_graph.nodes)[:3]
    lon = [demo_graph.nodes[n]["x"] for n in nodes] + [10.0]  # the last point lies in the Mediterranean
    lat = [demo_graph.nodes[n]["y"] for n in nodes] + [35.0]
    pop = PointLayer(lon, lat, [100.0, 200.0, 300.0, 5_000.0], source="test points", names=["a", "b", "c", "sea"])
    snapped = snap_layer(net, pop, max_snap_m=1_000)
    s = snapped.summary()
    assert (s["points_unsnapped"], s["unsnapped"], s["snapped"]) == (1, 5_000.0, 600.0)
    assert snapped.node[3] == -1 and snapped.snap_m[3] > 1_000_000
    fac = PointLayer(lon[:1], lat[:1], [1.0], source="one facility")
    acc = accessibility(net, snapped, {"f": fac})
    row = acc.summary.iloc[0]
    assert row["population"] == 600 and row["unsnapped"] == 5_000
    assert row["within_120_min"] + row["no_access"] + row["unsnapped"] <= 5_600


def test_spread_shares_a_point_among_nearby_nodes_and_keeps_the_total(malta):
    _, net, places, _ = malta
    one = snap_layer(net, places)
    spread = snap_layer(net, places, spread_m=1_000)
    assert spread.node_values().sum() == pytest.approx(one.node_values().sum()) == pytest.approx(places.total)
    assert (spread.node_values() > 0).sum() > 20 * (one.node_values() > 0).sum()


def test_closed_facility_node_is_closed_after(demo_graph):
    net = Network(demo_graph)
    a, b = list(demo_graph.nodes)[:2]
    fac = PointLayer([demo_graph.nodes[a]["x"], demo_graph.nodes[b]["x"]],
                     [demo_graph.nodes[a]["y"], demo_graph.nodes[b]["y"]], [1.0, 1.0], source="two")
    damage = Damage()
    damage.remove_nodes(demo_graph, {a}, "closed")
    pop = PointLayer([demo_graph.nodes[a]["x"]], [demo_graph.nodes[a]["y"]], [10.0], source="one")
    acc = accessibility(net, pop, {"f": fac}, damage=damage)
    fa = acc.types["f"]
    assert fa.closed.tolist() == [True, False]
    ia = net.node_index[a]
    assert fa.time_s["baseline"][ia] == 0 and fa.time_s["damaged"][ia] == np.inf
