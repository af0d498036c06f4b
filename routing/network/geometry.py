"""Edge geometry: the one helper every layer uses to draw or measure an edge."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
from shapely.geometry import LineString

EdgeKey = tuple[int, int, int]  # (u, v, key) of a MultiDiGraph edge


def edge_line(G: nx.MultiDiGraph, edge: EdgeKey) -> LineString:
    """An edge's ``geometry`` (merged edges carry one), else the straight line between its nodes
    (lon/lat degrees)."""
    u, v, k = edge
    geom = G.edges[u, v, k].get("geometry")
    if geom is not None:
        return geom
    nu, nv = G.nodes[u], G.nodes[v]
    return LineString([(nu["x"], nu["y"]), (nv["x"], nv["y"])])


def edge_lines(G: nx.MultiDiGraph, edges: Iterable[EdgeKey]) -> list[LineString]:
    """:func:`edge_line` of every edge in ``edges``."""
    return [edge_line(G, e) for e in edges]
