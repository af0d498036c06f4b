"""Traffic signals: each signal a route passes adds the profile's signal delay (2 s for the car, as
OSRM's car profile), in the direction the signal faces; edges' travel times stay driving times.

References: the signal tags read straight from the OSM file with pyosmium, and hand-made graphs
whose routes are known.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import osmium
import pytest
from osmium.osm.mutable import Node, Way
from test_road_model import extract

from routing import Network, load_network, od_matrix
from routing.network.graphml import load_graphml, save_graphml
from routing.settings import PROFILES

D = 0.005  # degrees between neighbouring nodes (about 450 m)


def _write(path: Path, nodes: dict[int, tuple[float, float, dict]], ways: list[tuple[int, list[int], dict]]) -> Path:
    with osmium.SimpleWriter(str(path)) as writer:
        for nid, (x, y, tags) in sorted(nodes.items()):
            writer.add_node(Node(id=nid, location=(x, y), tags=tags))
        for wid, refs, tags in ways:
            writer.add_way(Way(id=wid, nodes=refs, tags=tags))
    return path


def _edge_time(net: Network, u: int, v: int) -> float:
    return float(net.attr["travel_time"][net.edge_ids([(u, v, 0)])[0]])


@pytest.mark.parametrize("facing, forward, backward", [({}, 1, 1), ({"traffic_signals:direction": "forward"}, 1, 0),
                                                        ({"direction": "backward"}, 0, 1)])
def test_a_signal_inside_a_merged_edge_delays_the_directions_it_faces(tmp_path: Path, facing: dict, forward: int,
                                                                      backward: int) -> None:
    signal = {"highway": "traffic_signals", **facing}
    path = _write(tmp_path / "road.osm.pbf", {1: (14.0, 36.0, {}), 2: (14.0 + D, 36.0, signal),
                                              3: (14.0 + 2 * D, 36.0, {})},
                  [(10, [1, 2, 3], {"highway": "primary"})])
    G = load_network(path, cache=False)
    assert 2 not in G  # the signal node is merged away; its delay stays on the edge
    assert G.edges[1, 3, 0].get("traffic_signals", 0) == forward
    assert G.edges[3, 1, 0].get("traffic_signals", 0) == backward
    net = Network(G)
    for (u, v), count in (((1, 3), forward), ((3, 1), backward)):
        assert _edge_time(net, u, v) == pytest.approx(G.edges[u, v, 0]["travel_time"] + 2.0 * count)
        assert G.edges[u, v, 0]["travel_time"] == pytest.approx(G.edges[u, v, 0]["length"] / (65 / 3.6))
    assert np.array_equal(Network.load(path, cache=False).signals, net.signals)  # from the loader's arrays too
    save_graphml(G, tmp_path / "road.graphml")
    assert np.array_equal(Network(load_graphml(tmp_path / "road.graphml")).signals, net.signals)
    time = od_matrix(net, [1, 3]).time_s
    drive = od_matrix(load_network(path, cache=False, simplify=False), [1, 3]).time_s  # unsimplified: same times
    assert np.allclose(time, drive)


def test_the_signal_delay_can_change_the_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two roads between junctions 1 and 4: the northern one 1-3-4 (node 3 a signal) under 2 s
    faster to drive than the southern one 1-2-4; stubs 5-1 and 4-6 lead to them."""
    signal = {"highway": "traffic_signals"}
    path = _write(tmp_path / "choice.osm.pbf", {1: (14.0, 36.0, {}), 4: (14.0 + 2 * D, 36.0, {}),
                                                3: (14.0 + D, 36.0 + 0.0004, signal),
                                                2: (14.0 + D, 36.0 - 0.00047, {}),
                                                5: (14.0 - D, 36.0, {}), 6: (14.0 + 3 * D, 36.0, {})},
                  [(10, [1, 3, 4], {"highway": "primary"}), (11, [1, 2, 4], {"highway": "primary"}),
                   (12, [5, 1], {"highway": "primary"}), (13, [4, 6], {"highway": "primary"})])
    G = load_network(path, cache=False)
    north, south = ((1, 4, k) for w in (10, 11) for k, d in G[1][4].items() if d["osmid"] == w)
    assert G.edges[north]["traffic_signals"] == 1 and "traffic_signals" not in G.edges[south]
    assert 0 < G.edges[south]["travel_time"] - G.edges[north]["travel_time"] < 2.0  # driving, the north is faster
    assert od_matrix(Network(G), [5], [6]).path(5, 6) == [(5, 1, 0), south, (4, 6, 0)]
    monkeypatch.setitem(PROFILES, "car", dataclasses.replace(PROFILES["car"], signal_delay_s=0.0))
    assert od_matrix(Network(G), [5], [6]).path(5, 6) == [(5, 1, 0), north, (4, 6, 0)]
    assert Network(G).road_model()["signal_delay_s"] == 0.0


def test_a_damaged_road_slows_its_driving_not_its_signal(tmp_path: Path) -> None:
    from routing.scenario import Damage

    path = _write(tmp_path / "road.osm.pbf", {1: (14.0, 36.0, {}), 2: (14.0 + D, 36.0, {"highway": "traffic_signals"}),
                                              3: (14.0 + 2 * D, 36.0, {})},
                  [(10, [1, 2, 3], {"highway": "primary"})])
    G = load_network(path, cache=False)
    net = Network(G)
    w = net.weights("travel_time", Damage(speed_factor={(1, 3, 0): 0.5}))
    assert w[net.edge_ids([(1, 3, 0)])[0]] == pytest.approx(2 * G.edges[1, 3, 0]["travel_time"] + 2.0)


@pytest.mark.parametrize("name", ["porto", "liechtenstein"])
def test_every_segment_into_a_signal_counts_it_as_the_file_says(name: str) -> None:
    """Unsimplified graph of a real extract: a segment counts a signal exactly when its head is a
    ``highway=traffic_signals`` node facing the segment's direction along its way (pyosmium)."""
    facing: dict[int, str] = {}
    way_nodes: dict[int, list[int]] = {}
    for obj in osmium.FileProcessor(str(extract(name)), osmium.osm.NODE | osmium.osm.WAY):
        if obj.is_node() and obj.tags.get("highway") == "traffic_signals":
            facing[obj.id] = obj.tags.get("traffic_signals:direction") or obj.tags.get("direction") or ""
        elif obj.is_way() and "highway" in obj.tags:
            way_nodes[obj.id] = [n.ref for n in obj.nodes]
    G = load_network(extract(name), simplify=False)
    counted = directional = 0
    for u, v, d in G.edges(data=True):
        refs = way_nodes[d["osmid"]]
        along = any(a == u and b == v for a, b in itertools.pairwise(refs))
        side = facing.get(v)
        expected = side is not None and not (side == "forward" and not along) and not (side == "backward" and along)
        assert d.get("traffic_signals", 0) == int(expected), (u, v, side, along)
        counted += expected
        directional += expected and side in ("forward", "backward")
    assert counted > 30 and directional > 10  # both extracts have signals facing one way
