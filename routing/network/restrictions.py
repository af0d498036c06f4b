"""Turn restrictions as read from OSM relations ``type=restriction`` (plain, JSON-able records).

A record keeps what a router needs and nothing else: the relation id, its ``restriction`` tags
(plain and vehicle-specific forms, ``except``) and its members: ``from`` and ``to`` way ids, and
the ``via`` node ids or way ids. Records are stored in ``G.graph["turn_restrictions"]``; the
engine resolves them to forbidden edge sequences for a vehicle profile
(:mod:`routing.engine.turns`). Timed restrictions (``restriction:conditional``) are not applied.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import networkx as nx

from ..settings import VehicleProfile
from .geometry import EdgeKey, edge_line

RESTRICTION_TAGS = ("restriction", "restriction:motorcar", "restriction:hgv", "except")
MEMBER_ROLES = ("from", "via", "to")


def restriction_record(relation_id: int, tags: dict[str, str],
                       members: Iterable[tuple[str, str, int]]) -> dict[str, Any] | None:
    """A record from a relation's tags and (role, type, ref) members, type ``"n"``/``"w"``; None
    unless it is a ``type=restriction`` relation with a restriction value."""
    if tags.get("type") != "restriction" or not any(tags.get(k) for k in RESTRICTION_TAGS[:3]):
        return None
    record: dict[str, Any] = {"id": int(relation_id), "tags": {k: tags[k] for k in RESTRICTION_TAGS if k in tags},
                              "from": [], "via_nodes": [], "via_ways": [], "to": []}
    for role, kind, ref in members:
        if role == "via":
            record["via_nodes" if kind == "n" else "via_ways"].append(int(ref))
        elif role in ("from", "to") and kind == "w":
            record[role].append(int(ref))
    return record


def member_ways(records: Iterable[dict[str, Any]]) -> set[int]:
    """Every way id a restriction names (from, via or to)."""
    return {w for r in records for key in ("from", "via_ways", "to") for w in r[key]}


def via_nodes(records: Iterable[dict[str, Any]]) -> set[int]:
    """Every via node id."""
    return {n for r in records for n in r["via_nodes"]}


# ---------------------------------------------------------------- resolution on a graph

TURN_ANGLE = {"left_turn": -90.0, "right_turn": 90.0, "straight_on": 0.0, "u_turn": 180.0}  # degrees


def attach_restrictions(G: nx.MultiDiGraph, records: Iterable[dict[str, Any]]) -> None:
    """Resolve each record on ``G`` (its from, via and to ways as graph edges) and store the
    applied ones in ``G.graph["turn_restrictions"]`` (record + ``kind`` "no"/"only" + ``sequences``:
    lists of (u, v, key) edges from a from-edge through the via edges to a to-edge) and the dropped
    ones with their reason in ``G.graph["turn_restrictions_dropped"]``; ``load_report`` counts them."""
    records = list(records)
    by_way: dict[int, list[EdgeKey]] = {}
    for u, v, k, osmid in G.edges(keys=True, data="osmid"):
        for way in osmid if isinstance(osmid, list) else [osmid]:
            by_way.setdefault(int(way), []).append((u, v, k))
    applied, dropped = resolve_restrictions(records, by_way, G.__contains__, lambda e: edge_line(G, e).coords)
    store_restrictions(G.graph, len(records), applied, dropped)


def store_restrictions(graph_attrs: dict[str, Any], n_read: int, applied: list[dict[str, Any]],
                       dropped: list[dict[str, Any]]) -> None:
    """Put resolved restrictions into a graph's attributes (``G.graph``) and count them in its
    ``load_report``."""
    graph_attrs["turn_restrictions"] = applied
    graph_attrs["turn_restrictions_dropped"] = dropped
    report = graph_attrs.setdefault("load_report", {})
    report.update(restrictions_read=n_read, restrictions_applied=len(applied), restrictions_dropped=len(dropped))


def resolve_restrictions(records: Iterable[dict[str, Any]], by_way: dict[int, list[EdgeKey]],
                         has_node: Callable[[int], bool], line: Callable[[EdgeKey], Sequence[Sequence[float]]]
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The applied records (with ``kind`` and ``sequences``) and the dropped ones (id and reason).

    ``by_way``: the graph edges of each way, in the graph's edge order (at least of every member
    way); ``has_node``: whether a node id is in the graph; ``line``: an edge's lon/lat points.
    """
    applied, dropped = [], []
    for record in records:
        resolved = _resolve(record, by_way, has_node, line)
        if isinstance(resolved, str):
            dropped.append({"id": record["id"], "reason": resolved})
        else:
            applied.append(resolved)
    return applied, dropped


def restriction_value(record: dict[str, Any], profile: VehicleProfile) -> str | None:
    """The restriction that applies to the profile's vehicle (its specific form first), or None
    when it does not apply (no value for it, or the vehicle is exempted by ``except``)."""
    tags = record["tags"]
    exempt = {v.strip() for v in str(tags.get("except", "")).split(";")}
    if profile.except_value in exempt or "motor_vehicle" in exempt:
        return None
    return tags.get(profile.restriction_key) or tags.get("restriction")


def _resolve(record: dict[str, Any], by_way: dict[int, list[EdgeKey]], has_node: Callable[[int], bool],
             line: Callable[[EdgeKey], Sequence[Sequence[float]]]) -> dict[str, Any] | str:
    """The record with its edge sequences on ``G``, or the reason it cannot be applied."""
    values = [v for k, v in record["tags"].items() if k.startswith("restriction") and v]
    kinds = {v.split("_", 1)[0] for v in values}
    if not kinds <= {"no", "only"}:
        return f"unknown restriction value {sorted(values)}"
    if not record["from"] or not record["to"]:
        return "no from or no to way"
    if bool(record["via_nodes"]) == bool(record["via_ways"]) or len(record["via_nodes"]) > 1:
        return "needs exactly one via node, or via ways"
    missing = [w for w in record["from"] + record["to"] + record["via_ways"] if w not in by_way]
    if missing:
        return f"ways {missing} not in the network (clipped away, or not a road of the loaded classes)"
    if record["via_nodes"] and not has_node(record["via_nodes"][0]):
        return f"via node {record['via_nodes'][0]} not in the network (clipped away)"
    value = values[0]
    sequences = []
    for from_way in record["from"]:
        for to_way in record["to"]:
            sequences += _sequences(record, from_way, to_way, value, by_way, line)
    if not sequences:
        return "the via node or ways do not join the from and to ways"
    return {**record, "kind": value.split("_", 1)[0], "sequences": [[list(e) for e in s] for s in sequences]}


def _sequences(record: dict[str, Any], from_way: int, to_way: int, value: str, by_way: dict[int, list[EdgeKey]],
               line: Callable[[EdgeKey], Sequence[Sequence[float]]]) -> list[list[EdgeKey]]:
    """Edge sequences from an edge of ``from_way`` through the via to an edge of ``to_way``."""
    if record["via_nodes"]:
        via = record["via_nodes"][0]
        starts = [e for e in by_way[from_way] if e[1] == via]
        ends = [e for e in by_way[to_way] if e[0] == via]
        pairs = [[a, b] for a in starts for b in ends if a[0] != b[1] or from_way == to_way or len(ends) == 1]
    else:
        via_edges = {e for w in record["via_ways"] for e in by_way[w]}
        pairs = [[a, *path, b] for a in by_way[from_way] for b in by_way[to_way]
                 if (path := _via_path(a[1], b[0], via_edges)) is not None]
    if from_way == to_way and record["via_nodes"]:  # a U-turn: back along the same road
        pairs = [p for p in pairs if p[-1][1] == p[0][0]]
    for direction, angle in TURN_ANGLE.items():
        if value.endswith(direction) and len({tuple(p[:-1]) for p in pairs}) < len(pairs):
            pairs = _closest_turns(pairs, angle, line)  # a to-way through the via: keep the named turn
    return pairs


def _via_path(start: int, end: int, via_edges: set[EdgeKey]) -> list[EdgeKey] | None:
    """The via-way edges leading from node ``start`` to node ``end`` (breadth first), [] when they
    are the same node, None when the via ways do not join them."""
    if start == end:
        return []
    came: dict[int, EdgeKey | None] = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for e in via_edges:
                if e[0] == node and e[1] not in came:
                    came[e[1]] = e
                    nxt.append(e[1])
        frontier = nxt
        if end in came:
            path = []
            node = end
            while (step := came[node]) is not None:
                path.append(step)
                node = step[0]
            return path[::-1]
    return None


def _closest_turns(pairs: list[list[EdgeKey]], angle: float, line: Callable[[EdgeKey], Sequence[Sequence[float]]]
                   ) -> list[list[EdgeKey]]:
    """For each way in, the sequence whose turn onto the to-way is closest to ``angle`` degrees."""
    best: dict[tuple[EdgeKey, ...], tuple[float, list[EdgeKey]]] = {}
    for seq in pairs:
        turn = _turn_angle(line(seq[-2]), line(seq[-1]))
        miss = abs((turn - angle + 180.0) % 360.0 - 180.0)
        key = tuple(seq[:-1])
        if key not in best or miss < best[key][0]:
            best[key] = (miss, seq)
    return [seq for _, seq in best.values()]


def _turn_angle(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    """Degrees turned going from an edge with points ``a`` onto one with points ``b`` (lon/lat;
    right positive, left negative)."""
    return _bearing(b[0], b[1]) - _bearing(a[-2], a[-1])


def _bearing(p: Sequence[float], q: Sequence[float]) -> float:
    """Initial compass bearing (degrees clockwise from north) from lon/lat ``p`` to ``q``."""
    lat1, lat2 = math.radians(p[1]), math.radians(q[1])
    dlon = math.radians(q[0] - p[0])
    x = math.sin(dlon) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    return math.degrees(math.atan2(x, y))
