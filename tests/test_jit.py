"""Interpreted kernels for small work (routing.engine.jit): the same results as the compiled ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from numba import njit
from numba.cpython.unsafe.numbers import leading_zeros
from test_engine import random_graph

from routing import run_scenario
from routing.analysis import evacuation
from routing.analysis.criticality import criticality
from routing.engine import Network, jit, kernels, network, od, od_matrix
from routing.scenario import Scenario

CALLERS = (kernels, network, od, evacuation)  # the modules calling jit.for_work


@njit(cache=False)
def _bits(x):
    return leading_zeros(x)


@njit(cache=False)
def _leading_zeros_of(values, out):
    for i in range(values.shape[0]):
        out[i] = _bits(values[i])


def route_kernels(monkeypatch: pytest.MonkeyPatch, interpret: bool) -> list[str]:
    """Make every call site run the interpreted (or the compiled) kernels whatever the work; the
    names of the kernels called are appended to the list returned."""
    called: list[str] = []

    def choose(kernel: Any, work: int) -> Callable[..., Any]:
        called.append(kernel.py_func.__name__)
        return jit.interpreted(kernel) if interpret else kernel

    for module in CALLERS:
        monkeypatch.setattr(module, "for_work", choose)
    return called


def both_ways(monkeypatch: pytest.MonkeyPatch, compute: Callable[[], Any]) -> tuple[Any, Any, list[str]]:
    """``compute()`` with interpreted kernels, then compiled, and the kernels the first run called."""
    with monkeypatch.context() as m:
        called = route_kernels(m, interpret=True)
        slow = compute()
    with monkeypatch.context() as m:
        route_kernels(m, interpret=False)
        fast = compute()
    return slow, fast, called


def with_restrictions(G: nx.MultiDiGraph, seed: int, count: int = 25) -> nx.MultiDiGraph:
    """``G`` with random resolved turn restrictions (``no_*`` and ``only_*`` turns through a node)."""
    rng = np.random.default_rng(seed)
    edges = list(G.edges(keys=True))
    records = []
    for i in range(count):
        first = edges[int(rng.integers(len(edges)))]
        onward = [e for e in G.out_edges(first[1], keys=True) if e[1] != first[0]]
        if onward:
            kind = "no" if rng.random() < 0.7 else "only"
            records.append({"id": i, "tags": {"restriction": f"{kind}_straight_on"}, "from": [],
                            "via_nodes": [first[1]], "via_ways": [], "to": [], "kind": kind,
                            "sequences": [[first, onward[int(rng.integers(len(onward)))]]]})
    G.graph["turn_restrictions"] = records
    return G


def kernel_outputs(net: Network, nodes: list[int], seed: int) -> list[np.ndarray]:
    """The arrays every kernel behind ``for_work`` produces on ``net``: trees, a multi-source search,
    an OD matrix and its route index, an incremental matrix after damage, re-searched paths of
    it, and repairs after removing groups of edges."""
    rng = np.random.default_rng(seed)
    w = net.weights("travel_time")
    idx = [net.node_index[n] for n in nodes]
    tree = net.tree(idx[:4], w)
    near = net.nearest(idx[:3], w, reverse=True)
    base = od_matrix(net, nodes).build_index()
    damaged = w.copy()
    hit = rng.choice(len(w), len(w) // 5, replace=False)
    damaged[hit[::2]] = np.inf
    damaged[hit[1::2]] *= 3
    inc = od_matrix(net, nodes, w=damaged, baseline=base, incremental=True)
    assert inc.recomputed is not None and inc.recomputed.any()
    paths = [np.asarray(inc.routing_path(i, j) or [-1]) for i, j in zip(*np.nonzero(inc.recomputed))]
    ctx = od.RepairContext.from_baseline(net, base)
    gedges = np.sort(rng.choice(net.routing.m, 12, replace=False)).astype(np.int64)
    gptr = np.arange(0, 13, 3, dtype=np.int64)
    keys = ctx.pair_keys(gptr, gedges)
    repaired = ctx.repair(keys, gptr, gedges, remove=True)
    return [tree.dist, tree.pred_edge, near.dist, near.pred_edge, near.root, base.time_s, base.length_m,
            *base.reverse_index().as_tuple(), *base.incidence(), inc.time_s, inc.length_m, *paths, keys, *repaired]


@pytest.mark.parametrize("seed", range(3))
def test_interpreted_kernels_equal_compiled_on_random_graphs_with_restrictions(
        monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    net = Network(with_restrictions(random_graph(seed, n=50, m=140), seed))
    assert net.restrictions() and net.routing.m > len(net.edges)  # junctions expanded
    nodes = list(range(0, 56, 4))
    slow, fast, called = both_ways(monkeypatch, lambda: kernel_outputs(net, nodes, seed))
    assert {"trees_ser", "dijkstra", "od_ser", "index_block", "route_incidence", "repair_block"} <= set(called)
    assert len(slow) == len(fast)
    for a, b in zip(slow, fast):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_interpreted_kernels_equal_compiled_on_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """``routing run demo`` and the demo's criticality, every kernel interpreted vs compiled."""
    scenario = Scenario.from_file("demo")
    G = scenario.load_network()

    def demo() -> list[Any]:
        result = run_scenario(scenario, graph=G)
        assert result.evacuation_capacity is not None
        places = list(result.places["node"])
        crit = criticality(result.network, places, progress=False)
        return [result.od, result.evacuation, crit.table,
                *(pd.Series(r.edge_flows_vph) for r in result.evacuation_capacity.values())]

    slow, fast, called = both_ways(monkeypatch, demo)
    assert {"trees_ser", "dijkstra", "od_ser", "repair_block"} <= set(called)
    for a, b in zip(slow, fast):
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        else:
            pd.testing.assert_series_equal(a, b, check_exact=True)


def test_leading_zeros_has_a_python_form() -> None:
    values = np.random.default_rng(3).integers(0, 2**63, 200, dtype=np.uint64) >> np.arange(200, dtype=np.uint64) % 64
    values[:2] = 0, 2**64 - 1
    got, want = np.empty(200, dtype=np.int64), np.empty(200, dtype=np.int64)
    jit.interpreted(_leading_zeros_of)(values, got)
    assert not _leading_zeros_of.overloads  # the interpreted copy compiled nothing
    _leading_zeros_of(values, want)
    assert np.array_equal(got, want)
    small = values.astype(np.uint32)
    jit.interpreted(_leading_zeros_of)(small, got)
    _leading_zeros_of(small, want)
    assert np.array_equal(got, want)


def test_for_work_interprets_until_the_budget_then_compiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jit, "INTERPRET_MAX_WORK", 100)
    monkeypatch.setattr(jit, "_interpreted_work", {})

    @njit(cache=False)
    def add_one(x):
        return x + 1

    assert jit.for_work(add_one, 60) is jit.interpreted(add_one)
    assert jit.for_work(add_one, 60) is add_one  # 120 units: over the budget
    assert jit.for_work(add_one, 40) is jit.interpreted(add_one)  # 100 units
    assert jit.for_work(add_one, 1) is add_one
    assert not add_one.overloads  # nothing ran compiled yet
    monkeypatch.setattr(jit, "_interpreted_work", {})
    assert add_one(1) == 2  # compiled now: always used from here
    assert jit.for_work(add_one, 1) is add_one


def test_large_work_runs_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """At the call sites, a search bigger than the budget gets the compiled kernel, a small one
    (in a process that has not compiled it) the interpreted copy."""
    net = Network(random_graph(4))
    monkeypatch.setattr(jit, "INTERPRET_MAX_WORK", 5 * net.routing.m)
    monkeypatch.setattr(jit, "_interpreted_work", {})
    chosen: list[tuple[Any, Any]] = []

    def spy(kernel: Any, work: int) -> Callable[..., Any]:
        chosen.append((kernel, jit.for_work(kernel, work)))
        return chosen[-1][1]

    monkeypatch.setattr(od, "for_work", spy)
    compiled = len(od.od_ser.overloads) > 0
    od_matrix(net, list(range(4)))  # 4 x edges: within the budget
    od_matrix(net, list(range(10)))  # 10 x edges: over it
    (kernel, small), (_, large) = chosen
    assert kernel is od.od_ser and large is od.od_ser
    assert (small is od.od_ser) is compiled
