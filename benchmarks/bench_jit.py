"""Benchmark: when running a kernel's Python code beats compiling it (``routing.engine.jit``).

For each kernel ``routing run`` and ``routing criticality`` call (through ``jit.for_work``) this
prints, in CPU seconds of this process (``time.process_time``: other jobs on the shared machine
blur wall times):

* compile: its first call in a new process with an empty numba cache (the kernels it calls are
  compiled with it), the kernels compiled (``INTERPRET_MAX_WORK = 0``); the median of ``--repeat``
  processes;
* load: the same in a new process once numba's cache holds it (numba loads the machine code);
* interpreted: microseconds per unit of work (searches x routing-graph edges, as the call sites
  count it) of its Python copy, on the demo network (SCHEMATIC, not OpenStreetMap data) and on the
  SYNTHETIC graph of ``benchmarks/synthetic_graph.py`` (``--towns``; not OpenStreetMap data).

Then the work at which interpreting a kernel costs as much as loading it (load / interpreted
rate) and as compiling it. ``jit.INTERPRET_MAX_WORK`` sits at or below the smallest load break-even:
below it a process that finds the kernels in numba's cache is not slowed by interpreting, and one
that does not (the first run after an install) saves the compiles.

Run ``python benchmarks/bench_jit.py [--repeat 3] [--towns 3]`` (about a minute on 2 cores).
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from routing.analysis import evacuation  # noqa: E402
from routing.engine import Network, jit, kernels, network, od, od_matrix  # noqa: E402
from routing.engine.jit import INTERPRET_MAX_WORK  # noqa: E402  (before the runs change it)
from routing.scenario import Scenario  # noqa: E402

CALLERS = (kernels, network, od, evacuation)  # the modules calling jit.for_work


def record(log: dict[str, list[tuple[int, float]]]) -> None:
    """Route every ``for_work`` call of the engine through a wrapper logging, per kernel, the work
    and CPU seconds of each call."""
    def for_work(kernel: Any, work: int) -> Callable[..., Any]:
        run = jit.for_work(kernel, work)

        def timed(*args: Any) -> Any:
            t0 = time.process_time()
            out = run(*args)
            log.setdefault(kernel.py_func.__name__, []).append((work, time.process_time() - t0))
            return out
        return timed

    for module in CALLERS:
        module.for_work = for_work  # type: ignore[attr-defined]


def spread(net: Network, k: int) -> list[int]:
    """``k`` graph nodes reached from node index 0, spread over the node list."""
    reached = np.flatnonzero(np.isfinite(net.tree([0], net.weights("travel_time")).node_dist()[0]))
    return [int(net.nodes[i]) for i in reached[np.linspace(0, len(reached) - 1, k).astype(int)]]


def workload(net: Network, places: int) -> None:
    """One call at least of every kernel: a multi-source search, trees, an OD matrix and its route
    index, and repairs of its routes after removing, one at a time, the 3 edges most routes use."""
    nodes = spread(net, places)
    net.nearest([net.node_index[n] for n in nodes[:3]], net.weights("travel_time"))
    base = od_matrix(net, nodes).build_index()
    ptr = base.incidence()[0]
    busiest = np.sort(np.argsort(np.diff(ptr))[-3:]).astype(np.int64)  # routing-graph edges
    ctx = od.RepairContext.from_baseline(net, base)
    groups = np.arange(4, dtype=np.int64)
    ctx.repair(ctx.pair_keys(groups, busiest), groups, busiest, remove=True)


def demo_network() -> Network:
    """The shipped demo network (SCHEMATIC, not OpenStreetMap data)."""
    return Network(Scenario.from_file("demo").load_network())


def child() -> None:
    """In a new process: the kernels compiled (or loaded), the CPU seconds of each one's first call."""
    jit.INTERPRET_MAX_WORK = 0
    log: dict[str, list[tuple[int, float]]] = {}
    net = demo_network()
    record(log)
    workload(net, 10)
    print(json.dumps({name: calls[0][1] for name, calls in log.items()}))


def first_calls(cache: Path) -> dict[str, float]:
    """CPU seconds of each kernel's first call in a new process using numba cache folder ``cache``."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def interpreted_rate(net: Network, places: int) -> dict[str, float]:
    """Microseconds per unit of work of each interpreted kernel (all its calls, the first one's
    copying included)."""
    jit.INTERPRET_MAX_WORK = 10**12
    log: dict[str, list[tuple[int, float]]] = {}
    record(log)
    workload(net, places)
    return {name: 1e6 * sum(s for _, s in calls) / max(1, sum(w for w, _ in calls)) for name, calls in log.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="new processes per compile and per load figure")
    parser.add_argument("--towns", type=int, default=3, help="towns of the synthetic graph")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    compile_s: dict[str, list[float]] = {}
    load_s: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-jit-") as tmp:
            for name, s in first_calls(Path(tmp)).items():
                compile_s.setdefault(name, []).append(s)
            for name, s in first_calls(Path(tmp)).items():
                load_s.setdefault(name, []).append(s)
    from synthetic_graph import synthetic_graph

    demo = demo_network()
    synthetic = Network(synthetic_graph(n_towns=args.towns, width_km=60, height_km=40))
    rates = {"demo": interpreted_rate(demo, 10), "synthetic": interpreted_rate(synthetic, 10)}
    print(f"load average {os.getloadavg()[0]:.1f}; demo {demo.routing.m} routing-graph edges, synthetic "
          f"{synthetic.routing.m}")
    print(f"{'kernel':16s} {'compile s':>9s} {'load s':>7s} {'interp us/work':>15s} "
          f"{'break-even work: load':>22s} {'compile':>9s}")
    for name in compile_s:
        c, ld = statistics.median(compile_s[name]), statistics.median(load_s[name])
        rate = max(r[name] for r in rates.values())
        both = "/".join(f"{r[name]:.2f}" for r in rates.values())
        print(f"{name:16s} {c:9.3f} {ld:7.3f} {both:>15s} {ld / rate * 1e6:22,.0f} {c / rate * 1e6:9,.0f}")
    first = next(iter(load_s))
    slowest = max(max(r.values()) for r in rates.values())
    print(f"the first kernel's load ({first}) includes numba's start-up; it over the slowest interpreted rate: "
          f"{statistics.median(load_s[first]) / slowest * 1e6:,.0f} units of work "
          f"(jit.INTERPRET_MAX_WORK = {INTERPRET_MAX_WORK:,})")


if __name__ == "__main__":
    main()
