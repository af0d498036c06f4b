"""Benchmark: when does Dask pay? Criticality tasks run serially and on a new local Dask cluster.

For each workload the task phase of :func:`routing.analysis.criticality.criticality` (the
``map_fn`` call) is timed on a :class:`~routing.sweep.SerialExecutor` and on a
:class:`~routing.sweep.DaskExecutor`, the latter including starting its LocalCluster, shipping the
shared context and warming the workers: what a user waits for. The results must be identical.
These figures set ``settings.DASK_MIN_SERIAL_S`` (see the README, "Serial or Dask").

Workloads: the shipped demo scenario (SCHEMATIC, not OpenStreetMap data), then for each
``--places`` value, that many OD places spread over Malta (real OSM extract in
``$ROUTING_SHARED_DATA/osm/real``) and over the SYNTHETIC graph of ``benchmarks/synthetic_graph.py``
(not OpenStreetMap data; ``--towns``). The machine's 1-minute load average is printed with each
row: other processes on the cores distort a parallel timing.

Run ``python benchmarks/bench_executor.py [--towns 60] [--places 12 60] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_graph import synthetic_graph

from routing.analysis.criticality import criticality
from routing.engine import Network
from routing.scenario import Scenario
from routing.settings import data_path, expand_path
from routing.sweep import DaskExecutor, SerialExecutor


def spread_nodes(network: Network, k: int) -> list[int]:
    """``k`` nodes of the largest component spread evenly over the node list (deterministic)."""
    w = network.weights("travel_time")
    tree = network.tree([0], w)  # from node index 0
    reached = np.flatnonzero(np.isfinite(tree.node_dist()[0]))
    return [int(network.nodes[i]) for i in reached[np.linspace(0, len(reached) - 1, k).astype(int)]]


def timed(network: Network, origins: list[int], make: Callable) -> tuple[float, object]:
    """Seconds of the task phase on a fresh executor (its start-up included), and the table."""
    seconds = 0.0

    def map_fn(fn, tasks):
        nonlocal seconds
        t0 = time.perf_counter()
        with make() as ex:
            out = ex.map_fn(fn, tasks)
        seconds = time.perf_counter() - t0
        return out

    result = criticality(network, origins, map_fn=map_fn, progress=False)
    return seconds, result.table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--towns", type=int, default=60, help="towns of the synthetic graph")
    parser.add_argument("--places", type=int, nargs="+", default=[12, 60],
                        help="OD places on Malta and on the synthetic graph, one run per value")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="Dask workers")
    args = parser.parse_args()
    demo = Scenario.from_file(data_path("scenarios", "demo-western-syria.toml"))
    demo_net = Network(demo.load_network())
    demo_nodes = spread_nodes(demo_net, len(demo.od_places))
    malta = Network.load(expand_path("${ROUTING_SHARED_DATA}/osm/real/malta-2018-08-27.osm.pbf", None))
    synth = Network(synthetic_graph(n_towns=args.towns, width_km=300.0, height_km=200.0))
    workloads = [("demo (schematic)", demo_net, demo_nodes)]
    for k in args.places:
        workloads += [("Malta (OSM 2018)", malta, spread_nodes(malta, k)),
                      (f"synthetic, {args.towns} towns", synth, spread_nodes(synth, k))]
    timed(demo_net, demo_nodes[:2], lambda: SerialExecutor(progress=False))  # warm the numba kernels
    print(f"| workload | edges | places | serial tasks (s) | Dask, {args.workers} workers, start-up included (s) "
          "| load average |")
    print("|---|---|---|---|---|---|")
    for name, network, nodes in workloads:
        serial_s, serial_table = timed(network, nodes, lambda: SerialExecutor(progress=False))
        dask_s, dask_table = timed(network, nodes, lambda: DaskExecutor(n_workers=args.workers, progress=False))
        assert serial_table.equals(dask_table), name
        print(f"| {name} | {len(network.edges):,} | {len(nodes)} | {serial_s:.1f} | {dask_s:.1f} | "
              f"{os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
