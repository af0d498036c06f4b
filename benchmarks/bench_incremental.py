"""Benchmark: full or incremental OD matrix after damage, index cost included.

An incremental OD matrix (``od_matrix(..., baseline=...)``) first needs the baseline's route
index (:meth:`routing.engine.ODMatrix.reverse_index`: a shortest-path tree towards every
destination, Euler tours; :meth:`~routing.engine.ODMatrix.incidence`), built once per set of OD
places, then searches again only the pairs whose route uses a damaged edge. For each workload
this prints the milliseconds of a full damaged OD matrix, of building the index, and of one
incremental matrix with the index built, for damage that removes the ``--removed`` road edges
used by the most baseline routes (hardest case: many pairs to repair) and one such edge (easiest);
then how many damaged states a sweep needs before the index pays.

Workloads: the shipped demo network (SCHEMATIC, not OpenStreetMap data; 10 places), Malta (real
OSM extract in ``$ROUTING_SHARED_DATA/osm/real``) and the SYNTHETIC graph of
``benchmarks/synthetic_graph.py`` (not OpenStreetMap data; ``--towns``), with each ``--places``
count of OD places spread over them. Times are the best of 5.

Run ``python benchmarks/bench_incremental.py [--towns 150] [--places 3 12]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_executor import spread_nodes
from synthetic_graph import synthetic_graph

from routing.engine import Network, od_matrix
from routing.scenario import Damage, Scenario
from routing.settings import data_path, expand_path


def best_of(fn, repeat: int = 5) -> float:
    """Fastest of ``repeat`` timed calls (seconds)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(name: str, network: Network, nodes: list[int], removed: int) -> None:
    base = od_matrix(network, nodes, incremental=False)
    ptr, _, _ = base.incidence()
    use = np.diff(ptr)
    for n_removed in (removed, 1):
        top = np.argsort(use)[::-1][:n_removed]
        edges = sorted(set(network.routing.road_edges(top.tolist())))
        damage = Damage()
        damage.remove_edges(set(network.edge_keys(edges)), "bench")
        full = od_matrix(network, nodes, damage=damage, incremental=False)

        def index(base=base):
            base._reverse_index = base._incidence = None
            base.reverse_index()
            base.incidence()

        index_s = best_of(index)
        full_s = best_of(lambda d=damage: od_matrix(network, nodes, damage=d, incremental=False))
        inc_s = best_of(lambda d=damage: od_matrix(network, nodes, damage=d, baseline=base, incremental=True))
        inc = od_matrix(network, nodes, damage=damage, baseline=base, incremental=True)
        finite = np.isfinite(full.time_s)
        assert np.array_equal(np.isfinite(inc.time_s), finite), name  # same times, to rounding (as tests/test_engine)
        assert np.allclose(inc.time_s[finite], full.time_s[finite], rtol=1e-12, atol=1e-9), name
        states = f"{index_s / (full_s - inc_s):.1f}" if full_s > inc_s else "never"
        print(f"| {name} | {len(network.edges):,} | {len(nodes)} | {len(edges)} | {full_s * 1e3:.1f} | "
              f"{index_s * 1e3:.1f} | {inc_s * 1e3:.1f} | {(index_s + inc_s) * 1e3:.1f} | {states} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--towns", type=int, default=150, help="towns of the synthetic graph")
    parser.add_argument("--places", type=int, nargs="+", default=[3, 12], help="OD places, one run per value")
    parser.add_argument("--removed", type=int, default=10, help="busiest road edges removed")
    args = parser.parse_args()
    malta = Network.load(expand_path("${ROUTING_SHARED_DATA}/osm/real/malta-2018-08-27.osm.pbf", None))
    synth = Network(synthetic_graph(n_towns=args.towns, width_km=300.0, height_km=200.0))
    print("| workload | edges | places | edges removed | full OD (ms) | index (ms) | incremental, index built (ms) "
          "| incremental + index (ms) | damaged states before the index pays |")
    print("|---|---|---|---|---|---|---|---|---|")
    demo = Network(Scenario.from_file(data_path("scenarios", "demo-western-syria.toml")).load_network())
    measure("demo (schematic)", demo, spread_nodes(demo, 10), args.removed)
    for k in args.places:
        for name, network in (("Malta (OSM 2018)", malta), (f"synthetic, {args.towns} towns", synth)):
            measure(name, network, spread_nodes(network, k), args.removed)


if __name__ == "__main__":
    main()
