"""Access outputs end to end: `routing run` of the shipped access demo writes the report section,
metrics, GeoPackage layers, maps and map.html layers (drawn in headless Chromium);
`routing criticality --weight population` ranks by persons."""

from __future__ import annotations

import json

import geopandas as gpd
import pyogrio
import pytest

from routing.cli import main
from routing.settings import data_path

DEMO_ACCESS = data_path("scenarios", "access-western-syria.toml")


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("access") / "demo"
    assert main(["-q", "run", str(DEMO_ACCESS), "--out", str(out)]) == 0
    return out


def test_report_metrics_and_layers(demo_out):
    report = (demo_out / "report.md").read_text(encoding="utf-8")
    assert "## Population access to facilities" in report and "### border_crossing" in report
    assert "SCHEMATIC population" in report and "SCHEMATIC NETWORK" in report
    assert "![access_hospital.png](access_hospital.png)" in report and "### Per area" in report
    metrics = json.loads((demo_out / "metrics.json").read_text(encoding="utf-8"))
    access = metrics["access"]
    assert access["population_layer"]["total"] == 4_590_000
    summary = {(r["facility"], r["state"]): r for r in access["summary"]}
    assert summary[("hospital", "damaged")]["no_access"] > summary[("hospital", "baseline")]["no_access"]
    layers = {name for name, _ in pyogrio.list_layers(demo_out / "routes.gpkg")}
    assert {"access_hospital", "access_border_crossing", "access_facilities"} <= layers
    nodes = gpd.read_file(demo_out / "routes.gpkg", layer="access_hospital")
    assert nodes["population"].sum() == pytest.approx(access["population_layer"]["snapped"])
    assert (nodes["data_notice"].str.startswith("SCHEMATIC")).all()
    assert (demo_out / "access_hospital.png").stat().st_size > 20_000
    html = (demo_out / "map.html").read_text(encoding="utf-8")
    assert "Access to hospital before" in html and "border_crossing facilities" in html


def test_criticality_weighted_by_population(tmp_path, capsys):
    out = tmp_path / "crit"
    code = main(["-q", "criticality", str(DEMO_ACCESS), "--weight", "population", "--facility", "hospital",
                 "--threshold-min", "60", "--serial", "--out", str(out)])
    assert code == 0
    text = (out / "criticality.md").read_text(encoding="utf-8")
    assert "## Population-weighted criticality" in text and "persons losing ≤ 60 min" in text
    table = __import__("pandas").read_csv(out / "criticality.csv")
    assert table["population_losing_access"].is_monotonic_decreasing
    assert table["population_losing_access"].iloc[0] > 0
    assert (out / "criticality.png").exists()
    code = main(["-q", "criticality", str(DEMO_ACCESS), "--weight", "population", "--facility", "clinic",
                 "--serial", "--out", str(tmp_path / "x")])
    assert code == 2 and "no such facility type" in capsys.readouterr().err


def test_map_html_access_layers_draw_offline(demo_out, tmp_path):
    from test_browser import TILE_HOST, chromium  # skips (fails on CI) without Chromium

    with chromium(demo_out / "map.html", tmp_path) as driver:
        labels = [e.text.strip() for e in driver.find_elements("css selector",
                                                                ".leaflet-control-layers-overlays label")]
        assert {"Access to hospital before", "Access to hospital after", "hospital facilities"} <= set(labels)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
                  and not (e["source"] == "network" and TILE_HOST in e["message"])]
        assert errors == []
        # the "after" layer is shown: one circle per populated road node (black = no hospital reachable)
        black = driver.execute_script(
            "return document.querySelectorAll(`.leaflet-overlay-pane svg path[fill='#000000']`).length")
        assert black >= 1
