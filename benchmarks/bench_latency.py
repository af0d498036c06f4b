"""Benchmark: the waits a user sees, each figure from fresh processes of a fresh install.

Run ``python benchmarks/bench_latency.py`` (full: about 3 minutes on 2 cores). It builds a wheel
of this checkout (``python -m build --wheel``), installs it without its dependencies into a scratch
virtual environment (the dependencies come from this environment, through a ``.pth`` file), and
times, wall clock, each command in a new process of that environment:

1. ``python -c "import routing"`` and ``routing --help`` (best of 5);
2. ``routing run demo``: the first run after the install (no numba cache, no graph cache) and the
   second run; the pair is repeated (``--pairs``, each time after deleting both caches) and the
   medians are kept. Target (issue 15): ``import routing`` <= 0.3 s, the first run at most 20 %
   slower than the second;
3. ``routing criticality demo``: the first run after the install (``--serial``, caches deleted),
   then with ``--serial``, with Dask (``--workers 2``) and with no flag (the default; the executor
   it chose is reported), caches warm (best of 2);
4. the three map PNGs of the demo (``routing.outputs.maps.write_maps``) in a new process after an
   untimed run of the scenario: importing the drawing code, then drawing.

It rewrites ``benchmarks/RESULTS-latency.md``, ``benchmarks/RESULTS-latency.json`` and the figures
between the ``bench-latency`` markers of ``README.md``. ``--quick`` (one pair, one repetition
elsewhere; under a minute) prints only; ``--json FILE`` also writes the figures as JSON;
``--render FILE`` rewrites the results from such a JSON of a full run; ``--wheel FILE`` measures
that wheel instead of building one (e.g. an older version, for a before/after comparison).
The machine is shared with other jobs: the load average is recorded with each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from readme_blocks import add_results_options, publish, render  # noqa: E402

RESULTS = HERE / "RESULTS-latency.md"

MAPS = """
import json, sys, time
from pathlib import Path
from routing import run_scenario
from routing.scenario import Scenario
result = run_scenario(Scenario.from_file("demo"))
t0 = time.perf_counter()
from routing.outputs.maps import write_maps
t1 = time.perf_counter()
write_maps(result, Path(sys.argv[1]))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "draw_s": t2 - t1}))
"""


class Install:
    """A wheel installed into a scratch virtual environment whose dependencies are this one's."""

    def __init__(self, wheel: Path, folder: Path) -> None:
        self.venv = folder / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(self.venv)], check=True)
        self.python = self.venv / "bin" / "python"
        purelib = subprocess.run([str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        self.site = Path(purelib)
        # this environment's packages after the scratch one's (a plain path: its .pth files, such
        # as an editable install of this checkout, are not read)
        (self.site / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
        subprocess.run([str(self.python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
        self.routing = self.venv / "bin" / "routing"
        self.cache = folder / "routing-cache"
        self.env = {**os.environ, "ROUTING_CACHE_DIR": str(self.cache)}
        for name in ("NUMBA_CACHE_DIR", "PYTHONPATH"):
            self.env.pop(name, None)
        self.scratch = folder / "out"
        self.runs = 0
        self.cpu = 0.0  # CPU seconds (user + system) of the last process timed and its children

    def forget(self) -> None:
        """Delete the caches a first run after the install finds empty: numba's and the graph cache."""
        for pattern in ("*.nbi", "*.nbc"):
            for path in (self.site / "routing").rglob(pattern):
                path.unlink()
        shutil.rmtree(self.cache, ignore_errors=True)

    def out(self) -> str:
        """A new output folder."""
        self.runs += 1
        return str(self.scratch / f"run{self.runs}")

    def time(self, args: Sequence[str]) -> tuple[float, str]:
        """Wall seconds of one process running ``args``, and its standard output (its CPU seconds
        in ``self.cpu``)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(list(args), capture_output=True, text=True, env=self.env)
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return seconds, done.stdout


def best(install: Install, args: Sequence[str], repeat: int) -> float:
    """Best wall seconds of ``repeat`` new processes running ``args``."""
    return min(install.time(args)[0] for _ in range(repeat))


def build_wheel(folder: Path) -> Path:
    """A wheel of this checkout."""
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(folder), str(ROOT)], check=True,
                   capture_output=True)
    return next(folder.glob("*.whl"))


def measure(wheel: Path, *, quick: bool, pairs: int) -> dict:
    """Every figure of the module docstring for ``wheel``."""
    import numba

    r: dict = {"mode": "quick" if quick else "full", "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
               "wheel": wheel.name, "python": sys.version.split()[0], "numba": numba.__version__}
    repeat = 1 if quick else 5
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        install = Install(wheel, Path(tmp))
        python, routing = str(install.python), str(install.routing)
        install.forget()
        first, second, first_cpu, second_cpu, load = [], [], [], [], []
        for _ in range(pairs):
            install.forget()
            load.append(os.getloadavg()[0])
            first.append(install.time([routing, "-q", "run", "demo", "--out", install.out()])[0])
            first_cpu.append(install.cpu)
            second.append(install.time([routing, "-q", "run", "demo", "--out", install.out()])[0])
            second_cpu.append(install.cpu)
            print(f"routing run demo: first {first[-1]:.2f} s ({first_cpu[-1]:.2f} s CPU), second {second[-1]:.2f} s "
                  f"({second_cpu[-1]:.2f} s CPU)")
        r["run"] = {"first_s": statistics.median(first), "second_s": statistics.median(second),
                    "first_cpu_s": statistics.median(first_cpu), "second_cpu_s": statistics.median(second_cpu),
                    "first_all_s": first, "second_all_s": second, "load": max(load)}
        r["run"]["ratio"] = r["run"]["first_s"] / r["run"]["second_s"]
        r["run"]["cpu_ratio"] = r["run"]["first_cpu_s"] / r["run"]["second_cpu_s"]
        r["import_s"] = best(install, [python, "-c", "import routing"], repeat)
        r["help_s"] = best(install, [routing, "--help"], repeat)
        print(f"import routing {r['import_s']:.2f} s, routing --help {r['help_s']:.2f} s")
        install.forget()
        crit = {"first_serial": install.time([routing, "-q", "criticality", "demo", "--serial",
                                              "--out", install.out()])[0]}
        crit["first_serial_cpu"] = install.cpu
        for mode, flags in (("serial", ["--serial"]), ("dask", ["--workers", "2"])):
            crit[mode] = min(install.time([routing, "-q", "criticality", "demo", *flags, "--out", install.out()])[0]
                             for _ in range(1 if quick else 2))
        default = [install.time([routing, "criticality", "demo", "--out", install.out()])
                   for _ in range(1 if quick else 2)]
        crit["default"] = min(seconds for seconds, _ in default)
        crit["default_choice"] = next((line.removeprefix("executor: ") for line in default[0][1].splitlines()
                                       if line.startswith("executor: ")), "not printed")
        crit["load"] = os.getloadavg()[0]
        r["criticality"] = crit
        print(f"routing criticality demo: first after the install {crit['first_serial']:.2f} s; then --serial "
              f"{crit['serial']:.2f} s, --workers 2 {crit['dask']:.2f} s, default {crit['default']:.2f} s "
              f"({crit['default_choice']})")
        maps = []
        for _ in range(1 if quick else 2):
            _, stdout = install.time([python, "-c", MAPS, install.out()])
            maps.append(json.loads(stdout.strip().splitlines()[-1]))
        r["maps"] = min(maps, key=lambda m: m["import_s"] + m["draw_s"])
        print(f"three map PNGs: import {r['maps']['import_s']:.2f} s, draw {r['maps']['draw_s']:.2f} s")
    r["load"] = os.getloadavg()[0]
    return r


def rows(r: dict) -> list[tuple[str, str, str]]:
    """(what, time, note) rows of the results table."""
    run, crit, maps = r["run"], r["criticality"], r["maps"]
    ok = "met" if run["ratio"] <= 1.2 else "NOT met"
    return [
        ("`import routing`", f"{r['import_s']:.2f} s", "target <= 0.3 s: " + ("met" if r["import_s"] <= 0.3 else
                                                                             "NOT met")),
        ("`routing --help`", f"{r['help_s']:.2f} s", ""),
        ("`routing run demo`, first run after the install", f"{run['first_s']:.2f} s",
         f"{run['ratio']:.2f}x the second run (CPU: {run['first_cpu_s']:.2f} s, {run['cpu_ratio']:.2f}x); "
         f"target <= 1.2x: {ok}"),
        ("`routing run demo`, second run", f"{run['second_s']:.2f} s", f"CPU: {run['second_cpu_s']:.2f} s"),
        ("`routing criticality demo --serial`, first run after the install", f"{crit['first_serial']:.2f} s",
         f"{crit['first_serial'] / crit['serial']:.2f}x the run below; CPU: {crit['first_serial_cpu']:.2f} s"),
        ("`routing criticality demo --serial`", f"{crit['serial']:.2f} s", ""),
        ("`routing criticality demo` (no flag: the default)", f"{crit['default']:.2f} s",
         f"chose {crit['default_choice']}"),
        ("`routing criticality demo --workers 2` (Dask)", f"{crit['dask']:.2f} s",
         f"{crit['dask'] / crit['serial']:.1f}x the serial run"),
        ("the three map PNGs of the demo", f"{maps['import_s'] + maps['draw_s']:.2f} s",
         f"importing the drawing code {maps['import_s']:.2f} s, drawing {maps['draw_s']:.2f} s"),
    ]


def table(r: dict) -> str:
    return "\n".join(["| what (new processes, fresh install) | wall time | note |", "|---|---|---|",
                      *(f"| {a} | {b} | {c} |" for a, b, c in rows(r))])


def results_markdown(r: dict) -> str:
    run = r["run"]
    pairs = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(run["first_all_s"], run["second_all_s"]))
    return f"""# Latency benchmark results

Written by `python benchmarks/bench_latency.py` (full run) on {r['date']}; do not edit by hand.
Machine: {r['cpus']} CPUs, shared with other jobs (1-minute load average {run['load']:.1f} during the
demo runs, {r['criticality']['load']:.1f} after the criticality runs, {r['load']:.1f} at the end),
Python {r['python']}, numba {r['numba']}. Installed: `{r['wheel']}` (built from the checkout), into a
scratch virtual environment.

{table(r)}

Each figure is the wall time of new processes, as a user waits for it; CPU seconds (the process
and its children, user + system) are given where other jobs on the machine blur the wall times.
The first run finds numba's cache and the graph cache empty, as after an install; the pairs
first/second measured (seconds): {pairs} (medians in the table). `import routing` and
`routing --help` are the best of several processes, the criticality runs the best of two, the maps
the best of two processes (each runs the demo scenario untimed, then imports the drawing code and
draws the three PNGs).
"""


def readme_block(r: dict) -> str:
    return (f"{table(r)}\n\nMeasured {r['date']} by `python benchmarks/bench_latency.py` on a shared "
            f"{r['cpus']}-core machine; details in `benchmarks/RESULTS-latency.md`.")




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one pair of demo runs, one repetition; prints only")
    parser.add_argument("--pairs", type=int, help="first/second pairs of demo runs (default 3, quick 1)")
    add_results_options(parser, "latency")
    parser.add_argument("--wheel", type=Path, help="measure this wheel instead of building one of the checkout "
                                                   "(prints only)")
    args = parser.parse_args()
    if args.render:
        render("latency", args.render, results_markdown, readme_block)
        return
    with tempfile.TemporaryDirectory(prefix="bench-latency-wheel-") as tmp:
        wheel = args.wheel.resolve() if args.wheel else build_wheel(Path(tmp))
        r = measure(wheel, quick=args.quick, pairs=args.pairs or (1 if args.quick else 3))
    print(table(r))
    publish("latency", r, args.json, not args.quick and not args.wheel, results_markdown, readme_block)


if __name__ == "__main__":
    main()
