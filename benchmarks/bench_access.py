"""Benchmark: population access (before and after a scenario) and population-weighted criticality
on the SYNTHETIC national-size graph, against naive baselines measured in the same run.

Run ``python benchmarks/bench_access.py`` (full: the 705k-edge graph, 1,000,000 population points,
500 facilities, the top 1,000 candidate segments; about 10 minutes on 2 cores). It rewrites
``benchmarks/RESULTS-access.md`` and the figures between the ``bench-access`` markers of
``README.md``. ``--quick`` (a smaller synthetic graph, 100,000 points, 100 facilities, top 200
candidates; well under a minute) prints only; ``--json FILE`` also writes the figures as JSON and
``--render FILE`` rewrites them from such a JSON of a full run (the last one is kept in
``benchmarks/RESULTS-access.json``).

Data (all SYNTHETIC, none of it is OpenStreetMap data or a real population):

* graph: ``benchmarks/synthetic_graph.py`` (town grids, rural roads, motorways, rivers, bridges);
* population: points scattered around random road nodes (100 m jitter), 1 to 40 persons each,
  seeded; facilities: random road nodes, seeded;
* scenario: every bridge within 150 km of the centre destroyed (a flood).

Measurements (wall clock, after a warm-up on a small graph so numba's compilation is excluded):

1. Access before and after: :func:`routing.analysis.access.accessibility` (snapping the points, one
   reverse multi-source search per state). Baselines: (a) naive, one networkx Dijkstra per
   populated node (the whole tree; the nearest facility read from it), timed on a sample of
   nodes and extrapolated to all of them and both states; (b) scipy's ``csgraph.dijkstra`` with
   ``min_only=True`` from all facilities at once on the reversed graph (a multi-source search
   like ours), timed in full and compared node for node with ours.
2. Population-weighted criticality of the top candidate segments (by population routed through
   them): :func:`routing.analysis.access.access_criticality`. Baseline: for each candidate,
   remove it and redo the whole multi-source search (scipy, as in 1b), timed on a sample of
   candidates, extrapolated, and compared with ours on that sample.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import synthetic_graph  # noqa: E402
from readme_blocks import add_results_options, publish, render  # noqa: E402
from scipy.sparse import csr_matrix  # noqa: E402
from scipy.sparse.csgraph import dijkstra  # noqa: E402

from routing.analysis.access import access_criticality, accessibility, snap_layer  # noqa: E402
from routing.engine import Network  # noqa: E402
from routing.layers import PointLayer  # noqa: E402
from routing.scenario import Damage  # noqa: E402

RESULTS = HERE / "RESULTS-access.md"


def synthetic_layers(G: nx.MultiDiGraph, n_points: int, n_facilities: int, seed: int = 14
                     ) -> tuple[PointLayer, PointLayer]:
    """SYNTHETIC population points (around random road nodes, 100 m jitter) and facilities (nodes)."""
    rng = np.random.default_rng(seed)
    nodes = list(G.nodes)
    x = np.array([G.nodes[n]["x"] for n in nodes])
    y = np.array([G.nodes[n]["y"] for n in nodes])
    pick = rng.integers(0, len(nodes), n_points)
    jitter = rng.normal(0, 100 / 111_000, (2, n_points))
    pop = PointLayer(x[pick] + jitter[0] / np.cos(np.radians(y[pick])), y[pick] + jitter[1],
                     rng.integers(1, 41, n_points).astype(float), source="SYNTHETIC points",
                     notice="SYNTHETIC population (benchmark)")
    fac = rng.choice(len(nodes), n_facilities, replace=False)
    return pop, PointLayer(x[fac], y[fac], np.ones(n_facilities), source="SYNTHETIC facilities")


def flood(G: nx.MultiDiGraph, net: Network, radius_km: float) -> Damage:
    """Every bridge whose tail lies within ``radius_km`` of the graph's centre, removed."""
    x = np.array([G.nodes[n]["x"] for n in net.nodes])
    y = np.array([G.nodes[n]["y"] for n in net.nodes])
    cx, cy = (x.min() + x.max()) / 2, (y.min() + y.max()) / 2
    dist_km = np.hypot((x - cx) * 111 * np.cos(np.radians(cy)), (y - cy) * 111)
    removed = {e for i, e in enumerate(net.edges)
               if G.edges[e].get("bridge") == "yes" and dist_km[net.src[i]] <= radius_km}
    return Damage(removed_edges=removed)


def reverse_csr(net: Network, w: np.ndarray) -> csr_matrix:
    """The reversed graph as a scipy matrix (parallel edges: the fastest)."""
    n = net.n_nodes
    order = np.lexsort((w, net.src, net.dst))
    keep = np.r_[True, (np.diff(net.dst[order]) != 0) | (np.diff(net.src[order]) != 0)]
    idx = order[keep]
    finite = np.isfinite(w[idx])
    idx = idx[finite]
    # tiny epsilon: scipy drops explicit zeros; no edge of the synthetic graph weighs 0 anyway
    return csr_matrix((np.maximum(w[idx], 1e-12), (net.dst[idx], net.src[idx])), shape=(n, n))


def scipy_nearest(net: Network, w: np.ndarray, sources: np.ndarray) -> np.ndarray:
    return dijkstra(reverse_csr(net, w), directed=True, indices=sources, min_only=True)


def bench_access(G: nx.MultiDiGraph, net: Network, pop: PointLayer, fac: PointLayer, damage: Damage,
                 nx_sample: int) -> dict:
    t0 = time.perf_counter()
    acc = accessibility(net, pop, {"facility": fac}, damage=damage, thresholds_min=(15, 30, 60, 120))
    ours = time.perf_counter() - t0
    fa = acc.types["facility"]
    sources = fa.facilities.nodes()
    persons = acc.population.node_values()
    populated = np.flatnonzero(persons > 0)
    # (b) scipy multi-source, both states, checked node for node
    t0 = time.perf_counter()
    ref = {s: scipy_nearest(net, net.weights("travel_time", d), sources)
           for s, d in (("baseline", None), ("damaged", damage))}
    t_scipy = time.perf_counter() - t0
    with np.errstate(invalid="ignore"):  # inf - inf where neither reaches a facility
        max_diff = max(float(np.abs(ref[s] - fa.time_s[s])[np.isfinite(ref[s])].max()) for s in ref)
    same_reach = all(np.array_equal(np.isfinite(ref[s]), np.isfinite(fa.time_s[s])) for s in ref)
    # (a) naive: one networkx search per populated node (sample, extrapolated to all nodes, 2 states)
    rng = np.random.default_rng(3)
    sample = rng.choice(populated, nx_sample, replace=False)
    fac_nodes = [net.nodes[i] for i in sources]
    t0 = time.perf_counter()
    naive_ok = 0
    for i in sample:
        dist = nx.single_source_dijkstra_path_length(G, net.nodes[i], weight="travel_time")
        best = min((dist[f] for f in fac_nodes if f in dist), default=np.inf)
        naive_ok += bool(np.isclose(best, fa.time_s["baseline"][i]) or best == fa.time_s["baseline"][i])
    per_node = (time.perf_counter() - t0) / nx_sample
    naive = per_node * len(populated) * 2
    before, after = (acc.summary.iloc[k] for k in (0, 1))
    return {"ours_s": ours, "ours_snap_s": acc.seconds["snap"], "ours_search_s": acc.seconds["search"],
            "points": len(pop), "persons": pop.total, "populated_nodes": len(populated),
            "facilities": len(sources), "edges_removed": len(damage.removed_edges),
            "scipy_s": t_scipy, "scipy_max_abs_diff_s": max_diff, "scipy_same_reach": same_reach,
            "naive_sample": nx_sample, "naive_per_node_s": per_node, "naive_extrapolated_s": naive,
            "naive_sample_equal": naive_ok,
            "ratio_naive": naive / acc.seconds["search"], "ratio_naive_with_snap": naive / ours,
            "ratio_scipy": t_scipy / acc.seconds["search"],
            "within_60_before": float(before["within_60_min"]), "within_60_after": float(after["within_60_min"]),
            "losing_60": float(acc.change.set_index("threshold_min").loc[60.0, "population_losing"]),
            "no_access_after": float(after["no_access"])}


def bench_criticality(net: Network, pop: PointLayer, fac: PointLayer, top: int, sample: int) -> dict:
    pop_s, fac_s = snap_layer(net, pop), snap_layer(net, fac)
    t0 = time.perf_counter()
    result = access_criticality(net, pop_s, fac_s, threshold_min=60, top=top, progress=False)
    ours = time.perf_counter() - t0
    persons = pop_s.node_values()
    sources = fac_s.nodes()
    w0 = net.weights("travel_time")
    base = scipy_nearest(net, w0, sources)
    rows = result.table.iloc[np.linspace(0, len(result.table) - 1, sample).astype(int)]
    t0 = time.perf_counter()
    equal = 0
    for row in rows.itertuples():
        w = w0.copy()
        w[net.edge_ids(row.edges)] = np.inf
        after = scipy_nearest(net, w, sources)
        grew = (persons > 0) & (after > base + 1e-9)
        losing = persons[grew & (base <= 3600) & (after > 3600)].sum()
        finite = grew & np.isfinite(after)
        hours = (persons[finite] * (after[finite] - base[finite])).sum() / 3600
        equal += bool(np.isclose(losing, row.population_losing_access)
                      and np.isclose(hours, row.person_hours_added, rtol=1e-6, atol=1e-6))
    per = (time.perf_counter() - t0) / sample
    return {"ours_s": ours, "ours_baseline_s": result.summary["seconds_baseline"], "candidates": len(result.table),
            "candidates_total": result.summary["candidates"], "evaluated": result.summary["candidates_evaluated"],
            "naive_sample": sample, "naive_per_candidate_s": per, "naive_extrapolated_s": per * len(result.table),
            "naive_sample_equal": equal, "ratio": per * len(result.table) / ours,
            "top_losing": float(result.table["population_losing_access"].iloc[0]),
            "top_person_hours": float(result.table["person_hours_added"].iloc[0])}


def _h(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h" if seconds >= 3600 else f"{seconds:,.1f} s" if seconds >= 1 \
        else f"{seconds * 1000:,.0f} ms"


def results_table(r: dict) -> str:
    """The measurements as a Markdown table (baseline / ours)."""
    a, c = r["access"], r["criticality"]
    rows = [("measurement", "ours", "baseline", "ratio (baseline / ours)"), ("---", "---:", "---:", "---:"),
            ("access before + after: search (2 reverse multi-source searches)", _h(a["ours_search_s"]),
             f"naive networkx, one search per populated node: {_h(a['naive_extrapolated_s'])} "
             f"(extrapolated from {a['naive_sample']} nodes)", f"**{a['ratio_naive']:,.0f}x**"),
            (f"same, counting the snapping of {a['points']:,} points",
             f"{_h(a['ours_s'])} (snap {_h(a['ours_snap_s'])})", "same", f"{a['ratio_naive_with_snap']:,.0f}x"),
            ("same search", _h(a["ours_search_s"]),
             f"scipy `csgraph.dijkstra(min_only=True)`, 2 states: {_h(a['scipy_s'])} (measured)",
             f"{a['ratio_scipy']:,.1f}x"),
            (f"population-weighted criticality, top {c['candidates']:,} segments",
             f"{_h(c['ours_s'])} (of which setup {_h(c['ours_baseline_s'])}: candidate groups, baseline search)",
             f"one scipy multi-source search per candidate: {_h(c['naive_extrapolated_s'])} "
             f"(extrapolated from {c['naive_sample']})", f"**{c['ratio']:,.0f}x**")]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def results_markdown(r: dict) -> str:
    a, c = r["access"], r["criticality"]
    table = results_table(r)
    return f"""# Population access benchmark results

Written by `python benchmarks/bench_access.py` (full run) on {r['date']}; do not edit by hand.
Machine: {r['cpus']} CPUs (shared with other jobs, so absolute times vary between runs; each ratio
is measured within one run), numba {r['numba']} ({r['threads']} threads), networkx {r['networkx']},
scipy {r['scipy']}.

Data — all **SYNTHETIC** (not OpenStreetMap data, not a real population):
`benchmarks/synthetic_graph.py`, {r['nodes']:,} nodes and {r['edges']:,} directed edges;
{a['points']:,} population points ({a['persons']:,.0f} persons on {a['populated_nodes']:,} road nodes);
{a['facilities']} facilities; scenario: {a['edges_removed']} bridge edges within {r['flood_km']} km of the
centre destroyed.

{table}

Checks in the same run: ours equals scipy on every node in both states (largest difference
{a['scipy_max_abs_diff_s']:.2g} s; same nodes reachable: {a['scipy_same_reach']}); the naive networkx
sample agrees on {a['naive_sample_equal']} of {a['naive_sample']} nodes; the criticality sample agrees
with the recomputation on {c['naive_sample_equal']} of {c['naive_sample']} candidates (persons losing
access within 60 min and person-hours added).

Scenario result (synthetic): {a['within_60_before']:,.0f} persons within 60 min of a facility before,
{a['within_60_after']:,.0f} after ({a['losing_60']:,.0f} lose it; {a['no_access_after']:,.0f} reach none).
Most critical candidate: {c['top_losing']:,.0f} persons lose access within 60 min,
{c['top_person_hours']:,.0f} person-hours added.
"""


def readme_block(r: dict) -> str:
    a, c = r["access"], r["criticality"]
    return ("| what (population access, `benchmarks/bench_access.py`) | ours | baseline | ratio |\n"
            "|---|---|---|---|\n"
            f"| access before + after, {a['points']:,} population points, {a['facilities']} facilities, "
            f"{r['edges'] // 1000:,}k-edge synthetic graph | {_h(a['ours_search_s'])} search "
            f"({_h(a['ours_s'])} with snapping) | "
            f"naive networkx, one search per populated node, extrapolated: {_h(a['naive_extrapolated_s'])} | "
            f"{a['ratio_naive']:,.0f}x (scipy multi-source: {a['ratio_scipy']:,.1f}x) |\n"
            f"| population-weighted criticality, top {c['candidates']:,} segments, same data | {_h(c['ours_s'])} "
            f"(setup {_h(c['ours_baseline_s'])}) | "
            f"one multi-source search per candidate (scipy), extrapolated: {_h(c['naive_extrapolated_s'])} | "
            f"{c['ratio']:,.0f}x |\n\nMeasured {r['date']} by the full benchmark run; details in "
            f"`benchmarks/RESULTS-access.md`.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller synthetic graph and layers; prints only")
    add_results_options(parser, "access")
    args = parser.parse_args()
    if args.render:
        render("access", args.render, results_markdown, readme_block)
        return
    import numba
    import scipy

    quick = args.quick
    print(f"corridor-routing access benchmark ({'quick' if quick else 'full'}); {os.cpu_count()} CPUs, "
          f"numba {numba.__version__} with {numba.get_num_threads()} threads")
    # warm-up: compile the kernels on a small graph
    small = synthetic_graph.synthetic_graph(n_towns=12, width_km=80, height_km=60)
    wnet = Network(small)
    wp, wf = synthetic_layers(small, 2_000, 5)
    access_criticality(wnet, wp, wf, top=20, progress=False)
    accessibility(wnet, wp, {"f": wf}, damage=flood(small, wnet, 50))

    t0 = time.perf_counter()
    G = synthetic_graph.synthetic_graph(**({"n_towns": 80, "width_km": 350, "height_km": 250} if quick else {}))
    net = Network(G)
    print(f"SYNTHETIC graph: {G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges "
          f"({time.perf_counter() - t0:.0f} s to build)")
    pop, fac = synthetic_layers(G, 100_000 if quick else 1_000_000, 100 if quick else 500)
    flood_km = 60 if quick else 150
    damage = flood(G, net, flood_km)
    r: dict = {"mode": "quick" if quick else "full", "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
               "numba": numba.__version__, "threads": numba.get_num_threads(), "networkx": nx.__version__,
               "scipy": scipy.__version__, "nodes": G.number_of_nodes(), "edges": G.number_of_edges(),
               "flood_km": flood_km}
    a = r["access"] = bench_access(G, net, pop, fac, damage, nx_sample=1 if quick else 3)
    print(f"access before+after: ours {_h(a['ours_search_s'])} search, {_h(a['ours_s'])} with snapping "
          f"{a['points']:,} points; naive networkx per populated node {_h(a['naive_extrapolated_s'])} "
          f"(extrapolated) -> {a['ratio_naive']:,.0f}x; scipy multi-source {_h(a['scipy_s'])} -> "
          f"{a['ratio_scipy']:.1f}x; equal to scipy: max diff {a['scipy_max_abs_diff_s']:.2g} s, "
          f"same reach {a['scipy_same_reach']}; naive sample equal {a['naive_sample_equal']}/{a['naive_sample']}")
    c = r["criticality"] = bench_criticality(net, pop, fac, top=200 if quick else 1_000, sample=2 if quick else 5)
    print(f"criticality, top {c['candidates']:,} of {c['candidates_total']:,} segments: ours {_h(c['ours_s'])}; "
          f"one search per candidate {_h(c['naive_extrapolated_s'])} (extrapolated) -> {c['ratio']:,.0f}x; "
          f"sample equal {c['naive_sample_equal']}/{c['naive_sample']}")
    publish("access", r, args.json, not quick, results_markdown, readme_block)




if __name__ == "__main__":
    main()
