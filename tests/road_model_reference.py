"""Independent references for the road model tests.

- :func:`restriction_violations`: walks a route (graph edges) against the turn-restriction
  relations read straight from the OSM file with pyosmium (not through the loader or the engine).
- :func:`turn_graph_distances`: networkx Dijkstra on an explicit turn graph (a node per road edge
  and access state, an arc per allowed turn), built from the forbidden edge pairs and the
  destination-only edges; the plain reference for the engine's expanded routing graph.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import networkx as nx
import numpy as np
import osmium

CAR_KEYS = ("restriction:motorcar", "restriction")


def relations(path: str | Path) -> list[dict]:
    """Turn restriction relations of an OSM file that apply to cars (pyosmium, nothing else)."""
    out = []
    for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
        tags = dict(rel.tags)
        if tags.get("type") != "restriction":
            continue
        value = next((tags[k] for k in CAR_KEYS if tags.get(k)), None)
        exempt = {v.strip() for v in tags.get("except", "").split(";")}
        if value is None or "motorcar" in exempt or not value.startswith(("no_", "only_")):
            continue
        members = [(m.role, m.type, m.ref) for m in rel.members]
        out.append({"id": rel.id, "kind": value.split("_")[0], "value": value,
                    "from": {r for role, t, r in members if role == "from" and t == "w"},
                    "to": {r for role, t, r in members if role == "to" and t == "w"},
                    "via_nodes": [r for role, t, r in members if role == "via" and t == "n"],
                    "via_ways": {r for role, t, r in members if role == "via" and t == "w"}})
    return out


def _ways(G: nx.MultiDiGraph, edge: tuple[int, int, int]) -> set[int]:
    osmid = G.edges[edge]["osmid"]
    return set(osmid) if isinstance(osmid, list) else {osmid}


def restriction_violations(G: nx.MultiDiGraph, route: Sequence[tuple[int, int, int]], rels: Iterable[dict]
                           ) -> tuple[list[int], int]:
    """Relation ids the route breaks, and how many turns were ambiguous (a to-way passing through
    the via node of a directional restriction: left/right/straight decide the side; skipped)."""
    rels = list(rels)
    by_via: dict[int, list[dict]] = {}
    for r in rels:
        for n in r["via_nodes"]:
            by_via.setdefault(n, []).append(r)
    broken, ambiguous = [], 0
    ways = [_ways(G, e) for e in route]
    for i in range(len(route) - 1):
        node = route[i][1]
        for r in by_via.get(node, []):
            if not ways[i] & r["from"]:
                continue
            onto_to = bool(ways[i + 1] & r["to"])
            if r["from"] & r["to"]:  # a U-turn restriction: only going back where one came from counts
                onto_to = onto_to and route[i + 1][1] == route[i][0]
            elif onto_to and _passes_through(G, r, node) and not r["value"].endswith("u_turn"):
                ambiguous += 1  # the to-way goes both ways from the via node: the named turn decides the side
                onto_to = _turn_is(r["value"], _turn_angle(G, route[i], route[i + 1]))
            if (r["kind"] == "no" and onto_to) or (r["kind"] == "only" and not onto_to):
                broken.append(r["id"])
    for r in (r for r in rels if r["via_ways"]):
        for i in range(len(route)):
            if not ways[i] & r["from"]:
                continue
            j = i + 1
            while j < len(route) and ways[j] <= r["via_ways"]:
                j += 1
            if j == i + 1 or j >= len(route):
                continue  # the route does not enter the via ways, or ends on them
            if (r["kind"] == "no" and ways[j] & r["to"]) or (r["kind"] == "only" and not ways[j] & r["to"]):
                broken.append(r["id"])
    return broken, ambiguous


def _turn_angle(G: nx.MultiDiGraph, into: tuple[int, int, int], out: tuple[int, int, int]) -> float:
    """Degrees turned at the node joining two edges (right positive), from their geometries."""
    def coords(edge: tuple[int, int, int]) -> list[tuple[float, float]]:
        geom = G.edges[edge].get("geometry")
        if geom is not None:
            return list(geom.coords)
        return [(G.nodes[n]["x"], G.nodes[n]["y"]) for n in edge[:2]]

    (x0, y0), (x1, y1) = coords(into)[-2:]
    (x2, y2), (x3, y3) = coords(out)[:2]
    scale = math.cos(math.radians(y1))
    heading_in = math.atan2((x1 - x0) * scale, y1 - y0)
    heading_out = math.atan2((x3 - x2) * scale, y3 - y2)
    return (math.degrees(heading_out - heading_in) + 180.0) % 360.0 - 180.0


def _turn_is(value: str, angle: float) -> bool:
    """Whether a turn of ``angle`` degrees is the one a restriction value names."""
    if value.endswith("left_turn"):
        return angle < 0
    if value.endswith("right_turn"):
        return angle > 0
    if value.endswith("straight_on"):
        return abs(angle) < 90
    return True


def _passes_through(G: nx.MultiDiGraph, r: dict, node: int) -> bool:
    """Whether the to-way has graph edges both into and out of the via node (it passes through)."""
    into = any(r["to"] & _ways(G, (u, node, k)) for u, _, k in G.in_edges(node, keys=True))
    out = any(r["to"] & _ways(G, (node, v, k)) for _, v, k in G.out_edges(node, keys=True))
    return into and out


def turn_graph_distances(src: np.ndarray, dst: np.ndarray, w: np.ndarray, forbidden_pairs: set[tuple[int, int]],
                         destination_only: np.ndarray, origin: int, targets: Iterable[int]) -> dict[int, float]:
    """Shortest times from road node ``origin`` to ``targets`` (road node indices) on an explicit
    networkx turn graph: nodes (edge, zone) with zone A (start zone), B (through), C (end zone)."""
    H = nx.DiGraph()
    m = len(src)
    out = {}
    for e in range(m):
        out.setdefault(int(src[e]), []).append(e)

    def zone(z: str, e: int) -> str | None:
        if destination_only[e]:
            return "A" if z == "A" else "C"
        return None if z == "C" else "B"

    for e in range(m):
        if not np.isfinite(w[e]):
            continue
        for f in out.get(int(dst[e]), []):
            if (e, f) in forbidden_pairs or not np.isfinite(w[f]):
                continue
            for z in "ABC":
                z2 = zone(z, f)
                if z2 is not None:
                    H.add_edge((e, z), (f, z2), weight=float(w[f]))
    for e in out.get(origin, []):
        if np.isfinite(w[e]):
            H.add_edge(("start", origin), (e, zone("A", e)), weight=float(w[e]))
    for e in range(m):
        for z in "ABC":
            H.add_edge((e, z), ("end", int(dst[e])), weight=0.0)
    lengths = nx.single_source_dijkstra_path_length(H, ("start", origin), weight="weight")
    return {t: (0.0 if t == origin else lengths.get(("end", t), math.inf)) for t in targets}
