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

from typing import TYPE_CHECKING

from .lazy import lazy_exports

__version__ = "0.2.0"

_EXPORTS = {
    "routing.network": "load_network save_graphml data_notice",
    "routing.scenario": "Scenario load_catalogue select Damage apply_events",
    "routing.engine": "Network od_matrix od_change",
    "routing.analysis.criticality": "criticality",
    "routing.analysis.isochrones": "isochrone isochrones",
    "routing.analysis.evacuation": "evacuation_capacity",
    "routing.analysis.access": "accessibility access_criticality",
    "routing.run": "run_scenario",
    "routing.results": "ScenarioResult",
    "routing.sweep": "Sweep run_sweep SerialExecutor DaskExecutor",
    "routing.outputs": "write_outputs",
    "routing.outputs.webmap": "web_map",
    "routing.outputs.criticality": "write_criticality",
    "routing.outputs.sweep": "write_sweep",
    "routing.outputs.compare": "compare_results",
    "routing.errors": "RoutingError InputError NetworkLoadError ScenarioError SelectorError CatalogueError LayerError",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
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
