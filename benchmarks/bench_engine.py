"""Benchmark: the engine (OD matrices, single-link criticality, a damage scenario) against the
strongest baseline available on the same graph, measured in one run, with and without turn
restrictions.

Run ``python benchmarks/bench_engine.py`` (full: about 10 minutes on 2 cores, a third of it OSRM's
preprocessing). It rewrites ``benchmarks/RESULTS-engine.md``, ``benchmarks/RESULTS-engine.json``
and the README block ``engine``. ``--quick`` (a smaller synthetic graph, smaller samples; a few
minutes) prints only; ``--no-osrm`` skips OSRM; ``--json FILE`` also writes the figures as JSON;
``--render FILE`` only rewrites the results and README block from such a JSON of a full run.

Graphs, each routed without and with turn restrictions (two cases per graph):

* synthetic: the SYNTHETIC graph of ``benchmarks/synthetic_graph.py`` (not OpenStreetMap data;
  about 207k nodes and 705k directed edges). Its restrictions are SYNTHETIC too: one per 20
  junctions (nodes with 3+ neighbours, seeded), forbidding one turn (``no_*``) or, one time in
  five, allowing one way out only (``only_*``); the turn named is not geometric.
* Malta: ``/work/shared/data/osm/real/malta*.osm.pbf`` (real OpenStreetMap data, see its
  PROVENANCE.md) loaded by ``routing.load_network``, with its real restrictions (and, in the
  "no restrictions" case, with them left out).

Places: 50 nodes of the largest strongly connected component (the 50 largest towns on the
synthetic graph; 50 random nodes, seeded, on Malta). Weight: travel time. Every search of a
baseline runs on the engine's routing graph (``Network.routing``: the road graph, expanded at
junctions where a restriction or a U-turn rule applies), so all answer the same question; their
results are compared with ours.

Measurements (wall clock, best of a few calls after a warm-up, so numba's compilation is excluded):

0. Engine build: ``Network(G)`` time, and its memory (tracemalloc: peak during the build and
   what the engine keeps), without and with restrictions.
1. OD 50x50: ``od_matrix`` with numba on 1 thread and on every thread vs scipy
   ``csgraph.dijkstra(indices=origins, limit=...)`` (single-threaded C; the limit is the largest
   OD time, so it prunes like our early stop; its matrix is built outside the timing). Secondary:
   igraph ``distances`` and networkx ``single_source_dijkstra_path_length`` (on a sample of
   origins, extrapolated).
2. Single-link criticality of every physical segment: ``criticality`` vs scipy with the same
   pruning (only segments on some baseline route, and for each only the origins whose baseline
   route uses it: one ``dijkstra`` from those origins with the segment removed), timed on a
   sample of segments and extrapolated over the exact number of searches; the sample's results
   are compared with ours. Secondary: naive networkx (every segment, every origin), extrapolated
   from the time of its searches in 1.
3. Damage + OD: every edge within a radius of the busiest edge removed, then OD 50x50. Ours:
   incremental (only pairs whose route crossed the damage), plus its one-time costs (baseline OD
   and route index; and the engine build), amortised over 1, 100 and 1,000 scenarios; and a full
   recompute. Baseline: scipy full recompute, per scenario: damaged weights, CSR matrix built
   from them, ``dijkstra`` from the 50 origins. Secondary: OSRM (MLD), ``osrm-customize`` with a
   segment-speed file setting the removed edges' first segments to 0, then the ``table``
   service; OSRM's preprocessing (extract, partition, first customize) is reported, not timed in
   the ratio. OSRM's binaries come from the ``osrm-bindings`` wheel, downloaded with pip into a
   temporary folder (never into the repository); the graph is written as a .osm.pbf with one
   one-way way per directed edge and the restrictions as relations on those ways, so OSRM routes
   on the same edges (its car profile adds turn penalties, so its times differ slightly).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import synthetic_graph  # noqa: E402  (benchmarks/ is not a package)
from osrm_tools import Routed, fetch_osrm, preprocess_mld, run  # noqa: E402
from readme_blocks import add_results_options, publish, render  # noqa: E402

from routing.analysis.criticality import criticality  # noqa: E402
from routing.engine import Network, RepairContext, od_matrix  # noqa: E402
from routing.network import load_network  # noqa: E402
from routing.network.restrictions import restriction_value  # noqa: E402
from routing.scenario import Damage  # noqa: E402
from routing.settings import shared_data_dir  # noqa: E402

RESULTS = HERE / "RESULTS-engine.md"
N_PLACES = 50
RESTRICTION_EVERY = 20  # one synthetic turn restriction per this many junctions
SCENARIOS = (1, 100, 1000)  # damage scenarios the one-time costs are amortised over
EARTH_M = 6_371_009.0


def best_of(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
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


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| where both are finite; inf if they disagree on which pairs are reachable."""
    if not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return math.inf
    fin = np.isfinite(a)
    return float(np.abs(a[fin] - b[fin]).max(initial=0.0))


# ---------------------------------------------------------------- graphs and restrictions

def synthetic_restrictions(G: nx.MultiDiGraph, every: int = RESTRICTION_EVERY, seed: int = 12) -> list[dict]:
    """SYNTHETIC turn restrictions, resolved like ``network.restrictions`` records (``kind``,
    ``sequences``): at one junction (3+ neighbours) in ``every``, seeded, one approach gets one
    turn forbidden (``no_*``) or, one time in five, one way out only (``only_*``; U-turns
    excluded)."""
    rng = np.random.default_rng(seed)
    junctions = [v for v in G.nodes if len(set(G.predecessors(v)) | set(G.successors(v))) >= 3]
    records = []
    for i in sorted(rng.choice(len(junctions), size=len(junctions) // every, replace=False).tolist()):
        v = junctions[i]
        ins = list(G.in_edges(v, keys=True))
        if not ins:
            continue
        a = ins[int(rng.integers(len(ins)))]
        outs = [b for b in G.out_edges(v, keys=True) if b[1] != a[0]]
        if not outs:
            continue
        b = outs[int(rng.integers(len(outs)))]
        kind = "only" if rng.random() < 0.2 else "no"
        value = "only_straight_on" if kind == "only" else "no_left_turn"
        records.append({"id": len(records) + 1, "tags": {"restriction": value},
                        "from": [], "via_nodes": [v], "via_ways": [], "to": [], "kind": kind,
                        "sequences": [[list(a), list(b)]]})
    return records


def build_engine(G: nx.MultiDiGraph, restrictions: list[dict]) -> tuple[Network, dict]:
    """``Network(G)`` with ``restrictions`` as the graph's turn restrictions: the engine, its build
    time (s) and memory (tracemalloc, a second build: peak during the build and retained, MiB)."""
    G.graph["turn_restrictions"] = restrictions
    t0 = time.perf_counter()
    eng = Network(G)
    t_build = time.perf_counter() - t0
    tracemalloc.start()
    again = Network(G)
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del again
    r = eng.routing
    return eng, {"engine_build_s": t_build, "engine_peak_mib": peak / 2**20, "engine_retained_mib": retained / 2**20,
                 "restrictions_applied": len(eng.restrictions()), "junctions_expanded": int(r.expanded_junctions),
                 "routing_nodes": int(r.n), "routing_edges": int(r.m)}


class ScipyGraph:
    """The routing graph as a scipy CSR matrix under routing-graph weights ``wx``: parallel edges
    collapsed to the lightest (explicit zeros are zero-weight edges for csgraph, inf = no edge).
    :meth:`without` gives the matrix with some routing edges removed."""

    def __init__(self, eng: Network, wx: np.ndarray):
        r = eng.routing
        key = r.src * r.n + r.dst
        self.order = np.lexsort((wx, key))  # by (tail, head), lightest first
        first = np.r_[True, key[self.order][1:] != key[self.order][:-1]]
        self.entry = np.empty(r.m, dtype=np.int64)
        self.entry[self.order] = np.cumsum(first) - 1
        self.ptr = np.r_[np.flatnonzero(first), r.m]
        keep = self.order[first]
        self.wx = wx
        self.matrix = csr_matrix((wx[keep], (r.src[keep], r.dst[keep])), shape=(r.n, r.n))
        assert self.matrix.nnz == len(keep)

    def without(self, edges: np.ndarray) -> csr_matrix:
        """The matrix with routing edges ``edges`` removed (the next lightest parallel edge kept)."""
        gone = set(edges.tolist())
        data = self.matrix.data.copy()
        for entry in np.unique(self.entry[edges]).tolist():
            rest = [e for e in self.order[self.ptr[entry]:self.ptr[entry + 1]].tolist() if e not in gone]
            data[entry] = self.wx[rest[0]] if rest else np.inf
        return csr_matrix((data, self.matrix.indices, self.matrix.indptr), shape=self.matrix.shape)

    def networkx(self) -> nx.DiGraph:
        """The same graph for networkx (finite edges, attribute ``weight``)."""
        coo = self.matrix.tocoo()
        fin = np.isfinite(coo.data)
        H = nx.DiGraph()
        H.add_nodes_from(range(self.matrix.shape[0]))
        H.add_weighted_edges_from(zip(coo.row[fin].tolist(), coo.col[fin].tolist(), coo.data[fin].tolist()))
        return H


# ---------------------------------------------------------------- 1. OD matrices

def bench_od(eng: Network, places: list[int], nx_origins: int) -> dict:
    import numba

    od_matrix(eng, places[:2])  # warm-up (numba compilation / cache load)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    t_one, od = best_of(lambda: od_matrix(eng, places))
    numba.set_num_threads(threads)
    t_all, od_all = best_of(lambda: od_matrix(eng, places))
    assert isinstance(od, type(od_all))
    r = eng.routing
    src, dst = od.origin_index, od.destination_index
    same = od.same_node
    sg = ScipyGraph(eng, od.w)
    limit = float(od.time_s[np.isfinite(od.time_s)].max()) * (1 + 1e-9)

    def scipy_od() -> np.ndarray:
        d = dijkstra(sg.matrix, indices=src, limit=limit)[:, dst]
        d[same] = 0.0
        return d

    t_scipy, d_scipy = best_of(scipy_od, 2)
    try:
        import igraph as ig

        coo = sg.matrix.tocoo()
        fin = np.isfinite(coo.data)
        g = ig.Graph(n=r.n, edges=np.c_[coo.row[fin], coo.col[fin]].tolist(), directed=True)
        weights = coo.data[fin].tolist()
        t_igraph, d_igraph = best_of(lambda: np.array(g.distances(source=src.tolist(), target=dst.tolist(),
                                                                  weights=weights)), 1)
        d_igraph[same] = 0.0
        igraph_diff = max_abs_diff(d_igraph, od.time_s)
    except ImportError:
        t_igraph, igraph_diff = float("nan"), float("nan")
    H = sg.networkx()
    rows = list(range(min(nx_origins, len(places))))
    t0 = time.perf_counter()
    d_nx = np.empty((len(rows), len(dst)))
    for i in rows:
        lengths = nx.single_source_dijkstra_path_length(H, int(src[i]), weight="weight")
        d_nx[i] = [lengths.get(int(t), np.inf) for t in dst]
    t_nx_measured = time.perf_counter() - t0
    del H
    d_nx[same[rows]] = 0.0
    t_nx = t_nx_measured * len(places) / len(rows)
    return {"ours_1_thread_s": t_one, "ours_threads": threads, "ours_all_threads_s": t_all,
            "scipy_s": t_scipy, "scipy_limit_s": limit, "max_abs_diff_vs_scipy_s": max_abs_diff(d_scipy, od.time_s),
            "igraph_s": t_igraph, "max_abs_diff_vs_igraph_s": igraph_diff,
            "networkx_s": t_nx, "networkx_origins_measured": len(rows),
            "networkx_per_search_s": t_nx_measured / len(rows),
            "max_abs_diff_vs_networkx_s": max_abs_diff(d_nx, od.time_s[rows]),
            "ratio_scipy_1_thread": t_scipy / t_one, "ratio_scipy_all_threads": t_scipy / t_all,
            "ratio_igraph": t_igraph / t_all, "ratio_networkx": t_nx / t_all}


# ---------------------------------------------------------------- 2. criticality

def bench_criticality(eng: Network, places: list[int], sample: int, nx_per_search_s: float) -> dict:
    criticality(eng, places[:3], groups="segment", progress=False)  # warm-up
    t0 = time.perf_counter()
    result = criticality(eng, places, groups="segment", progress=False)
    t_ours = time.perf_counter() - t0
    base, s = result.baseline, result.summary
    k, n_dest = base.cost.shape
    # the searches scipy needs given the same pruning: (segment, origin) for every origin with a
    # baseline route through the segment
    rgroups = result.groups.on_routing(eng.routing)
    ctx = RepairContext.from_baseline(eng, base)
    group, pair = np.divmod(ctx.pair_keys(rgroups.ptr, rgroups.edges), ctx.n_pairs)
    searches = np.unique(group * k + pair // n_dest)
    on_route = np.unique(searches // k)
    rng = np.random.default_rng(1)
    chosen = rng.choice(on_route, size=min(sample, len(on_route)), replace=False)
    sg = ScipyGraph(eng, base.w)
    table = result.table.set_index("group")
    t_scipy, n_sampled, worst, same_cut = 0.0, 0, 0.0, 0
    for g in chosen.tolist():
        rows = searches[np.searchsorted(searches, g * k):np.searchsorted(searches, (g + 1) * k)] - g * k
        t0 = time.perf_counter()
        matrix = sg.without(rgroups.members(g))
        d = dijkstra(matrix, indices=base.origin_index[rows])[:, base.destination_index]
        t_scipy += time.perf_counter() - t0
        n_sampled += len(rows)
        b = base.cost[rows]
        valid = np.isfinite(b) & ~base.same_node[rows]
        cut = valid & ~np.isfinite(d)
        delta = float(np.maximum(d - b, 0.0)[valid & ~cut].sum())
        row = table.loc[result.groups.labels[g]]
        same_cut += int(cut.sum()) == int(row.pairs_cut_off)
        worst = max(worst, abs(delta - float(row.delta_total_time_s)))
    per_search = t_scipy / n_sampled
    scipy_s = per_search * len(searches)
    naive_nx = nx_per_search_s * k * s["candidates"]
    return {"ours_s": t_ours, "candidates": s["candidates"], "candidates_on_routes": s["candidates_on_routes"],
            "candidates_evaluated": s["candidates_evaluated"], "od_pairs": s["od_pairs_connected"],
            "scipy_searches": len(searches), "scipy_sampled_segments": len(chosen),
            "scipy_sampled_searches": n_sampled, "scipy_per_search_s": per_search, "scipy_s_extrapolated": scipy_s,
            "scipy_max_abs_diff_delta_s": worst, "scipy_same_cut_off": same_cut,
            "networkx_naive_s_extrapolated": naive_nx,
            "networkx_pruned_s_extrapolated": nx_per_search_s * len(searches),
            "ratio_scipy": scipy_s / t_ours, "ratio_networkx_naive": naive_nx / t_ours,
            "top": [(int(r.rank), r.ref or r.name, r.highway, round(float(r.delta_total_time_s) / 3600, 2),
                     int(r.pairs_cut_off)) for r in result.table.head(5).itertuples()]}


# ---------------------------------------------------------------- 3. damage scenario

def haversine_m(lon1, lat1, lon2, lat2):
    lat1, lat2, dlon = np.radians(lat1), np.radians(lat2), np.radians(np.asarray(lon2) - lon1)
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_M * np.arcsin(np.sqrt(a))


def area_damage(G: nx.MultiDiGraph, eng: Network, baseline, radius_m: float) -> Damage:
    """Every edge with both ends within ``radius_m`` of the busiest edge's tail (an area event)."""
    ptr, _, _ = baseline.incidence()
    busiest = int(eng.routing.phys[int(np.argmax(np.diff(ptr) * (eng.routing.phys >= 0)))])
    centre = G.nodes[eng.edges[busiest][0]]
    xs = np.array([G.nodes[n]["x"] for n in eng.nodes])
    ys = np.array([G.nodes[n]["y"] for n in eng.nodes])
    inside = haversine_m(centre["x"], centre["y"], xs, ys) <= radius_m
    damage = Damage()
    damage.remove_edges({eng.edges[e] for e in np.flatnonzero(inside[eng.src] & inside[eng.dst])}, "area")
    return damage


def write_pbf(G: nx.MultiDiGraph, path: Path, restrictions: list[dict]) -> dict[tuple, tuple[int, int]]:
    """The graph as OSM PBF: one one-way way per directed edge (interior geometry points become
    new nodes), tagged with its highway class and speed, and ``restrictions`` (resolved records
    with ``value``: the restriction that applies to the car) as relations on those ways. Returns
    edge -> its first OSM segment."""
    import osmium

    extra, ways, first, way_of = [], [], {}, {}
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
        way_of[(u, v, k)] = wid
    writer = osmium.SimpleWriter(str(path))
    try:
        for n in sorted(G.nodes):
            writer.add_node(osmium.osm.mutable.Node(id=n, location=osmium.osm.Location(G.nodes[n]["x"],
                                                                                      G.nodes[n]["y"])))
        for i, x, y in extra:
            writer.add_node(osmium.osm.mutable.Node(id=i, location=osmium.osm.Location(x, y)))
        for wid, nodes, tags in ways:
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=nodes, tags=tags))
        rid = 0
        for record in restrictions:
            for seq in record["sequences"]:
                edges = [tuple(e) for e in seq]
                via = ([("n", edges[0][1], "via")] if len(edges) == 2
                       else [("w", way_of[e], "via") for e in edges[1:-1]])
                rid += 1
                writer.add_relation(osmium.osm.mutable.Relation(
                    id=rid, members=[("w", way_of[edges[0]], "from"), *via, ("w", way_of[edges[-1]], "to")],
                    tags={"type": "restriction", "restriction": record["value"]}))
    finally:
        writer.close()
    return first


def amortised(per_scenario: float, one_time: float, baseline: float) -> dict:
    """Ours per scenario with ``one_time`` spread over each of :data:`SCENARIOS`, the ratio to
    ``baseline`` (s per scenario), the break-even number of scenarios and the number from which
    the ratio reaches 20."""
    out: dict = {str(n): {"ours_s": per_scenario + one_time / n,
                          "ratio": baseline / (per_scenario + one_time / n)} for n in SCENARIOS}
    out["break_even_scenarios"] = math.ceil(one_time / (baseline - per_scenario)) if baseline > per_scenario else None
    out["scenarios_for_20x"] = (math.ceil(one_time / (baseline / 20 - per_scenario))
                                if baseline / 20 > per_scenario else None)
    return out


def bench_damage(G: nx.MultiDiGraph, eng: Network, places: list[int], radius_m: float, engine_build_s: float,
                 osrm_root: Path | None, osrm_note: str, work: Path, name: str) -> dict:
    t0 = time.perf_counter()
    baseline = od_matrix(eng, places)
    t_base = time.perf_counter() - t0
    t0 = time.perf_counter()
    baseline.build_index()
    t_index = time.perf_counter() - t0
    damage = area_damage(G, eng, baseline, radius_m)
    od_matrix(eng, places, damage=damage, baseline=baseline, incremental=True)  # warm-up
    t_full, full = best_of(lambda: od_matrix(eng, places, damage=damage), 2)
    t_inc, inc = best_of(lambda: od_matrix(eng, places, damage=damage, baseline=baseline, incremental=True))
    assert max_abs_diff(full.time_s, inc.time_s) < 1e-6
    src, dst, same = baseline.origin_index, baseline.destination_index, baseline.same_node

    def scipy_full() -> np.ndarray:
        wx = eng.routing_weights(eng.weights("travel_time", damage))
        d = dijkstra(ScipyGraph(eng, wx).matrix, indices=src)[:, dst]
        d[same] = 0.0
        return d

    t_scipy, d_scipy = best_of(scipy_full, 2)
    one_time = t_base + t_index
    out = {"removed_edges": len(damage.removed_edges), "radius_m": radius_m,
           "pairs_changed": int((full.time_s != baseline.time_s).sum()),
           "pairs_recomputed_incremental": int(inc.recomputed.sum()),
           "ours_full_s": t_full, "ours_incremental_s": t_inc, "ours_baseline_od_s": t_base,
           "ours_index_s": t_index, "engine_build_s": engine_build_s,
           "scipy_full_s": t_scipy, "max_abs_diff_vs_scipy_s": max_abs_diff(d_scipy, full.time_s),
           "ratio_scipy_full": t_scipy / t_full, "ratio_scipy_incremental": t_scipy / t_inc,
           "amortised": amortised(t_inc, one_time, t_scipy),
           "amortised_with_engine_build": amortised(t_inc, one_time + engine_build_s, t_scipy), "osrm": osrm_note}
    if osrm_root is None:
        return out
    folder = work / name
    folder.mkdir()
    pbf = folder / "graph.osm.pbf"
    restrictions = [{**rec, "value": restriction_value(rec, eng.vehicle.profile)} for rec in eng.restrictions()]
    first = write_pbf(G, pbf, restrictions)
    data, pre = preprocess_mld(osrm_root, pbf)
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
    osrm_s = t_customize + t_table
    out.update({"osrm_preprocess_s": pre, "osrm_customize_s": t_customize, "osrm_routed_start_s": server.start_s,
                "osrm_table_s": t_table, "osrm_restrictions_written": sum(len(r["sequences"]) for r in restrictions),
                "osrm_median_time_ratio_to_ours": float(np.median(before[fin] / ours_before[fin])),
                "pairs_changed_osrm": int(changed_osrm.sum()), "pairs_changed_ours": int(changed_ours.sum()),
                "ratio_osrm_full": osrm_s / t_full, "ratio_osrm_incremental": osrm_s / t_inc,
                "ratio_osrm_amortised_100": osrm_s / out["amortised"]["100"]["ours_s"]})
    return out


# ---------------------------------------------------------------- report

def _t(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "n/a"
    return (f"{seconds / 3600:,.1f} h" if seconds >= 3600 else f"{seconds:,.1f} s" if seconds >= 10
            else f"{seconds:,.2f} s" if seconds >= 1 else f"{seconds * 1000:,.1f} ms")


def _x(ratio: float) -> str:
    return "n/a" if not math.isfinite(ratio) else f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:,.2f}×"


def _n(scenarios: int | None) -> str:
    """A number of scenarios, or why there is none (the incremental OD alone is not fast enough)."""
    return "never (the incremental OD alone is not fast enough)" if scenarios is None else f"{scenarios:,} scenarios"


def _met(ratio: float, target: float) -> str:
    return "met" if ratio >= target else "**missed**"


CASES = (("synthetic", False), ("synthetic", True), ("malta", False), ("malta", True))


def case_name(graph: str, restricted: bool) -> str:
    return f"{graph}_restricted" if restricted else graph


def case_label(r: dict, name: str) -> str:
    c = r[name]
    graph = "synthetic (SYNTHETIC)" if name.startswith("synthetic") else "Malta (real OSM)"
    rest = (f"{c['engine']['restrictions_applied']:,} restrictions" if c["restricted"] else "no restrictions")
    return f"{graph}, {rest}"


def results_rows(r: dict, name: str) -> list[tuple[str, ...]]:
    """Table rows (what | ours | strongest baseline | ratio | secondary | target) of one case."""
    c = r[name]
    od, cr, dm = c["od"], c["criticality"], c["damage"]
    am = dm["amortised"]
    label = case_label(r, name)
    rows = [(f"OD 50×50, {label}: 1 thread", _t(od["ours_1_thread_s"]),
             f"scipy `dijkstra(indices, limit)`, 1 thread: {_t(od['scipy_s'])}", _x(od["ratio_scipy_1_thread"]),
             f"networkx {_t(od['networkx_s'])} ({_x(od['networkx_s'] / od['ours_1_thread_s'])})", "≥ 1.5×"),
            (f"OD 50×50, {label}: {od['ours_threads']} threads", _t(od["ours_all_threads_s"]), "same",
             _x(od["ratio_scipy_all_threads"]),
             f"networkx {_x(od['ratio_networkx'])}, igraph {_t(od['igraph_s'])} ({_x(od['ratio_igraph'])})",
             "≥ 50× networkx"),
            (f"single-link criticality, all {cr['candidates']:,} segments, {label}", _t(cr["ours_s"]),
             f"scipy, same pruning ({cr['scipy_searches']:,} searches), extrapolated: {_t(cr['scipy_s_extrapolated'])}",
             _x(cr["ratio_scipy"]),
             f"naive networkx {_t(cr['networkx_naive_s_extrapolated'])} ({_x(cr['ratio_networkx_naive'])})", "≥ 100×"),
            (f"damage + OD, {label}: incremental + one-time costs / 100 scenarios", _t(am["100"]["ours_s"]),
             f"scipy full recompute incl. CSR build: {_t(dm['scipy_full_s'])}", _x(am["100"]["ratio"]),
             (f"OSRM customize + table {_t(dm['osrm_customize_s'] + dm['osrm_table_s'])} "
              f"({_x(dm['ratio_osrm_amortised_100'])}; incremental alone {_x(dm['ratio_osrm_incremental'])})")
             if "osrm_customize_s" in dm else f"OSRM: {dm['osrm']}", "≥ 20×")]
    return rows


def markdown_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


HEADER = ("what", "ours", "strongest baseline", "ratio", "secondary (networkx / igraph / OSRM)", "target")


def readme_block(r: dict) -> str:
    rows = [row for name in ("synthetic", "synthetic_restricted") for row in results_rows(r, name)]
    return (markdown_table(rows, HEADER) + f"\n\nMeasured {r['date']} by `python benchmarks/bench_engine.py` in one "
            "run "
            f"on a shared 2-core machine (ratios within the run); every graph, Malta and the damage costs in "
            f"`benchmarks/RESULTS-engine.md`.")


def case_details(r: dict, name: str) -> str:
    c = r[name]
    e, od, cr, dm = c["engine"], c["od"], c["criticality"], c["damage"]
    lines = [f"### {case_label(r, name)}", "",
             f"Graph: {c['nodes']:,} nodes, {c['edges']:,} directed edges; routing graph {e['routing_nodes']:,} "
             f"nodes, {e['routing_edges']:,} edges ({e['junctions_expanded']:,} junctions expanded). "
             f"Engine build `Network(G)`: {_t(e['engine_build_s'])}; memory (tracemalloc) peak "
             f"{e['engine_peak_mib']:,.0f} MiB, retained {e['engine_retained_mib']:,.0f} MiB.", "",
             markdown_table(results_rows(r, name), HEADER), "",
             f"* OD: scipy limit {od['scipy_limit_s']:,.0f} s (the largest OD time); results: max |ours − scipy| "
             f"{od['max_abs_diff_vs_scipy_s']:.2g} s, igraph {od['max_abs_diff_vs_igraph_s']:.2g} s, networkx "
             f"{od['max_abs_diff_vs_networkx_s']:.2g} s ({od['networkx_origins_measured']} origins measured, "
             f"{_t(od['networkx_per_search_s'])} per search); igraph {_t(od['igraph_s'])}.",
             f"* Criticality: {cr['candidates_on_routes']:,} segments on some route ({cr['candidates_evaluated']:,} "
             f"evaluated after chain merging), {cr['od_pairs']:,} OD pairs. scipy with the same pruning: "
             f"{cr['scipy_searches']:,} searches, {_t(cr['scipy_per_search_s'])} each (sampled: "
             f"{cr['scipy_sampled_segments']} segments, {cr['scipy_sampled_searches']} searches); the sample agrees "
             f"with ours (largest |Δ total time| difference {cr['scipy_max_abs_diff_delta_s']:.2g} s, pairs cut "
             f"off equal on {cr['scipy_same_cut_off']} of {cr['scipy_sampled_segments']}). networkx with the same "
             f"pruning: {_t(cr['networkx_pruned_s_extrapolated'])}. Top 5: "
             + "; ".join(f"{rank}. {ref} ({hw}) {h} h, {cut} cut" for rank, ref, hw, h, cut in cr["top"]) + ".",
             f"* Damage: {dm['removed_edges']} edges within {dm['radius_m']:,.0f} m removed, {dm['pairs_changed']:,} "
             f"pairs changed, {dm['pairs_recomputed_incremental']:,} searched again. Ours: incremental "
             f"{_t(dm['ours_incremental_s'])}, full {_t(dm['ours_full_s'])} ({_x(dm['ratio_scipy_full'])} scipy); "
             f"one-time: baseline OD {_t(dm['ours_baseline_od_s'])} + route index {_t(dm['ours_index_s'])} "
             f"(+ engine build {_t(dm['engine_build_s'])}). scipy full recompute {_t(dm['scipy_full_s'])} per "
             f"scenario (max |ours − scipy| {dm['max_abs_diff_vs_scipy_s']:.2g} s).",
             "", "| scenarios | ours per scenario (incremental + one-time / N) | ratio | with the engine build too "
                 "| ratio |",
             "|---:|---:|---:|---:|---:|"]
    am, ae = dm["amortised"], dm["amortised_with_engine_build"]
    for n in SCENARIOS:
        lines.append(f"| {n:,} | {_t(am[str(n)]['ours_s'])} | {_x(am[str(n)]['ratio'])} | "
                     f"{_t(ae[str(n)]['ours_s'])} | {_x(ae[str(n)]['ratio'])} |")
    lines += ["", f"Break-even against scipy: {_n(am['break_even_scenarios'])} "
                  f"({_n(ae['break_even_scenarios'])} counting the engine build); 20× from "
                  f"{_n(am['scenarios_for_20x'])} ({_n(ae['scenarios_for_20x'])} counting the engine build)."]
    if "osrm_customize_s" in dm:
        lines.append(f"OSRM: preprocessing (extract, partition, customize; not in the ratio) "
                     f"{_t(dm['osrm_preprocess_s'])}; "
                     f"customize with the damage {_t(dm['osrm_customize_s'])} + table {_t(dm['osrm_table_s'])} "
                     f"(restarting `osrm-routed` adds {_t(dm['osrm_routed_start_s'])}); OSRM / ours: "
                     f"{_x(dm['ratio_osrm_incremental'])} incremental, {_x(dm['ratio_osrm_full'])} full; "
                     f"{dm['osrm_restrictions_written']:,} restrictions written as relations; pairs changed "
                     f"OSRM {dm['pairs_changed_osrm']:,} / ours {dm['pairs_changed_ours']:,}; OSRM's baseline times "
                     f"are {dm['osrm_median_time_ratio_to_ours']:.2f}× ours (median; its car profile adds turn "
                     "penalties).")
    else:
        lines.append(f"OSRM: {dm['osrm']}")
    return "\n".join(lines)


def targets_summary(r: dict) -> str:
    out = []
    for name in [case_name(*c) for c in CASES]:
        c = r[name]
        od, cr, dm = c["od"], c["criticality"], c["damage"]
        am = dm["amortised"]
        items = [f"OD 1 thread vs scipy {_x(od['ratio_scipy_1_thread'])} "
                 f"(≥ 1.5×: {_met(od['ratio_scipy_1_thread'], 1.5)})",
                 f"OD vs networkx {_x(od['ratio_networkx'])} (≥ 50×: {_met(od['ratio_networkx'], 50)})",
                 f"criticality vs scipy {_x(cr['ratio_scipy'])} (≥ 100×: {_met(cr['ratio_scipy'], 100)})",
                 f"damage + OD vs scipy, 100 scenarios {_x(am['100']['ratio'])} "
                 f"(≥ 20×: {_met(am['100']['ratio'], 20)}), "
                 f"1 scenario {_x(am['1']['ratio'])}"]
        if "ratio_osrm_incremental" in dm:
            items.append(f"incremental vs OSRM {_x(dm['ratio_osrm_incremental'])} (> 1×: "
                         f"{_met(dm['ratio_osrm_incremental'], 1.0)})")
        note = ("" if name.startswith("synthetic")
                else " (the targets are set for the national-size graph; shown here for reference)")
        out.append(f"* {case_label(r, name)}{note}: " + "; ".join(items) + ".")
    return "\n".join(out)


def results_markdown(r: dict) -> str:
    details = "\n\n".join(case_details(r, case_name(*c)) for c in CASES)
    return f"""# Engine benchmark results

Written by `python benchmarks/bench_engine.py` (full run) on {r['date']}; do not edit by hand.
Machine: {r['cpus']} CPUs, **shared with other jobs** during the run (absolute times vary between
runs; every ratio is measured within this run, on the same graph), Python {r['python']}, numba
{r['numba']} ({r['threads']} threads), scipy {r['scipy']}, networkx {r['networkx']}, igraph
{r['igraph']}; OSRM: {r['osrm']}.

Graphs: the SYNTHETIC graph of `benchmarks/synthetic_graph.py` (not OpenStreetMap data), without
and with SYNTHETIC turn restrictions (one per {RESTRICTION_EVERY} junctions, seeded); Malta
(`{r['malta_file']}`, real OpenStreetMap data) without and with its real turn restrictions.
Places: 50 nodes (the 50 largest towns; Malta: random, seeded), 2,450 OD pairs, travel time.
Ratios are baseline / ours; "ours per scenario" for damage + OD is the incremental OD plus the
one-time costs (baseline OD and route index) divided by the number of scenarios. Every baseline
searches the engine's routing graph (`Network.routing`: junctions with a restriction or a U-turn
rule expanded; parallel edges collapsed to the lightest), so all answer the same question, and
their results are compared with ours; networkx and igraph get it as a `DiGraph` / `Graph`.
scipy's matrix (and igraph's and networkx's graphs) are built outside the timings of OD and
criticality; for damage + OD, building scipy's matrix from the damaged weights is timed.

## Targets

{targets_summary(r)}

## Figures

{details}
"""




# ---------------------------------------------------------------- main

def print_case(r: dict, name: str) -> None:
    c = r[name]
    e = c["engine"]
    print(f"engine build {_t(e['engine_build_s'])}, peak {e['engine_peak_mib']:,.0f} MiB, retained "
          f"{e['engine_retained_mib']:,.0f} MiB; {e['restrictions_applied']:,} restrictions, "
          f"{e['junctions_expanded']:,} junctions expanded")
    for row in results_rows(r, name):
        print("  " + " | ".join(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller synthetic graph and samples; prints only")
    parser.add_argument("--no-osrm", action="store_true", help="skip the OSRM comparison")
    add_results_options(parser, "engine")
    args = parser.parse_args()
    if args.render:
        render("engine", args.render, results_markdown, readme_block)
        return
    import numba
    import scipy

    try:
        import igraph
        igraph_version = igraph.__version__
    except ImportError:
        igraph_version = "not installed"
    quick = args.quick
    malta = sorted((shared_data_dir() / "osm" / "real").glob("malta*.osm.pbf"))
    if not malta:
        raise SystemExit(f"no malta*.osm.pbf in {shared_data_dir() / 'osm' / 'real'}")
    print(f"corridor-routing engine benchmark ({'quick' if quick else 'full'}); {os.cpu_count()} CPUs, "
          f"numba {numba.__version__} with {numba.get_num_threads()} threads")
    r: dict = {"mode": "quick" if quick else "full", "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
               "python": platform.python_version(), "numba": numba.__version__, "threads": numba.get_num_threads(),
               "scipy": scipy.__version__, "networkx": nx.__version__, "igraph": igraph_version,
               "malta_file": malta[0].name}
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        work = Path(tmp)
        osrm_root, osrm_note = (None, "skipped (--no-osrm)") if args.no_osrm else fetch_osrm(work / "osrm")
        r["osrm"] = osrm_note
        print(f"OSRM: {osrm_note}")
        loaders = {"synthetic": lambda: synthetic_graph.synthetic_graph(
                       **({"n_towns": 80, "width_km": 350, "height_km": 250} if quick else {})),
                   "malta": lambda: load_network(malta[0])}
        for graph in ("synthetic", "malta"):
            t0 = time.perf_counter()
            G = loaders[graph]()
            t_load = time.perf_counter() - t0
            synthetic = graph == "synthetic"
            real = list(G.graph.get("turn_restrictions") or [])
            restricted_records = synthetic_restrictions(G) if synthetic else real
            places = choose_places(G, synthetic)
            print(f"\n== {graph} ({'SYNTHETIC' if synthetic else 'real OSM'}): {G.number_of_nodes():,} nodes, "
                  f"{G.number_of_edges():,} edges, loaded in {t_load:.1f} s; {len(places)} places")
            for restricted in (False, True):
                name = case_name(graph, restricted)
                eng, info = build_engine(G, restricted_records if restricted else [])
                c: dict = {"nodes": G.number_of_nodes(), "edges": G.number_of_edges(), "restricted": restricted,
                           "engine": info}
                r[name] = c
                nx_origins = 10 if synthetic else len(places)
                c["od"] = bench_od(eng, places, 3 if quick and synthetic else nx_origins)
                sample = (10 if quick else 40) if synthetic else (40 if quick else 200)
                c["criticality"] = bench_criticality(eng, places, sample, c["od"]["networkx_per_search_s"])
                radius = 3000.0 if synthetic else 300.0
                try:
                    c["damage"] = bench_damage(G, eng, places, radius, info["engine_build_s"], osrm_root, osrm_note,
                                               work, name)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    print(f"OSRM failed: {exc}")
                    c["damage"] = bench_damage(G, eng, places, radius, info["engine_build_s"], None,
                                               f"failed: {exc}", work, name + "-none")
                print(f"-- {case_label(r, name)}")
                print_case(r, name)
                del eng
            G.graph["turn_restrictions"] = real
    print("\n" + targets_summary(r))
    publish("engine", r, args.json, not quick, results_markdown, readme_block)


if __name__ == "__main__":
    main()
