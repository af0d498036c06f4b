"""An independent check of routes against OSM turn restrictions and destination-only streets, for
the fidelity benchmark: it reads the OSM file itself (pyosmium) and walks a route given as its
sequence of OSM node ids, sharing no code with ``routing`` (so it can check our routes and OSRM's).

Restrictions for a car: the first of ``restriction:motorcar``, ``restriction:motor_vehicle``,
``restriction:vehicle``, ``restriction`` present; none when ``except`` names ``motorcar``,
``motor_vehicle`` or ``vehicle``. ``restriction:conditional`` is not applied (nor by OSRM's
default car profile). A route violates ``no_*`` (via a node) when it arrives at the via node on a
segment of a from-way and leaves on a segment of a to-way; ``only_*`` when it arrives that way and
leaves on a segment of no to-way. Via ways: the route runs along a segment of a from-way, then
over segments of the via ways (touching each) to a node of a to-way, and then leaves on a to-way
(``no_*``) or not (``only_*``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

CAR_RESTRICTION_KEYS = ("restriction:motorcar", "restriction:motor_vehicle", "restriction:vehicle", "restriction")
CAR_EXEMPT = frozenset({"motorcar", "motor_vehicle", "vehicle"})
CAR_ACCESS_KEYS = ("access", "vehicle", "motor_vehicle", "motorcar")  # most general first
DESTINATION = frozenset({"destination", "delivery", "customers"})
EARTH_M = 6_371_009.0


@dataclass(frozen=True)
class Restriction:
    """One turn restriction as it applies to a car: ``kind`` "no" or "only"."""

    id: int
    kind: str
    from_ways: frozenset[int]
    to_ways: frozenset[int]
    via_node: int | None = None
    via_ways: frozenset[int] = frozenset()


def car_restriction(relation_id: int, tags: dict[str, str], members: Iterable[tuple[str, str, int]]
                    ) -> Restriction | None:
    """The restriction a ``type=restriction`` relation puts on cars (members: role, type ``n``/``w``,
    ref), or None (another type, exempt, no/unknown value, missing members)."""
    if tags.get("type") != "restriction":
        return None
    if CAR_EXEMPT & {v.strip() for v in tags.get("except", "").split(";")}:
        return None
    value = next((tags[k] for k in CAR_RESTRICTION_KEYS if tags.get(k)), "")
    kind = value.split("_", 1)[0]
    if kind not in ("no", "only"):
        return None
    frm, to, vn, vw = set(), set(), [], set()
    for role, kind_, ref in members:
        if role == "from" and kind_ == "w":
            frm.add(ref)
        elif role == "to" and kind_ == "w":
            to.add(ref)
        elif role == "via":
            (vn.append(ref) if kind_ == "n" else vw.add(ref))
    if not frm or not to or bool(vn) == bool(vw) or len(vn) > 1:
        return None
    return Restriction(relation_id, kind, frozenset(frm), frozenset(to), vn[0] if vn else None, frozenset(vw))


def car_access(tags: dict[str, str]) -> str:
    """The most specific car access value present (``access`` < ... < ``motorcar``), or ''."""
    value = ""
    for key in CAR_ACCESS_KEYS:
        if tags.get(key):
            value = tags[key]
    return value


@dataclass
class Walker:
    """Restrictions and the ways they name, plus destination-only segments, of one OSM file."""

    restrictions: list[Restriction]
    way_nodes: dict[int, list[int]]  # node ids of every way a restriction names
    destination_segments: set[frozenset[int]] = field(default_factory=set)
    onto_closed: list[int] = field(default_factory=list)  # only_* restrictions onto roads closed to cars (unchecked)
    _seg_ways: dict[frozenset[int], set[int]] = field(init=False, repr=False)
    _by_via: dict[int, list[Restriction]] = field(init=False, repr=False)
    _by_from: dict[int, list[Restriction]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._seg_ways = {}
        for way, nodes in self.way_nodes.items():
            for a, b in pairwise(nodes):
                self._seg_ways.setdefault(frozenset((a, b)), set()).add(way)
        self._by_via, self._by_from = {}, {}
        for r in self.restrictions:
            if r.via_node is not None:
                self._by_via.setdefault(r.via_node, []).append(r)
            else:
                for w in r.from_ways:
                    self._by_from.setdefault(w, []).append(r)

    def ways(self, a: int, b: int) -> set[int]:
        """Restriction member ways containing the segment a-b (either direction)."""
        return self._seg_ways.get(frozenset((a, b)), set())

    def violations(self, nodes: Sequence[int]) -> list[int]:
        """Ids of the restrictions the route (OSM node ids in travel order) violates, one per violation."""
        nodes = [n for i, n in enumerate(nodes) if i == 0 or n != nodes[i - 1]]
        segs = [self.ways(a, b) for a, b in pairwise(nodes)]
        out = []
        for i in range(1, len(nodes) - 1):
            for r in self._by_via.get(nodes[i], ()):
                if not segs[i - 1] & r.from_ways:
                    continue
                leaves_on_to = bool(segs[i] & r.to_ways)
                if r.kind == "no" and segs[i] & r.to_ways & r.from_ways and nodes[i + 1] != nodes[i - 1]:
                    leaves_on_to = False  # from-way = to-way (a U-turn ban): going on along it is no U-turn
                if leaves_on_to == (r.kind == "no"):
                    out.append(r.id)
        for i, here in enumerate(segs):
            for r in {r for w in here for r in self._by_from.get(w, ())}:
                j, touched = i + 1, set()
                while j < len(segs) and segs[j] & r.via_ways:
                    touched |= segs[j] & r.via_ways
                    j += 1
                if j == i + 1 or j == len(segs) or touched != r.via_ways:
                    continue  # not along the via ways, or the route ends on them
                at_to = any(nodes[j] in self.way_nodes.get(w, ()) for w in r.to_ways)
                if at_to and (bool(segs[j] & r.to_ways) == (r.kind == "no")):
                    out.append(r.id)
        return out

    def through_destination(self, nodes: Sequence[int]) -> bool:
        """Whether the route passes through destination-only segments: enters them from an open
        segment and leaves them onto one (a destination-only run at its start or end is fine)."""
        dest = [frozenset(p) in self.destination_segments for p in pairwise(nodes)]
        open_idx = [i for i, d in enumerate(dest) if not d]
        return bool(open_idx) and any(d and open_idx[0] < i < open_idx[-1] for i, d in enumerate(dest))


@dataclass
class OsmRoads:
    """Every highway node's (lon, lat), every highway way's node ids and ``highway`` value."""

    coords: dict[int, tuple[float, float]]
    way_nodes: dict[int, list[int]]
    highway: dict[int, str]


def read_osm(path: Path) -> tuple[Walker, OsmRoads]:
    """The walker of an OSM file and its roads."""
    import osmium

    relations: list[Restriction] = []
    way_nodes: dict[int, list[int]] = {}
    coords: dict[int, tuple[float, float]] = {}
    highway: dict[int, str] = {}
    destination: set[frozenset[int]] = set()
    closed: set[int] = set()
    for obj in osmium.FileProcessor(str(path)).with_locations().with_filter(osmium.filter.KeyFilter("highway", "type")):
        if obj.is_way() and "highway" in obj.tags:
            refs = [n.ref for n in obj.nodes if n.location.valid()]
            for n in obj.nodes:
                if n.location.valid():
                    coords[n.ref] = (n.location.lon, n.location.lat)
            way_nodes[obj.id] = refs
            tags = dict(obj.tags)
            highway[obj.id] = tags["highway"]
            if car_access(tags) in ("no", "private"):
                closed.add(obj.id)
            if car_access(tags) in DESTINATION:
                destination.update(frozenset(p) for p in pairwise(refs))
        elif obj.is_relation():
            r = car_restriction(obj.id, dict(obj.tags), ((m.role, m.type, m.ref) for m in obj.members))
            if r is not None:
                relations.append(r)
    # an only_* turn onto roads closed to cars cannot be obeyed by a car: not checked, counted
    onto_closed = [r.id for r in relations if r.kind == "only" and r.to_ways <= closed]
    relations = [r for r in relations if r.id not in onto_closed]
    named = {w for r in relations for w in (*r.from_ways, *r.to_ways, *r.via_ways)}
    walker = Walker(relations, {w: way_nodes[w] for w in named if w in way_nodes}, destination, onto_closed)
    return walker, OsmRoads(coords, way_nodes, highway)


def route_length_m(nodes: Sequence[int], coords: dict[int, tuple[float, float]]) -> float:
    """Great-circle length (m) of a route of OSM node ids (haversine, earth radius 6,371,009 m)."""
    total = 0.0
    for a, b in pairwise(nodes):
        (x1, y1), (x2, y2) = coords[a], coords[b]
        p1, p2 = math.radians(y1), math.radians(y2)
        h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(x2 - x1) / 2) ** 2
        total += 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))
    return total
