"""Loading every file source: real OSM data, clipped extracts, GraphML, and bad files."""

from __future__ import annotations

import gzip

import networkx as nx
import osmnx as ox
import pytest
from conftest import HOMS_JSON, HOMS_OSM

from routing.errors import NetworkLoadError
from routing.network import edge_capacity_vph, load_network, maxspeed_kph, save_graphml
from routing.scenario import select
from routing.settings import ROAD_CLASSES

CLIPPED_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lat="34.70" lon="36.70"/>
  <node id="2" lat="34.71" lon="36.70"/>
  <node id="3" lat="34.72" lon="36.70"/>
  <node id="5" lat="34.74" lon="36.70"/>
  <node id="6" lat="34.75" lon="36.70"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="5"/><nd ref="6"/>
    <tag k="highway" v="primary"/></way>
  <way id="11"><nd ref="98"/><nd ref="99"/><tag k="highway" v="primary"/></way>
  <way id="12"><nd ref="1"/><nd ref="6"/><tag k="highway" v="footway"/></way>
</osm>
"""


def total_length(G: nx.MultiDiGraph) -> float:
    return sum(d["length"] for *_, d in G.edges(data=True))


def test_real_homs_xml_and_overpass_json_give_the_same_network(homs_graph):
    from_json = load_network(HOMS_JSON)
    assert homs_graph.number_of_edges() == from_json.number_of_edges()
    assert total_length(homs_graph) == pytest.approx(total_length(from_json), rel=1e-6)
    assert homs_graph.graph["load_report"]["ways_drivable"] == 37


def test_real_homs_matches_osmnx_except_kept_bridges(homs_graph):
    """Same roads as osmnx; only bridges kept as their own edges add nodes (osmnx issue #1151)."""
    ref = ox.graph_from_xml(HOMS_OSM, retain_all=True)
    assert total_length(homs_graph) == pytest.approx(total_length(ref), rel=1e-6)
    assert len(homs_graph) >= len(ref)
    bridges = [e for e in homs_graph.edges(keys=True) if homs_graph.edges[e].get("bridge") == "yes"]
    assert bridges and all(not isinstance(homs_graph.edges[e]["bridge"], list) for e in bridges)


def test_enriched_attributes_and_units(homs_graph):
    for _, _, d in homs_graph.edges(data=True):
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6))
    motorway = [d for *_, d in homs_graph.edges(data=True) if d["highway"] == "motorway"]
    default_kph = ROAD_CLASSES["motorway"].speed_kph  # the M5 carriageways carry no maxspeed
    assert motorway and all(d["speed_kph"] == default_kph and d["capacity"] == 4000 for d in motorway)


def test_m5_selector_finds_every_m5_way_of_the_real_fragment(homs_graph):
    """Only 2 of the 4 M5 ways carry ref=M5; the asset selector must find all 4."""
    from routing.scenario import load_catalogue

    by_ref = select(homs_graph, {"ref": "M5"})
    m5 = select(homs_graph, {"asset": "m5_highway"}, catalogue=load_catalogue())

    def ways(sel):
        return {o for e in sel.edges for o in _as_list(homs_graph.edges[e]["osmid"])}

    assert {18643866, 105746574} <= ways(by_ref)
    assert {18643866, 105746574, 18643959, 105746573} <= ways(m5)
    only_int_ref = m5.edges - by_ref.edges
    assert only_int_ref and all("M5" not in str(homs_graph.edges[e].get("ref")) for e in only_int_ref)


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_clipped_extract_is_trimmed_not_fatal(tmp_path):
    path = tmp_path / "clipped.osm"
    path.write_text(CLIPPED_XML, encoding="utf-8")
    with pytest.raises(ValueError, match="missing nodes"):  # osmnx's own loader refuses clipped extracts
        ox.graph_from_xml(path, retain_all=True)
    G = load_network(path)
    report = G.graph["load_report"]
    # ways_read counts the ways of the requested classes (the footway is not one), as for every source
    assert report == {"ways_read": 2, "ways_drivable": 2, "ways_trimmed": 1, "ways_dropped_missing_nodes": 1,
                      "restrictions_read": 0, "restrictions_applied": 0, "restrictions_dropped": 0}
    assert set(G.nodes) == {1, 3, 5, 6}  # way 10 split at missing node 4 into 1-2-3 and 5-6


def test_gzip_xml_and_clip_bbox(tmp_path):
    gz = tmp_path / "homs.osm.gz"
    gz.write_bytes(gzip.compress(HOMS_OSM.read_bytes()))
    G = load_network(gz, bbox=(36.70, 34.60, 36.80, 34.70))
    assert 0 < G.number_of_edges()
    assert all(36.70 <= d["x"] <= 36.80 and 34.60 <= d["y"] <= 34.70 for _, d in G.nodes(data=True))


def test_graphml_round_trip_keeps_attributes(homs_graph, tmp_path):
    path = save_graphml(homs_graph, tmp_path / "g.graphml")
    H = load_network(path)
    assert H.number_of_edges() == homs_graph.number_of_edges()
    assert total_length(H) == pytest.approx(total_length(homs_graph))
    assert {type(d["capacity"]) for *_, d in H.edges(data=True)} == {float}
    assert select(H, {"ref": "M45"}).edges


def test_major_classes_only(homs_graph):
    G = load_network(HOMS_OSM, road_classes=["motorway"])
    assert {d["highway"] for *_, d in G.edges(data=True)} == {"motorway"}
    assert G.number_of_edges() < homs_graph.number_of_edges()


@pytest.mark.parametrize("name, content, message", [
    ("bad.osm", "", "file is empty"),
    ("bad.osm", "<osm><node id='1' lat='1' lon='1'/><way id='2'><nd ref='1'/>", "corrupt or truncated"),
    ("bad.osm", "<html><body>rate limited</body></html>", "not a readable OSM file.*top-level element: html"),
    ("bad.osm", "<osm version='0.6'></osm>", "no road of these classes at all"),
    ("bad.json", '{"elements": [{"type": "way", "id": 1, "nodes": [1, 2], "tags"', "not valid JSON"),
    ("bad.json", '{"remark": "runtime error: Query timed out"}', "no 'elements' list"),
    ("bad.json", '{"elements": [{"type": "node", "id": 1, "lat": "x", "lon": 2}]}', r"elements\[0\] = 1"),
])
def test_bad_xml_and_overpass_json_files_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NetworkLoadError, match=message) as err:
        load_network(path)
    assert str(path) in str(err.value)


def test_missing_and_unknown_files_are_named(tmp_path):
    with pytest.raises(NetworkLoadError, match="nope.osm: file not found"):
        load_network(tmp_path / "nope.osm")
    other = tmp_path / "roads.shp"
    other.write_text("x")
    with pytest.raises(NetworkLoadError, match="roads.shp: unknown network format"):
        load_network(other)
    broken = tmp_path / "g.graphml"
    broken.write_text("<graphml><graph")
    with pytest.raises(NetworkLoadError, match="g.graphml: not a readable GraphML"):
        load_network(broken)


def test_no_drivable_roads_in_clip_area_is_an_error():
    with pytest.raises(NetworkLoadError, match="no drivable roads.*clip area"):
        load_network(HOMS_OSM, bbox=(10.0, 10.0, 10.1, 10.1))


def test_tag_parsing_helpers():
    assert maxspeed_kph("50 mph") == pytest.approx(80.4672)
    assert maxspeed_kph(["90", "60"]) == 75  # merged ways: the mean, as osmnx
    assert maxspeed_kph("none") is None
    assert edge_capacity_vph({"highway": "primary", "lanes": "4", "oneway": False}) == 2 * 1500
    assert edge_capacity_vph({"highway": "primary", "lanes": "3", "oneway": True}) == 3 * 1500
    assert edge_capacity_vph({"highway": "motorway"}) == 2 * 2000
    assert edge_capacity_vph({"highway": "primary"}, {"primary": 1000}) == 1000


def test_merged_edge_attributes_do_not_depend_on_list_order():
    a = {"highway": ["secondary", "primary"], "maxspeed": ["30", "50"], "lanes": ["2", "4"], "oneway": True}
    b = {"highway": ["primary", "secondary"], "maxspeed": ["50", "30"], "lanes": ["4", "2"], "oneway": True}
    assert maxspeed_kph(a["maxspeed"]) == maxspeed_kph(b["maxspeed"]) == 40
    assert edge_capacity_vph(a) == edge_capacity_vph(b) == 2 * 1500  # narrowest way, highest class
