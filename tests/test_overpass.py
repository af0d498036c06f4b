"""Overpass downloads with recorded HTTP responses (no network): query, cache, conversion."""

from __future__ import annotations

import json
from pathlib import Path

import osmnx as ox
import pytest
import responses

from routing.errors import NetworkLoadError
from routing.network import load_network, overpass_filter
from routing.scenario import select
from routing.settings import MAJOR_CLASSES

RECORDING = Path(__file__).parent / "fixtures" / "overpass_homs_recording.json"
STATUS = ("Connected as: 1\nCurrent time: 2026-07-29T15:31:21Z\nAnnounced endpoint: none\n"
          "Rate limit: 2\n2 slots available now.\n"
          "Currently running queries (pid, space limit, time limit, start time):\n")
BBOX = (36.70, 34.53, 37.17, 34.70)


@pytest.fixture
def overpass(tmp_path, monkeypatch):
    """Recorded Overpass endpoints; osmnx's cache in a temporary folder."""
    monkeypatch.setattr(ox.settings, "cache_folder", str(tmp_path / "osmnx-cache"))
    monkeypatch.setattr(ox.settings, "use_cache", True)
    monkeypatch.setattr(ox.settings, "log_console", False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{ox.settings.overpass_url}/status", body=STATUS)
        rsps.post(f"{ox.settings.overpass_url}/interpreter", json=json.loads(RECORDING.read_text("utf-8")))
        yield rsps


def interpreter_calls(rsps) -> list:
    return [c for c in rsps.calls if c.request.url.endswith("/interpreter")]


def test_bbox_download_builds_enriched_graph_with_osm_tags(overpass):
    G = load_network("overpass", bbox=BBOX, road_classes="major")
    calls = interpreter_calls(overpass)
    assert len(calls) == 1
    query = calls[0].request.body
    query = query.decode() if isinstance(query, bytes) else query
    assert "motorway" in query and "tertiary" in query and "residential" not in query
    assert G.graph["schematic"] is False and "OpenStreetMap" in G.graph["data_notice"]
    for _, _, d in G.edges(data=True):
        assert d["length"] > 0 and d["travel_time"] > 0 and d["capacity"] > 0
    # selectors work on Overpass graphs: the M5 is found by ref, int_ref and names
    m5 = select(G, {"ref": "M45"})
    osmids = {o for e in m5.edges for o in (G.edges[e]["osmid"] if isinstance(G.edges[e]["osmid"], list)
                                             else [G.edges[e]["osmid"]])}
    assert {18643959, 105746573} <= osmids  # the two M5 ways that carry only int_ref=M45


def test_same_graph_as_from_the_file(overpass):
    G = load_network("overpass", bbox=BBOX)
    H = load_network(Path(__file__).parent / "fixtures" / "overpass_homs_recording.json")
    assert G.number_of_edges() == H.number_of_edges()
    assert sum(d["length"] for *_, d in G.edges(data=True)) == pytest.approx(
        sum(d["length"] for *_, d in H.edges(data=True)), rel=1e-6)


def test_second_download_comes_from_the_cache(overpass):
    load_network("overpass", bbox=BBOX)
    load_network("overpass", bbox=BBOX)
    assert len(interpreter_calls(overpass)) == 1


def test_overpass_filter_lists_exact_classes():
    f = overpass_filter(MAJOR_CLASSES)
    assert f.startswith('["highway"~"^(') and "motorway_link" in f and "residential" not in f


def test_overpass_needs_an_area():
    with pytest.raises(NetworkLoadError, match="network.source = 'overpass'.*bbox"):
        load_network("overpass")


def test_bad_bbox_order_is_named():
    with pytest.raises(NetworkLoadError, match=r"bbox = \(37.0, 34.0, 36.0, 35.0\)"):
        load_network("overpass", bbox=(37.0, 34.0, 36.0, 35.0))


NOMINATIM_ANSWER = [{
    "place_id": 1, "licence": "Data © OpenStreetMap contributors, ODbL 1.0", "osm_type": "relation", "osm_id": 1,
    "lat": "34.61", "lon": "36.93", "class": "boundary", "type": "administrative", "place_rank": 16,
    "importance": 0.5, "addresstype": "city", "name": "Homs test area", "display_name": "Homs test area, Syria",
    "boundingbox": ["34.53", "34.70", "36.70", "37.17"],
    "geojson": {"type": "Polygon", "coordinates": [[[36.70, 34.53], [37.17, 34.53], [37.17, 34.70],
                                                    [36.70, 34.70], [36.70, 34.53]]]},
}]


def test_place_name_is_geocoded_then_downloaded(overpass):
    overpass.get(f"{ox.settings.nominatim_url.rstrip('/')}/search", json=NOMINATIM_ANSWER)
    G = load_network("place:Homs test area, Syria", road_classes="major")
    assert any(c.request.url.startswith(ox.settings.nominatim_url) for c in overpass.calls)
    assert len(interpreter_calls(overpass)) == 1
    assert G.graph["source"] == "overpass: place 'Homs test area, Syria'"
    assert select(G, {"ref": "M5"}).edges
