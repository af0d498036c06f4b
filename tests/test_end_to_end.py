"""The README's main job: `routing run` on the demo scenario, outputs, and the Dec-6 findings."""

from __future__ import annotations

import json

import geopandas as gpd
import pyogrio
import pytest
from conftest import DEMO_SCENARIO

from routing import run_scenario, write_outputs
from routing.cli import main
from routing.errors import InputError
from routing.files import RESULTS_MARKER
from routing.outputs import maps as maps_module


@pytest.fixture(scope="module")
def demo_result():
    return run_scenario(DEMO_SCENARIO)


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "demo"
    assert main(["-q", "run", str(DEMO_SCENARIO), "--out", str(out)]) == 0
    return out


def row(result, origin, destination):
    od = result.od
    return od[(od.origin == origin) & (od.destination == destination)].iloc[0]


def test_hama_homs_rerouted_off_the_rastan_bridge_with_a_detour(demo_result):
    r = row(demo_result, "Hama", "Homs")
    assert "rastan_bridge" in r.baseline_assets and "rastan_bridge" not in r.damaged_assets
    assert r.damaged_reachable and r.status == "rerouted"
    assert r.detour_ratio > 1.3 and r.damaged_km > r.baseline_km


def test_homs_reaches_lebanon_without_arida_or_jousiyeh(demo_result):
    r = row(demo_result, "Homs", "Tripoli")
    assert r.damaged_reachable
    assert "arida_crossing" not in r.damaged_assets and "jousiyeh_crossing" not in r.damaged_assets
    assert "dabbousieh_crossing" in r.damaged_assets
    ev = demo_result.evacuation.set_index("destination")
    assert not ev.loc["Arida crossing", "damaged_reachable"] and not ev.loc["Jousiyeh crossing", "damaged_reachable"]
    assert ev.loc["Tartus", "damaged_reachable"] and ev.loc["Latakia", "damaged_reachable"]
    assert ev.loc["Arida crossing", "cut_by"] == "Arida border crossing (Syria–Lebanon, coastal road)"


def test_evacuation_alternatives_are_distinct_and_ordered(demo_result):
    for dest in ("Tartus", "Latakia"):
        alts = [r for r in demo_result.evacuation_routes if r.destination == dest and r.state == "damaged"]
        assert alts[0].rank == 1 and len(alts) >= 2
        assert alts[0].travel_time_s <= min(a.travel_time_s for a in alts)
        assert len({tuple(a.edges) for a in alts}) == len(alts)


def test_outputs_are_complete_and_labelled_schematic(demo_out):
    names = {p.name for p in demo_out.iterdir()}
    assert {"report.md", "metrics.json", "routes.gpkg", "od.csv", "map_before.png", "map_after.png",
            "map_compare.png", RESULTS_MARKER} <= names
    report = (demo_out / "report.md").read_text("utf-8")
    assert "SCHEMATIC NETWORK" in report and "NOT OpenStreetMap data" in report
    assert "| Hama | Homs |" in report
    metrics = json.loads((demo_out / "metrics.json").read_text("utf-8"))
    assert metrics["schematic_network"] is True and "SCHEMATIC" in metrics["data_notice"]
    assert metrics["summary"]["edges_removed"] > 0 and metrics["defaults"]["persons_per_vehicle"] == 3.0
    assert metrics["defaults"]["profiles"]["car"]["signal_delay_s"] == metrics["network"]["road_model"][
        "signal_delay_s"] == 2.0
    assert "2 s per traffic signal passed" in report and "Each traffic signal passed adds 2 s" in report
    layers = {name for name, _ in pyogrio.list_layers(demo_out / "routes.gpkg")}
    assert {"places", "routes_baseline", "routes_damaged", "evacuation_routes", "damaged_edges"} <= layers
    damaged = gpd.read_file(demo_out / "routes.gpkg", layer="damaged_edges")
    assert set(damaged["effect"]) == {"removed"} and damaged["data_notice"].str.contains("SCHEMATIC").all()
    assert (damaged["bridge"] == "yes").sum() >= 2  # both carriageways of the bridge
    for png in ("map_before.png", "map_after.png", "map_compare.png"):
        data = (demo_out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_rerun_replaces_results_folder_whole(demo_out):
    (demo_out / "stale.txt").write_text("from an older run")
    assert main(["-q", "run", str(DEMO_SCENARIO), "--out", str(demo_out), "--no-maps"]) == 0
    assert not (demo_out / "stale.txt").exists() and (demo_out / "report.md").exists()


def test_failure_mid_write_leaves_previous_results_intact(tmp_path, monkeypatch, demo_result):
    out = tmp_path / "res"
    write_outputs(demo_result, out, maps=False)
    before = (out / "report.md").read_text("utf-8")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(maps_module, "write_maps", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_outputs(demo_result, out)
    assert (out / "report.md").read_text("utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".res.lock", "res"]  # no temporary folder left behind


def test_refuses_to_overwrite_a_folder_it_did_not_write(tmp_path, demo_result, capsys):
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.md").write_text("precious")
    with pytest.raises(InputError, match="thesis: folder exists and was not written by corridor-routing"):
        write_outputs(demo_result, foreign, maps=False)
    assert main(["-q", "run", str(DEMO_SCENARIO), "--out", str(foreign)]) == 2
    assert "was not written by corridor-routing" in capsys.readouterr().err
    assert [p.name for p in foreign.iterdir()] == ["chapter1.md"]


def test_geodataframe_accessors(demo_result):
    routes = demo_result.routes_gdf()
    assert routes.crs.to_epsg() == 4326 and set(routes["state"]) == {"baseline", "damaged"}
    assert (routes["km"] > 0).all()
    assert len(demo_result.places_gdf()) == len(demo_result.places)
    assert "<table" in demo_result._repr_html_() and "SCHEMATIC" in demo_result._repr_html_()


def test_real_osm_fragment_scenario_is_not_labelled_schematic(tmp_path):
    from conftest import ROOT

    out = tmp_path / "frag"
    assert main(["-q", "run", str(ROOT / "scenarios" / "homs-fragment-real-osm.toml"), "--out", str(out),
                 "--no-maps"]) == 0
    report = (out / "report.md").read_text("utf-8")
    assert "SCHEMATIC" not in report and "OpenStreetMap contributors" in report
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    statuses = {r["status"] for r in metrics["od"]}
    assert {"rerouted", "slower"} <= statuses  # the cut forces detours; the degraded road 3 is slower
    slower = [r for r in metrics["od"] if r["status"] == "slower"]
    assert all(r["damaged_km"] == pytest.approx(r["baseline_km"]) and r["damaged_min"] > r["baseline_min"]
               for r in slower)


def test_evacuation_capacity_in_every_output(demo_result, demo_out):
    before, after = demo_result.evacuation_capacity["baseline"], demo_result.evacuation_capacity["damaged"]
    assert 0 < after.max_flow_vph < before.max_flow_vph  # the crossings carried flow before
    assert after.destination_flow_vph["Jousiyeh crossing"] == 0 < before.destination_flow_vph["Jousiyeh crossing"]
    assert sum(b.capacity_vph for b in after.bottleneck) == after.max_flow_vph
    assert after.clearance_hours[280_000] > before.clearance_hours[280_000]
    metrics = json.loads((demo_out / "metrics.json").read_text("utf-8"))
    cap = metrics["evacuation_capacity"]
    assert cap["damaged"]["max_flow_persons_per_hour"] == after.max_flow_vph * 3.0
    assert cap["baseline"]["clearance_hours"]["1500000"] > cap["baseline"]["clearance_hours"]["280000"]
    report = (demo_out / "report.md").read_text("utf-8")
    assert "## Evacuation capacity from Homs" in report and "Bottleneck after damage" in report
    flows = gpd.read_file(demo_out / "routes.gpkg", layer="evacuation_flow_after")
    assert flows["flow_vph"].max() <= flows["capacity_vph"].max() and (flows["flow_vph"] > 0).all()


def test_capacity_overrides_and_origin_polygon_change_the_flow(tmp_path):
    text = DEMO_SCENARIO.read_text("utf-8").replace("../demo/", str(DEMO_SCENARIO.parent.parent / "demo") + "/")
    base = run_scenario(_write(tmp_path / "a.toml", text)).evacuation_capacity["baseline"]
    boosted_text = text.replace("[evacuation]",
                                "[capacity]\nper_lane_vph = { trunk = 3000, primary = 3000 }\n\n[evacuation]")
    boosted = run_scenario(_write(tmp_path / "b.toml", boosted_text)).evacuation_capacity["baseline"]
    assert boosted.max_flow_vph > base.max_flow_vph
    polygon = text.replace("origin_radius_m = 8000",
                           "origin_area = { bbox = [36.5, 34.6, 36.9, 34.9] }")
    wide = run_scenario(_write(tmp_path / "c.toml", polygon)).evacuation_capacity["baseline"]
    assert len(wide.origin_nodes) > len(base.origin_nodes)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_outputs_have_ordinary_permissions(demo_out):
    assert (demo_out / "metrics.json").stat().st_mode & 0o044 == 0o044  # group/other may read
    assert demo_out.stat().st_mode & 0o055 == 0o055
