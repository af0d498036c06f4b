"""Benchmark: when does Dask pay? Criticality and a sweep run serially and on a new local Dask cluster.

For each criticality workload the task phase of :func:`routing.analysis.criticality.criticality`
(its ``map_fn`` call) is timed on a :class:`~routing.sweep.SerialExecutor` and on a
:class:`~routing.sweep.DaskExecutor`, the latter including starting its LocalCluster, shipping the
shared context and warming the workers; the sweep of ``benchmarks/bench_sweep.py`` is timed end to
end the same way (cluster start-up included). Importing ``distributed`` in a new process is
measured apart and added to every Dask figure: a ``routing`` command pays it too. Results must be
identical. For criticality and for the sweep a straight line ``Dask = fixed + slope x serial`` is
fitted to the rows and its break-even (``fixed / (1 - slope)`` seconds of serial work) is printed:
the sweep's sets ``settings.DASK_MIN_SERIAL_S``, the threshold above which ``routing sweep``'s default
executor starts Dask; criticality's says whether a local cluster ever pays (README, "Serial or Dask").

Workloads: the shipped demo scenario (SCHEMATIC, not OpenStreetMap data); Malta (real OSM extract
in ``$ROUTING_SHARED_DATA/osm/real``) and the SYNTHETIC graph of ``benchmarks/synthetic_graph.py``
(not OpenStreetMap data) with OD places spread over them; the sweep's SYNTHETIC graph. The
machine's 1-minute load average is recorded with each row: other processes on the two cores
distort a parallel timing.

Run ``python benchmarks/bench_executor.py`` (full: about 8 minutes on 2 cores; rewrites
``benchmarks/RESULTS-executor.md``, ``.json`` and the README block ``bench-executor``);
``--quick`` (smaller workloads, about 2 minutes) prints only; ``--render FILE`` rewrites the
results from the JSON of a full run (``--json FILE``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import networkx as nx
from bench_sweep import build_sweep
from readme_blocks import add_results_options, publish, render
from synthetic_graph import synthetic_graph

from routing.engine import Network

FULL = {"malta_places": [60], "synthetic_places": [12, 60, 150], "towns": 60, "sweep_draws": [60, 300]}
QUICK = {"malta_places": [12], "synthetic_places": [12], "towns": 60, "sweep_draws": [20, 60]}


def spread_nodes(network: Network, k: int) -> list[int]:
    """``k`` nodes of the largest component spread evenly over the node list (deterministic)."""
    w = network.weights("travel_time")
    tree = network.tree([0], w)  # from node index 0
    reached = np.flatnonzero(np.isfinite(tree.node_dist()[0]))
    return [int(network.nodes[i]) for i in reached[np.linspace(0, len(reached) - 1, k).astype(int)]]


def distributed_import_s(repeat: int = 3) -> float:
    """Median seconds to ``import distributed`` in a new process (what a ``routing`` command pays)."""
    code = "import time; t = time.perf_counter(); import distributed; print(time.perf_counter() - t)"
    return statistics.median(float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                                  text=True).stdout) for _ in range(repeat))


def criticality_seconds(network: Network, origins: list[int], make: Callable) -> tuple[float, object]:
    """Seconds of criticality's task phase on a fresh executor (its start-up included), and the table."""
    from routing.analysis.criticality import criticality

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


def sweep_seconds(G: nx.MultiDiGraph, draws: int, make: Callable) -> tuple[float, object]:
    """Seconds of bench_sweep.py's sweep on ``G`` on a fresh executor (start-up included), and its result."""
    from routing.sweep import run_sweep

    sweep = build_sweep(G, places=12, bridges=24, draws=draws, seed=1)
    t0 = time.perf_counter()
    with make() as ex:
        result = run_sweep(sweep, executor=ex, graph=G)
    return time.perf_counter() - t0, result


def measure(sizes: dict, workers: int) -> dict:
    """Every row's serial and Dask seconds (Dask: start-up and ``import distributed`` included)."""
    import distributed  # imported once here; its cost in a new process is measured apart
    import pandas as pd

    from routing.scenario import Scenario
    from routing.settings import DASK_MIN_SERIAL_S, data_path, expand_path
    from routing.sweep import DaskExecutor, SerialExecutor

    import_s = distributed_import_s()
    serial = lambda: SerialExecutor(progress=False)  # noqa: E731
    dask = lambda: DaskExecutor(n_workers=workers, progress=False)  # noqa: E731
    demo = Scenario.from_file(data_path("scenarios", "demo-western-syria.toml"))
    demo_net = Network(demo.load_network())
    demo_nodes = spread_nodes(demo_net, len(demo.od_places))
    malta = Network.load(expand_path("${ROUTING_SHARED_DATA}/osm/real/malta-2018-08-27.osm.pbf", None))
    synth = Network(synthetic_graph(n_towns=sizes["towns"], width_km=300.0, height_km=200.0))
    workloads = [("demo (SCHEMATIC)", demo_net, demo_nodes)]
    workloads += [("Malta (real OSM, 2018)", malta, spread_nodes(malta, k)) for k in sizes["malta_places"]]
    workloads += [(f"synthetic, {sizes['towns']} towns (SYNTHETIC)", synth, spread_nodes(synth, k))
                  for k in sizes["synthetic_places"]]
    criticality_seconds(demo_net, demo_nodes[:2], serial)  # warm the numba kernels
    rows = []
    for name, network, nodes in workloads:
        serial_s, serial_table = criticality_seconds(network, nodes, serial)
        dask_s, dask_table = criticality_seconds(network, nodes, dask)
        assert serial_table.equals(dask_table), name
        rows.append({"what": "criticality", "workload": name, "edges": len(network.edges), "places": len(nodes),
                     "serial_s": serial_s, "dask_s": dask_s + import_s, "load": os.getloadavg()[0]})
        print(rows[-1], flush=True)
    G = synthetic_graph(n_towns=150, width_km=500.0, height_km=350.0)
    for draws in sizes["sweep_draws"]:
        serial_s, serial_result = sweep_seconds(G, draws, serial)
        dask_s, dask_result = sweep_seconds(G, draws, dask)
        for table in ("od_connectivity", "asset_impact", "draws"):
            pd.testing.assert_frame_equal(getattr(serial_result, table), getattr(dask_result, table),
                                          check_exact=True)
        rows.append({"what": "sweep", "workload": f"{draws} Monte-Carlo draws, 24 bridges, 12 places, 150 towns "
                     "(SYNTHETIC)", "edges": G.number_of_edges(), "places": 12, "serial_s": serial_s,
                     "dask_s": dask_s + import_s, "load": os.getloadavg()[0]})
        print(rows[-1], flush=True)
    return {"mode": "full" if sizes is FULL else "quick", "date": time.strftime("%Y-%m-%d"),
            "cpus": os.cpu_count(), "workers": workers, "versions": f"dask/distributed {distributed.__version__}",
            "import_s": import_s, "rows": rows, "threshold_s": DASK_MIN_SERIAL_S,
            "fits": {what: break_even([r for r in rows if r["what"] == what]) for what in ("criticality", "sweep")}}


def break_even(rows: list[dict]) -> dict:
    """The line ``Dask = fixed + slope x serial`` through these rows (seconds) and where Dask starts to pay."""
    slope, fixed = np.polyfit([r["serial_s"] for r in rows], [r["dask_s"] for r in rows], 1)
    return {"fixed_s": float(fixed), "slope": float(slope),
            "break_even_s": float(fixed / (1 - slope)) if slope < 1 else None}


def _default_choice(r: dict, row: dict) -> str:
    """What the CLI's default executor picks for this row (by its serial task time) and whether it was faster."""
    pick = "Dask" if row["what"] == "sweep" and row["serial_s"] > r["threshold_s"] else "serial"
    faster = "Dask" if row["dask_s"] < row["serial_s"] else "serial"
    return f"{pick} ({'right' if pick == faster else 'WRONG'})"


def _rows(r: dict) -> str:
    return "\n".join(
        f"| {row['what']} | {row['workload']} | {row['edges']:,} | {row['places']} | {row['serial_s']:.1f} | "
        f"{row['dask_s']:.1f} | {row['serial_s'] / row['dask_s']:.2f}× | {_default_choice(r, row)} | "
        f"{row['load']:.1f} |" for row in r["rows"])


_HEAD = ("| what | workload | edges | places | serial (s) | Dask (s) | Dask speed-up | default picks | load |\n"
         "|---|---|---:|---:|---:|---:|---:|---|---:|")


def _fit(r: dict) -> str:
    def one(what: str) -> str:
        f = r["fits"][what]
        even = (f"Dask pays above {f['break_even_s']:.0f} s of serial work" if f["break_even_s"] is not None
                else "Dask never pays here")
        return f"{what}: Dask ≈ {f['fixed_s']:.1f} s + {f['slope']:.2f} × serial, {even}"

    return (f"Fitted: {one('criticality')}; {one('sweep')}. Defaults: `routing criticality` runs serially "
            "(its searches already use every core); `routing sweep` starts a local Dask cluster when its tasks "
            f"would take more than `settings.DASK_MIN_SERIAL_S` = {r['threshold_s']:.0f} s serially.")


def results_markdown(r: dict) -> str:
    """RESULTS-executor.md."""
    return f"""# Executor benchmark: serial or Dask ({r['date']})

Written by `python benchmarks/bench_executor.py` (full run) on {r['cpus']} CPUs, shared with other jobs
(the 1-minute load average is given per row); do not edit by hand. {r['versions']}, a LocalCluster of
{r['workers']} single-threaded workers. "serial": the task phase on this process (criticality) or the
whole sweep; criticality's searches already use both cores through numba threads. "Dask": the same
work on a new LocalCluster, its start-up, shipping the shared data and warming the workers
included, plus importing `distributed` in a new process ({r['import_s']:.2f} s, measured apart). Results
were checked identical. "default picks": what `routing criticality` / `routing sweep` without
`--serial`/`--workers` would choose (the sweep by this row's serial time against the threshold),
and whether that was the faster one here.

{_HEAD}
{_rows(r)}

{_fit(r)}
"""


def readme_block(r: dict) -> str:
    """The README's bench-executor block."""
    return (f"{_HEAD}\n{_rows(r)}\n\n{_fit(r)} Measured {r['date']} by `python benchmarks/bench_executor.py` "
            "on the shared 2-core machine; details in `benchmarks/RESULTS-executor.md`.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads; prints only")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="Dask workers")
    add_results_options(parser, "executor")
    args = parser.parse_args()
    if args.render:
        render("executor", args.render, results_markdown, readme_block)
        return
    r = measure(QUICK if args.quick else FULL, args.workers)
    print(f"{_HEAD}\n{_rows(r)}\n\n{_fit(r)}")
    publish("executor", r, args.json, not args.quick, results_markdown, readme_block)


if __name__ == "__main__":
    main()
