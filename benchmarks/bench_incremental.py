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

Run ``python benchmarks/bench_incremental.py [--towns 150] [--places 3 12]`` (full: rewrites
``benchmarks/RESULTS-incremental.md``, ``.json`` and the README block ``bench-incremental``);
``--quick`` (the demo and Malta, 3 places) prints only; ``--render FILE`` rewrites the results from
the JSON of a full run (``--json FILE``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_executor import spread_nodes
from readme_blocks import add_results_options, publish, render
from synthetic_graph import synthetic_graph

from routing.engine import Network, od_matrix
from routing.engine.od import INCREMENTAL_MIN_WORK
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


def measure(name: str, network: Network, nodes: list[int], removed: int) -> list[dict]:
    """Rows for damage removing the ``removed`` busiest road edges and the single busiest one (milliseconds)."""
    base = od_matrix(network, nodes, incremental=False)
    ptr, _, _ = base.incidence()
    use = np.diff(ptr)
    rows = []
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
        rows.append({"workload": name, "edges": len(network.edges), "places": len(nodes), "removed": len(edges),
                     "work": len(nodes) * network.routing.m, "full_ms": full_s * 1e3,
                     "index_ms": index_s * 1e3, "incremental_ms": inc_s * 1e3, "load": os.getloadavg()[0]})
        print(_row(rows[-1]), flush=True)
    return rows


def _row(row: dict) -> str:
    gain = row["full_ms"] - row["incremental_ms"]
    states = f"{row['index_ms'] / gain:.1f}" if gain > 0 else "never"
    one = "incremental" if row["index_ms"] + row["incremental_ms"] < row["full_ms"] else "full"
    return (f"| {row['workload']} | {row['edges']:,} | {row['places']} | {row['removed']} | {row['work']:,} | "
            f"{row['full_ms']:.1f} | {row['index_ms']:.1f} | {row['incremental_ms']:.1f} | "
            f"{row['index_ms'] + row['incremental_ms']:.1f} | {one} | {states} | {row['load']:.1f} |")


_HEAD = ("| workload | edges | places | edges removed | origins × routing edges | full OD (ms) | index (ms) "
         "| incremental, index built (ms) | incremental + index (ms) | faster for one state | damaged states "
         "before the index pays | load |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")


def _rule(r: dict) -> str:
    return ("`routing run` (one damaged state) computes the damaged matrix in full; a sweep builds the index "
            f"once and goes incremental when origins × routing-graph edges >= {r['min_work']:,} "
            "(`routing.engine.od.INCREMENTAL_MIN_WORK`).")


def results_markdown(r: dict) -> str:
    """RESULTS-incremental.md."""
    rows = "\n".join(_row(row) for row in r["rows"])
    return f"""# Full or incremental OD after damage ({r['date']})

Written by `python benchmarks/bench_incremental.py` (full run) on {r['cpus']} CPUs shared with other jobs
(1-minute load average per row); do not edit by hand. Times are the best of 5, milliseconds. For
each workload: a full damaged OD matrix; building the baseline's route index an incremental
matrix starts from; one incremental matrix with the index built. Damage removes the busiest
road edges (the {r['removed']} used by the most baseline routes: many pairs to repair) or the single
busiest one. Incremental results were checked equal to the full ones.

{_HEAD}
{rows}

{_rule(r)}
"""


def readme_block(r: dict) -> str:
    """The README's bench-incremental block."""
    rows = "\n".join(_row(row) for row in r["rows"])
    return (f"{_HEAD}\n{rows}\n\n{_rule(r)} Measured {r['date']} by `python benchmarks/bench_incremental.py`; "
            "details in `benchmarks/RESULTS-incremental.md`.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--towns", type=int, default=150, help="towns of the synthetic graph")
    parser.add_argument("--places", type=int, nargs="+", default=[3, 12], help="OD places, one run per value")
    parser.add_argument("--removed", type=int, default=10, help="busiest road edges removed")
    parser.add_argument("--quick", action="store_true", help="the demo and Malta with 3 places; prints only")
    add_results_options(parser, "incremental")
    args = parser.parse_args()
    if args.render:
        render("incremental", args.render, results_markdown, readme_block)
        return
    print(_HEAD)
    demo = Network(Scenario.from_file(data_path("scenarios", "demo-western-syria.toml")).load_network())
    rows = measure("demo (SCHEMATIC)", demo, spread_nodes(demo, 10), args.removed)
    workloads = [("Malta (real OSM, 2018)", Network.load(
        expand_path("${ROUTING_SHARED_DATA}/osm/real/malta-2018-08-27.osm.pbf", None)))]
    if not args.quick:
        workloads.append((f"synthetic, {args.towns} towns (SYNTHETIC)",
                          Network(synthetic_graph(n_towns=args.towns, width_km=300.0, height_km=200.0))))
    for k in ([3] if args.quick else args.places):
        for name, network in workloads:
            rows += measure(name, network, spread_nodes(network, k), args.removed)
    r = {"mode": "quick" if args.quick else "full", "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
         "removed": args.removed, "min_work": INCREMENTAL_MIN_WORK, "rows": rows}
    publish("incremental", r, args.json, not args.quick, results_markdown, readme_block)


if __name__ == "__main__":
    main()
