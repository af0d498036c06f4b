"""Vector layers the analyst brings: GeoPackage, GeoJSON, Shapefile (read with geopandas/pyogrio)
or CSV with lat/lon columns, as a GeoDataFrame in WGS84, and the attribute filter ``where``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import LayerError

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".gml", ".kml")
LAT_COLUMNS = ("lat", "latitude", "y")
LON_COLUMNS = ("lon", "lng", "long", "longitude", "x")


def require_layer_file(path: Path) -> None:
    """Raise :class:`LayerError` unless ``path`` is an existing non-empty file."""
    if not path.exists():
        raise LayerError("file not found", file=path)
    if path.is_dir() or path.stat().st_size == 0:
        raise LayerError("not a file with data (a folder, or empty)", file=path)


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value (for messages: ``-4``, not ``np.int64(-4)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _column(df: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {str(c).lower(): c for c in df.columns}
    return next((lower[n] for n in names if n in lower), None)


def read_csv_points(path: Path) -> gpd.GeoDataFrame:
    """Points from a CSV with ``lat``/``lon`` columns (also latitude/longitude, y/x), degrees WGS84."""
    try:
        df = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise LayerError(f"not a readable CSV file: {exc}", file=path) from exc
    lat_col, lon_col = _column(df, LAT_COLUMNS), _column(df, LON_COLUMNS)
    if lat_col is None or lon_col is None:
        raise LayerError(f"a CSV layer needs lat and lon columns (degrees); columns: {', '.join(map(str, df.columns))}",
                         file=path, field="lat/lon")
    for col, limit in ((lat_col, 90.0), (lon_col, 180.0)):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(~(values.abs() <= limit).to_numpy())
        if len(bad):
            raise LayerError(f"not a coordinate in degrees within ±{limit:g}", file=path, field=f"{col}[{bad[0]}]",
                             value=plain(df[col].iloc[bad[0]]), has_value=True)
        df[col] = values
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df[lon_col], df[lat_col]), crs="EPSG:4326")


def read_features(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """The features of a vector file (or CSV points) in EPSG:4326; errors name the file."""
    path = Path(path)
    require_layer_file(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv_points(path)
    if suffix not in VECTOR_SUFFIXES:
        raise LayerError(f"unknown layer format; expected .csv or one of {', '.join(VECTOR_SUFFIXES)}", file=path)
    try:
        gdf = gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio raises its own DataSourceError / DataLayerError types
        raise LayerError(f"not a readable vector file: {exc}", file=path,
                         field="layer" if layer else None, value=layer) from exc
    if gdf.crs is None:
        raise LayerError("the layer has no coordinate reference system (assign one, e.g. EPSG:4326)", file=path,
                         field="crs", value=None, has_value=True)
    missing = gdf.geometry.isna() | gdf.geometry.is_empty
    if missing.any():
        raise LayerError("feature without a geometry", file=path, field=f"geometry[{int(np.flatnonzero(missing)[0])}]")
    return gdf.to_crs("EPSG:4326") if not gdf.crs.equals("EPSG:4326") else gdf


def filter_features(gdf: gpd.GeoDataFrame, where: Mapping[str, Any] | None, *, file: str | Path,
                    field: str = "where") -> gpd.GeoDataFrame:
    """Features whose attributes hold every ``where`` condition (``{attr = value}``, a list = any
    of). An attribute missing from the layer, or a condition matching no feature, is an error
    naming the file, the attribute and the value."""
    if not where:
        return gdf
    if not isinstance(where, Mapping):
        raise LayerError("expected a table attribute = value (or a list of values)", file=file, field=field,
                         value=where)
    keep = np.ones(len(gdf), dtype=bool)
    for key, want in where.items():
        if key not in gdf.columns or key == gdf.geometry.name:
            columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
            raise LayerError(f"the layer has no attribute {key!r}; attributes: {', '.join(columns) or 'none'}",
                             file=file, field=f"{field}.{key}", value=want)
        options = {str(w) for w in (want if isinstance(want, list) else [want])}
        texts = gdf[key].astype(str)
        hit = texts.isin(options).to_numpy()
        if not hit.any():
            present = sorted(set(texts))
            shown = ", ".join(present[:10]) + (", ..." if len(present) > 10 else "")
            raise LayerError(f"matches no feature; values of {key!r} in the layer: {shown}", file=file,
                             field=f"{field}.{key}", value=want)
        keep &= hit
    if not keep.any():
        raise LayerError("no feature holds all these conditions together", file=file, field=field, value=dict(where))
    return gdf[keep]


def feature_points(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) of each feature: the point itself, or a point inside a polygon or on a line."""
    geoms = gdf.geometry
    points = geoms.where(geoms.geom_type == "Point", geoms.representative_point())
    return points.x.to_numpy(dtype=float), points.y.to_numpy(dtype=float)


def feature_names(gdf: gpd.GeoDataFrame, column: str | None) -> list[str]:
    """A label per feature: ``column`` when given (else ``name`` if present), else the feature index."""
    col = column if column is not None else next((c for c in gdf.columns if str(c).lower() == "name"), None)
    if col is None:
        return [f"feature {i}" for i in range(len(gdf))]
    return [str(v) if pd.notna(v) else f"feature {i}" for i, v in enumerate(gdf[col])]
