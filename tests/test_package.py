"""The package as a user installs it: light import, data shipped inside, commands from any folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import routing
from routing.scenario import Scenario, shipped_scenarios
from routing.settings import data_path

HEAVY = ("numba", "osmnx", "dask", "matplotlib", "geopandas", "folium", "scipy")


def test_import_routing_is_light() -> None:
    code = "import routing, sys, json; print(json.dumps(sorted(m for m in sys.modules if '.' not in m)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_public_names_resolve() -> None:
    for name in routing.__all__:
        assert getattr(routing, name) is not None, name
    assert routing.od_matrix.__module__ == "routing.engine.od"


def test_package_data_is_inside_the_package() -> None:
    package = Path(routing.__file__).parent
    for path in (data_path("places.toml"), data_path("demo", "western-syria-schematic.osm")):
        assert path.is_file() and package in path.parents
    shipped = shipped_scenarios()
    assert {"demo-western-syria", "sweep-western-syria", "syria-2024-12-06"} <= set(shipped)
    assert all(package in p.parents for p in shipped.values())
    assert Scenario.from_file("demo").path == shipped["demo-western-syria"]


def test_cli_runs_the_demo_by_name_from_another_folder(tmp_path: Path) -> None:
    env_code = ("import sys; from routing.cli import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", env_code, "-q", "run", "demo", "--out", "res", "--no-maps"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "res" / "metrics.json").read_text("utf-8"))
    assert metrics["schematic_network"] is True and metrics["summary"]["od_pairs"] == 90
    listing = subprocess.run([sys.executable, "-c", env_code, "scenarios"], cwd=tmp_path, capture_output=True,
                             text=True, check=True).stdout
    assert "demo-western-syria" in listing and "sweep-western-syria" in listing
    version = subprocess.run([sys.executable, "-c", env_code, "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"corridor-routing {routing.__version__}"


def test_every_data_file_is_declared_package_data() -> None:
    """A wheel carries only the files ``[tool.setuptools.package-data]`` names (the shipped
    scenarios read CSV and GeoJSON layers beside the demo network)."""
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parent.parent
    patterns = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["routing"]
    package = root / "routing"
    files = [p.relative_to(package).as_posix() for p in (package / "data").rglob("*") if p.is_file()]
    missing = [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
    assert files and missing == []
