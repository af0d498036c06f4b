"""Isochrones / service areas: what is reachable within T minutes, before and after damage.

An isochrone is computed on the network (one bounded Dijkstra per source, damage as weights) and
returned as node times, edge sets (edges wholly reachable, and the reachable part of the edges
where the time runs out) and a polygon (the reachable road pieces buffered by ``buffer_m``
metres, in a local metric CRS, then returned in lon/lat degrees).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from ..engine import Network
from ..network import EdgeKey, edge_line
from ..scenario import Damage

DIRECTIONS = ("from", "to")


@dataclass
class Isochrone:
    """Reachable set within ``limit_s`` seconds from (``direction="from"``) or to the sources.

    ``node_time_s``: graph node id -> seconds. ``edges``: edges wholly reachable; ``partial``:
    (edge, fraction of its length reachable, measured from its tail for "from", from its head
    for "to"). ``polygon`` is in lon/lat degrees, ``polygon_m`` in ``crs`` (metres).
    """

    sources: list[int]
    limit_s: float
    direction: str
    node_time_s: pd.Series
    edges: list[EdgeKey]
    partial: list[tuple[EdgeKey, float]]
    polygon: shapely.Geometry
    polygon_m: shapely.Geometry
    crs: str

    @property
    def area_km2(self) -> float:
        return float(self.polygon_m.area) / 1e6


def _metric_crs(network: Network) -> str:
    G = network.graph
    xs = [d["x"] for _, d in G.nodes(data=True)]
    ys = [d["y"] for _, d in G.nodes(data=True)]
    return str(gpd.GeoSeries(gpd.points_from_xy([np.mean(xs)], [np.mean(ys)]), crs="EPSG:4326").estimate_utm_crs())


def isochrone(network: Network | nx.MultiDiGraph, sources: list[int], minutes: float, *, damage: Damage | None = None,
              direction: str = "from", buffer_m: float = 100.0, weight: str = "travel_time") -> Isochrone:
    """Nodes, edges and area reachable within a time limit.

    Parameters
    ----------
    network
        The road network (a graph is compiled first).
    sources
        Graph node ids: reachable from any of them (``direction="from"``) or reaching one of them
        (``direction="to"``: the service area of facilities).
    minutes
        The limit in minutes (``weight="length"``: kilometres).
    damage
        The damaged network; None is the baseline.
    buffer_m
        The reachable road pieces are buffered by this many metres to make the area.

    Returns
    -------
    Isochrone
        Node times (s), edges wholly or partly reachable, and the area (lon/lat and metric).
    """
    return isochrones(network, sources, [minutes], damage=damage, direction=direction, buffer_m=buffer_m,
                      weight=weight)[0]


def isochrones(network: Network | nx.MultiDiGraph, sources: list[int], minutes: Sequence[float], *,
               damage: Damage | None = None, direction: str = "from", buffer_m: float = 100.0,
               weight: str = "travel_time") -> list[Isochrone]:
    """:func:`isochrone` for several limits (e.g. 15, 30, 60 minutes) from one search."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if not minutes or min(minutes) < 0:
        raise ValueError("minutes must be one or more numbers >= 0")
    network = Network.of(network)
    scale = 60.0 if weight == "travel_time" else 1000.0
    r = network.routing
    w_road = network.weights(weight, damage)
    idx = network.node_ids(list(sources))
    reverse = direction == "to"
    tree = network.nearest(idx, w_road, reverse=reverse, limit=max(minutes) * scale)
    best = tree.node_dist()
    wx = r.expand(w_road)
    # each road edge through its routing copies: from the copy's tail (to: to its head)
    road = np.flatnonzero(r.phys >= 0)
    start_x = tree.dist[r.dst[road] if reverse else r.src[road]]
    crs = _metric_crs(network)
    out = []
    for limit in (m * scale for m in minutes):
        reached = np.flatnonzero(best <= limit)
        node_time = pd.Series(best[reached], index=[network.nodes[i] for i in reached], name="time_s")
        reach_x = np.where(np.isfinite(wx[road]) & (start_x < limit),
                           np.clip((limit - start_x) / np.maximum(wx[road], 1e-12), 0.0, 1.0), 0.0)
        fraction = np.zeros(len(network.edges))
        np.maximum.at(fraction, r.phys[road], reach_x)
        whole = np.flatnonzero(fraction >= 1.0)
        part = np.flatnonzero((fraction > 0.0) & (fraction < 1.0))
        fractions = fraction[part]
        pieces = [edge_line(network.graph, network.edges[e]) for e in whole]
        for e, f in zip(part, fractions):
            line = edge_line(network.graph, network.edges[e])
            pieces.append(substring(line, 0, f, normalized=True) if direction == "from"
                          else substring(line, 1 - f, 1, normalized=True))
        pieces += [shapely.Point(network.graph.nodes[network.nodes[i]]["x"],
                                 network.graph.nodes[network.nodes[i]]["y"]) for i in idx]
        metric = gpd.GeoSeries(pieces, crs="EPSG:4326").to_crs(crs)
        polygon_m = shapely.union_all(metric.buffer(buffer_m).to_numpy())
        polygon = gpd.GeoSeries([polygon_m], crs=crs).to_crs("EPSG:4326").iloc[0]
        out.append(Isochrone(list(sources), limit, direction, node_time, [network.edges[e] for e in whole],
                             [(network.edges[e], float(f)) for e, f in zip(part, fractions)], polygon, polygon_m,
                             crs))
    return out


def isochrone_change(before: Isochrone, after: Isochrone) -> dict[str, object]:
    """What damage took away: nodes and edges no longer reachable, the lost area (lon/lat polygon)
    and areas before/after in km²."""
    lost_m = before.polygon_m.difference(after.polygon_m)
    lost = gpd.GeoSeries([lost_m], crs=before.crs).to_crs("EPSG:4326").iloc[0]
    return {"nodes_lost": sorted(set(before.node_time_s.index) - set(after.node_time_s.index)),
            "edges_lost": sorted(set(before.edges) - set(after.edges)),
            "area_before_km2": before.area_km2, "area_after_km2": after.area_km2,
            "area_lost_km2": float(lost_m.area) / 1e6, "area_lost": lost}
