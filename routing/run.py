"""Run a scenario end to end: load, damage, analyse. The CLI and notebooks call this."""

from __future__ import annotations

import logging
from pathlib import Path

import networkx as nx

from .analysis import reach
from .analysis.access import Accessibility, accessibility, node_lonlat
from .analysis.assets import resolve_assets
from .analysis.evacuation import EvacuationResult, evacuation_capacity
from .analysis.places import check_evacuation_areas, evacuation_nodes, scenario_places
from .engine import Network
from .results import ScenarioResult, event_names
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
    network = scenario_network(scenario, G)
    assets = resolve_assets(G, catalogue)

    names = list(dict.fromkeys(scenario.od_places + (
        [scenario.evacuation.origin, *scenario.evacuation.destinations] if scenario.evacuation else [])))
    places, main_nodes = scenario_places(network, scenario, catalogue, names)
    warnings = [f"place {row.name} is {row.snap_m / 1000:.1f} km from the nearest road of the network"
                for row in places.itertuples() if row.snap_warning]
    node_of = dict(zip(places["name"], places["node"]))
    labels = event_names(outcomes, {k.casefold(): a.label for k, a in catalogue.assets.items()})
    events = {name: o.damage for name, o in zip(labels, outcomes) if o.applied}
    od, routes = reach.od_table(network, {n: node_of[n] for n in scenario.od_places}, damage=damage, assets=assets,
                                events=events)
    result = ScenarioResult(scenario=scenario, graph=G, network=network, damage=damage, events=outcomes,
                            places=places, od=od, routes=routes, assets=assets, event_labels=labels, warnings=warnings)
    if scenario.evacuation:
        ev = scenario.evacuation
        origin, destinations = evacuation_nodes(network, ev, catalogue, {k: int(v) for k, v in node_of.items()},
                                                main_nodes)
        warnings += check_evacuation_areas(ev, catalogue, network=network, origin_nodes=origin, file=scenario.path)
        table, ev_routes = reach.evacuation_routes(
            network, ev.origin, node_of[ev.origin], {d: node_of[d] for d in ev.destinations}, damage=damage,
            alternatives=ev.alternatives, assets=assets, events=events)
        result.evacuation, result.evacuation_routes = table, ev_routes
        result.evacuation_capacity = evacuation_capacities(scenario, network, damage, origin, destinations)
    if scenario.access is not None:
        result.access = scenario_accessibility(scenario, network, damage, catalogue)
    for warning in warnings:
        log.warning("%s", warning)
    return result


def scenario_network(scenario: Scenario, G: nx.MultiDiGraph) -> Network:
    """``G`` compiled for the scenario's vehicle profile and capacity overrides."""
    spec = scenario.network
    vehicle = spec.vehicle.model_dump() if spec.vehicle is not None else None
    return Network(G, profile=spec.profile, vehicle=vehicle, capacity_per_lane_vph=scenario.capacity_per_lane_vph)


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


def evacuation_capacities(scenario: Scenario, network: Network, damage: Damage, origin: list[int],
                          destinations: dict[str, list[int]]) -> dict[str, EvacuationResult]:
    """Max-flow evacuation capacity before and after, from the ``origin`` nodes to the
    ``destinations`` (graph node ids, from :func:`~routing.analysis.places.evacuation_nodes`)."""
    ev = scenario.evacuation
    assert ev is not None
    return {state: evacuation_capacity(network, origin, destinations, damage=dmg,
                                       persons_per_vehicle=ev.persons_per_vehicle, populations=ev.populations,
                                       horizon_hours=ev.horizon_hours)
            for state, dmg in (("baseline", None), ("damaged", damage))}
