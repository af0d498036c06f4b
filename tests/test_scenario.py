"""Scenario files: validation errors name file, field and value; events become a damage mask."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import DEMO_OSM, HOMS_OSM

from routing.cli import main
from routing.errors import CatalogueError, ScenarioError, SelectorError
from routing.scenario import Scenario, apply_events

VALID = f"""
[scenario]
name = "test"
[network]
source = "{DEMO_OSM}"
[places]
od = ["Hama", "Homs"]
[[events]]
date = 2024-12-06
action = "destroy"
asset = "rastan_bridge"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_valid_scenario_parses(tmp_path):
    sc = Scenario.from_file(write(tmp_path, VALID))
    assert sc.name == "test" and sc.events[0].action == "destroy" and sc.od_places == ["Hama", "Homs"]


@pytest.mark.parametrize("old, new, error, field_and_value", [
    ('name = "test"', 'title = "test"', ScenarioError, "scenario.name: missing required field"),
    ('action = "destroy"', 'action = "explode"', ScenarioError, "events[0].action = 'explode': unknown action"),
    ('date = 2024-12-06', 'date = "6 Dec"', ScenarioError, "events[0].date = '6 Dec': expected a TOML date"),
    ('asset = "rastan_bridge"', 'asset = "rastan_brige"', CatalogueError,
     "events[0].asset = 'rastan_brige': unknown asset; did you mean 'rastan_bridge'"),
    ('od = ["Hama", "Homs"]', 'od = ["Hama", "Hooms"]', CatalogueError, "places.od[1] = 'Hooms': unknown place"),
    ('od = ["Hama", "Homs"]', 'od = "Hama"', ScenarioError, "places.od = 'Hama': expected a list"),
    (f'source = "{DEMO_OSM}"', 'source = "missing.osm"', ScenarioError, "network.source = "),
    ('[network]', '[network]\nbbox = [37, 34, 36, 35]', ScenarioError, "network.bbox = [37, 34, 36, 35]"),
    ('[network]', '[network]\nroad_classes = "fast"', ScenarioError, "network.road_classes = 'fast'"),
    ('asset = "rastan_bridge"', 'asset = "rastan_bridge"\nspeed = 3', ScenarioError,
     "events[0].speed = 3: unknown field; did you mean 'speed_factor'?"),
    ('asset = "rastan_bridge"', 'asset = "rastan_bridge"\nselect = {ref = "M5"}', ScenarioError,
     "events[0] = {'asset': 'rastan_bridge', 'select': {'ref': 'M5'}}: give exactly one of 'asset' or 'select'"),
    ('action = "destroy"', 'action = "degrade"\nspeed_factor = 1.5', ScenarioError,
     "events[0].speed_factor = 1.5: out of range"),
    ('action = "destroy"', 'action = "degrade"', ScenarioError, "events[0]: degrade needs speed_factor"),
    ('[places]', '[oops]\nx = 1\n[places]', ScenarioError, "oops = {'x': 1}: unknown top-level key"),
])
def test_invalid_fields_are_named(tmp_path, old, new, error, field_and_value):
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(error) as err:
        Scenario.from_file(path)
    message = str(err.value)
    assert message.startswith(str(path)), message
    assert field_and_value in message, message


def test_deny_area_validation(tmp_path):
    text = VALID.replace('action = "destroy"\nasset = "rastan_bridge"',
                         'action = "deny_area"\narea = [[36, 34], [37, 34]]')
    with pytest.raises(ScenarioError, match=r"events\[0\].area = \[\[36, 34\], \[37, 34\]\]: expected a polygon"):
        Scenario.from_file(write(tmp_path, text))


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="s.toml: not valid TOML"):
        Scenario.from_file(write(tmp_path, "[scenario\nname="))
    with pytest.raises(ScenarioError, match="nothing.toml: scenario file not found"):
        Scenario.from_file(tmp_path / "nothing.toml")


def test_selector_matching_nothing_is_an_error_naming_the_event(tmp_path):
    text = VALID.replace(str(DEMO_OSM), str(HOMS_OSM))  # the real Homs fragment has no Rastan bridge
    sc = Scenario.from_file(write(tmp_path, text))
    from routing.network import load_network

    with pytest.raises(SelectorError, match=r"s.toml: events\[0\] = \{'asset': 'rastan_bridge'\}: matches nothing"):
        apply_events(load_network(HOMS_OSM), sc)


def test_events_apply_as_mask(tmp_path, demo_graph):
    text = VALID + '''
[[events]]
date = 2024-12-08
action = "degrade"
select = { ref = "M1" }
speed_factor = 0.5
capacity_factor = 0.25
[[events]]
date = 2024-12-09
action = "deny_area"
area = { place = "Palmyra", radius_m = 5000 }
'''
    sc = Scenario.from_file(write(tmp_path, text))
    edges_before = demo_graph.number_of_edges()
    damage, outcomes = apply_events(demo_graph, sc)
    assert demo_graph.number_of_edges() == edges_before  # the graph itself is never changed
    bridge = {e for e in demo_graph.edges(keys=True) if demo_graph.edges[e].get("bridge") == "yes"
              and demo_graph.edges[e]["highway"] == "motorway"}  # the Rastan bridge carriageways
    assert bridge and bridge <= damage.removed_edges
    m1 = [e for e, f in damage.speed_factor.items() if f == 0.5]
    assert m1 and all(damage.capacity_factor[e] == 0.25 for e in m1)
    assert all(o.edges + o.nodes > 0 and o.applied for o in outcomes)
    assert any(damage.cause[e].startswith("deny_area") for e in damage.removed_edges)


def test_as_of_skips_later_events(tmp_path, demo_graph):
    text = VALID.replace('name = "test"', 'name = "test"\nas_of = 2024-12-01')
    damage, outcomes = apply_events(demo_graph, Scenario.from_file(write(tmp_path, text)))
    assert not damage.removed_edges and outcomes[0].applied is False


def test_cli_exits_non_zero_with_the_message(tmp_path, capsys):
    path = write(tmp_path, VALID.replace('action = "destroy"', 'action = "explode"'))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "events[0].action = 'explode'" in err
    assert not (tmp_path / "out").exists()


def test_shipped_scenarios_are_valid():
    root = Path(__file__).resolve().parent.parent / "scenarios"
    files = sorted(f for f in root.glob("*.toml") if not f.name.startswith("sweep-"))  # sweeps: test_sweep
    assert {"demo-western-syria.toml", "syria-2024-12-06.toml"} <= {f.name for f in files}
    for f in files:
        assert Scenario.from_file(f).events


def test_catalogue_errors_name_file_field_and_value(tmp_path):
    from routing.scenario import load_catalogue

    bad = tmp_path / "places.toml"
    bad.write_text('[places.Homs]\nlat = 134.7\nlon = 36.7\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"places.toml: places.Homs.lat = 134.7: out of range"):
        load_catalogue(bad)
    bad.write_text('[assets.bridge]\nlabel = "no selector"\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"places.toml: assets.bridge.select: missing required field"):
        load_catalogue(bad)
    with pytest.raises(CatalogueError, match=r"missing.toml: catalogue file not found"):
        load_catalogue(tmp_path / "missing.toml")


def test_a_restrict_event_turns_trucks_away_and_lets_cars_cross(tmp_path, demo_graph):
    from routing.analysis.places import main_component_nodes, snap_places
    from routing.engine import od_matrix
    from routing.run import scenario_network

    text = VALID.replace('action = "destroy"', 'action = "restrict"\nmax_weight_t = 7.5\nlabel = "Rastan bridge 7.5 t"')
    car_sc = Scenario.from_file(write(tmp_path, text))
    truck_sc = Scenario.from_file(write(tmp_path, text.replace("[network]", '[network]\nprofile = "truck"')))
    damage, _ = apply_events(demo_graph, car_sc)
    bridge = {e for e in demo_graph.edges(keys=True) if demo_graph.edges[e].get("bridge") == "yes"
              and demo_graph.edges[e]["highway"] == "motorway"}  # the Rastan bridge carriageways
    assert bridge and set(damage.restricted) == bridge and not damage.removed_edges
    assert all(damage.cause[e] == "restrict: Rastan bridge 7.5 t" for e in bridge)
    times = {}
    for sc in (car_sc, truck_sc):
        net = scenario_network(sc, demo_graph)
        cat = sc.catalogue()
        places = snap_places(net, [cat.place(n) for n in sc.od_places], main_component_nodes(net))
        hama, homs = (int(n) for n in places["node"])
        before, after = od_matrix(net, [hama], [homs]), od_matrix(net, [hama], [homs], damage=damage)
        crosses = bool(bridge & set(after.path(hama, homs))) if np.isfinite(after.time_s[0, 0]) else False
        times[sc.network.profile] = (before.time_s[0, 0], after.time_s[0, 0], crosses)
    car_before, car_after, car_crosses = times["car"]
    truck_before, truck_after, truck_crosses = times["truck"]
    assert car_after == car_before and car_crosses  # a car (1.5 t) still takes the bridge
    assert not truck_crosses and truck_after > truck_before  # a 40 t truck detours or is cut off


def test_shipped_aid_convoy_truck_detours_where_a_car_crosses(tmp_path):
    """The aid-convoy scenario: the 24 t truck is rerouted around the 10 t bridge, ``--profile car``
    crosses it; the reports name the vehicle."""
    import json

    import pandas as pd

    runs = {"truck": [], "car": ["--profile", "car"]}
    od = {}
    for name, extra in runs.items():
        assert main(["run", "aid-convoy-tripoli-homs", "--out", str(tmp_path / name), *extra]) == 0
        table = pd.read_csv(tmp_path / name / "od.csv").set_index(["origin", "destination"])
        od[name] = table.loc[("Tripoli", "Homs")]
        metrics = json.loads((tmp_path / name / "metrics.json").read_text("utf-8"))
        model = metrics["network"]["road_model"]
        assert model["profile"] == name and model["weight_t"] == (24 if name == "truck" else 1.5)
        assert metrics["summary"]["edges_restricted"] == 2
        assert metrics["summary"]["edges_barred_to_vehicle"] == (2 if name == "truck" else 0)
        assert f"vehicle: **{name}**" in (tmp_path / name / "report.md").read_text("utf-8")
    assert od["car"]["status"] == "unchanged"
    assert od["truck"]["status"] == "rerouted" and od["truck"]["damaged_min"] > 2 * od["truck"]["baseline_min"]


def test_a_results_folder_named_like_a_shipped_scenario_does_not_hide_it(tmp_path, monkeypatch):
    """``routing run demo --out demo`` leaves a folder ``demo``; ``demo`` still names the shipped scenario."""
    from routing.scenario import scenario_path, shipped_scenarios

    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").mkdir()
    assert scenario_path("demo") == shipped_scenarios()["demo-western-syria"]
    (tmp_path / "mine.toml").write_text("", encoding="utf-8")
    assert scenario_path("mine.toml") == Path("mine.toml")  # a local file still comes first
