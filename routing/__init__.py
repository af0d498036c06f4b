"""corridor-routing: damage scenarios on OpenStreetMap road networks.

Typical use::

    import routing
    G = routing.load_network("malta.osm.pbf")            # osmnx-compatible MultiDiGraph
    net = routing.Network(G)                              # compiled once, first argument of analyses
    od = routing.od_matrix(net, origins, destinations)    # travel times (s) and distances (m)

    result = routing.run_scenario("demo-western-syria")   # a scenario file, or a shipped scenario's name
    result.od                                             # OD table before/after (pandas)
    routing.write_outputs(result, "results/demo")         # report.md, metrics.json, routes.gpkg, maps

The names below are imported on first use, so ``import routing`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_EXPORTS: dict[str, str] = {
    # network: sources and building
    "load_network": "routing.network", "save_graphml": "routing.network", "data_notice": "routing.network",
    # scenario: schema, catalogue, selectors, damage
    "Scenario": "routing.scenario", "load_catalogue": "routing.scenario", "select": "routing.scenario",
    "Damage": "routing.scenario", "apply_events": "routing.scenario",
    # engine
    "Network": "routing.engine", "od_matrix": "routing.engine", "od_change": "routing.engine",
    # analyses
    "criticality": "routing.analysis.criticality", "isochrone": "routing.analysis.isochrones",
    "isochrones": "routing.analysis.isochrones", "evacuation_capacity": "routing.analysis.evacuation",
    "accessibility": "routing.analysis.access", "access_criticality": "routing.analysis.access",
    # one run
    "run_scenario": "routing.run", "ScenarioResult": "routing.results",
    # sweeps
    "Sweep": "routing.sweep", "run_sweep": "routing.sweep", "SerialExecutor": "routing.sweep",
    "DaskExecutor": "routing.sweep",
    # outputs
    "write_outputs": "routing.outputs", "web_map": "routing.outputs.webmap",
    "write_criticality": "routing.outputs.criticality", "write_sweep": "routing.outputs.sweep",
    "compare_results": "routing.outputs.compare",
    # errors
    "RoutingError": "routing.errors", "InputError": "routing.errors", "NetworkLoadError": "routing.errors",
    "ScenarioError": "routing.errors", "SelectorError": "routing.errors", "CatalogueError": "routing.errors",
    "LayerError": "routing.errors",
}
__all__ = [
    "CatalogueError",
    "Damage",
    "DaskExecutor",
    "InputError",
    "LayerError",
    "Network",
    "NetworkLoadError",
    "RoutingError",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "SelectorError",
    "SerialExecutor",
    "Sweep",
    "access_criticality",
    "accessibility",
    "apply_events",
    "compare_results",
    "criticality",
    "data_notice",
    "evacuation_capacity",
    "isochrone",
    "isochrones",
    "load_catalogue",
    "load_network",
    "od_change",
    "od_matrix",
    "run_scenario",
    "run_sweep",
    "save_graphml",
    "select",
    "web_map",
    "write_criticality",
    "write_outputs",
    "write_sweep",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'routing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    from .analysis.access import access_criticality, accessibility
    from .analysis.criticality import criticality
    from .analysis.evacuation import evacuation_capacity
    from .analysis.isochrones import isochrone, isochrones
    from .engine import Network, od_change, od_matrix
    from .errors import (
        CatalogueError,
        InputError,
        LayerError,
        NetworkLoadError,
        RoutingError,
        ScenarioError,
        SelectorError,
    )
    from .network import data_notice, load_network, save_graphml
    from .outputs import write_outputs
    from .outputs.compare import compare_results
    from .outputs.criticality import write_criticality
    from .outputs.sweep import write_sweep
    from .outputs.webmap import web_map
    from .results import ScenarioResult
    from .run import run_scenario
    from .scenario import Damage, Scenario, apply_events, load_catalogue, select
    from .sweep import DaskExecutor, SerialExecutor, Sweep, run_sweep
