"""Benchmark: CPU seconds to draw the three map PNGs (map_before, map_after, map_compare) and map.html.

Two cases: the schematic demo (45 nodes, 96 edges) and a scenario on the real Malta extract
(``$ROUTING_SHARED_DATA/osm/real/malta-2018-08-27.osm.pbf``, ~39k directed edges; © OpenStreetMap
contributors, ODbL 1.0): Mosta Bridge destroyed, the Regional Road degraded, evacuation from
Valletta to Mellieħa and Birżebbuġa. The run itself is not timed, only the drawing; each drawing
is repeated ``--repeat`` times and the best CPU time (``time.process_time``: this process only,
so other jobs on the machine distort it little) is kept.

Baseline, measured in the same run: the same drawing by the package as it was at ``--baseline``
(a git revision; default: before issue 15's map work), exported with ``git archive`` into a
temporary folder and run in a child process, with the matplotlib-scalebar it drew its scale bars
with (its wheel downloaded with pip into the same folder). Targets (issue 15): the demo's three PNGs <= 0.3 s
CPU, Malta's <= 2 s.

Also in the same run: this package's drawing on matplotlib ``--older-matplotlib`` (default 3.10.9,
the last release before 3.11 drew text glyph by glyph), its wheel downloaded with pip into a
temporary folder and put first on a child process's path: what the text drawing of the installed
matplotlib costs.

Run ``python benchmarks/bench_maps.py`` (``--repeat 3``, about two minutes). It rewrites
``benchmarks/RESULTS-maps.md`` (and ``RESULTS-maps.json``) and the README block ``bench-maps``;
``--no-write`` prints only.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

import matplotlib  # noqa: E402
from readme_blocks import write_results  # noqa: E402
from wheels import fetch_wheel  # noqa: E402

from routing import run_scenario  # noqa: E402
from routing.outputs.maps import write_maps  # noqa: E402
from routing.outputs.webmap import write_web_map  # noqa: E402
from routing.scenario import Scenario  # noqa: E402
from routing.settings import data_path, shared_data_dir  # noqa: E402

BASELINE_REV = "d7e852d"  # the last commit before issue 15's map work
BASELINE_SCALEBAR = "matplotlib-scalebar==0.9.0"  # the baseline's scale bars (a dependency until issue 15)
OLDER_MATPLOTLIB = "3.10.9"  # the last matplotlib before 3.11's glyph-by-glyph text drawing
TARGETS_S = {"demo": 0.3, "malta": 2.0}  # the three PNGs, CPU seconds (issue 15)

MALTA = {
    "scenario": {"name": "Malta: Mosta Bridge destroyed, Regional Road degraded (benchmark)"},
    "network": {"source": str(shared_data_dir() / "osm" / "real" / "malta-2018-08-27.osm.pbf")},
    "places": {"od": ["Valletta", "Mdina", "Sliema", "Mellieħa", "Birżebbuġa", "Mosta"],
               "custom": {"Valletta": {"lat": 35.8989, "lon": 14.5146}, "Mdina": {"lat": 35.8859, "lon": 14.4030},
                          "Sliema": {"lat": 35.9122, "lon": 14.5042}, "Mellieħa": {"lat": 35.9564, "lon": 14.3622},
                          "Birżebbuġa": {"lat": 35.8257, "lon": 14.5269}, "Mosta": {"lat": 35.9092, "lon": 14.4256}}},
    "evacuation": {"origin": "Valletta", "origin_radius_m": 2000, "destination_radius_m": 1500,
                   "destinations": ["Mellieħa", "Birżebbuġa"]},
    "events": [{"action": "destroy", "select": {"name": "Mosta Bridge"}, "note": "Mosta Bridge destroyed"},
               {"action": "degrade", "select": {"name": "Triq Reġjonali"}, "speed_factor": 0.5,
                "capacity_factor": 0.5, "note": "Regional Road damaged"}],
}
CASES = {"demo": "demo (schematic)", "malta": "Malta (real OSM)"}


def cpu_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Best CPU time of ``repeat`` calls of ``fn``."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def measure(repeat: int) -> dict[str, dict]:
    """CPU seconds of the three PNGs and of map.html, per case, with the installed ``routing``."""
    scenarios = {"demo": Scenario.from_file(data_path("scenarios", "demo-western-syria.toml")),
                 "malta": Scenario.from_dict(MALTA)}
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for case, scenario in scenarios.items():
            result = run_scenario(scenario)
            png = cpu_seconds(lambda r=result: write_maps(r, folder), repeat)
            html = cpu_seconds(lambda r=result: write_web_map(r, folder / "map.html"), repeat)
            out[case] = {"edges": result.graph.number_of_edges(), "png_s": png, "html_s": html,
                         "matplotlib": matplotlib.__version__}
            print(f"{CASES[case]}: {out[case]['edges']:,} edges; three PNGs {png:.2f} s CPU, "
                  f"map.html {html:.2f} s CPU", flush=True)
    return out


def measure_in_child(path: list[str], repeat: int) -> dict[str, dict]:
    """:func:`measure` in a child process whose module path starts with ``path``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "ROUTING_SHARED_DATA": str(shared_data_dir())}
    child = subprocess.run([sys.executable, __file__, "--measure-only", "--repeat", str(repeat)], env=env,
                           check=True, capture_output=True, text=True)
    return json.loads(child.stdout.splitlines()[-1])


def measure_baseline(rev: str, repeat: int) -> dict[str, dict]:
    """:func:`measure` with the package as it was at git revision ``rev`` (with matplotlib-scalebar,
    which it drew its scale bars with)."""
    archive = subprocess.run(["git", "archive", rev, "routing"], cwd=HERE.parent, check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        scalebar, why = fetch_wheel(BASELINE_SCALEBAR, Path(tmp) / "scalebar")
        if scalebar is None:
            raise SystemExit(f"the baseline needs {BASELINE_SCALEBAR}: {why}")
        return measure_in_child([tmp, str(scalebar)], repeat)


def measure_on_matplotlib(version: str, repeat: int) -> dict[str, dict] | str:
    """:func:`measure` with this checkout's package on matplotlib ``version`` (its wheel for this
    interpreter, downloaded with pip into a temporary folder), or why it could not be measured."""
    with tempfile.TemporaryDirectory() as tmp:
        site, why = fetch_wheel(f"matplotlib=={version}", Path(tmp))
        return why if site is None else measure_in_child([str(site), str(HERE.parent)], repeat)


def _older(r: dict, case: str) -> str:
    """The three PNGs' CPU seconds on the older matplotlib, or why there is no figure."""
    older = r.get("older_matplotlib")
    return f"{older[case]['png_s']:.2f}" if isinstance(older, dict) else "not measured"


def results_markdown(r: dict) -> str:
    """RESULTS-maps.md."""
    older = r.get("older_matplotlib")
    rows = "\n".join(
        f"| {CASES[c]} | {r['ours'][c]['edges']:,} | {r['ours'][c]['png_s']:.2f} | {r['baseline'][c]['png_s']:.2f} | "
        f"{r['ours'][c]['png_s'] / r['baseline'][c]['png_s']:.2f} | <= {TARGETS_S[c]} | {_met(r, c)} | "
        f"{_older(r, c)} | {r['ours'][c]['html_s']:.2f} | {r['baseline'][c]['html_s']:.2f} |" for c in CASES)
    version = r["older_matplotlib_version"]
    older_line = (f"Ours on matplotlib {version}, the last release before 3.11 drew text glyph by glyph, "
                  "measured in the same run (its wheel first on a child process's path)"
                  + ("." if isinstance(older, dict) else f": {older}."))
    header = ("| case | edges | three PNGs, s CPU | baseline | ratio | target | met "
              f"| three PNGs on matplotlib {version} | map.html, s CPU | baseline |")
    return f"""# Maps benchmark ({r['date']})

Written by `python benchmarks/bench_maps.py` on {r['cpus']} CPUs shared with other jobs (1-minute load
average {r.get('load', 'not recorded')} over the run); do not edit by hand. CPU seconds
(`time.process_time`, best of {r['repeat']}) to draw the three map PNGs (`write_maps`: map_before,
map_after, map_compare) and map.html (`write_web_map`) of a finished run; the run itself is not
timed. Baseline: the same calls with the package at `{r['baseline_rev']}` (before issue 15's map
work), measured in the same run. Versions: {r['versions']}. {older_line}

{header}
|---|---|---|---|---|---|---|---|---|---|
{rows}
"""


def _met(r: dict, case: str) -> str:
    return "yes" if r["ours"][case]["png_s"] <= TARGETS_S[case] else "NO"


def readme_block(r: dict) -> str:
    """The README's bench-maps block."""
    o, b = r["ours"], r["baseline"]
    return ("| what | ours | baseline | ratio | target |\n|---|---|---|---|---|\n"
            f"| the three map PNGs, demo / Malta ({o['malta']['edges']:,} edges, real) | "
            f"{o['demo']['png_s']:.2f} s / {o['malta']['png_s']:.2f} s CPU | "
            f"the maps before issue 15 (`{r['baseline_rev']}`): {b['demo']['png_s']:.2f} s / "
            f"{b['malta']['png_s']:.2f} s | {o['demo']['png_s'] / b['demo']['png_s']:.2f} / "
            f"{o['malta']['png_s'] / b['malta']['png_s']:.2f} | <= {TARGETS_S['demo']} s ({_met(r, 'demo')}) / "
            f"<= {TARGETS_S['malta']:.0f} s ({_met(r, 'malta')}) |\n\n"
            f"With matplotlib {r['older_matplotlib_version']} instead of {r['versions'].split()[-1]}, in the same run: "
            f"demo {_older(r, 'demo')} s / Malta {_older(r, 'malta')} s (3.11 draws text glyph by glyph). "
            f"Measured {r['date']} by `python benchmarks/bench_maps.py`; details in `benchmarks/RESULTS-maps.md`.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE_REV, help="git revision of the baseline's package")
    parser.add_argument("--older-matplotlib", default=OLDER_MATPLOTLIB,
                        help="also measure this package on this matplotlib version (pip download)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)  # the baseline's child
    args = parser.parse_args()
    if args.measure_only:
        print(json.dumps(measure(args.repeat)))
        return
    load = os.getloadavg()[0]
    r = {"mode": "quick" if args.no_write else "full", "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
         "repeat": args.repeat,
         "baseline_rev": args.baseline, "versions": f"matplotlib {matplotlib.__version__}",
         "ours": measure(args.repeat), "baseline": measure_baseline(args.baseline, args.repeat),
         "older_matplotlib": measure_on_matplotlib(args.older_matplotlib, args.repeat),
         "older_matplotlib_version": args.older_matplotlib}
    r["load"] = f"{load:.1f}-{os.getloadavg()[0]:.1f}"
    older = r["older_matplotlib"]
    for case in CASES:
        print(f"{CASES[case]}: three PNGs {r['ours'][case]['png_s']:.2f} s CPU (baseline "
              f"{r['baseline'][case]['png_s']:.2f} s; target <= {TARGETS_S[case]} s: {_met(r, case)}; "
              + (f"on matplotlib {older[case]['matplotlib']}: {older[case]['png_s']:.2f} s)"
                 if isinstance(older, dict) else f"{older})"))
    if not args.no_write:
        write_results("maps", r, results_markdown, readme_block)


if __name__ == "__main__":
    main()
