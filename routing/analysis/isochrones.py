"""Isochrones / service areas: what is reachable within T minutes, before and after damage.

An isochrone is computed on the engine (one bounded Dijkstra per source, damage as weights) and
returned as node times, edge sets (edges wholly reachable, and the reachable part of the edges
where the time runs out) and a polygon (the reachable road pieces buffered by ``buffer_m``
metres, in a local metric CRS, then returned in lon/lat degrees).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString
from shapely.ops import substring

from ..damage import Damage, EdgeKey
from ..engine import Engine

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


def _metric_crs(engine: Engine) -> str:
    G = engine.graph
    xs = [d["x"] for _, d in G.nodes(data=True)]
    ys = [d["y"] for _, d in G.nodes(data=True)]
    return str(gpd.GeoSeries(gpd.points_from_xy([np.mean(xs)], [np.mean(ys)]), crs="EPSG:4326").estimate_utm_crs())


def _line(engine: Engine, e: int) -> LineString:
    u, v, k = engine.edges[e]
    G = engine.graph
    geom = G.edges[u, v, k].get("geometry")
    if geom is not None:
        return geom
    return LineString([(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])])


def isochrone(engine: Engine, sources: list[int], minutes: float, *, damage: Damage | None = None,
              direction: str = "from", buffer_m: float = 100.0, weight: str = "travel_time") -> Isochrone:
    """Nodes, edges and area reachable within ``minutes`` (``weight="length"``: the limit is in
    kilometres instead) from any of ``sources`` (graph node ids), or that reach one of them
    (``direction="to"``: a service area around facilities), on the damaged network."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if minutes < 0:
        raise ValueError("minutes must be >= 0")
    limit = minutes * 60.0 if weight == "travel_time" else minutes * 1000.0
    w = engine.weights(weight, damage)
    idx = engine.node_ids(list(sources))
    tree = (engine.tree if direction == "from" else engine.reverse_tree)(idx, w, limit=limit)
    best = tree.dist.min(axis=0)
    reached = np.flatnonzero(np.isfinite(best))
    node_time = pd.Series(best[reached], index=[engine.nodes[i] for i in reached], name="time_s")
    near, far = (engine.src, engine.dst) if direction == "from" else (engine.dst, engine.src)
    start = best[near]
    whole = np.flatnonzero(np.isfinite(w) & (start + w <= limit))
    part = np.flatnonzero(np.isfinite(w) & (start < limit) & (start + w > limit))
    fractions = (limit - start[part]) / w[part]
    crs = _metric_crs(engine)
    pieces = [_line(engine, e) for e in whole]
    for e, f in zip(part, fractions):
        line = _line(engine, e)
        pieces.append(substring(line, 0, f, normalized=True) if direction == "from"
                      else substring(line, 1 - f, 1, normalized=True))
    pieces += [shapely.Point(engine.graph.nodes[engine.nodes[i]]["x"], engine.graph.nodes[engine.nodes[i]]["y"])
               for i in idx]
    metric = gpd.GeoSeries(pieces, crs="EPSG:4326").to_crs(crs)
    polygon_m = shapely.union_all(metric.buffer(buffer_m).to_numpy())
    polygon = gpd.GeoSeries([polygon_m], crs=crs).to_crs("EPSG:4326").iloc[0]
    return Isochrone(list(sources), limit, direction, node_time, [engine.edges[e] for e in whole],
                     [(engine.edges[e], float(f)) for e, f in zip(part, fractions)], polygon, polygon_m, crs)


def isochrone_change(before: Isochrone, after: Isochrone) -> dict[str, object]:
    """What damage took away: nodes and edges no longer reachable, the lost area (lon/lat polygon)
    and areas before/after in km²."""
    lost_m = before.polygon_m.difference(after.polygon_m)
    lost = gpd.GeoSeries([lost_m], crs=before.crs).to_crs("EPSG:4326").iloc[0]
    return {"nodes_lost": sorted(set(before.node_time_s.index) - set(after.node_time_s.index)),
            "edges_lost": sorted(set(before.edges) - set(after.edges)),
            "area_before_km2": before.area_km2, "area_after_km2": after.area_km2,
            "area_lost_km2": float(lost_m.area) / 1e6, "area_lost": lost}
