"""Edge geometry: the one helper every layer uses to draw or measure an edge."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike
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


EARTH_RADIUS_M = 6_371_009.0  # mean Earth radius (IUGG), the radius osmnx measures edge lengths with


def great_circle_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> Any:
    """Great-circle distance (m, haversine on a sphere of :data:`EARTH_RADIUS_M`) between points
    given in degrees; arrays broadcast. The same figures as ``osmnx.distance.great_circle``,
    without importing osmnx."""
    phi1, phi2 = np.deg2rad(lat1), np.deg2rad(lat2)
    dphi, dlam = phi2 - phi1, np.deg2rad(lon2) - np.deg2rad(lon1)
    hav = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    return 2 * np.arcsin(np.sqrt(np.minimum(1, hav))) * EARTH_RADIUS_M
