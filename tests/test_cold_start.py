"""Cold start: what a fresh process pays before the first result (imports, kernel compiles)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import osmnx as ox
import pytest

from routing.network.geometry import great_circle_m

# Runs the serial and the parallel path of every OD and repair kernel on the demo network, compiled
# (not interpreted, as such small work would be), then prints each kernel's compiled signatures.
EVERY_KERNEL = """
import json
import os
from numba.core.registry import CPUDispatcher
from routing.analysis.criticality import criticality
from routing.engine import Network, jit, kernels, nearest_repair, od_matrix
from routing.settings import data_path

net = Network.load(data_path("demo", "western-syria-schematic.osm"), cache=False)
nodes = list(net.nodes[:6])
jit.INTERPRET_MAX_WORK = 0
for min_work in (kernels.PARALLEL_MIN_WORK, 0):  # serial kernels, then the parallel ones
    kernels.PARALLEL_MIN_WORK = min_work
    od = od_matrix(net, nodes, nodes)
    w = net.weights("travel_time").copy()
    w[:5] *= 2
    od_matrix(net, nodes, nodes, w=w, baseline=od, incremental=True)
    criticality(net, nodes[:3], nodes[3:], progress=False)
print(json.dumps({name: [str(s) for s in f.signatures] for m in (kernels, nearest_repair)
                  for name, f in vars(m).items() if isinstance(f, CPUDispatcher)}))
"""


def test_cli_help_imports_nothing_heavy() -> None:
    code = ("import sys; from routing.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted({'numba', 'osmnx', 'pandas', 'matplotlib', 'dask'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_demo_network_loads_without_osmnx() -> None:
    code = ("import sys; from routing.scenario import Scenario\nScenario.from_file('demo').load_network()\n"
            "print('osmnx' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.slow
def test_each_kernel_compiles_once(tmp_path: Path) -> None:
    """A fresh numba cache (so nested kernels compile too): serial and parallel paths share their
    block functions, and no kernel compiles a second time for other argument types."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", EVERY_KERNEL], capture_output=True, text=True, check=True, env=env)
    signatures = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"index_block", "od_block", "repair_block", "potential", "od_ser", "index_par", "od_par",
            "repair_par"} <= {
        name for name, sigs in signatures.items() if sigs}
    twice = {name: sigs for name, sigs in signatures.items() if len(sigs) > 1}
    assert not twice, twice


DEMO_RUN = """
import json
import sys
from numba.core.registry import CPUDispatcher
from routing.cli import main
from routing.engine import kernels, nearest_repair

assert main(["-q", "run", "demo", "--out", sys.argv[1] + "run"]) == 0
assert main(["-q", "criticality", "demo", "--serial", "--out", sys.argv[1] + "criticality"]) == 0
print(json.dumps(sorted(name for m in (kernels, nearest_repair) for name, f in vars(m).items()
                        if isinstance(f, CPUDispatcher) and f.signatures)))
"""


@pytest.mark.slow
def test_demo_compiles_no_kernel(tmp_path: Path) -> None:
    """``routing run demo`` and ``routing criticality demo`` are small work: interpreted kernels, no
    compile (and no numba cache to load) on a fresh numba cache (routing.engine.jit)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    done = subprocess.run([sys.executable, "-c", DEMO_RUN, str(tmp_path / "out-")], capture_output=True, text=True,
                          check=True, env=env)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_great_circle_m_is_osmnx_great_circle() -> None:
    """The builder's lengths stay bit-identical to osmnx's without importing it."""
    rng = np.random.default_rng(15)
    lat1, lat2 = rng.uniform(-89, 89, (2, 1000))
    lon1, lon2 = rng.uniform(-180, 180, (2, 1000))
    assert np.array_equal(great_circle_m(lat1, lon1, lat2, lon2), ox.distance.great_circle(lat1, lon1, lat2, lon2))
    assert great_circle_m(34.7, 36.7, 34.7, 36.7) == 0.0


def test_console_exits_with_the_command_code(tmp_path: Path) -> None:
    """The ``routing`` entry point (main, then ``os._exit`` with its code after flushing)."""
    command = [sys.executable, "-c", "from routing.cli import console; console()"]
    listed = subprocess.run([*command, "scenarios"], capture_output=True, text=True)
    assert listed.returncode == 0 and "demo-western-syria" in listed.stdout
    missing = subprocess.run([*command, "validate", str(tmp_path / "missing.toml")], capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.startswith("error:")
