"""Run a scenario end to end: load, damage, analyse. The CLI and notebooks call this."""

from __future__ import annotations

import logging
from pathlib import Path

import networkx as nx
import numpy as np

from .analysis import reach
from .analysis.access import Accessibility, accessibility, node_lonlat
from .analysis.assets import resolve_assets
from .analysis.evacuation import EvacuationResult, evacuation_capacity
from .analysis.places import evacuation_nodes, main_component_nodes, snap_places
from .engine import Network
from .results import ScenarioResult
from .scenario import Catalogue, Damage, Scenario, apply_events
from .scenario.access import load_access_layers

log = logging.getLogger(__name__)


def run_scenario(scenario: Scenario | str | Path, *, graph: nx.MultiDiGraph | None = None) -> ScenarioResult:
    """Load the network (unless ``graph`` is given), apply the events, compute the analyses.

    Parameters
    ----------
    scenario
        A :class:`~routing.scenario.Scenario` or the path of a scenario TOML file.
    graph
        The baseline network, if already loaded; it is not modified (the scenario's capacity
        overrides apply to the compiled :class:`~routing.engine.Network` only).
    """
    if not isinstance(scenario, Scenario):
        scenario = Scenario.from_file(scenario)
    G = graph if graph is not None else scenario.load_network()
    catalogue = scenario.catalogue()
    damage, outcomes = apply_events(G, scenario, catalogue)
    network = Network(G, capacity_per_lane_vph=scenario.capacity_per_lane_vph)
    assets = resolve_assets(G, catalogue)

    names = list(dict.fromkeys(scenario.od_places + (
        [scenario.evacuation.origin, *scenario.evacuation.destinations] if scenario.evacuation else [])))
    main_nodes = main_component_nodes(network)
    places = snap_places(network, [catalogue.place(n) for n in names], main_nodes)
    for row in places.itertuples():
        if row.snap_warning:
            log.warning("place %s is %.1f km from the nearest road of the network", row.name, row.snap_m / 1000)
    node_of = dict(zip(places["name"], places["node"]))
    od, routes = reach.od_table(network, {n: node_of[n] for n in scenario.od_places}, damage=damage, assets=assets)
    result = ScenarioResult(scenario=scenario, graph=G, network=network, damage=damage, events=outcomes,
                            places=places, od=od, routes=routes, assets=assets)
    if scenario.evacuation:
        ev = scenario.evacuation
        table, ev_routes = reach.evacuation_routes(
            network, ev.origin, node_of[ev.origin], {d: node_of[d] for d in ev.destinations}, damage=damage,
            alternatives=ev.alternatives, assets=assets)
        result.evacuation, result.evacuation_routes = table, ev_routes
        result.evacuation_capacity = evacuation_capacities(scenario, network, damage, catalogue, node_of, main_nodes)
    if scenario.access is not None:
        result.access = scenario_accessibility(scenario, network, damage, catalogue)
    return result


def scenario_accessibility(scenario: Scenario, network: Network, damage: Damage | None,
                           catalogue: Catalogue) -> Accessibility:
    """Population access of a scenario's ``[access]`` table, before and after ``damage``."""
    access = scenario.access
    assert access is not None
    lon, lat = node_lonlat(network)
    margin = access.max_snap_m / 111_000 + 0.01  # degrees: the raster window reaches past the roads
    bbox = (lon.min() - margin, lat.min() - margin, lon.max() + margin, lat.max() + margin)
    layers = load_access_layers(scenario, catalogue, bbox=bbox)
    return accessibility(network, layers.population, layers.facilities, damage=damage,
                         thresholds_min=access.thresholds_min, max_snap_m=access.max_snap_m,
                         spread_m=access.population.spread_m, areas=layers.areas)


def evacuation_capacities(scenario: Scenario, network: Network, damage: Damage, catalogue: Catalogue,
                          node_of: dict[str, int], candidates: np.ndarray) -> dict[str, EvacuationResult]:
    """Max-flow evacuation capacity before and after, between the areas of
    :func:`~routing.analysis.places.evacuation_nodes` (``candidates``: node indices of the main
    component)."""
    ev = scenario.evacuation
    assert ev is not None
    origin, destinations = evacuation_nodes(network, ev, catalogue, {k: int(v) for k, v in node_of.items()},
                                            candidates)
    return {state: evacuation_capacity(network, origin, destinations, damage=dmg,
                                       persons_per_vehicle=ev.persons_per_vehicle, populations=ev.populations,
                                       horizon_hours=ev.horizon_hours)
            for state, dmg in (("baseline", None), ("damaged", damage))}
