"""Areas the analyst draws: control zones, admin polygons. Read from a vector file with an
attribute filter, e.g. the polygons of ``control-2024-12-06.geojson`` with ``controlled_by = "X"``,
so a dated control map closes territory for a scenario date (``deny_area``, ``within``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from ..errors import LayerError
from .features import feature_names, filter_features, read_features


def read_areas(path: str | Path, *, where: Mapping[str, Any] | None = None, layer: str | None = None,
               name_column: str | None = None, field: str = "area") -> gpd.GeoDataFrame:
    """The polygons of a vector file that ``where`` selects, in EPSG:4326, with a ``name`` column.

    Errors name the file, the field and the value: a missing file, a ``where`` attribute the layer
    lacks or a value no feature holds, a feature that is not a polygon.
    """
    path = Path(path)
    gdf = filter_features(read_features(path, layer=layer), where, file=path, field=f"{field}.where")
    polygonal = gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if not polygonal.all():
        i = int((~polygonal).argmax())
        raise LayerError("an area must be a polygon", file=path, field=f"{field}.geometry[{i}]",
                         value=gdf.geometry.iloc[i].geom_type)
    if name_column is not None and name_column not in gdf.columns:
        raise LayerError("no such name column", file=path, field=f"{field}.name", value=name_column)
    return gpd.GeoDataFrame({"name": feature_names(gdf, name_column)}, geometry=gdf.geometry.to_numpy(),
                            crs="EPSG:4326")


def area_union(path: str | Path, *, where: Mapping[str, Any] | None = None, layer: str | None = None,
               field: str = "area") -> BaseGeometry:
    """One (multi)polygon: the union of the areas :func:`read_areas` selects (lon/lat degrees)."""
    return read_areas(path, where=where, layer=layer, field=field).geometry.union_all()
