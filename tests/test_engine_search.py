"""The search numbering (SearchCSR), the OD and route-index kernels on it, and the incremental
repair with kept workspaces: equal to the plain reference kernels on the routing graph itself,
on random graphs with synthetic turn restrictions and on a real extract with its restrictions."""

from __future__ import annotations

import pickle

import networkx as nx
import numpy as np
import pytest
from test_engine import random_damage, random_graph
from test_road_model import extract, sample_nodes

from routing import load_network
from routing.engine import Network, ODMatrix, od_matrix
from routing.engine.kernels import MAX_BUCKETS, bucket_width, dijkstra, trees_ser
from routing.scenario import Damage
from routing.scenario.damage import Restriction


def restricted_random_network(seed: int) -> Network:
    """A random graph with seeded ``no_*`` and ``only_*`` turn restrictions (one per 4 junctions)."""
    G = random_graph(seed)
    rng = np.random.default_rng(seed + 7)
    records = []
    for v in list(G.nodes):
        ins, outs = list(G.in_edges(v, keys=True)), list(G.out_edges(v, keys=True))
        if len(outs) < 2 or not ins or rng.random() > 0.25:
            continue
        a, b = ins[int(rng.integers(len(ins)))], outs[int(rng.integers(len(outs)))]
        kind = "only" if rng.random() < 0.3 else "no"
        records.append({"id": len(records) + 1, "tags": {"restriction": f"{kind}_left_turn"}, "from": [],
                        "via_nodes": [v], "via_ways": [], "to": [], "kind": kind,
                        "sequences": [[list(a), list(b)]]})
    G.graph["turn_restrictions"] = records
    return Network(G)


def assert_incremental_equals_full(inc: ODMatrix, full: ODMatrix, baseline: ODMatrix) -> None:
    """The incremental matrix repaired some pairs, has the full one's times (to rounding) and kept the
    baseline's elsewhere."""
    assert inc.recomputed is not None and inc.recomputed.any()
    assert np.array_equal(np.isfinite(inc.time_s), np.isfinite(full.time_s))
    fin = np.isfinite(full.time_s)
    assert np.allclose(inc.time_s[fin], full.time_s[fin], rtol=1e-12, atol=1e-9)
    assert np.array_equal(inc.time_s[~inc.recomputed], baseline.time_s[~inc.recomputed])


@pytest.fixture(scope="module")
def malta() -> Network:
    return Network(load_network(extract("malta")))


def networks(malta: Network) -> list[Network]:
    return [restricted_random_network(seed) for seed in range(4)] + [malta]


def test_search_csr_renumbers_the_routing_graph(malta: Network) -> None:
    for net in networks(malta):
        r = net.routing
        assert r.expanded_junctions > 0
        for reverse in (False, True):
            sg = r.search_csr(reverse)
            assert np.array_equal(sg.rank[sg.node_of], np.arange(r.n))
            assert np.all(np.diff(r.node_road[sg.node_of]) >= 0)  # ports beside their road node
            tail, far = (r.dst, r.src) if reverse else (r.src, r.dst)
            assert np.array_equal(np.sort(sg.adj), np.arange(r.m))
            rows = np.repeat(np.arange(r.n), np.diff(sg.indptr))
            assert np.array_equal(sg.node_of[rows], tail[sg.adj])
            assert np.array_equal(sg.node_of[sg.head], far[sg.adj])
            assert np.array_equal(sg.node_of[sg.root_side], tail)


def test_od_and_route_index_equal_the_reference_kernels(malta: Network) -> None:
    """OD costs, aux sums and routes equal one plain Dijkstra per origin on the routing graph's own
    numbering; the route index's trees equal the reference tree kernel and its Euler intervals say
    exactly which nodes route through which."""
    for seed, net in enumerate(networks(malta)):
        r = net.routing
        nodes = sample_nodes(net, 12, seed) if net is malta else list(range(0, 66, 5))
        od = od_matrix(net, nodes)
        wc = od.w[r.fwd]
        for i in range(len(nodes)):
            o = int(od.origin_index[i])
            dist, pred, auxd = np.empty(r.n), np.empty(r.n, dtype=np.int32), np.empty(r.n)
            dijkstra(r.indptr, r.fwd, r.head, wc, od.aux_w[r.fwd], np.array([o]), np.inf, np.zeros(r.n, dtype=bool),
                     0, dist, pred, auxd, np.empty(r.n, dtype=np.int64), np.empty(r.m + 2),
                     np.empty(r.m + 2, dtype=np.int32))
            same = od.same_node[i]
            ref_cost = np.where(same, 0.0, dist[od.destination_index])
            assert np.array_equal(od.time_s[i], ref_cost)
            for j in range(len(nodes)):
                path = od.routing_path(i, j)
                if path:
                    assert od.w[path].sum() == pytest.approx(od.time_s[i, j], rel=1e-12, abs=1e-9)
                    assert r.src[path[0]] == o and r.dst[path[-1]] == od.destination_index[j]
                    assert np.all(r.dst[path[:-1]] == r.src[path[1:]])
                    total = 0.0
                    for e in path:  # summed from the origin, as the search sums
                        total += od.aux_w[e]
                    assert od.length_m[i, j] == total
        index = od.reverse_index()
        k = len(nodes)
        dist, pred, auxd = np.empty((k, r.n)), np.empty((k, r.n), dtype=np.int32), np.empty((k, r.n))
        trees_ser(r.rindptr, r.rev, r.rhead, od.w[r.rev], od.aux_w[r.rev], od.destination_index, np.inf, dist, pred,
                  auxd)
        assert np.array_equal(index.dist, dist.T)
        rng = np.random.default_rng(seed)
        for j in range(k):
            reached = np.flatnonzero(np.isfinite(index.dist[:, j]))
            for x in rng.choice(reached, size=min(30, len(reached)), replace=False).tolist():
                total, chain, y = 0.0, [x], x
                while index.nxt[y, j] >= 0:
                    e = index.nxt[y, j]
                    total += od.w[e]
                    y = int(r.dst[e])
                    chain.append(y)
                assert y == od.destination_index[j]
                assert total == pytest.approx(index.dist[x, j], rel=1e-12, abs=1e-9)
                inside = {a for a in reached if index.tin[a, j] <= index.tin[x, j] < index.tout[a, j]}
                assert inside == set(chain)


def test_bucket_width_spans_the_largest_weight() -> None:
    """The OD's bucket queue: a width from the typical weight, raised so that a few huge weights do
    not make the circular queue huge, and a queue that spans every finite edge."""
    typical = np.linspace(1.0, 100.0, 5_000)
    width, n_buckets = bucket_width(np.r_[typical, 0.0, np.inf])
    assert 0 < width < 50 and n_buckets * width > 100
    width, n_buckets = bucket_width(np.r_[typical, 1e12])
    assert n_buckets <= MAX_BUCKETS + 2 and n_buckets * width > 1e12
    assert bucket_width(np.array([0.0, np.inf])) == (1.0, 2)  # no positive finite weight


@pytest.mark.parametrize("direct_first", [True, False])
def test_od_waits_for_the_bucket_to_empty(direct_first: bool) -> None:
    """A target reached first by its longer route, in the bucket where a shorter one still waits:
    the OD gives the shorter route (whichever of the two edges the search relaxes first)."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(14):
        G.add_node(i, x=36.0 + 0.01 * i, y=34.0)
    edges = [(0, 2, 1.05), (0, 1, 1.0)] if direct_first else [(0, 1, 1.0), (0, 2, 1.05)]
    edges += [(1, 2, 0.01)] + [(i, i + 1, 4.8) for i in range(3, 13)]  # the filler sets the width: 1.2
    for k, (u, v, t) in enumerate(edges):
        G.add_edge(u, v, length=t * 10, travel_time=t, capacity=600.0, osmid=k, highway="primary", name=f"road {k}")
    od = od_matrix(Network(G), [0], [2, 1])
    assert od.time_s[0, 0] == 1.0 + 0.01 and od.time_s[0, 1] == 1.0
    assert od.length_m[0, 0] == 10.0 + 0.1


@pytest.mark.parametrize("seed", range(3))
def test_od_is_exact_for_weights_far_below_and_above_the_bucket_width(seed: int) -> None:
    """Zero and tiny weights (routes improved inside a bucket already emptied once), weights in the
    same bucket, a huge one and removed edges: the OD equals one plain Dijkstra per origin."""
    net = restricted_random_network(seed)
    rng = np.random.default_rng(seed)
    m = len(net.weights())
    w = rng.choice([0.0, 1e-9, 1e-3], m) * (rng.random(m) < 0.3) + rng.uniform(0.5, 40.0, m) * (rng.random(m) < 0.7)
    w[rng.integers(0, m, 3)] = 1e7
    w[rng.integers(0, m, 5)] = np.inf
    nodes = list(range(0, 66, 3))
    od = od_matrix(net, nodes, w=w)
    r = net.routing
    wc = od.w[r.fwd]
    for i in range(len(nodes)):
        dist, pred, auxd = np.empty(r.n), np.empty(r.n, dtype=np.int32), np.empty(r.n)
        dijkstra(r.indptr, r.fwd, r.head, wc, od.aux_w[r.fwd], np.array([od.origin_index[i]]), np.inf,
                 np.zeros(r.n, dtype=bool), 0, dist, pred, auxd, np.empty(r.n, dtype=np.int64), np.empty(r.m + 2),
                 np.empty(r.m + 2, dtype=np.int32))
        assert np.array_equal(od.time_s[i], np.where(od.same_node[i], 0.0, dist[od.destination_index]))
        for j in range(len(nodes)):
            path = od.routing_path(i, j)
            if path:
                assert od.w[path].sum() == pytest.approx(od.time_s[i, j], rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("removed_only", [True, False])
def test_incremental_repair_equals_full_and_repeats(malta: Network, removed_only: bool) -> None:
    """Removal-only damage (the baseline's arrays with the edges skipped) and slowed edges both equal
    a full computation, again and again with the kept workspaces, and after pickling."""
    for seed, net in enumerate(networks(malta)):
        nodes = sample_nodes(net, 15, seed) if net is malta else list(range(0, 66, 4))
        baseline = od_matrix(net, nodes).build_index()
        for round_ in range(3):
            if net is malta:
                rng = np.random.default_rng(seed * 10 + round_)
                edges = [net.edges[e] for e in rng.choice(len(net.edges), 300, replace=False)]
                damage = Damage()
                damage.remove_edges(set(edges[:150]), "test")
                if not removed_only:
                    damage.degrade(set(edges[150:]), 0.4, 0.5, "test")
            else:
                damage = random_damage(net.graph, seed * 10 + round_, 15, 0 if removed_only else 15)
            full = od_matrix(net, nodes, damage=damage)
            for base in (baseline, pickle.loads(pickle.dumps(baseline))):
                inc = od_matrix(net, nodes, damage=damage, baseline=base, incremental=True)
                assert_incremental_equals_full(inc, full, baseline)


def test_workspace_pool_is_not_pickled_and_not_shared() -> None:
    net = restricted_random_network(9)
    od = od_matrix(net, list(range(0, 60, 6))).build_index()
    pool = od.repair_pool
    with pool.take(2, net.routing.n, net.routing.m) as first, pool.take(2, net.routing.n, net.routing.m) as second:
        assert first is not second
    assert len(pool.free) == 2
    assert pickle.loads(pickle.dumps(od)).repair_pool.free == []
    assert isinstance(net.graph, nx.MultiDiGraph)


def test_damaged_routing_weights_patch_the_cached_baseline() -> None:
    """Damaged routing weights (cached undamaged ones with the damaged edges' copies rewritten)
    equal expanding the damaged road weights: removal and a vehicle barred win over a speed factor
    on the same edge, and the cache is never changed by a call."""
    net = restricted_random_network(3)
    edges = list(net.graph.edges(keys=True))
    damage = Damage()
    damage.degrade(set(edges[:30]), 0.5, 0.5, "slow")
    damage.remove_edges(set(edges[20:40]), "gone")
    damage.restrict(set(edges[35:50]), Restriction(max_weight_t=0.5), "weak bridge")
    undamaged = {wt: net.damaged_routing_weights(wt) for wt in ("travel_time", "length")}
    for _ in range(2):
        for wt in ("travel_time", "length"):
            got = net.damaged_routing_weights(wt, damage)
            assert np.array_equal(got, net.routing_weights(net.weights(wt, damage)))
            assert np.array_equal(net.damaged_routing_weights(wt), undamaged[wt])
            assert np.isinf(net.weights(wt, damage)[net.edge_ids(edges[20:50])]).all()
    slowed = net.edge_ids(edges[:20])
    assert np.allclose(net.weights("travel_time", damage)[slowed], 2 * net.weights()[slowed])


@pytest.mark.parametrize("restricted", [False, True])
def test_incremental_repairs_slowing_only_and_cut_off_pairs(restricted: bool) -> None:
    """Speed factors alone (nothing removed), and removals that cut nodes off, repeated on the same
    baseline and engine: the incremental matrix equals a full one each time."""
    for seed in range(3):
        net = restricted_random_network(seed) if restricted else Network(random_graph(seed))
        G = net.graph
        nodes = list(range(0, 66, 4))
        baseline = od_matrix(net, nodes).build_index()
        edges = list(G.edges(keys=True))
        rng = np.random.default_rng(seed)
        slow, cut = Damage(), Damage()
        slow.degrade({edges[i] for i in rng.choice(len(edges), 40, replace=False)}, 0.3, 0.5, "slow")
        cut.remove_nodes(G, {nodes[1], nodes[5]}, "cut")  # every route to or from them is gone
        cut.remove_edges({edges[i] for i in rng.choice(len(edges), 20, replace=False)}, "cut")
        for damage in (slow, cut, slow, slow.merged(cut), cut):
            full = od_matrix(net, nodes, damage=damage)
            inc = od_matrix(net, nodes, damage=damage, baseline=baseline, incremental=True)
            assert_incremental_equals_full(inc, full, baseline)
            if damage is cut:
                assert not np.isfinite(inc.time_s[1, 2]) and not np.isfinite(inc.time_s[3, 5])
