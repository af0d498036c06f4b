"""Full or incremental OD after damage: one damaged state is computed in full (building the route
index never pays for one); a sweep builds the index once and its draws go incremental."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import DEMO_OSM

from routing.engine import Network, od, od_matrix
from routing.network import load_network
from routing.scenario import Damage
from routing.sweep import SerialExecutor, Sweep, evaluate, run_sweep


def _damaged(network: Network) -> Damage:
    damage = Damage()
    damage.remove_edges(set(network.edge_keys(range(0, len(network.edges), 7))), "test")
    return damage


def test_one_damaged_state_is_computed_in_full(monkeypatch) -> None:
    monkeypatch.setattr(od, "INCREMENTAL_MIN_WORK", 0)
    network = Network(load_network(DEMO_OSM))
    nodes = [int(n) for n in network.nodes[:: max(1, network.n_nodes // 8)]]
    base = od_matrix(network, nodes)
    full = od_matrix(network, nodes, damage=_damaged(network), baseline=base)
    assert full.pred is not None and not base.indexed  # no index built for one state
    inc = od_matrix(network, nodes, damage=_damaged(network), baseline=base.build_index())
    assert inc.pred is None and inc.recomputed is not None  # index there: incremental
    finite = np.isfinite(full.time_s)
    assert np.array_equal(np.isfinite(inc.time_s), finite)
    assert np.allclose(inc.time_s[finite], full.time_s[finite], rtol=1e-12, atol=1e-9)
    monkeypatch.setattr(od, "INCREMENTAL_MIN_WORK", 10**12)
    assert od_matrix(network, nodes, damage=_damaged(network), baseline=base).pred is not None  # too small


def test_sweep_goes_incremental_above_the_threshold(monkeypatch) -> None:
    graph, sweep = load_network(DEMO_OSM), Sweep.from_file("sweep-western-syria")
    assert not evaluate.prepare(sweep, graph)[0].reference.indexed  # the demo: below the threshold, full
    full = run_sweep(sweep, graph=graph, executor=SerialExecutor(progress=False))
    monkeypatch.setattr(od, "INCREMENTAL_MIN_WORK", 0)
    monkeypatch.setattr(evaluate, "INCREMENTAL_MIN_WORK", 0)
    assert evaluate.prepare(sweep, graph)[0].reference.indexed
    inc = run_sweep(sweep, graph=graph, executor=SerialExecutor(progress=False))
    for a, b in ((full.od_connectivity, inc.od_connectivity), (full.asset_impact, inc.asset_impact),
                 (full.draws, inc.draws)):
        pd.testing.assert_frame_equal(a, b, rtol=1e-9)
