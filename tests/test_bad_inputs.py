"""Every bad input is refused in one line naming file, field and value, with exit code 2 and no
traceback: scenario files, sweep files, network files, command-line arguments, environment.

Each case builds its input in a fresh folder and gives the command line and the fragments the
one-line message must contain (the file, the field, the value as written in the message)."""

from __future__ import annotations

import gzip
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import DEMO_OSM, DEMO_SCENARIO, DEMO_SCENARIO_HEAD, HOMS_OSM

from routing.cli import main
from routing.network import load_network, save_graphml

VALID = DEMO_SCENARIO_HEAD + """[[events]]
date = 2024-12-06
action = "destroy"
asset = "rastan_bridge"
"""

SWEEP = f"""[sweep]
base = "{DEMO_SCENARIO}"
draws = 10
seed = 1
[[sweep.assets]]
asset = "rastan_bridge"
failure_probability = 0.5
"""


@dataclass
class Case:
    """One bad input: ``make(folder)`` writes the files and returns the command line; the
    message must contain every fragment of ``expect(folder)``."""

    make: Callable[[Path], list[str]]
    expect: Callable[[Path], list[str]]
    env: dict[str, str] = field(default_factory=dict)


def scenario_edit(old: str, new: str, fld: str, value: str, command: str = "validate") -> Case:
    """VALID with ``old`` replaced by ``new`` (``old`` empty: ``new`` appended)."""
    text = VALID + new if not old else VALID.replace(old, new, 1)
    assert not old or old in VALID, old

    def make(d: Path) -> list[str]:
        (d / "s.toml").write_text(text, encoding="utf-8")
        return [command, str(d / "s.toml")] + (["--out", str(d / "out"), "--no-maps"] if command == "run" else [])
    return Case(make, lambda d: [f"{d / 's.toml'}: ", fld, value])


def sweep_edit(old: str, new: str, fld: str, value: str) -> Case:
    text = SWEEP + new if not old else SWEEP.replace(old, new, 1)
    assert not old or old in SWEEP, old

    def make(d: Path) -> list[str]:
        (d / "sw.toml").write_text(text, encoding="utf-8")
        return ["sweep", str(d / "sw.toml"), "--serial", "--out", str(d / "out")]
    return Case(make, lambda d: [f"{d / 'sw.toml'}: ", fld, value])


def network_file(name: str, content: bytes | Callable[[], bytes], fld: str, value: str) -> Case:
    """The demo scenario run on a bad network file ``name``."""
    def make(d: Path) -> list[str]:
        (d / name).write_bytes(content() if callable(content) else content)
        return ["run", str(DEMO_SCENARIO), "--network", str(d / name), "--out", str(d / "out"), "--no-maps"]
    return Case(make, lambda d: [f"{d / name}: ", fld, value])


def files(contents: dict[str, str | bytes], argv: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
    """Write ``contents`` (relative path -> text or bytes) into the case folder, then give ``argv``."""
    def make(d: Path) -> list[str]:
        for name, content in contents.items():
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                (d / name).write_bytes(content)
            else:
                (d / name).write_text(content, encoding="utf-8")
        return argv(d)
    return make


def cli(argv: Callable[[Path], list[str]], expect: Callable[[Path], list[str]], env: dict | None = None) -> Case:
    return Case(argv, expect, env or {})


OSM_TWO_NODES = ('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="{lat}" lon="36"/>'
                 '<node id="2" lat="34" lon="36.1"/><way id="5"><nd ref="1"/><nd ref="2"/>'
                 '<tag k="highway" v="primary"/></way></osm>')


def overpass(lat: object = 34.0, tags: object = None) -> bytes:
    return json.dumps({"elements": [
        {"type": "node", "id": 1, "lat": lat, "lon": 36.0}, {"type": "node", "id": 2, "lat": 34.1, "lon": 36.0},
        {"type": "way", "id": 3, "nodes": [1, 2], "tags": tags or {"highway": "primary"}}]}).encode()


def graphml(edit: Callable[[str, dict[str, str]], str]) -> Callable[[], bytes]:
    """The demo network saved as GraphML, then edited (``edit(text, attribute -> key id)``)."""
    def make() -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            save_graphml(load_network(DEMO_OSM), Path(tmp) / "g.graphml")
            text = (Path(tmp) / "g.graphml").read_text(encoding="utf-8")
        keys = {name: key for key, name in re.findall(r'<key id="(d\d+)" for="\w+" attr.name="([^"]+)"', text)}
        return edit(text, keys).encode()
    return make


def first_value(text: str, key: str, new: Callable[[str], str]) -> str:
    return re.sub(rf'(<data key="{key}">)([^<]*)(</data>)', lambda m: m[1] + new(m[2]) + m[3], text, count=1)


ISLANDS = ('<?xml version="1.0"?><osm version="0.6">'
           '<node id="1" lat="35.0" lon="36.0"/><node id="2" lat="35.0" lon="36.02"/>'
           '<node id="11" lat="35.0" lon="36.5"/><node id="12" lat="35.0" lon="36.52"/>'
           '<way id="100"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/></way>'
           '<way id="200"><nd ref="11"/><nd ref="12"/><tag k="highway" v="primary"/></way></osm>')


def islands(places: str, od: str) -> Case:
    def make(d: Path) -> list[str]:
        (d / "islands.osm").write_text(ISLANDS, encoding="utf-8")
        (d / "s.toml").write_text(f'[scenario]\nname = "i"\n[network]\nsource = "islands.osm"\n[places]\nod = {od}\n'
                                  f'[places.custom]\n{places}', encoding="utf-8")
        return ["run", str(d / "s.toml"), "--out", str(d / "out"), "--no-maps"]
    return make


CASES: dict[str, Case] = {
    # ---- scenario files: numbers
    "speed nan": scenario_edit('action = "destroy"', 'action = "degrade"\nspeed_factor = nan',
                               "events[0].speed_factor", "= nan"),
    "speed inf": scenario_edit('action = "destroy"', 'action = "degrade"\nspeed_factor = inf',
                               "events[0].speed_factor", "= inf"),
    "speed bool": scenario_edit('action = "destroy"', 'action = "degrade"\nspeed_factor = true',
                                "events[0].speed_factor", "= True"),
    "capacity negative": scenario_edit('action = "destroy"', 'action = "degrade"\ncapacity_factor = -0.5',
                                       "events[0].capacity_factor", "= -0.5"),
    "capacity above 1": scenario_edit('action = "destroy"', 'action = "degrade"\ncapacity_factor = 1.5',
                                      "events[0].capacity_factor", "= 1.5"),
    "origin radius nan": scenario_edit('origin = "Homs"', 'origin = "Homs"\norigin_radius_m = nan',
                                       "evacuation.origin_radius_m", "= nan"),
    "per lane nan": scenario_edit("", "[capacity]\nper_lane_vph = { motorway = nan }\n",
                                  "capacity.per_lane_vph.motorway", "= nan"),
    "per lane bool": scenario_edit("", "[capacity]\nper_lane_vph = { motorway = true }\n",
                                   "capacity.per_lane_vph.motorway", "= True"),
    "populations bool": scenario_edit('origin = "Homs"', 'origin = "Homs"\npopulations = [true]',
                                      "evacuation.populations[0]", "= True"),
    "alternatives 0": scenario_edit('origin = "Homs"', 'origin = "Homs"\nalternatives = 0',
                                    "evacuation.alternatives", "= 0"),
    "alternatives float": scenario_edit('origin = "Homs"', 'origin = "Homs"\nalternatives = 2.5',
                                        "evacuation.alternatives", "= 2.5"),
    "horizon inf": scenario_edit('origin = "Homs"', 'origin = "Homs"\nhorizon_hours = inf',
                                 "evacuation.horizon_hours", "= inf"),
    # ---- scenario files: unknown keys, every table
    "unknown top-level": scenario_edit("", "[oops]\nx = 1\n", "oops", "= {'x': 1}"),
    "unknown in scenario": scenario_edit('name = "test"', 'name = "test"\ntitel = "x"',
                                        "scenario.titel", "= 'x'"),
    "unknown in network": scenario_edit("[network]", "[network]\nbox = [36, 34, 37, 35]",
                                        "network.box", "= [36, 34, 37, 35]"),
    "unknown in places": scenario_edit('od = ["Hama", "Homs"]', 'od = ["Hama", "Homs"]\nods = ["Hama"]',
                                       "places.ods", "= ['Hama']"),
    "unknown in capacity": scenario_edit("", "[capacity]\nper_lane = { motorway = 1 }\n",
                                         "capacity.per_lane", "= {'motorway': 1}"),
    "unknown in evacuation": scenario_edit('origin = "Homs"', 'origin = "Homs"\norigins = "Hama"',
                                           "evacuation.origins", "= 'Hama'"),
    "unknown in event": scenario_edit('asset = "rastan_bridge"', 'asset = "rastan_bridge"\nspeed = 3',
                                      "events[0].speed", "= 3"),
    "unknown in vehicle": scenario_edit("[network]", '[network]\nprofile = "truck"\nvehicle = { wieght_t = 3 }',
                                        "network.vehicle.wieght_t", "= 3"),
    "unknown in custom place": scenario_edit("", '[places.custom]\nX = { lat = 34.7, lon = 36.7, pop = 3 }\n',
                                             "places.custom.X.pop", "= 3"),
    "unknown selector key": scenario_edit('asset = "rastan_bridge"', 'select = { refs = "M1" }',
                                          "events[0].select.refs", "= 'M1'"),
    # ---- scenario files: types, ranges, coordinates, dates, names
    "action unknown": scenario_edit('action = "destroy"', 'action = "explode"', "events[0].action", "= 'explode'"),
    "date string": scenario_edit("date = 2024-12-06", 'date = "6 Dec"', "events[0].date", "= '6 Dec'"),
    "as_of string": scenario_edit('name = "test"', 'name = "test"\nas_of = "2024-12-06"',
                                  "scenario.as_of", "= '2024-12-06'"),
    "bbox bool": scenario_edit("[network]", "[network]\nbbox = [true, 34, 37, 35]", "network.bbox[0]", "= True"),
    "bbox order": scenario_edit("[network]", "[network]\nbbox = [37, 34, 36, 35]", "network.bbox",
                                "= [37, 34, 36, 35]"),
    "bbox latitude": scenario_edit("[network]", "[network]\nbbox = [36, 34, 37, 500]", "network.bbox[3]", "= 500"),
    "road classes": scenario_edit("[network]", '[network]\nroad_classes = "fast"', "network.road_classes",
                                  "= 'fast'"),
    "road classes empty": scenario_edit("[network]", "[network]\nroad_classes = []", "network.road_classes",
                                        "= []"),
    "profile": scenario_edit("[network]", '[network]\nprofile = "bike"', "network.profile", "= 'bike'"),
    "vehicle for a car": scenario_edit("[network]", "[network]\nvehicle = { weight_t = 3 }", "network.vehicle",
                                       "= {'weight_t': 3.0}"),
    "od empty": scenario_edit('od = ["Hama", "Homs"]', "od = []", "places.od", "= []"),
    "od one place": scenario_edit('od = ["Hama", "Homs"]', 'od = ["Hama"]', "places.od", "= ['Hama']"),
    "od same place twice": scenario_edit('od = ["Hama", "Homs"]', 'od = ["Hama", "HAMA"]', "places.od[1]",
                                         "= 'HAMA'"),
    "od unknown place": scenario_edit('od = ["Hama", "Homs"]', 'od = ["Hama", "Hooms"]', "places.od[1]",
                                      "= 'Hooms'"),
    "custom latitude": scenario_edit("", "[places.custom]\nX = { lat = 500, lon = 36.7 }\n", "places.custom.X.lat",
                                     "= 500"),
    "custom longitude nan": scenario_edit("", "[places.custom]\nX = { lat = 34, lon = nan }\n",
                                          "places.custom.X.lon", "= nan"),
    "custom names by case": scenario_edit("", "[places.custom]\nDepot = { lat = 34, lon = 36 }\n"
                                              "DEPOT = { lat = 34, lon = 36 }\n", "places.custom.DEPOT", "= 'DEPOT'"),
    "snap limit zero": scenario_edit('od = ["Hama", "Homs"]', 'od = ["Hama", "Homs"]\nmax_snap_m = 0',
                                     "places.max_snap_m", "= 0"),
    "destinations empty": scenario_edit('destinations = ["Tartus"]', "destinations = []",
                                        "evacuation.destinations", "= []"),
    "origin area latitude": scenario_edit('origin = "Homs"', 'origin = "Homs"\norigin_area = [[36, 34], [37, 34], '
                                                             '[37, 500]]', "evacuation.origin_area[2]", "= [37, 500]"),
    "deny area two points": scenario_edit('action = "destroy"\nasset = "rastan_bridge"',
                                          'action = "deny_area"\narea = [[36, 34], [37, 34]]', "events[0].area",
                                          "= [[36, 34], [37, 34]]"),
    "deny area bbox bool": scenario_edit('action = "destroy"\nasset = "rastan_bridge"',
                                         'action = "deny_area"\narea = { bbox = [true, 34, 37, 35] }',
                                         "events[0].area.bbox[0]", "= True"),
    "near nan": scenario_edit('asset = "rastan_bridge"', "select = { near = { lat = nan, lon = 36, radius_m = 9 } }",
                              "events[0].select.near.lat", "= nan"),
    "selector nested 40 deep": scenario_edit('asset = "rastan_bridge"', "select = " + "{ not = " * 40
                                             + '{ ref = "M1" }' + " }" * 40, "events[0].select",
                                             "nested more than 32 levels"),
    "selector nested 400 deep": scenario_edit('asset = "rastan_bridge"', "select = " + "{ not = " * 400
                                              + '{ ref = "M1" }' + " }" * 400, "not valid TOML here",
                                              "nested too deeply"),
    "restrict without limits": scenario_edit('action = "destroy"', 'action = "restrict"', "events[0]",
                                             "restrict needs"),
    "restrict vehicle": scenario_edit('action = "destroy"', 'action = "restrict"\nvehicles = ["bus"]',
                                      "events[0].vehicles[0]", "= 'bus'"),
    "limit on destroy": scenario_edit('asset = "rastan_bridge"', 'asset = "rastan_bridge"\nmax_height_m = 4',
                                      "events[0].max_height_m", "= 4.0"),
    "asset and select": scenario_edit('asset = "rastan_bridge"', 'asset = "rastan_bridge"\nselect = { ref = "M5" }',
                                      "events[0]", "= {'asset': 'rastan_bridge', 'select': {'ref': 'M5'}}"),
    "asset unknown": scenario_edit('asset = "rastan_bridge"', 'asset = "rastan_brige"', "events[0].asset",
                                   "= 'rastan_brige'"),
    "network file missing": scenario_edit(f'source = "{DEMO_OSM}"', 'source = "missing.osm"', "network.source",
                                          "missing.osm"),
    "label empty": scenario_edit('asset = "rastan_bridge"', 'asset = "rastan_bridge"\nlabel = " "',
                                 "events[0].label", "= ' '"),
    # ---- scenario files: places on the network (found when the network is loaded)
    "place at sea": cli(islands('A = { lat = 35.001, lon = 36.0 }\nB = { lat = 35.001, lon = 36.02 }\n'
                                'Sea = { lat = 34.5, lon = 36.0 }\n', '["A", "B", "Sea"]'),
                        lambda d: [f"{d / 's.toml'}: ", "places.od[2]", "= 'Sea'", "55.6 km"]),
    "places on islands": cli(islands('A = { lat = 35.001, lon = 36.0 }\nE = { lat = 35.001, lon = 36.5 }\n',
                                     '["A", "E"]'),
                             lambda d: [f"{d / 's.toml'}: ", "places.od", "= ['A', 'E']", "E on part 2"]),
    "selector matches nothing": cli(
        files({"s.toml": VALID.replace(str(DEMO_OSM), str(HOMS_OSM)).replace(
            '[evacuation]\norigin = "Homs"\ndestinations = ["Tartus"]\n', "")}, lambda d: [
            "validate", str(d / "s.toml"), "--resolve"]),
        lambda d: [f"{d / 's.toml'}: ", "events[0]", "= {'asset': 'rastan_bridge'}", "matches nothing"]),
    # ---- the files themselves
    "scenario is /dev/zero": cli(lambda d: ["validate", "/dev/zero"], lambda d: ["/dev/zero: ", "not a regular file"]),
    "scenario too large": cli(files({"big.toml": "# x\n" * 1_200_000}, lambda d: [
        "validate", str(d / "big.toml")]), lambda d: [f"{d / 'big.toml'}: ", "larger than 4 MiB"]),
    "scenario not UTF-8": cli(files({"s.toml": b'[scenario]\nname = "\xff"\n'}, lambda d: [
        "validate", str(d / "s.toml")]), lambda d: [f"{d / 's.toml'}: ", "cannot read scenario file"]),
    "scenario not TOML": cli(files({"s.toml": "[scenario\nname="}, lambda d: [
        "validate", str(d / "s.toml")]), lambda d: [f"{d / 's.toml'}: ", "not valid TOML"]),
    "scenario nested too deeply": cli(files({"s.toml": "x = " + "[" * 5000 + "]" * 5000}, lambda d: [
        "validate", str(d / "s.toml")]), lambda d: [f"{d / 's.toml'}: ", "nested too deeply"]),
    "catalogue is /dev/zero": scenario_edit('name = "test"', 'name = "test"\ncatalogue = "/dev/zero"',
                                            "scenario.catalogue", "= '/dev/zero': not a regular file"),
    "catalogue missing": scenario_edit('name = "test"', 'name = "test"\ncatalogue = "nope.toml"',
                                       "scenario.catalogue", "nope.toml': catalogue file not found"),
    "catalogue place latitude": cli(
        files({"p.toml": "[places.Homs]\nlat = 134.7\nlon = 36.7\n"}, lambda d: [
            "places", "--catalogue", str(d / "p.toml")]),
        lambda d: [f"{d / 'p.toml'}: ", "places.Homs.lat", "= 134.7"]),
    "catalogue unknown asset key": cli(
        files({"p.toml": '[assets.x]\nselect = { ref = "M5" }\nnote = "?"\n'}, lambda d: [
            "places", "--catalogue", str(d / "p.toml")]),
        lambda d: [f"{d / 'p.toml'}: ", "assets.x.note", "= '?'"]),
    # ---- sweep files
    "sweep probability nan": sweep_edit("failure_probability = 0.5", "failure_probability = nan",
                                        "sweep.assets[0].failure_probability", "= nan"),
    "sweep draws bool": sweep_edit("draws = 10", "draws = true", "sweep.draws", "= True"),
    "sweep unknown key": sweep_edit("draws = 10", "draws = 10\ndraw = 10", "sweep.draw", "= 10"),
    "sweep asset unknown key": sweep_edit("failure_probability = 0.5", "failure_probability = 0.5\nweight = 2",
                                          "sweep.assets[0].weight", "= 2"),
    "sweep selector unknown key": sweep_edit('asset = "rastan_bridge"', 'name = "m1"\nselect = { rf = "M1" }',
                                             "sweep.assets[0].select.rf", "= 'M1'"),
    "sweep seed negative": sweep_edit("seed = 1", "seed = -1", "sweep.seed", "= -1"),
    # ---- network files
    "osm latitude nan": network_file("bad.osm", OSM_TWO_NODES.format(lat="nan").encode(), "coordinate", "'nan'"),
    "osm latitude 9999": network_file("bad.osm", OSM_TWO_NODES.format(lat="9999").encode(), "coordinate", "'9999'"),
    "osm.gz corrupt": network_file("bad.osm.gz", b"garbage, not gzip", "not a readable OSM file", "XML"),
    "osm.gz truncated": network_file("bad.osm.gz", gzip.compress(OSM_TWO_NODES.format(lat=34).encode())[:60],
                                     "not a readable OSM file", "gzip"),
    "pbf empty": network_file("bad.osm.pbf", b"", "bad.osm.pbf", "empty"),
    "unknown format": network_file("bad.txt", b"roads", "bad.txt", "unknown network format"),
    "overpass nested": network_file("bad.json", b'{"elements": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                                    "not valid JSON", "recursion"),
    "overpass latitude 1e308": network_file("bad.json", overpass(lat=1e308), "elements[0]", "1e+308"),
    "overpass latitude nan": network_file("bad.json", overpass(lat=float("nan")), "elements[0]", "nan"),
    "overpass tag list": network_file("bad.json", overpass(tags={"highway": ["primary"]}), "elements[2]",
                                      "tags must be a table of strings"),
    "graphml without x": network_file("bad.graphml", graphml(lambda t, k: re.sub(
        rf'<data key="{k["x"]}">[^<]*</data>', "", t)), "node -1.x", "expected a coordinate"),
    "graphml negative length": network_file("bad.graphml", graphml(lambda t, k: first_value(
        t, k["length"], lambda v: "-" + v)), "edge (-1, -24, 0).length", "= -15.00"),
    "graphml travel time nan": network_file("bad.graphml", graphml(lambda t, k: first_value(
        t, k["travel_time"], lambda v: "nan")), "edge (-1, -24, 0).travel_time", "= nan"),
    # ---- command-line arguments
    "as-of": cli(lambda d: ["run", "demo", "--as-of", "2024-13-01", "--out", str(d / "o")],
                 lambda d: ["--as-of", "= '2024-13-01'", "expected a date"]),
    "network missing": cli(lambda d: ["run", "demo", "--network", "nope.osm", "--out", str(d / "o")],
                           lambda d: ["--network", "= 'nope.osm'", "not found"]),
    "top 0": cli(lambda d: ["criticality", "demo", "--top", "0"], lambda d: ["routing criticality", "--top", "'0'"]),
    "workers 0": cli(lambda d: ["sweep", "sweep-western-syria", "--workers", "0"],
                     lambda d: ["routing sweep", "--workers", "'0'"]),
    "out under a file": cli(files({"f": "x"}, lambda d: ["run", "demo", "--out", str(d / "f" / "o")]),
                            lambda d: [f"{d / 'f' / 'o'}: ", f"{d / 'f'} is a file"]),
    "out is a file": cli(files({"f": "x"}, lambda d: ["run", "demo", "--out", str(d / "f")]),
                         lambda d: [f"{d / 'f'}: ", "exists and is not a folder"]),
    "out foreign folder": cli(files({"mine/a.md": "x"}, lambda d: ["criticality", "demo", "--out", str(d / "mine")]),
                              lambda d: [f"{d / 'mine'}: ", "was not written by"]),
    "compare out foreign file": cli(files({"n.md": "notes"}, lambda d: [
        "compare", str(d), str(d), "--out", str(d / "n.md")]), lambda d: [f"{d / 'n.md'}: ", "was not written by"]),
    "compare missing folder": cli(lambda d: ["compare", str(d / "a"), str(d / "b")],
                                  lambda d: [f"{d / 'a'}: ", "results folder not found"]),
    # ---- environment
    "timeout variable": cli(lambda d: ["run", "syria-2024-12-06", "--out", str(d / "o")],
                            lambda d: ["ROUTING_NETWORK_TIMEOUT", "= 'soon'"], {"ROUTING_NETWORK_TIMEOUT": "soon"}),
    "shared data missing": cli(lambda d: ["validate", "homs-fragment-real-osm"],
                               lambda d: ["homs-fragment-real-osm.toml: ", "network.source",
                                          f"= '{d.parent / 'nowhere'}"],
                               None),
    "overpass url malformed": cli(lambda d: ["run", "syria-2024-12-06", "--out", str(d / "o")],
                                  lambda d: ["htp:/bad: ", "Overpass download failed", "InvalidSchema"],
                                  {"ROUTING_OVERPASS_URL": "htp:/bad"}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_naming_file_field_and_value(name, tmp_path, monkeypatch, capsys):
    case = CASES[name]
    monkeypatch.setenv("ROUTING_CACHE_DIR", str(tmp_path / "cache"))
    if name == "shared data missing":
        monkeypatch.setenv("ROUTING_SHARED_DATA", str(tmp_path / "nowhere"))
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    work = tmp_path / "case"
    work.mkdir()
    argv = case.make(work)
    try:
        code = main(["-q", *argv])
    except SystemExit as exc:  # argparse refused an argument
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("error: "), err
    for fragment in case.expect(work):
        assert fragment in err, f"{fragment!r} not in {err!r}"


def test_there_are_at_least_60_cases():
    assert len(CASES) >= 60
