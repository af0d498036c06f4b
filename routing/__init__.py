"""corridor-routing: damage scenarios on OpenStreetMap road networks.

Typical use::

    import routing
    G = routing.load_network("data/demo/western-syria-schematic.osm")
    scenario = routing.Scenario.from_file("scenarios/demo-western-syria.toml")
    result = routing.run_scenario(scenario, graph=G)
    result.od                      # OD table before/after (pandas)
    result.routes_gdf()            # routes as a GeoDataFrame
    result.write("results/demo")   # report.md, metrics.json, routes.gpkg, maps
"""

from .damage import Damage
from .engine import Engine
from .errors import CatalogueError, InputError, NetworkLoadError, RoutingError, ScenarioError, SelectorError
from .network import load_network, save_graphml
from .places import load_catalogue
from .results import ScenarioResult
from .run import run_scenario
from .scenario import Scenario
from .selectors import select

__all__ = [
    "CatalogueError", "Damage", "Engine", "InputError", "NetworkLoadError", "RoutingError", "Scenario",
    "ScenarioError", "ScenarioResult", "SelectorError", "load_catalogue", "load_network", "run_scenario",
    "save_graphml", "select",
]
__version__ = "0.1.0"
