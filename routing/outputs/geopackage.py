"""GeoPackage export: places, routes (baseline and damaged), damaged edges, evacuation flows."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from ..results import ScenarioResult
from .evacuation_report import flow_layers


def write_geopackage(result: ScenarioResult, path: Path, *, extra_layers: dict[str, gpd.GeoDataFrame] | None = None
                     ) -> None:
    """One layer per kind of feature (and ``extra_layers``, e.g. population access); every layer
    carries the data notice in a ``data_notice`` column."""
    routes = result.routes_gdf()
    kind, state = (routes["kind"], routes["state"]) if len(routes) else (None, None)
    layers = {
        "places": result.places_gdf(),
        "routes_baseline": routes[(kind == "od") & (state == "baseline")] if len(routes) else routes,
        "routes_damaged": routes[(kind == "od") & (state == "damaged")] if len(routes) else routes,
        "evacuation_routes": routes[kind == "evacuation"] if len(routes) else routes,
        "damaged_edges": result.damaged_edges_gdf(),
        **flow_layers(result),
        **(extra_layers or {}),
    }
    for name, gdf in layers.items():
        if len(gdf) == 0:
            continue
        gdf = gdf.copy()
        gdf["data_notice"] = result.data_notice
        gdf.to_file(path, layer=name, driver="GPKG")
