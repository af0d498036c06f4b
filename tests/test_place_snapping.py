"""Places far from the network, and OD places on parts of the network that do not connect, are
errors naming the place, the distance and the parts (issue 11, item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.cli import main
from routing.errors import ScenarioError
from routing.run import run_scenario
from routing.scenario import Scenario

# Two islands 0.5 degrees apart (about 45 km): after simplification 4 nodes in the west (1, 3, 4, 5),
# 2 in the east (11, 13).
ISLANDS_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="35.000" lon="36.000"/><node id="2" lat="35.000" lon="36.010"/>
  <node id="3" lat="35.000" lon="36.020"/><node id="4" lat="35.010" lon="36.020"/>
  <node id="11" lat="35.000" lon="36.500"/><node id="12" lat="35.000" lon="36.510"/>
  <node id="13" lat="35.000" lon="36.520"/><node id="5" lat="35.000" lon="36.030"/>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><tag k="highway" v="primary"/></way>
  <way id="300"><nd ref="3"/><nd ref="5"/><tag k="highway" v="primary"/></way>
  <way id="200"><nd ref="11"/><nd ref="12"/><nd ref="13"/><tag k="highway" v="primary"/></way>
</osm>
"""


def scenario(tmp_path: Path, places: str, od: list[str], extra: str = "") -> Path:
    (tmp_path / "islands.osm").write_text(ISLANDS_OSM, encoding="utf-8")
    path = tmp_path / "s.toml"
    path.write_text(f'[scenario]\nname = "islands"\n[network]\nsource = "islands.osm"\n[places]\n'
                    f'od = {od!r}\n{extra}[places.custom]\n{places}', encoding="utf-8")
    return path


WEST = 'West = { lat = 35.001, lon = 36.000 }\n'  # 111 m from node 1
WEST2 = 'West2 = { lat = 35.011, lon = 36.020 }\n'
EAST = 'East = { lat = 35.001, lon = 36.500 }\n'
SEA = 'Sea = { lat = 34.6, lon = 36.0 }\n'  # 44 km south of every road


def test_places_on_separate_islands_name_the_parts(tmp_path, capsys):
    path = scenario(tmp_path, WEST + EAST, ["West", "East"])
    with pytest.raises(ScenarioError) as err:
        run_scenario(Scenario.from_file(path))
    message = str(err.value)
    assert message.startswith(f"{path}: places.od = ['West', 'East']: no two OD places are connected"), message
    assert "East on part 2 (2 nodes)" in message and "West on part 1, the largest (4 nodes)" in message
    assert main(["-q", "run", str(path), "--out", str(tmp_path / "out")]) == 2
    err_text = capsys.readouterr().err
    assert "no two OD places are connected" in err_text and "Traceback" not in err_text
    assert not (tmp_path / "out").exists()


def test_a_place_far_at_sea_is_an_error_with_its_distance(tmp_path):
    path = scenario(tmp_path, WEST + WEST2 + SEA, ["West", "West2", "Sea"])
    with pytest.raises(ScenarioError, match=r"s.toml: places.od\[2\] = 'Sea': 44.5 km from the network "
                                            r"\(limit max_snap_m = 5,000 m\): check its coordinates"):
        run_scenario(Scenario.from_file(path))


def test_a_place_near_a_separate_part_says_so(tmp_path):
    path = scenario(tmp_path, WEST + WEST2 + EAST, ["West", "West2", "East"])
    with pytest.raises(ScenarioError, match=r"places.od\[2\] = 'East': 4\d.\d km from the network .*its nearest "
                                            r"road \(0.1 km\) is on a separate part of the network \(2 nodes\)"):
        run_scenario(Scenario.from_file(path))


def test_snap_limit_per_scenario_and_per_place(tmp_path):
    path = scenario(tmp_path, WEST + WEST2 + SEA, ["West", "West2", "Sea"], extra="max_snap_m = 50000\n")
    result = run_scenario(Scenario.from_file(path))  # the scenario allows 50 km: Sea snaps (with a warning)
    assert result.places.set_index("name").loc["Sea", "snap_warning"]
    tight = WEST.replace("}", ", max_snap_m = 10 }")  # West is about 120 m from its road
    path = scenario(tmp_path, tight + WEST2, ["West", "West2"], extra="max_snap_m = 50000\n")
    with pytest.raises(ScenarioError, match=r"places.od\[0\] = 'West': 0.1 km from the network \(limit max_snap_m "
                                            r"= 10 m\)"):
        run_scenario(Scenario.from_file(path))


# A T junction: way 100 (1-2-3) and way 400 (3-4) meet way 300 (3-5), and turn restrictions forbid
# entering way 300 from either. Node 5 is on the roads' largest part but no legal route reaches it.
RESTRICTED_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="35.000" lon="36.000"/><node id="2" lat="35.000" lon="36.010"/>
  <node id="3" lat="35.000" lon="36.020"/><node id="4" lat="35.000" lon="36.040"/>
  <node id="5" lat="34.990" lon="36.020"/>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/></way>
  <way id="400"><nd ref="3"/><nd ref="4"/><tag k="highway" v="primary"/></way>
  <way id="300"><nd ref="3"/><nd ref="5"/><tag k="highway" v="primary"/></way>
  <relation id="901"><member type="way" ref="100" role="from"/><member type="node" ref="3" role="via"/>
    <member type="way" ref="300" role="to"/><tag k="type" v="restriction"/><tag k="restriction" v="no_right_turn"/>
  </relation>
  <relation id="902"><member type="way" ref="400" role="from"/><member type="node" ref="3" role="via"/>
    <member type="way" ref="300" role="to"/><tag k="type" v="restriction"/><tag k="restriction" v="no_left_turn"/>
  </relation>
</osm>
"""


def test_a_place_near_a_road_no_legal_route_reaches_says_so(tmp_path):
    (tmp_path / "t.osm").write_text(RESTRICTED_OSM, encoding="utf-8")
    path = tmp_path / "s.toml"
    path.write_text('[scenario]\nname = "t"\n[network]\nsource = "t.osm"\n[places]\nod = ["West", "East", "South"]\n'
                    'max_snap_m = 500\n[places.custom]\nWest = { lat = 35.001, lon = 36.000 }\n'
                    'East = { lat = 35.001, lon = 36.040 }\nSouth = { lat = 34.989, lon = 36.020 }\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"places.od\[2\] = 'South': 1.\d km from the network .*its nearest road "
                                            r"\(0.1 km\) has no legal route to or from the rest"):
        run_scenario(Scenario.from_file(path))
