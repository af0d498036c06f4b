"""GeoPackage export: places, routes (baseline and damaged), damaged edges."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..results import ScenarioResult


def write_geopackage(result: "ScenarioResult", path: Path) -> None:
    """One layer per kind of feature; every layer carries the data notice in a ``data_notice`` column."""
    routes = result.routes_gdf()
    layers = {
        "places": result.places_gdf(),
        "routes_baseline": routes[(routes["kind"] == "od") & (routes["state"] == "baseline")] if len(routes) else routes,
        "routes_damaged": routes[(routes["kind"] == "od") & (routes["state"] == "damaged")] if len(routes) else routes,
        "evacuation_routes": routes[routes["kind"] == "evacuation"] if len(routes) else routes,
        "damaged_edges": result.damaged_edges_gdf(),
    }
    for name, layer in result.extra_layers().items():
        layers[name] = layer
    for name, gdf in layers.items():
        if len(gdf) == 0:
            continue
        gdf = gdf.copy()
        gdf["data_notice"] = result.data_notice
        gdf.to_file(path, layer=name, driver="GPKG")
