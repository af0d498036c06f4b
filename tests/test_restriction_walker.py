"""The fidelity benchmark's independent restriction walker (benchmarks/restriction_walker.py) on
hand-made junctions: no network, no OSRM."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from restriction_walker import Restriction, Walker, car_restriction, read_osm

# A cross at node 5: way 1 from the west (1-5), way 2 east (5-2), way 3 north (5-3), way 4 south
# (5-4); way 6 (5-7) leads on to node 7, where way 7 (7-8) and way 8 (7-9) leave; way 10 is a
# through road 20-21-22.
WAYS = {1: [1, 5], 2: [5, 2], 3: [5, 3], 4: [5, 4], 6: [5, 7], 7: [7, 8], 8: [7, 9], 10: [20, 21, 22]}


def walker(*restrictions: Restriction, destination: tuple[tuple[int, int], ...] = ()) -> Walker:
    return Walker(list(restrictions), WAYS, {frozenset(p) for p in destination})


def test_no_turn_via_node():
    w = walker(Restriction(100, "no", frozenset({1}), frozenset({3}), via_node=5))
    assert w.violations([1, 5, 3]) == [100]
    assert w.violations([1, 5, 2]) == []
    assert w.violations([3, 5, 1]) == []  # the other way round is allowed
    assert w.violations([1, 5]) == []


def test_only_turn_via_node():
    w = walker(Restriction(101, "only", frozenset({1}), frozenset({2}), via_node=5))
    assert w.violations([1, 5, 3]) == [101]
    assert w.violations([1, 5, 4]) == [101]
    assert w.violations([1, 5, 2]) == []
    assert w.violations([4, 5, 3]) == []  # not arriving on the from-way


def test_u_turn_ban_on_one_way_lets_it_continue():
    w = walker(Restriction(102, "no", frozenset({10}), frozenset({10}), via_node=21))
    assert w.violations([20, 21, 22]) == []
    assert w.violations([20, 21, 20]) == [102]


def test_via_way():
    no = walker(Restriction(103, "no", frozenset({1}), frozenset({7}), via_ways=frozenset({6})))
    assert no.violations([1, 5, 7, 8]) == [103]
    assert no.violations([1, 5, 7, 9]) == []
    assert no.violations([3, 5, 7, 8]) == []
    assert no.violations([1, 5, 7]) == []  # ends on the via way
    only = walker(Restriction(104, "only", frozenset({1}), frozenset({7}), via_ways=frozenset({6})))
    assert only.violations([1, 5, 7, 9]) == [104]
    assert only.violations([1, 5, 7, 8]) == []


def test_car_tags():
    members = [("from", "w", 1), ("via", "n", 5), ("to", "w", 3)]
    assert car_restriction(1, {"type": "restriction", "restriction": "no_left_turn"}, members).kind == "no"
    assert car_restriction(1, {"type": "restriction", "restriction": "no_left_turn", "except": "bus;motorcar"},
                           members) is None
    assert car_restriction(1, {"type": "restriction", "restriction:hgv": "no_left_turn"}, members) is None
    r = car_restriction(1, {"type": "restriction", "restriction": "no_left_turn",
                            "restriction:motorcar": "only_straight_on"}, members)
    assert r.kind == "only"
    assert car_restriction(1, {"type": "multipolygon", "restriction": "no_left_turn"}, members) is None
    assert car_restriction(1, {"type": "restriction", "restriction": "no_left_turn"}, members[:2]) is None


def test_through_destination():
    w = walker(destination=((5, 2),))
    assert not w.through_destination([1, 5, 2])  # ends on it
    assert not w.through_destination([2, 5, 3])  # starts on it
    w = walker(destination=((5, 7),))
    assert w.through_destination([1, 5, 7, 8])


def test_read_osm(tmp_path: Path):
    nodes = "".join(f'<node id="{i}" lat="{50 + i / 1000}" lon="{8 + i / 1000}" version="1"/>' for i in (1, 2, 3, 5))
    ways = "".join(f'<way id="{w}" version="1">' + "".join(f'<nd ref="{n}"/>' for n in WAYS[w])
                   + f'<tag k="highway" v="residential"/>{extra}</way>'
                   for w, extra in ((1, ""), (2, '<tag k="motor_vehicle" v="destination"/>'),
                                    (3, '<tag k="access" v="no"/>')))
    members = '<member type="way" ref="1" role="from"/><member type="node" ref="5" role="via"/>'
    relations = (f'<relation id="200" version="1">{members}<member type="way" ref="3" role="to"/>'
                 '<tag k="type" v="restriction"/><tag k="restriction" v="only_left_turn"/></relation>'
                 f'<relation id="201" version="1">{members}<member type="way" ref="2" role="to"/>'
                 '<tag k="type" v="restriction"/><tag k="restriction:motorcar" v="no_straight_on"/></relation>')
    path = tmp_path / "cross.osm"
    path.write_text(f'<?xml version="1.0"?><osm version="0.6">{nodes}{ways}{relations}</osm>', encoding="utf-8")
    w, roads = read_osm(path)
    assert [r.id for r in w.restrictions] == [201]
    assert w.onto_closed == [200]  # only_* onto a road closed to cars: not checked
    assert w.destination_segments == {frozenset((5, 2))}
    assert roads.way_nodes[1] == [1, 5] and roads.highway[2] == "residential"
    assert roads.coords[5] == pytest.approx((8.005, 50.005))
    assert w.violations([1, 5, 2]) == [201]
