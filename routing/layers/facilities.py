"""Facilities (hospitals, border crossings, aid hubs): from a vector file or CSV, from OSM tags in
an OSM file or from Overpass. Facilities named in the catalogue are made by the caller from its
places (:meth:`PointLayer` arrays), since the catalogue belongs to the scenario layer above."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LayerError
from ..network.osm_file import file_format
from .features import feature_names, feature_points, filter_features, read_features
from .osm import TagSpec, read_osm_pois
from .points import PointLayer


def read_facilities(path: str | Path, *, osm_tags: TagSpec | None = None, where: Mapping[str, Any] | None = None,
                    layer: str | None = None, name_column: str | None = None) -> PointLayer:
    """Facilities from a file: an OSM file with ``osm_tags`` (any of them), or a vector file / CSV
    (every feature, or those ``where`` selects; polygons become a point inside them).

    A source without any facility is an error naming the file and the filter.
    """
    path = Path(path)
    if file_format(path) is not None:
        if osm_tags is None:
            raise LayerError("facilities from an OSM file need OSM tags, e.g. { amenity = \"hospital\" }", file=path,
                             field="osm", has_value=False)
        out = read_osm_pois(path, osm_tags)
        if len(out) == 0:
            raise LayerError("no OSM node or way carries these tags", file=path, field="osm", value=dict(osm_tags))
        return out
    gdf = filter_features(read_features(path, layer=layer), where, file=path)
    if len(gdf) == 0:
        raise LayerError("the layer holds no feature", file=path, field="layer" if layer else None, value=layer)
    if name_column is not None and name_column not in gdf.columns:
        raise LayerError("no such name column", file=path, field="name_column", value=name_column)
    lon, lat = feature_points(gdf)
    return PointLayer(lon, lat, np.ones(len(gdf)), source=str(path), names=feature_names(gdf, name_column))
