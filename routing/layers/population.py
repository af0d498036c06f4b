"""Population layers: a raster of persons per cell (WorldPop / GHSL GeoTIFF, read with rasterio),
points or polygons with a population column (GeoPackage, GeoJSON, CSV), or OSM ``place=*`` nodes
carrying ``population=*`` (:mod:`routing.layers.osm`).

Every reader returns a :class:`~routing.layers.points.PointLayer` of persons at WGS84 points: a
raster cell is its centre, a polygon a point inside it. Snapping to the road network happens in
:mod:`routing.analysis.access`, which counts what stays unsnapped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import rasterio.warp
import rasterio.windows
from rasterio.errors import CRSError, RasterioIOError

from ..errors import LayerError
from ..network.osm_file import file_format
from ..settings import OSM_COPYRIGHT, OSM_PLACE_TYPES
from .features import feature_names, feature_points, filter_features, plain, read_features, require_layer_file
from .osm import read_osm_places
from .points import PointLayer

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img")
BBox = tuple[float, float, float, float]  # west, south, east, north (degrees)


def read_population(path: str | Path, *, column: str = "population", layer: str | None = None,
                    where: Mapping[str, Any] | None = None, name_column: str | None = None,
                    place_types: Iterable[str] = OSM_PLACE_TYPES, bbox: BBox | None = None,
                    notice: str = "") -> PointLayer:
    """Persons at points, from any population source, by file type.

    Parameters
    ----------
    path
        A raster (``.tif``; persons per cell), a vector file or CSV (lat/lon) with a population
        ``column``, or an OSM file (``place=*`` nodes with ``population=*``, of ``place_types``).
    column, layer, where, name_column
        For vector files and CSV: the population attribute (persons), the layer of a GeoPackage,
        an attribute filter (see :func:`~routing.layers.features.filter_features`) and the
        attribute naming each feature.
    bbox
        (west, south, east, north) degrees: read only this window of a raster (others: all).
    notice
        A data notice to carry into every output (e.g. "SCHEMATIC population, made up").
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in RASTER_SUFFIXES:
        out = read_population_raster(path, bbox=bbox)
    elif file_format(path) is not None:
        out = read_osm_places(path, place_types=place_types)
        out.notice = out.notice or OSM_COPYRIGHT
    else:
        out = read_population_features(path, column=column, layer=layer, where=where, name_column=name_column)
    if notice:
        out.notice = notice
    return out


def read_population_raster(path: str | Path, *, bbox: BBox | None = None, band: int = 1) -> PointLayer:
    """Cells with a population above 0 as points at their centres (persons per cell).

    The raster's nodata cells are left out; a raster without a coordinate reference system, or
    with a negative population that is not its nodata value, is an error naming the file.
    """
    path = Path(path)
    require_layer_file(path)
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise LayerError(f"not a readable raster: {exc}", file=path) from exc
    with src:
        if src.crs is None:
            raise LayerError("the raster has no coordinate reference system (georeference it, e.g. EPSG:4326)",
                             file=path, field="crs", value=None, has_value=True)
        if not 1 <= band <= src.count:
            raise LayerError(f"the raster has {src.count} band(s)", file=path, field="band", value=band)
        window = None
        if bbox is not None:
            try:
                bounds = rasterio.warp.transform_bounds("EPSG:4326", src.crs, *bbox)
            except CRSError as exc:
                raise LayerError(f"unknown coordinate reference system: {exc}", file=path, field="crs",
                                 value=str(src.crs)) from exc
            full = rasterio.windows.Window(0, 0, src.width, src.height)
            try:
                window = rasterio.windows.from_bounds(*bounds, transform=src.transform).round_offsets().round_lengths()
                window = window.intersection(full)
            except rasterio.errors.WindowError:  # the area lies outside the raster
                window = rasterio.windows.Window(0, 0, 0, 0)
        data = src.read(band, window=window, masked=True) if window is None or window.width > 0 else None
        transform = src.window_transform(window) if window is not None else src.transform
        crs = src.crs
    if data is None or data.size == 0:
        return PointLayer(np.empty(0), np.empty(0), np.empty(0), source=str(path), skipped={})
    values = np.ma.filled(data.astype(float), 0.0)
    values[~np.isfinite(values)] = 0.0
    negative = values < 0
    if negative.any():
        r, c = np.argwhere(negative)[0]
        raise LayerError("negative population (declare it as the raster's nodata value)", file=path,
                         field=f"band {band} cell (row {r}, col {c})", value=float(values[r, c]))
    rows, cols = np.nonzero(values > 0)
    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    try:
        lon, lat = rasterio.warp.transform(crs, "EPSG:4326", np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
    except CRSError as exc:
        raise LayerError(f"unknown coordinate reference system: {exc}", file=path, field="crs",
                         value=str(crs)) from exc
    return PointLayer(np.asarray(lon), np.asarray(lat), values[rows, cols], source=str(path))


def read_population_features(path: str | Path, *, column: str = "population", layer: str | None = None,
                             where: Mapping[str, Any] | None = None, name_column: str | None = None) -> PointLayer:
    """Persons from a vector file or CSV: a point each (polygons: a point inside), from ``column``.

    A missing column, or a value that is not a number or is negative, is an error naming the
    file, the column (with the feature index) and the value.
    """
    path = Path(path)
    gdf = filter_features(read_features(path, layer=layer), where, file=path)
    if column not in gdf.columns:
        columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
        raise LayerError(f"no such population column; columns: {', '.join(columns) or 'none'}", file=path,
                         field="column", value=column)
    if name_column is not None and name_column not in gdf.columns:
        raise LayerError("no such name column", file=path, field="name_column", value=name_column)
    raw = gdf[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if len(bad):
        i = int(bad[0])
        problem = "negative population" if np.isfinite(values[i]) else "population is not a number"
        raise LayerError(problem, file=path, field=f"{column}[{i}]", value=plain(raw.iloc[i]), has_value=True)
    lon, lat = feature_points(gdf)
    return PointLayer(lon, lat, values, source=str(path), names=feature_names(gdf, name_column))
