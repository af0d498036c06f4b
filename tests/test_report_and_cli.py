"""What the report, metrics.json and the command line say: the as-of date, the evacuation set-up
check, the wording of ratios and defaults, validate --resolve, help texts and progress bars."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tomllib

import pytest
from conftest import ANDORRA_SCENARIO, DEMO_SCENARIO

from routing import run_scenario
from routing.analysis.places import check_evacuation_areas
from routing.cli import build_parser, main, progress_bar
from routing.errors import InputError
from routing.outputs.report import markdown, metrics
from routing.scenario import EvacuationSpec, Scenario, load_catalogue


@pytest.fixture(scope="module")
def dec5():
    """The demo as of 5 December: none of its 6 December events applies."""
    return run_scenario(dataclasses.replace(Scenario.from_file(DEMO_SCENARIO), as_of=dt.date(2024, 12, 5)))


def test_as_of_in_title_block_and_metrics(dec5):
    text = markdown(dec5, [])
    head = text.split("## Network")[0]
    assert "As of 2024-12-05: 0 of 3 events applied; not applied (dated later): destroy Rastan bridge" in head
    assert "describes the full scenario, not these results" in head
    m = metrics(dec5)["scenario"]
    assert m["as_of"] == "2024-12-05" and m["events_applied"] == 0 and m["events_total"] == 3
    assert m["events_not_applied"][0]["name"] == "Rastan bridge (M5 over the Orontes)"
    assert m["description_covers_events_not_applied"] is True
    assert dec5.summary()["edges_removed"] == 0


def test_as_of_is_logged(tmp_path, caplog):
    with caplog.at_level("INFO", logger="routing"):
        assert main(["run", "demo", "--as-of", "2024-12-05", "--no-maps", "--out", str(tmp_path / "r")]) == 0
    assert "As of 2024-12-05: 0 of 3 events applied" in caplog.text


def test_report_wording():
    toml = tomllib.loads(DEMO_SCENARIO.read_text(encoding="utf-8"))
    toml["capacity"] = {"per_lane_vph": {"motorway": 1800}}
    result = run_scenario(Scenario.from_dict(toml, path=DEMO_SCENARIO))
    text = markdown(result, [])
    assert "travel time × (after / before)" in text and "detour ×" not in text
    assert "| motorway | 90 | 2 | 1800 * |" in text and "| motorway | 90 | 2 | 2000 |" not in text
    assert "{'motorway'" not in text  # no Python dict
    assert "| way id (schematic, not OSM) |" in text and "OSM way" not in text
    cut = text.split("## Evacuation routes")[1]
    assert "Arida border crossing (Syria–Lebanon, coastal road)" in cut
    assert metrics(result)["defaults"]["road_classes"]["motorway"]["capacity_per_lane_vph"] == 1800


def test_evacuation_areas_that_overlap_are_refused_and_close_ones_warned():
    cat = load_catalogue()
    warnings = check_evacuation_areas(EvacuationSpec("Homs", 8000, 3000, destinations=("Talbiseh", "Tartus")), cat)
    assert len(warnings) == 1 and "Talbiseh" in warnings[0] and "shrink origin_radius_m or destination_radius_m" \
        in warnings[0]
    with pytest.raises(InputError, match=r"evacuation.origin_radius_m = 10000.*overlap by 0.6 km.*shrink "
                                         r"origin_radius_m or destination_radius_m"):
        check_evacuation_areas(EvacuationSpec("Homs", 10000, 3000, destinations=("Talbiseh",)), cat)
    # a border crossing is a point: only the origin radius can be shrunk
    with pytest.raises(InputError, match=r"shrink origin_radius_m$"):
        check_evacuation_areas(EvacuationSpec("Homs", 40000, 3000, destinations=("Jousiyeh crossing",)), cat)


def test_close_areas_warn_in_the_report():
    toml = tomllib.loads(DEMO_SCENARIO.read_text(encoding="utf-8"))
    toml["evacuation"]["destinations"] = ["Tartus", "Talbiseh"]
    result = run_scenario(Scenario.from_dict(toml, path=DEMO_SCENARIO))
    assert any("Talbiseh" in w for w in result.warnings)
    assert "> **Warning:** evacuation: the origin area (8 km around Homs) and destination Talbiseh" in \
        markdown(result, [])


def test_version_and_help_for_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("corridor-routing ")
    parser = build_parser()
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, action.option_strings
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        for action in command._actions:
            assert action.help, (name, action.dest)
    run_help = " ".join(sub.choices["run"].format_help().split())
    assert "./results/<SCENARIO's file name without .toml>" in run_help and "results/demo" in run_help
    assert ".osm.pbf" in sub.choices["validate"].format_help() and "--map" in sub.choices["validate"].format_help()


def test_progress_bars_only_on_a_terminal_or_when_asked(monkeypatch):
    args = build_parser().parse_args(["run", "demo"])
    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert not progress_bar(args)
    assert progress_bar(build_parser().parse_args(["--progress", "run", "demo"]))
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert progress_bar(args) and not progress_bar(build_parser().parse_args(["-q", "run", "demo"]))


def test_validate_resolve_shows_what_each_event_and_asset_matches(capsys, tmp_path):
    assert main(["validate", str(DEMO_SCENARIO), "--resolve", "--map", str(tmp_path / "m.html")]) == 0
    out = capsys.readouterr().out
    assert "events[0] destroy: Rastan bridge (M5 over the Orontes) (2024-12-06): 2 edges, 0 nodes" in out
    assert "roads: M5 Aleppo-Damascus International Highway (bridge)" in out
    assert "way ids (schematic, not OSM): -19, -20" in out and "bbox (w, s, e, n): 36.7" in out
    assert "1 node," in out and "1 nodes" not in out
    assert "asset m5_highway: M5 highway" in out
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert "events[0] destroy: Rastan bridge" in page and "Leaflet" in page


def test_validate_prints_nothing_before_an_error(tmp_path, capsys):
    text = DEMO_SCENARIO.read_text(encoding="utf-8").replace(
        'source = "../demo/western-syria-schematic.osm"',
        f'source = "{(DEMO_SCENARIO.parent.parent / "demo" / "western-syria-schematic.osm").as_posix()}"')
    text += '\n[[events]]\naction = "destroy"\nselect = { ref = "Z99" }\nlabel = "No such road"\n'
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    assert main(["validate", str(tmp_path / "s.toml"), "--resolve"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "events[3]" in captured.err


def test_andorra_real_data_showcase(tmp_path):
    """The real-data scenario: the French border cut off by the closed crossing only, the Spanish
    border reached around the destroyed bridge."""
    out = tmp_path / "andorra"
    assert main(["-q", "run", str(ANDORRA_SCENARIO), "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert "© OpenStreetMap contributors" in m["data_notice"] and not m["schematic_network"]
    evac = {r["destination"]: r for r in m["evacuation_routes"]}
    france = evac["French border (N 22, Pas de la Casa)"]
    spain = evac["Spanish border (La Farga de Moles)"]
    assert not france["damaged_reachable"] and france["cut_by"] == "Pas de la Casa crossing (N 22 into France)"
    assert spain["damaged_reachable"] and spain["damaged_min"] > spain["baseline_min"]
    assert m["warnings"] == []
    assert {p.name for p in out.iterdir()} >= {"map_before.png", "map_after.png", "map_compare.png", "map.html"}
