"""Selectors on hand-made, schematic and real graphs: every primitive, combinations, errors."""

from __future__ import annotations

import pytest
from conftest import line_graph

from routing.errors import SelectorError
from routing.scenario import Catalogue, Place, load_catalogue, select

# 1 -- 2 -- 3 along latitude 34.0, ~9.2 km apart; 2 is a border control; 2-3 is a bridge
COORDS = {1: (36.0, 34.0), 2: (36.1, 34.0), 3: (36.2, 34.0), 4: (36.2, 34.1)}


@pytest.fixture
def G():
    return line_graph([
        (1, 2, {"osmid": 10, "ref": "M5;M45", "name": "Highway"}),
        (2, 1, {"osmid": 10, "ref": "M5;M45", "name": "Highway", "reversed": True}),
        (2, 3, {"osmid": [11, 12], "bridge": "yes", "int_ref": "M 45", "name:en": "Orontes Bridge"}),
        (3, 4, {"osmid": 13, "highway": "secondary", "name:ar": "طريق"}),
    ], COORDS)


@pytest.fixture
def catalogue():
    return Catalogue(places={"x": Place("X", 34.0, 36.1)}, assets={})


def edges(sel):
    return {(u, v) for u, v, _ in sel.edges}


def test_way_ids_including_merged_edges(G):
    assert edges(select(G, {"way": 12})) == {(2, 3)}
    assert edges(select(G, {"way": [10, 13]})) == {(1, 2), (2, 1), (3, 4)}


def test_tags_values_lists_presence_absence(G):
    assert edges(select(G, {"tags": {"bridge": "yes"}})) == {(2, 3)}
    assert edges(select(G, {"tags": {"highway": ["secondary", "tertiary"]}})) == {(3, 4)}
    assert edges(select(G, {"tags": {"bridge": False, "highway": "primary"}})) == {(1, 2), (2, 1)}
    assert edges(select(G, {"tags": {"name:ar": True}})) == {(3, 4)}


def test_ref_matches_ref_int_ref_tokens_ignoring_spaces(G):
    assert edges(select(G, {"ref": "M45"})) == {(1, 2), (2, 1), (2, 3)}
    assert edges(select(G, {"ref": "m5"})) == {(1, 2), (2, 1)}
    with pytest.raises(SelectorError, match="matches nothing"):
        select(G, {"ref": "M4"})  # a token, not a prefix of M45


def test_name_matches_all_name_keys_case_insensitive(G):
    assert edges(select(G, {"name": "orontes"})) == {(2, 3)}
    assert edges(select(G, {"name": "طريق"})) == {(3, 4)}


def test_node_tags_and_node_ids(G):
    G.nodes[2]["barrier"] = "border_control"
    assert select(G, {"node_tags": {"barrier": "border_control"}}).nodes == {2}
    assert select(G, {"node": [3, 99]}).nodes == {3}


def test_near_point_or_place_in_metres(G, catalogue):
    near = select(G, {"near": {"lat": 34.0, "lon": 36.1, "radius_m": 500}})
    assert near.nodes == {2} and edges(near) == {(1, 2), (2, 1), (2, 3)}
    by_place = select(G, {"near": {"place": "X", "radius_m": 500}}, catalogue=catalogue)
    assert by_place.nodes == near.nodes and by_place.edges == near.edges
    # 9.2 km between nodes: a 5 km radius around node 1 reaches only the edges touching node 1
    assert select(G, {"near": {"lat": 34.0, "lon": 36.0, "radius_m": 5000}}).nodes == {1}


def test_within_polygon_and_bbox(G):
    sel = select(G, {"within": {"bbox": [36.15, 33.9, 36.25, 34.2]}})
    assert sel.nodes == {3, 4} and edges(sel) == {(2, 3), (3, 4)}
    poly = select(G, {"within": [[36.15, 33.9], [36.25, 33.9], [36.25, 34.2], [36.15, 34.2]]})
    assert poly.nodes == sel.nodes


def test_combinations_all_any_not_and_implicit_all(G):
    assert edges(select(G, {"ref": "M45", "tags": {"bridge": "yes"}})) == {(2, 3)}
    assert edges(select(G, {"all": [{"ref": "M45"}, {"tags": {"bridge": "yes"}}]})) == {(2, 3)}
    assert edges(select(G, {"any": [{"way": 13}, {"tags": {"bridge": "yes"}}]})) == {(2, 3), (3, 4)}
    assert edges(select(G, {"ref": "M45", "not": {"tags": {"bridge": "yes"}}})) == {(1, 2), (2, 1)}


def test_catalogue_assets_resolve_on_the_demo_network(demo_graph):
    cat = load_catalogue()
    bridge = select(demo_graph, {"asset": "rastan_bridge"}, catalogue=cat)
    directions = {(demo_graph.nodes[u]["y"] < demo_graph.nodes[v]["y"]) for u, v, _ in bridge.edges}
    assert directions == {True, False}  # both carriageways, not one direction only
    assert all(demo_graph.edges[e]["bridge"] == "yes" for e in bridge.edges)
    for crossing in ("arida_crossing", "jousiyeh_crossing", "dabbousieh_crossing"):
        sel = select(demo_graph, {"asset": crossing}, catalogue=cat)
        assert any(demo_graph.nodes[n].get("barrier") == "border_control" for n in sel.nodes), crossing


@pytest.mark.parametrize("selector, message", [
    ({"colour": "red"}, r"select.colour = 'red': unknown field; expected one of way, node"),
    ({}, r"select: a selector is a non-empty table"),
    ({"way": "12"}, r"select.way = '12': expected an OSM id"),
    ({"near": {"lat": 34, "lon": 36, "radius_m": -1}}, r"select.near.radius_m = -1: expected a number > 0"),
    ({"near": {"lat": 34, "radius_m": 10}}, r"select.near: give either place or both lat and lon"),
    ({"near": {"lat": float("nan"), "lon": 36, "radius_m": 10}}, r"select.near.lat = nan: expected a finite number"),
    ({"within": {"bbox": [1, 2, 3]}}, r"select.within.bbox = \[1, 2, 3\]: expected 4 numbers"),
    ({"within": {"bbox": [True, 2, 3, 4]}}, r"select.within.bbox\[0\] = True: expected a number"),
    ({"any": []}, r"select.any = \[\]: expected at least 1 item"),
    ({"tags": {"bridge": "no"}}, r"select = \{'tags': \{'bridge': 'no'\}\}: matches nothing on this network"),
])
def test_selector_errors_name_field_and_value(G, selector, message):
    with pytest.raises(SelectorError, match=message):
        select(G, selector, file="scenario.toml")


def test_unknown_asset_and_place(G):
    cat = load_catalogue()
    with pytest.raises(Exception, match="select.asset = 'rastan': unknown asset; did you mean 'rastan_bridge'"):
        select(G, {"asset": "rastan"}, catalogue=cat)
    with pytest.raises(Exception, match="select.near.place = 'Homz': unknown place; did you mean 'Homs'"):
        select(G, {"near": {"place": "Homz", "radius_m": 10}}, catalogue=cat)


def test_real_helsinki_bridge_both_carriageways_and_street_names():
    """Pitkäsilta (Long Bridge) is a divided road in OSM: one one-way way per carriageway."""
    from conftest import helsinki_pbf

    from routing.network import load_network

    G = load_network(helsinki_pbf(), cache=False)
    bridge = select(G, {"name": "pitkäsilta", "tags": {"bridge": "yes"}})
    ways = {G.edges[e]["osmid"] for e in bridge.edges}
    assert ways == {23952344, 122869888}
    assert all(G.edges[e]["oneway"] for e in bridge.edges)
    near = select(G, {"near": {"lat": 60.1764, "lon": 24.9502, "radius_m": 60}, "tags": {"bridge": "yes"}})
    assert near.edges == bridge.edges
    assert len(select(G, {"name": "Mannerheimintie"}).edges) >= 10
