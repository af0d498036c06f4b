"""The interactive before/after map: self-contained HTML, its layers, popups and notice."""

from __future__ import annotations

import dataclasses
import re

import folium
import pytest
from conftest import DEMO_OSM, DEMO_SCENARIO

from routing import run_scenario
from routing.outputs import write_outputs
from routing.outputs.webmap import LAYERS, leaflet_assets, web_map, write_web_map
from routing.scenario import Scenario

EXPECTED_DEMO_LAYERS = ["Network", "Evacuation flow before", "Evacuation flow after", "What changed",
                        "Routes before", "Routes after", "Evacuation routes before", "Evacuation routes after",
                        "Destroyed / closed", "Places"]


@pytest.fixture(scope="module")
def demo_result():
    return run_scenario(DEMO_SCENARIO)


@pytest.fixture(scope="module")
def demo_html(demo_result, tmp_path_factory):
    path = write_web_map(demo_result, tmp_path_factory.mktemp("webmap") / "map.html")
    return path.read_text(encoding="utf-8")


def layer_groups(m: folium.Map) -> dict[str, folium.FeatureGroup]:
    return {c.layer_name: c for c in m._children.values() if isinstance(c, folium.FeatureGroup)}


def features(group: folium.FeatureGroup) -> list[dict]:
    return [f for c in group._children.values() if isinstance(c, folium.GeoJson) for f in c.data["features"]]


def test_html_is_self_contained_apart_from_the_tiles(demo_html):
    assert "Leaflet 1.9.3" in demo_html and "L.map(" in demo_html  # Leaflet inlined
    assert not re.search(r"<script[^>]+src=", demo_html), "no external (or any) script file"
    assert not re.search(r"<link[^>]+stylesheet", demo_html), "no external stylesheet"
    assert "url(images/" not in demo_html and "data:image/png;base64," in demo_html  # CSS images inlined
    assert "sourceMappingURL" not in demo_html
    urls = set(re.findall(r"https?://[^\s\"'`)<>\\]+", demo_html))
    fetched = {u for u in urls if "{z}" in u}
    assert fetched == {"https://tile.openstreetmap.org/{z}/{x}/{y}.png"}  # the only thing loaded online
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn"):
        assert cdn not in demo_html


def test_leaflet_assets_come_from_the_xstatic_package():
    js, css = leaflet_assets()
    assert js.startswith("/* @preserve\n * Leaflet 1.9.3") and "(c) 2010-2022 Vladimir Agafonkin" in js
    assert ".leaflet-control-layers-toggle" in css and "url(images/" not in css


def test_demo_map_layers_in_order(demo_result):
    m = web_map(demo_result)
    assert list(layer_groups(m)) == EXPECTED_DEMO_LAYERS
    assert [n for n in LAYERS.values() if n in EXPECTED_DEMO_LAYERS] == EXPECTED_DEMO_LAYERS
    shown = {name: g.show for name, g in layer_groups(m).items()}
    assert shown["What changed"] and shown["Destroyed / closed"] and shown["Places"] and shown["Network"]
    assert not shown["Routes before"] and not shown["Routes after"]  # whole routes: on demand
    assert not shown["Evacuation routes before"] and not shown["Evacuation flow before"]
    assert any(isinstance(c, folium.LayerControl) for c in m._children.values())


def test_destroyed_and_closed_popups_name_osm_id_ref_and_event(demo_result):
    groups = layer_groups(web_map(demo_result))
    feats = features(groups["Destroyed / closed"])
    lines = [f["properties"] for f in feats if f["geometry"]["type"] == "LineString"]
    points = [f["properties"] for f in feats if f["geometry"]["type"] == "Point"]
    # a closed crossing is marked at the crossing; its approach roads are not painted as destroyed
    damaged = demo_result.damaged_edges_gdf()
    assert len(lines) == (~damaged["by_closed_node"]).sum() == 2
    bridge = [p for p in lines if p["bridge"] == "yes"]
    assert len(bridge) == 2 and all("M5" in p["ref"] for p in bridge)
    assert all("destroy: Rastan bridge" in p["event"] and p["osmid"] for p in bridge)
    nodes = [p for p in points if "barrier" in p]
    assert {p["name"] for p in nodes} == {"Arida border crossing", "Jousiyeh border crossing"}
    assert all(p["barrier"] == "border_control" and "close:" in p["event"] for p in nodes)
    markers = [p for p in points if "matched" in p]
    assert sorted(p["label"] for p in markers) == ["Arida border crossing: closed", "Jousiyeh border crossing: closed",
                                                   "Rastan bridge: destroyed"]
    geojson = next(c for c in groups["Destroyed / closed"]._children.values() if isinstance(c, folium.GeoJson))
    popup = next(c for c in geojson._children.values() if isinstance(c, folium.GeoJsonPopup))
    assert {"osmid", "name", "ref", "event"} <= set(popup.fields)


def test_what_changed_and_the_routes_of_pairs_that_change(demo_result):
    groups = layer_groups(web_map(demo_result))
    changes = {f["properties"]["change"] for f in features(groups["What changed"])}
    assert changes == {"route part new after the damage", "route part lost (as before the damage)",
                       "route part that stays the same"}
    od = demo_result.od
    changed = od[od["status"] != "unchanged"]
    before = {(f["properties"]["origin"], f["properties"]["destination"]) for f in features(groups["Routes before"])}
    assert before == set(zip(changed["origin"], changed["destination"]))
    after = [f["properties"] for f in features(groups["Routes after"])]
    assert {p["status"] for p in after} <= {"rerouted", "slower"} and after
    assert any(p["origin"] == "Hama" and p["destination"] == "Homs" and p["status"] == "rerouted" for p in after)
    evac = [f["properties"] for f in features(groups["Evacuation routes after"])]
    assert {p["destination"] for p in evac} >= {"Tartus", "Latakia"} and {p["rank"] for p in evac} >= {1, 2}


def test_places_and_flow_layers(demo_result):
    groups = layer_groups(web_map(demo_result))
    places = {f["properties"]["name"]: f["properties"] for f in features(groups["Places"])}
    assert set(places) == set(demo_result.places["name"])
    assert list(places)[:3] == ["Homs", "Tartus", "Latakia"]  # evacuation origin and destinations first
    assert places["Jousiyeh crossing"]["evacuation"] == ("cut off by Jousiyeh border crossing "
                                                         "(Syria–Lebanon, Qusayr–Qaa road)")
    assert places["Tartus"]["evacuation"].startswith("reachable: ")
    flows = [f["properties"] for f in features(groups["Evacuation flow after"])]
    assert flows and all(p["flow"].endswith("veh/h") and 1 <= p["weight"] <= 10 for p in flows)


def test_optional_layers_follow_the_result(demo_result):
    bare = dataclasses.replace(demo_result, evacuation_capacity=None, evacuation_routes=[])
    m = web_map(bare, network=False, tiles=None)
    assert list(layer_groups(m)) == ["What changed", "Routes before", "Routes after", "Destroyed / closed", "Places"]
    html = m.get_root().render()
    assert "tile.openstreetmap.org" not in html and "L.map(" in html


def test_schematic_notice_and_real_data_notice(demo_result, demo_html):
    assert re.search(r"id='routing-notice'[^>]*schematic", demo_html)
    assert "SCHEMATIC NETWORK — for demos and tests, NOT OpenStreetMap data" in demo_html
    G = demo_result.graph.copy()
    G.graph["schematic"] = False
    G.graph["data_notice"] = "© OpenStreetMap contributors, ODbL 1.0"
    html = web_map(dataclasses.replace(demo_result, graph=G)).get_root().render()
    assert "Data: © OpenStreetMap contributors, ODbL 1.0" in html and "SCHEMATIC" not in html


def test_degraded_layer(tmp_path):
    toml = f"""
[scenario]
name = "M5 degraded"
[network]
source = "{DEMO_OSM.as_posix()}"
[places]
od = ["Hama", "Homs"]
[[events]]
action = "degrade"
select = {{ ref = "M5" }}
speed_factor = 0.5
capacity_factor = 0.25
note = "convoy traffic <checkpoints>"
"""
    (tmp_path / "s.toml").write_text(toml, encoding="utf-8")
    result = run_scenario(Scenario.from_file(tmp_path / "s.toml"))
    groups = layer_groups(web_map(result))
    assert "Degraded / restricted" in groups and "Destroyed / closed" not in groups
    feats = features(groups["Degraded / restricted"])
    props = [f["properties"] for f in feats if f["geometry"]["type"] == "LineString"]
    assert props and all(p["effect"] == "speed ×0.5, capacity ×0.25" for p in props)
    # one marker per stretch of the degraded road (ref=M5 has gaps where OSM tags only int_ref=M45)
    labels = [f["properties"]["label"] for f in feats if f["geometry"]["type"] == "Point"]
    assert labels and set(labels) == {"convoy traffic &lt;checkpoints&gt;: degraded"}
    assert all("&lt;checkpoints&gt;" in p["event"] for p in props)  # popups render HTML: text is escaped


def test_result_accessor_and_notebook_display(demo_result):
    m = web_map(demo_result, network=False)
    assert isinstance(m, folium.Map) and "Network" not in layer_groups(m)
    assert "cdn.jsdelivr" not in m._repr_html_()


def test_written_with_the_other_outputs_and_skipped_without_maps(demo_result, tmp_path):
    write_outputs(demo_result, tmp_path / "with")
    assert (tmp_path / "with" / "map.html").stat().st_size > 100_000
    write_outputs(demo_result, tmp_path / "without", maps=False)
    assert not (tmp_path / "without" / "map.html").exists()
