"""Run a scenario end to end: load, damage, analyse. The CLI and notebooks call this."""

from __future__ import annotations

import logging
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .analysis import reach
from .analysis.evacuation_flow import EvacuationResult, evacuation_capacity
from .damage import Damage
from .engine import Engine
from .network import apply_capacity_overrides, load_network
from .places import Catalogue, Place
from .results import ScenarioResult
from .scenario import Scenario
from .selectors import area_from_spec, area_selection, select
from .settings import SNAP_WARNING_M

log = logging.getLogger(__name__)


def load_scenario_network(scenario: Scenario) -> nx.MultiDiGraph:
    """The baseline network a scenario names, loaded and enriched."""
    spec = scenario.network
    return load_network(spec.source, road_classes=spec.road_classes, bbox=spec.bbox)


def main_component_nodes(engine: Engine) -> np.ndarray:
    """Node indices of the largest strongly connected component (where places are snapped)."""
    n = engine.n_nodes
    m = csr_matrix((np.ones(len(engine.src)), (engine.src, engine.dst)), shape=(n, n))
    _, labels = connected_components(m, directed=True, connection="strong")
    return np.flatnonzero(labels == np.bincount(labels).argmax())


def snap_places(engine: Engine, places: list[Place], candidates: np.ndarray) -> pd.DataFrame:
    """Nearest candidate node to each place (great-circle metres)."""
    xs = np.array([engine.graph.nodes[engine.nodes[i]]["x"] for i in candidates])
    ys = np.array([engine.graph.nodes[engine.nodes[i]]["y"] for i in candidates])
    rows = []
    for p in places:
        d = ox.distance.great_circle(p.lat, p.lon, ys, xs)
        best = int(np.argmin(d))
        rows.append({"name": p.name, "lat": p.lat, "lon": p.lon, "kind": p.kind,
                     "node": engine.nodes[candidates[best]], "snap_m": float(d[best]),
                     "snap_warning": bool(d[best] > SNAP_WARNING_M)})
    return pd.DataFrame(rows)


def resolve_assets(G: nx.MultiDiGraph, engine: Engine, catalogue: Catalogue
                   ) -> tuple[dict[str, set[int]], dict[str, set[int]], dict[str, str]]:
    """Every catalogue asset present on this network: edge indices, node indices, labels."""
    edges, nodes, labels = {}, {}, {}
    for asset in catalogue.assets.values():
        sel = select(G, {"asset": asset.key}, catalogue=catalogue, allow_empty=True)
        if sel:
            edges[asset.key] = set(engine.edge_ids(list(sel.edges)).tolist())
            nodes[asset.key] = {engine.node_index[n] for n in sel.nodes}
            labels[asset.key] = asset.label
    return edges, nodes, labels


def run_scenario(scenario: Scenario | str | Path, graph: nx.MultiDiGraph | None = None) -> ScenarioResult:
    """Load the network (unless ``graph`` is given), apply the events, compute the analyses.

    The graph is not modified, except that the scenario's per-class capacity overrides (if any)
    are written into its edges' ``capacity``."""
    if not isinstance(scenario, Scenario):
        scenario = Scenario.from_file(scenario)
    G = graph if graph is not None else load_scenario_network(scenario)
    if scenario.capacity_per_lane_vph:  # recomputes edge capacity on G in place
        apply_capacity_overrides(G, scenario.capacity_per_lane_vph)
    catalogue = scenario.catalogue()
    damage, outcomes = scenario.damage(G, catalogue)
    engine = Engine(G)
    asset_edges, asset_nodes, labels = resolve_assets(G, engine, catalogue)

    names = list(dict.fromkeys(scenario.od_places + (
        [scenario.evacuation.origin, *scenario.evacuation.destinations] if scenario.evacuation else [])))
    main_nodes = main_component_nodes(engine)
    places = snap_places(engine, [catalogue.place(n) for n in names], main_nodes)
    for row in places.itertuples():
        if row.snap_warning:
            log.warning("place %s is %.1f km from the nearest road of the network", row.name, row.snap_m / 1000)
    node_of = dict(zip(places["name"], places["node"]))
    od, routes = reach.od_table(engine, {n: node_of[n] for n in scenario.od_places}, damage,
                                asset_edges, asset_nodes)
    result = ScenarioResult(scenario=scenario, graph=G, engine=engine, damage=damage, events=outcomes,
                            places=places, od=od, routes=routes, asset_labels=labels,
                            asset_edges=asset_edges, asset_nodes=asset_nodes)
    if scenario.evacuation:
        ev = scenario.evacuation
        table, ev_routes = reach.evacuation_routes(
            engine, ev.origin, node_of[ev.origin], {d: node_of[d] for d in ev.destinations}, damage,
            ev.alternatives, asset_edges, asset_nodes)
        result.evacuation, result.evacuation_routes = table, ev_routes
        result.evacuation_capacity = evacuation_capacities(scenario, G, engine, damage, catalogue, places,
                                                               main_nodes)
    return result


def evacuation_area_nodes(G: nx.MultiDiGraph, engine: Engine, place: Place, radius_m: float,
                          candidates: np.ndarray) -> list[int]:
    """Nodes of the main component within ``radius_m`` metres of ``place``."""
    xs = np.array([G.nodes[engine.nodes[i]]["x"] for i in candidates])
    ys = np.array([G.nodes[engine.nodes[i]]["y"] for i in candidates])
    inside = ox.distance.great_circle(place.lat, place.lon, ys, xs) <= radius_m
    return [engine.nodes[i] for i in candidates[inside]]


def evacuation_nodes(sc: Scenario, G: nx.MultiDiGraph, engine: Engine, catalogue: Catalogue,
                     node_of: dict[str, int], candidates: np.ndarray) -> tuple[list[int], dict[str, list[int]]]:
    """Origin-area nodes and destination nodes (graph node ids) of a scenario's evacuation.

    The origin area is every main-component node (``candidates``) within ``origin_radius_m`` of
    the origin place, or inside ``origin_area`` when given, plus the origin's snapped node; a town
    destination is its node and every node within ``destination_radius_m``, a border crossing only
    its node (so a closed crossing is not bypassed by nodes beyond it)."""
    ev = sc.evacuation
    if ev.origin_area is not None:
        inside = area_selection(G, area_from_spec(ev.origin_area)).nodes
        origin = {engine.nodes[i] for i in candidates if engine.nodes[i] in inside}
    else:
        origin = set(evacuation_area_nodes(G, engine, catalogue.place(ev.origin), ev.origin_radius_m, candidates))
    origin.add(int(node_of[ev.origin]))
    destinations = {}
    for name in ev.destinations:
        place, area = catalogue.place(name), {int(node_of[name])}
        if place.kind != "border_crossing":
            area |= set(evacuation_area_nodes(G, engine, place, ev.destination_radius_m, candidates))
        destinations[name] = sorted(area - origin)
    return sorted(origin), destinations


def evacuation_capacities(scenario: Scenario, G: nx.MultiDiGraph, engine: Engine, damage: Damage,
                          catalogue: Catalogue, places: pd.DataFrame, main_nodes: np.ndarray
                          ) -> dict[str, EvacuationResult]:
    """Max-flow evacuation capacity before and after, between the areas of :func:`evacuation_nodes`
    (``main_nodes``: node indices of the main component, as from :func:`main_component_nodes`)."""
    ev = scenario.evacuation
    node_of = {name: int(node) for name, node in zip(places["name"], places["node"])}
    origin, destinations = evacuation_nodes(scenario, G, engine, catalogue, node_of, main_nodes)
    kwargs = dict(persons_per_vehicle=ev.persons_per_vehicle, populations=ev.populations,
                  horizon_hours=ev.horizon_hours, engine=engine)
    return {"baseline": evacuation_capacity(G, None, origin, destinations, **kwargs),
            "damaged": evacuation_capacity(G, damage, origin, destinations, **kwargs)}
