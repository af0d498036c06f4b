"""Benchmark: one Monte-Carlo scenario sweep run serially and on a local Dask cluster, in the same run.

The network is the SYNTHETIC graph of ``benchmarks/synthetic_graph.py`` (not OpenStreetMap data):
OD places are the largest towns, the assets that may fail are its river bridges (one asset per
road: both carriageways), evacuation runs from the largest town to the next ones. The sweep is
run by :class:`routing.sweep.SerialExecutor`, then by :class:`routing.sweep.DaskExecutor`
on a LocalCluster of ``--workers`` single-threaded processes; the results must be identical.

Printed: graph size, serial seconds, Dask seconds (cluster start-up excluded, shipping the graph
and warming the workers included), the speed-up ratio, and the same for the task phase alone
(the driver's preparation - engine, selectors, reference OD matrix - is serial in both runs).
Also printed, because other processes on the machine distort a parallel timing: the 1-minute
load average during each run and the CPU seconds each run used (driver + workers).

Run ``python benchmarks/bench_sweep.py`` (defaults: 150 towns, 24 bridges, 300 draws, 2 workers). It
prints only: the published serial-or-Dask figures, this sweep's among them (cluster start-up
included there), are written by ``benchmarks/bench_executor.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_graph import synthetic_graph

from routing.scenario import Scenario
from routing.sweep import (
    DaskExecutor,
    SerialExecutor,
    Sweep,
    SweepAsset,
    SweepResult,
    evaluate_failures,
    prepare,
    run_sweep,
)


def build_sweep(G, *, places: int, bridges: int, draws: int, seed: int) -> Sweep:
    """A Monte-Carlo sweep on the synthetic graph: the ``places`` largest towns as OD places,
    evacuation from the largest to the next four, ``bridges`` river bridges (by road ref) failing
    with probabilities 0.10-0.35."""
    towns = G.graph["towns"][:places]
    custom = {name: {"lat": G.nodes[node]["y"], "lon": G.nodes[node]["x"]} for name, node, _ in towns}
    xs = [d["x"] for _, d in G.nodes(data=True)]
    ys = [d["y"] for _, d in G.nodes(data=True)]
    doc = {
        "scenario": {"name": "Synthetic benchmark network (not OpenStreetMap data)"},
        # never downloaded: the benchmark passes the graph to run_sweep
        "network": {"source": "overpass", "bbox": [min(xs), min(ys), max(xs), max(ys)]},
        "places": {"od": list(custom), "custom": custom},
        "evacuation": {"origin": towns[0][0], "origin_radius_m": 2000.0,
                       "destinations": [t[0] for t in towns[1:5]]},
    }
    scenario = Scenario.from_dict(doc)
    middles: dict[tuple[bool, str], list[tuple[float, float]]] = {}  # per road: the middle of each bridge edge
    for u, v, d in G.edges(data=True):
        if d.get("bridge") == "yes":
            road = (d.get("highway") != "motorway", str(d.get("ref") or d.get("name") or d["osmid"]))
            middles.setdefault(road, []).append(((G.nodes[u]["x"] + G.nodes[v]["x"]) / 2,
                                                 (G.nodes[u]["y"] + G.nodes[v]["y"]) / 2))
    roads = sorted(middles)[:bridges]  # motorways first
    # 20 m around the middle of each bridge edge (bridges are 200 m): the bridges, not their approaches
    assets = [SweepAsset(i, f"bridges {name}", f"river bridges of road {name} (both directions)",
                         {"any": [{"near": {"lon": x, "lat": y, "radius_m": 20.0}} for x, y in middles[road]]},
                         0.10 + 0.25 * (i % 6) / 5, "destroy") for i, road in enumerate(roads) for name in [road[1]]]
    return Sweep(name=f"Synthetic benchmark: {len(assets)} bridges, {draws} draws", path=None, scenario=scenario,
                 assets=assets, mode="monte_carlo", draws=draws, seed=seed)


def _cpu_seconds() -> float:
    """CPU seconds (user + system) this process has used."""
    t = psutil.Process().cpu_times()
    return t.user + t.system


def timed_run(sweep: Sweep, G, executor) -> tuple[SweepResult, float, float, float]:
    """The result, wall seconds, CPU seconds of this process and of the Dask workers, and the mean
    1-minute load average over the run (other processes competing for the cores make a parallel
    run look worse than it is; the CPU seconds show what the run itself cost)."""
    workers = getattr(executor, "client", None)
    cpu0 = _cpu_seconds() + (sum(workers.run(_cpu_seconds).values()) if workers else 0.0)
    load0, t0 = os.getloadavg()[0], time.perf_counter()
    result = run_sweep(sweep, executor=executor, graph=G)
    wall = time.perf_counter() - t0
    cpu = _cpu_seconds() + (sum(workers.run(_cpu_seconds).values()) if workers else 0.0) - cpu0
    return result, wall, cpu, (load0 + os.getloadavg()[0]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--towns", type=int, default=150, help="towns of the synthetic graph")
    parser.add_argument("--places", type=int, default=12, help="OD places (largest towns)")
    parser.add_argument("--bridges", type=int, default=24, help="bridges that may fail")
    parser.add_argument("--draws", type=int, default=300, help="Monte-Carlo draws")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="local Dask worker processes")
    args = parser.parse_args()

    t0 = time.perf_counter()
    G = synthetic_graph(n_towns=args.towns, width_km=500.0, height_km=350.0)
    sweep = build_sweep(G, places=args.places, bridges=args.bridges, draws=args.draws, seed=args.seed)
    n_sets = len(sweep.expand().failure_sets)
    print(f"graph: {G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges (SYNTHETIC, not OpenStreetMap "
          f"data), built in {time.perf_counter() - t0:.1f} s; {os.cpu_count()} cores")
    print(f"sweep: {len(sweep.assets)} bridges, {args.draws} draws -> {n_sets} distinct failure sets, "
          f"{args.places * (args.places - 1)} OD pairs, evacuation max flow per draw")

    t1 = time.perf_counter()  # the same caches for both runs: selector frames on G, numba kernels
    base, _ = prepare(sweep, G)
    evaluate_failures(base, sweep.expand().failure_sets[0])
    print(f"warm-up in this process: {time.perf_counter() - t1:.1f} s (not counted)")

    serial, t_serial, cpu, load = timed_run(sweep, G, SerialExecutor(progress=False))
    print(f"serial:          {t_serial:7.1f} s  (tasks {serial.run['tasks_seconds']:.1f} s; {cpu:.1f} CPU s; "
          f"load average {load:.1f})")
    t1 = time.perf_counter()
    with DaskExecutor(n_workers=args.workers, progress=False) as ex:
        t_start = time.perf_counter() - t1
        dask, t_dask, cpu, load = timed_run(sweep, G, ex)
    print(f"dask {args.workers} workers:  {t_dask:7.1f} s  (tasks {dask.run['tasks_seconds']:.1f} s; {cpu:.1f} CPU s "
          f"driver + workers; load average {load:.1f}; cluster start-up {t_start:.1f} s not counted)")
    for name in ("od_connectivity", "asset_impact", "draws"):
        pd.testing.assert_frame_equal(getattr(serial, name), getattr(dask, name), check_exact=True)
    print("results identical: yes")
    print(f"speed-up: {t_serial / t_dask:.2f}x end to end, "
          f"{serial.run['tasks_seconds'] / dask.run['tasks_seconds']:.2f}x task phase")


if __name__ == "__main__":
    main()
