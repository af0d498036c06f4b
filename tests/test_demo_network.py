"""The schematic western-Syria demo network (routing/data/demo/western-syria-schematic.osm).

Loads the committed file with our loader and checks the properties the demos rely on: the
schematic label, the divided M5 and its Rastan bridge, the Hama-Homs detour via Salamiyah,
the Dabbousieh route to Tripoli, reachability between towns, and that the generator
reproduces the file byte for byte. No network access.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import osmnx as ox
import pytest
from conftest import ROOT
from shapely.geometry import LineString, Point

from routing.network import load_network
from routing.settings import data_path

DEMO_FILE = data_path("demo", "western-syria-schematic.osm")
GENERATOR = ROOT / "data" / "generate_demo_network.py"
WEIGHT = "travel_time"


@pytest.fixture(scope="module")
def places() -> dict[str, tuple[float, float]]:
    """Catalogue places as (lon, lat)."""
    with data_path("places.toml").open("rb") as fh:
        return {name: (p["lon"], p["lat"]) for name, p in tomllib.load(fh)["places"].items()}


@pytest.fixture(scope="module")
def G() -> nx.MultiDiGraph:
    return load_network(DEMO_FILE)


@pytest.fixture(scope="module")
def Gp(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """G projected to UTM (osmnx's nearest_nodes then needs no scikit-learn)."""
    return ox.project_graph(G)


def project(Gp: nx.MultiDiGraph, lonlat: tuple[float, float]) -> Point:
    point, _ = ox.projection.project_geometry(Point(lonlat), to_crs=Gp.graph["crs"])
    return point


@pytest.fixture(scope="module")
def near(Gp: nx.MultiDiGraph, places: dict[str, tuple[float, float]]):
    """name -> (nearest node id, distance in metres)."""

    def nearest(name: str) -> tuple[int, float]:
        point = project(Gp, places[name])
        node, dist = ox.distance.nearest_nodes(Gp, point.x, point.y, return_dist=True)
        return int(node), float(dist)

    return nearest


def fastest(G: nx.MultiDiGraph, a: int, b: int) -> tuple[list[int], float]:
    path = nx.shortest_path(G, a, b, weight=WEIGHT)
    return path, nx.path_weight(G, path, weight=WEIGHT)


def path_edges(G: nx.MultiDiGraph, path: list[int]) -> list[dict]:
    """The data of the fastest parallel edge between each pair of consecutive path nodes."""
    return [min(G[u][v].values(), key=lambda d: d[WEIGHT]) for u, v in itertools.pairwise(path)]


def edge_line(G: nx.MultiDiGraph, u: int, v: int, data: dict) -> LineString:
    return data.get("geometry") or LineString([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in (u, v)])


def bridge_edges(G: nx.MultiDiGraph, highway: str = "motorway") -> list[tuple[int, int, int, dict]]:
    return [(u, v, k, d) for u, v, k, d in G.edges(keys=True, data=True)
            if d.get("bridge") == "yes" and d["highway"] == highway]


# ---------------------------------------------------------------- labelling


def test_file_is_labelled_as_schematic() -> None:
    root = ET.parse(DEMO_FILE).getroot()
    assert root.tag == "osm" and root.attrib["version"] == "0.6"
    assert root.attrib["generator"] == "corridor-routing schematic generator (data/generate_demo_network.py)"
    assert root[0].tag == "note"
    assert root[0].text.startswith("SCHEMATIC NETWORK for demos and tests: NOT OpenStreetMap data.")
    ways = root.findall("way")
    assert ways
    for way in ways:
        tags = {t.attrib["k"]: t.attrib["v"] for t in way.iter("tag")}
        assert tags["note"] == "schematic"
        assert tags["source"] == "corridor-routing schematic generator"
    assert all(int(el.attrib["id"]) < 0 for el in root if el.tag in ("node", "way"))


def test_loads_as_schematic(G: nx.MultiDiGraph) -> None:
    assert G.graph["schematic"] is True
    assert G.graph["data_notice"].startswith("SCHEMATIC")
    assert G.graph["load_report"]["ways_trimmed"] == 0


def test_border_controls_are_inside_their_roads() -> None:
    root = ET.parse(DEMO_FILE).getroot()
    border = {el.attrib["id"] for el in root.findall("node")
              if any(t.attrib == {"k": "barrier", "v": "border_control"} for t in el.iter("tag"))}
    assert len(border) == 3
    inner = {nd.attrib["ref"] for way in root.findall("way") for nd in way.findall("nd")[1:-1]}
    assert border <= inner


def test_every_place_is_near_a_node(places: dict, near) -> None:
    far = {name: round(near(name)[1]) for name in places if near(name)[1] > 1_000}
    assert not far


# ---------------------------------------------------------------- M5 and the Rastan bridge


def test_m5_is_divided_with_a_bridge_per_carriageway(G: nx.MultiDiGraph, Gp: nx.MultiDiGraph,
                                                      places: dict) -> None:
    bridges = bridge_edges(Gp)
    assert len(bridges) == 2
    assert all(d["highway"] == "motorway" and d["oneway"] is True and d["layer"] == "1" for *_, d in bridges)
    (u1, v1, _, d1), (u2, v2, _, d2) = bridges
    assert {u1, v1}.isdisjoint({u2, v2})  # two carriageways, not one two-way road
    southward = [G.nodes[v]["y"] < G.nodes[u]["y"] for u, v, *_ in bridges]
    assert sorted(southward) == [False, True]  # one per direction
    line1, line2 = edge_line(Gp, u1, v1, d1), edge_line(Gp, u2, v2, d2)
    assert 25 <= line1.distance(line2) <= 40
    bridge_point = project(Gp, places["Rastan bridge"])
    for line in (line1, line2):
        assert 200 <= line.length <= 300
        assert line.distance(bridge_point) <= 100


def test_m1_crosses_the_orontes_on_one_two_way_bridge(Gp: nx.MultiDiGraph, places: dict) -> None:
    bridges = bridge_edges(Gp, "trunk")
    assert len(bridges) == 2 and all(d["ref"] == "M1" and d["layer"] == "1" for *_, d in bridges)
    (u1, v1, _, d1), (u2, v2, _, _) = bridges
    assert (u1, v1) == (v2, u2)  # one two-way way: the same segment both directions
    line = edge_line(Gp, u1, v1, d1)
    assert 200 <= line.length <= 300 and line.distance(project(Gp, places["M1 Orontes bridge"])) <= 100


def test_m5_ref_tagging_is_inconsistent_as_in_osm(G: nx.MultiDiGraph) -> None:
    motorway = [d for *_, d in G.edges(data=True) if d["highway"] == "motorway"]
    assert all(d["int_ref"] == "M45" and d["name:en"] == "Aleppo-Damascus International Highway" for d in motorway)
    assert any(d.get("ref") == "M5" for d in motorway)
    assert any("ref" not in d for d in motorway)


def test_hama_homs_uses_the_bridge_and_detours_via_salamiyah(G: nx.MultiDiGraph, near) -> None:
    hama, homs = near("Hama")[0], near("Homs")[0]
    path, baseline = fastest(G, hama, homs)
    assert any(d.get("bridge") == "yes" for d in path_edges(G, path))

    damaged = G.copy()
    damaged.remove_edges_from([(u, v, k) for u, v, k, _ in bridge_edges(G)])
    detour_path, detour = fastest(damaged, hama, homs)
    assert near("Salamiyah")[0] in detour_path
    assert detour > 1.5 * baseline


# ---------------------------------------------------------------- border crossings and reachability


def test_homs_tripoli_stays_open_via_dabbousieh(G: nx.MultiDiGraph, near) -> None:
    homs, tripoli = near("Homs")[0], near("Tripoli")[0]
    assert nx.has_path(G, homs, tripoli)
    closed = [near(name)[0] for name in ("Arida crossing", "Jousiyeh crossing")]
    assert all(G.nodes[n].get("barrier") == "border_control" for n in closed)
    damaged = G.copy()
    damaged.remove_nodes_from(closed)
    path, _ = fastest(damaged, homs, tripoli)
    dabbousieh = near("Dabbousieh crossing")[0]
    assert G.nodes[dabbousieh].get("barrier") == "border_control"
    assert dabbousieh in path


@pytest.mark.parametrize("origin, destination", [
    ("Homs", "Tartus"), ("Homs", "Latakia"), ("Homs", "Baalbek"), ("Homs", "Damascus"),
    ("Homs", "Palmyra"), ("Homs", "Deir ez-Zor"), ("Aleppo", "Damascus"), ("Damascus", "Aleppo"),
])
def test_towns_are_reachable(G: nx.MultiDiGraph, near, origin: str, destination: str) -> None:
    assert nx.has_path(G, near(origin)[0], near(destination)[0])


# ---------------------------------------------------------------- generator


def test_generator_reproduces_the_committed_file(tmp_path: Path) -> None:
    out = tmp_path / "demo.osm"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True, capture_output=True)
    assert out.read_bytes() == DEMO_FILE.read_bytes()
