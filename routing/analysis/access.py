"""Who loses access: population-weighted travel time to the nearest facility, before and after.

1. **Snapping** (:func:`snap_layer`): each point of a population or facility layer goes to the
   nearest road node of the strongly connected components holding at least
   ``settings.ACCESS_COMPONENT_MIN_SHARE`` of the nodes (great-circle metres); a point farther
   than ``max_snap_m`` stays unsnapped and is counted, never dropped silently. Raster cells and
   points are summed per node.
2. **Accessibility** (:func:`accessibility`): per facility type and state (baseline, damaged), ONE
   multi-source Dijkstra on the reverse graph from every facility at once gives every node's
   travel time to its nearest reachable facility (:meth:`routing.engine.Network.nearest`); under
   damage, removed edges weigh inf and facilities at closed nodes are closed. Population within
   each threshold, with no facility reachable, population-weighted mean and median (over the
   population that reaches one), per area when admin polygons are given.
3. **Population-weighted criticality** (:func:`access_criticality`): each candidate (road
   segment, OSM way, asset) removed alone; ranked by population losing access within a
   threshold, then person-hours added. Exact and incremental: only nodes whose baseline path to
   their facility uses the candidate are searched again
   (:class:`routing.engine.nearest_repair.NearestForest`); chains of pass-through segments are
   evaluated once (:func:`~routing.analysis.criticality.chain_classes`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from tqdm.auto import tqdm

from ..engine import Network
from ..engine.nearest_repair import RESULT_COLUMNS, NearestForest
from ..errors import InputError
from ..layers import PointLayer
from ..scenario import Damage
from ..settings import (
    ACCESS_COMPONENT_MIN_SHARE,
    ACCESS_CRITICALITY_THRESHOLD_MIN,
    ACCESS_MAX_SNAP_M,
    ACCESS_THRESHOLDS_MIN,
)
from .criticality import MAX_CHUNKS, Groups, chain_classes, describe_groups, edge_groups
from .places import large_component_nodes

EARTH_RADIUS_M = 6_371_009.0  # mean Earth radius, as osmnx's great_circle
STATES = ("baseline", "damaged")
CHUNK_GROUPS = 16  # candidates per task at least: each task allocates its scratch arrays once
ACCESS_TABLE_COLUMNS = ["rank", "group", "u", "v", "osmid", "name", "ref", "highway", "bridge", "length_m", "n_edges",
                        "population_losing_access", "population_cut_off", "person_hours_added",
                        "population_affected", "population_routed"]


# ---------------------------------------------------------------- snapping


def _unit_xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lam, phi = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


@dataclass
class SnappedLayer:
    """A point layer on the network: ``node[i]`` is point i's nearest node index (-1 = unsnapped,
    farther than ``max_snap_m`` from every candidate node), ``snap_m[i]`` the great-circle distance
    to it (metres, also for unsnapped points). A snapped point's value is put on nodes as
    *pieces*: ``piece_value[j]`` of point ``piece_point[j]`` on node ``piece_node[j]`` — its
    nearest node, or shared equally among the nodes within ``spread_m`` of it (a town's
    population over its streets)."""

    layer: PointLayer
    node: np.ndarray
    snap_m: np.ndarray
    max_snap_m: float
    n_nodes: int
    piece_point: np.ndarray
    piece_node: np.ndarray
    piece_value: np.ndarray
    spread_m: float = 0.0

    @property
    def snapped(self) -> np.ndarray:
        return self.node >= 0

    def node_values(self) -> np.ndarray:
        """Per node index: the sum of the values snapped to it (persons)."""
        return np.bincount(self.piece_node, weights=self.piece_value, minlength=self.n_nodes)

    def nodes(self) -> np.ndarray:
        """Distinct node indices holding a snapped point (its nearest node)."""
        return np.unique(self.node[self.snapped])

    def summary(self) -> dict[str, Any]:
        """Points and value (persons) snapped and left unsnapped; value-weighted mean and the
        largest snap distance of the snapped points (metres)."""
        ok, value = self.snapped, self.layer.value
        snapped_total = float(value[ok].sum())
        return {"source": self.layer.source, "points": len(self.node), "points_snapped": int(ok.sum()),
                "points_unsnapped": int((~ok).sum()), "total": self.layer.total, "snapped": snapped_total,
                "unsnapped": float(value[~ok].sum()), "max_snap_m": self.max_snap_m, "spread_m": self.spread_m,
                "snap_m_mean": float((self.snap_m[ok] * value[ok]).sum() / snapped_total) if snapped_total else 0.0,
                "snap_m_largest": float(self.snap_m[ok].max()) if ok.any() else 0.0,
                "skipped": dict(self.layer.skipped), "notice": self.layer.notice}


def node_lonlat(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) degrees of every node index."""
    nodes = network.graph.nodes
    lon = np.fromiter((nodes[n]["x"] for n in network.nodes), dtype=float, count=network.n_nodes)
    lat = np.fromiter((nodes[n]["y"] for n in network.nodes), dtype=float, count=network.n_nodes)
    return lon, lat


def snap_candidates(network: Network, *, min_share: float = ACCESS_COMPONENT_MIN_SHARE) -> np.ndarray:
    """Node indices points may snap to: the large strongly connected components."""
    return large_component_nodes(network, min_share)


def snap_layer(network: Network, layer: PointLayer, *, max_snap_m: float = ACCESS_MAX_SNAP_M,
               spread_m: float = 0.0, candidates: np.ndarray | None = None) -> SnappedLayer:
    """Each point to its nearest candidate node (default :func:`snap_candidates`) within
    ``max_snap_m`` metres (great circle, through a k-d tree on the unit sphere); with
    ``spread_m`` > 0 a snapped point's value is shared equally among the candidate nodes within
    ``spread_m`` metres of it (at least its nearest node)."""
    cand = snap_candidates(network) if candidates is None else np.asarray(candidates, dtype=np.int64)
    lon, lat = node_lonlat(network)
    empty = np.empty(0, dtype=np.int64)
    if len(layer) == 0:
        return SnappedLayer(layer, empty, np.empty(0), max_snap_m, network.n_nodes, empty, empty, np.empty(0),
                            spread_m)
    kdtree = cKDTree(_unit_xyz(lon[cand], lat[cand]))
    xyz = _unit_xyz(layer.lon, layer.lat)
    chord, idx = kdtree.query(xyz)
    dist = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(chord / 2, 1.0))
    node = np.where(dist <= max_snap_m, cand[idx], -1).astype(np.int64)
    points = np.flatnonzero(node >= 0)
    if spread_m > 0 and len(points):
        radius = 2 * np.sin(spread_m / EARTH_RADIUS_M / 2)  # chord length of spread_m on the unit sphere
        near = kdtree.query_ball_point(xyz[points], radius)
        counts = np.array([max(len(n), 1) for n in near], dtype=np.int64)
        piece_point = np.repeat(points, counts)
        piece_node = np.concatenate([cand[np.asarray(n, dtype=np.int64)] if n else node[p:p + 1]
                                     for p, n in zip(points, near)])
        piece_value = np.repeat(layer.value[points] / counts, counts)
    else:
        piece_point, piece_node, piece_value = points, node[points], layer.value[points]
    return SnappedLayer(layer, node, dist, float(max_snap_m), network.n_nodes, piece_point, piece_node, piece_value,
                        float(spread_m))


# ---------------------------------------------------------------- population-weighted figures


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Smallest value v with at least half the weight at values <= v (nan without weight)."""
    if weights.sum() <= 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


def access_figures(time_s: np.ndarray, persons: np.ndarray, thresholds_min: Iterable[float]) -> dict[str, float]:
    """Population figures of travel times ``time_s`` (inf = no facility reachable) weighted by
    ``persons``: total, within each threshold, with no access, mean and median minutes over the
    population that reaches a facility."""
    reach = np.isfinite(time_s)
    out = {"population": float(persons.sum())}
    for t in thresholds_min:
        out[f"within_{t:g}_min"] = float(persons[reach & (time_s <= t * 60)].sum())
    reached = float(persons[reach].sum())
    out["no_access"] = float(persons[~reach].sum())
    out["mean_min"] = float((time_s[reach] * persons[reach]).sum() / reached / 60) if reached else float("nan")
    out["median_min"] = _weighted_median(time_s[reach], persons[reach]) / 60 if reached else float("nan")
    return out


@dataclass
class FacilityAccess:
    """Access to one facility type: the facilities on the network and, per state ("baseline",
    "damaged"), each node's travel time to the nearest open facility (s, inf = none) and that
    facility's node index (-1 = none)."""

    facility_type: str
    facilities: SnappedLayer
    time_s: dict[str, np.ndarray]
    nearest: dict[str, np.ndarray]
    closed: np.ndarray  # facility points closed by the damage (their node is closed)

    def facility_table(self, network: Network) -> pd.DataFrame:
        """name, lon, lat, node (graph id, -1 unsnapped), snap_m, snapped, closed_after."""
        layer, ok = self.facilities.layer, self.facilities.snapped
        names = layer.names if layer.names is not None else [f"facility {i}" for i in range(len(layer))]
        return pd.DataFrame({"name": names, "lon": layer.lon, "lat": layer.lat,
                             "node": [network.nodes[i] if i >= 0 else -1 for i in self.facilities.node],
                             "snap_m": self.facilities.snap_m, "snapped": ok, "closed_after": self.closed})


@dataclass
class Accessibility:
    """Population access to each facility type, before and after a damage.

    ``population`` is the snapped population layer, ``types`` the per-type results, ``summary``
    one row per (facility, state) of :func:`access_figures`, ``change`` one row per (facility,
    threshold): population within it before and after, and losing it; ``areas`` the same figures
    per area (when admin polygons were given).
    """

    network: Network
    population: SnappedLayer
    thresholds_min: tuple[float, ...]
    types: dict[str, FacilityAccess]
    summary: pd.DataFrame
    change: pd.DataFrame
    areas: pd.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def node_table(self, facility_type: str) -> pd.DataFrame:
        """One row per populated node: node (graph id), lon, lat, population, minutes to the
        nearest facility before and after (inf = none), their difference, and the nearest
        facility nodes (graph ids, -1 = none)."""
        fa = self.types[facility_type]
        persons = self.population.node_values()
        idx = np.flatnonzero(persons > 0)
        lon, lat = node_lonlat(self.network)
        nodes = np.asarray(self.network.nodes, dtype=np.int64)
        before, after = fa.time_s["baseline"][idx] / 60, fa.time_s["damaged"][idx] / 60
        with np.errstate(invalid="ignore"):
            delta = after - before
        nearest = {s: np.where(fa.nearest[s][idx] >= 0, nodes[np.maximum(fa.nearest[s][idx], 0)], -1) for s in STATES}
        return pd.DataFrame({"node": nodes[idx], "lon": lon[idx], "lat": lat[idx], "population": persons[idx],
                             "minutes_before": before, "minutes_after": after, "minutes_added": delta,
                             "nearest_before": nearest["baseline"], "nearest_after": nearest["damaged"]})


def _facility_access(network: Network, name: str, facilities: SnappedLayer, weights: dict[str, np.ndarray],
                     closed_nodes: np.ndarray) -> FacilityAccess:
    sources = facilities.nodes()
    if len(sources) == 0:
        raise InputError(f"none of the {len(facilities.node)} facilities lies within {facilities.max_snap_m:g} m "
                         "of the road network", file=facilities.layer.source, field=f"facilities.{name}",
                         value=len(facilities.node))
    closed_point = np.isin(facilities.node, closed_nodes) & facilities.snapped
    r = network.routing
    times, nearest = {}, {}
    for state, w in weights.items():
        open_sources = sources if state == "baseline" else np.setdiff1d(sources, closed_nodes)
        tree = network.nearest(open_sources, w, reverse=True)
        times[state] = tree.node_dist()
        root = tree.root[r.start]  # a route from road node v starts at routing node start[v]
        nearest[state] = np.where(root >= 0, r.node_road[np.maximum(root, 0)], -1)
        nearest[state][open_sources] = open_sources
    return FacilityAccess(name, facilities, times, nearest, closed_point)


def _area_of_points(areas: gpd.GeoDataFrame, layer: PointLayer) -> np.ndarray:
    """Index of the area (row of ``areas``) holding each point, -1 = none (first area wins)."""
    points = gpd.GeoSeries(gpd.points_from_xy(layer.lon, layer.lat), crs="EPSG:4326")
    point_idx, area_idx = areas.sindex.query(points, predicate="within")
    out = np.full(len(layer), -1, dtype=np.int64)
    order = np.argsort(area_idx, kind="stable")[::-1]  # later areas first, so the first area is written last
    out[point_idx[order]] = area_idx[order]
    return out


def accessibility(network: Network | nx.MultiDiGraph, population: PointLayer | SnappedLayer,
                  facilities: Mapping[str, PointLayer | SnappedLayer], *, damage: Damage | None = None,
                  thresholds_min: Iterable[float] = ACCESS_THRESHOLDS_MIN, max_snap_m: float = ACCESS_MAX_SNAP_M,
                  spread_m: float = 0.0, areas: gpd.GeoDataFrame | None = None) -> Accessibility:
    """Population access to each facility type, before and after ``damage``.

    Parameters
    ----------
    network
        The road network (a graph is compiled first); travel times in seconds.
    population
        Persons at points (:mod:`routing.layers`), or a layer already snapped.
    facilities
        Facility type -> its points (e.g. ``{"hospital": ..., "border crossing": ...}``).
    damage
        The scenario's damage; facilities at closed nodes are closed after it.
    thresholds_min
        Travel-time thresholds (minutes) for the "population within" figures.
    max_snap_m
        Points farther than this from the road network stay unsnapped (counted).
    spread_m
        Share each population point among the road nodes within this radius (metres; 0 = its
        nearest node only): for towns given as one point (OSM places).
    areas
        Admin polygons (EPSG:4326) with a ``name`` column: the same figures per area.

    Returns
    -------
    Accessibility
        Per facility type and state: travel time of every node to the nearest facility, and the
        population figures (:func:`access_figures`), their change and per-area tables.
    """
    t0 = time.perf_counter()
    network = Network.of(network)
    thresholds = tuple(sorted(float(t) for t in thresholds_min))
    candidates = snap_candidates(network)
    pop = population if isinstance(population, SnappedLayer) else snap_layer(
        network, population, max_snap_m=max_snap_m, spread_m=spread_m, candidates=candidates)
    snapped_fac = {name: f if isinstance(f, SnappedLayer) else snap_layer(network, f, max_snap_m=max_snap_m,
                                                                         candidates=candidates)
                   for name, f in facilities.items()}
    t_snap = time.perf_counter() - t0
    damage = damage or Damage()
    weights = {"baseline": network.weights("travel_time"), "damaged": network.weights("travel_time", damage)}
    closed = network.node_ids(sorted(n for n in damage.removed_nodes if n in network.node_index))
    types = {name: _facility_access(network, name, f, weights, closed) for name, f in snapped_fac.items()}
    t_search = time.perf_counter() - t0 - t_snap
    persons = pop.node_values()
    populated = np.flatnonzero(persons > 0)
    unsnapped = pop.summary()["unsnapped"]
    rows, change = [], []
    for name, fa in types.items():
        figures = {s: access_figures(fa.time_s[s][populated], persons[populated], thresholds) for s in STATES}
        for s in STATES:
            rows.append({"facility": name, "state": s, **figures[s], "unsnapped": unsnapped})
        for t in thresholds:
            before, after = fa.time_s["baseline"][populated], fa.time_s["damaged"][populated]
            losing = (before <= t * 60) & ~(after <= t * 60)
            change.append({"facility": name, "threshold_min": t,
                           "population_before": figures["baseline"][f"within_{t:g}_min"],
                           "population_after": figures["damaged"][f"within_{t:g}_min"],
                           "population_losing": float(persons[populated][losing].sum())})
    area_table = _area_table(areas, pop, types, thresholds) if areas is not None else None
    seconds = {"snap": t_snap, "search": t_search, "total": time.perf_counter() - t0}
    return Accessibility(network, pop, thresholds, types, pd.DataFrame(rows), pd.DataFrame(change), area_table,
                         seconds)


def _area_table(areas: gpd.GeoDataFrame, pop: SnappedLayer, types: dict[str, FacilityAccess],
                thresholds: tuple[float, ...]) -> pd.DataFrame:
    """Per area, facility type and state: :func:`access_figures` of the points inside the area
    (by their own location), plus the population left unsnapped there."""
    area_of = _area_of_points(areas, pop.layer)
    names = list(areas["name"].astype(str)) if "name" in areas.columns else [f"area {i}" for i in range(len(areas))]
    ok, value = pop.snapped, pop.layer.value
    piece_area = area_of[pop.piece_point]
    rows = []
    for a, area_name in [*enumerate(names), (-1, "(outside every area)")]:
        inside = area_of == a
        if a == -1 and not inside.any():
            continue
        sel = piece_area == a
        for name, fa in types.items():
            for s in STATES:
                t = fa.time_s[s][pop.piece_node[sel]]
                rows.append({"area": area_name, "facility": name, "state": s,
                             **access_figures(t, pop.piece_value[sel], thresholds),
                             "unsnapped": float(value[inside & ~ok].sum())})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- population-weighted criticality


@dataclass
class AccessCriticalityResult:
    """Candidates ranked by the population losing access within ``summary["threshold_min"]`` and
    the person-hours they add when each alone fails (``table``), the groups, run figures."""

    table: pd.DataFrame
    groups: Groups
    summary: dict[str, Any]


Task = tuple[np.ndarray, np.ndarray, np.ndarray]  # group ids, local CSR ptr, edge indices


def evaluate_access_groups(forest: NearestForest, weight: np.ndarray, limit_s: float,
                           task: Task) -> tuple[np.ndarray, np.ndarray]:
    """The pure per-chunk work: (group ids, (groups, 5) RESULT_COLUMNS array); the task's groups
    are routing-graph edges, ``weight`` per routing node. Plain arrays in and out, so any executor
    can map it."""
    ids, ptr, edges = task
    return ids, forest.removal_impact(ptr, edges, weight, limit_s)


def _chunks(groups: Groups, ids: np.ndarray, n_chunks: int) -> list[Task]:
    tasks = []
    for part in np.array_split(ids, max(1, min(n_chunks, len(ids)))):
        if len(part) == 0:
            continue
        sizes = groups.ptr[part + 1] - groups.ptr[part]
        tasks.append((part, np.r_[0, np.cumsum(sizes)].astype(np.int64),
                      np.concatenate([groups.members(int(g)) for g in part])))
    return tasks


def _facility_nodes(network: Network, facilities: PointLayer | SnappedLayer | Iterable[int],
                    max_snap_m: float, candidates: np.ndarray) -> np.ndarray:
    if isinstance(facilities, PointLayer):
        facilities = snap_layer(network, facilities, max_snap_m=max_snap_m, candidates=candidates)
    if isinstance(facilities, SnappedLayer):
        return facilities.nodes()
    return np.unique(np.asarray(list(facilities), dtype=np.int64))


def access_criticality(network: Network | nx.MultiDiGraph, population: PointLayer | SnappedLayer,
                       facilities: PointLayer | SnappedLayer | Iterable[int], *,
                       groups: str | Groups | Mapping[str, Iterable[int]] = "segment",
                       threshold_min: float = ACCESS_CRITICALITY_THRESHOLD_MIN, top: int | None = None,
                       max_snap_m: float = ACCESS_MAX_SNAP_M, spread_m: float = 0.0,
                       map_fn: Callable[[Callable, Iterable], Iterable] | None = None,
                       progress: bool = True) -> AccessCriticalityResult:
    """Population-weighted criticality: each candidate removed alone from the baseline network.

    Parameters
    ----------
    network
        The road network; travel times in seconds.
    population
        Persons at points, or a snapped layer.
    facilities
        One facility type: its points, a snapped layer, or node indices.
    groups
        ``"segment"`` (default), ``"edge"``, ``"osmid"``, a :class:`Groups` or label -> edge indices
        (assets: :func:`~routing.analysis.criticality.asset_groups`).
    threshold_min
        "Loses access" = the nearest facility was within this many minutes and no longer is.
    top
        Evaluate only the ``top`` candidates carrying the most population on their way to a
        facility (``population_routed``, an upper bound of what a candidate can affect); default
        every candidate on some path.
    max_snap_m, spread_m
        Snapping of the population and facilities, as for :func:`accessibility`.
    map_fn
        ``map_fn(fn, tasks)`` maps the chunk function (builtin ``map``; an executor's on Dask).

    Returns
    -------
    AccessCriticalityResult
        One row per evaluated candidate: population losing access within the threshold,
        population cut off from every facility, person-hours added (over the population still
        connected), population whose time grows and population routed through it; ranked by the
        first, then person-hours.
    """
    t0 = time.perf_counter()
    network = Network.of(network)
    candidates = snap_candidates(network)
    pop = population if isinstance(population, SnappedLayer) else snap_layer(
        network, population, max_snap_m=max_snap_m, spread_m=spread_m, candidates=candidates)
    sources = _facility_nodes(network, facilities, max_snap_m, candidates)
    if len(sources) == 0:
        raise InputError("no facility lies on the road network", field="facilities", value=0)
    groups_by = groups if isinstance(groups, str) else "custom groups"
    if isinstance(groups, str):
        groups = edge_groups(network, groups)
    elif not isinstance(groups, Groups):
        groups = Groups.from_mapping(groups)
    weight = pop.node_values()
    forest = NearestForest.build(network, sources, network.weights("travel_time"))
    routing_weight = forest.routing_weight(weight, sources)
    routing_groups = groups.on_routing(network.routing)  # every copy of each road edge
    routed_edge = forest.subtree_weight(routing_weight)
    routed = (np.add.reduceat(routed_edge[routing_groups.edges], routing_groups.ptr[:-1])
              if len(routing_groups.edges) else np.zeros(len(groups)))
    active = np.flatnonzero(routed > 0)
    if top is not None:
        active = active[np.argsort(-routed[active], kind="stable")[:top]]
    keep = np.union1d(np.flatnonzero(weight > 0), sources)
    rep = chain_classes(network, groups, keep)
    representatives = np.unique(rep[active])
    t_base = time.perf_counter() - t0
    results = np.zeros((len(groups), len(RESULT_COLUMNS)))
    tasks = _chunks(routing_groups, representatives,
                    min(MAX_CHUNKS, max(1, len(representatives) // CHUNK_GROUPS)))
    mapped: Iterable = (map_fn or map)(partial(evaluate_access_groups, forest, routing_weight, threshold_min * 60),
                                       tasks)
    for ids, values in tqdm(mapped, total=len(tasks), disable=not progress, desc="access criticality", unit="chunk"):
        results[ids] = values
    results = results[rep[active]]
    table = describe_groups(network, groups, active)
    table["population_losing_access"] = results[:, 0]
    table["population_cut_off"] = results[:, 1]
    table["person_hours_added"] = results[:, 2] / 3600
    table["population_affected"] = results[:, 3]
    table["population_routed"] = routed[active]
    table = table.sort_values(["population_losing_access", "person_hours_added", "population_cut_off"],
                              ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    persons = weight[weight > 0]
    node_dist = forest.dist[forest.start]
    node_dist[sources] = 0.0
    reach = np.isfinite(node_dist[weight > 0])
    summary = {"threshold_min": float(threshold_min), "facilities": len(sources),
               "population": float(persons.sum()), "population_unsnapped": pop.summary()["unsnapped"],
               "population_within_threshold": float(persons[node_dist[weight > 0] <= threshold_min * 60].sum()),
               "population_no_access": float(persons[~reach].sum()),
               "candidates": len(groups), "candidates_on_paths": int((routed > 0).sum()),
               "candidates_ranked": len(active), "candidates_evaluated": len(representatives),
               "top": top, "grouping": groups_by, "seconds_baseline": t_base,
               "seconds_total": time.perf_counter() - t0}
    return AccessCriticalityResult(table[[*ACCESS_TABLE_COLUMNS, "edges"]], groups, summary)
