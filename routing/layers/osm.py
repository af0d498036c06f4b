"""Points of interest and populated places from OpenStreetMap: a pyosmium pass over an OSM file
(separate from the road pass of :mod:`routing.network.osm_file`), or an Overpass query.

* Facilities: nodes and closed or open ways (buildings, sites; a way becomes the mean of its
  node locations) carrying any of the given tags, e.g. ``{"amenity": ["hospital", "clinic"],
  "healthcare": True}`` (a list = any of these values, ``True`` = any value).
* Population: ``place=*`` nodes of the given types with a numeric ``population=*`` ("15404",
  "15,404" and "15 404" read as 15404). Other place types (country, region, suburb) are left out
  to avoid double counting; a tag that is not a number is skipped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import osmium

from ..errors import LayerError
from ..network.osm_file import file_format
from ..network.overpass import download
from ..settings import OSM_COPYRIGHT, OSM_PLACE_TYPES
from .features import require_layer_file
from .points import PointLayer

TagSpec = Mapping[str, Any]  # key -> value, list of values, or True (any value): any clause matches
BBox = tuple[float, float, float, float]  # west, south, east, north (degrees)
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def check_tag_spec(tags: Any, *, file: str | Path | None = None, field: str = "osm") -> dict[str, list[str] | bool]:
    """``tags`` as key -> list of values or True; an error naming the field when malformed."""
    if not isinstance(tags, Mapping) or not tags:
        raise LayerError('expected a table of OSM tags, e.g. { amenity = ["hospital", "clinic"], healthcare = true }',
                         file=file, field=field, value=tags)
    out: dict[str, list[str] | bool] = {}
    for key, want in tags.items():
        values = want if isinstance(want, list) else [want]
        if want is True:
            out[str(key)] = True
        elif values and all(isinstance(v, str) and v for v in values):
            out[str(key)] = [str(v) for v in values]
        else:
            raise LayerError("expected a tag value, a list of values, or true (any value)", file=file,
                             field=f"{field}.{key}", value=want)
    return out


def tags_match(spec: Mapping[str, list[str] | bool], get: Callable[[str], str | None]) -> bool:
    """True when any clause of ``spec`` holds for the tags read by ``get(key)``."""
    for key, want in spec.items():
        value = get(key)
        if value is not None and (want is True or (isinstance(want, list) and value in want)):
            return True
    return False


def parse_population(text: str | None) -> float | None:
    """Persons in an OSM ``population`` value ("15404", "15,404", "15 404"); None if not a number."""
    if text is None:
        return None
    cleaned = text.strip().replace(",", "").replace(" ", "").replace("_", "")
    return float(cleaned) if _NUMBER.match(cleaned) else None


def _open(path: Path) -> osmium.io.File:
    require_layer_file(path)
    fmt = file_format(path)
    if fmt is None:
        raise LayerError("not an OSM file name (.osm, .osm.gz, .osm.bz2, .osm.pbf)", file=path)
    return osmium.io.File(str(path), fmt)


def _scan(path: Path, keys: Iterable[str], keep: Callable[[Callable[[str], str | None]], bool], *,
          ways: bool) -> tuple[list[tuple[float, float]], list[dict[str, str]], dict[str, int]]:
    """(lon, lat) and tags of the nodes (and ways, as the mean of their node locations) whose
    tags ``keep`` accepts; ``skipped`` counts objects whose location is unknown."""
    points: list[tuple[float, float]] = []
    tags: list[dict[str, str]] = []
    skipped = {"ways without node locations": 0, "relations (not read)": 0}
    key_filter = osmium.filter.KeyFilter(*keys)
    kinds = osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION if ways else osmium.osm.NODE
    processor = osmium.FileProcessor(_open(path), kinds).with_filter(key_filter)
    if ways:
        processor = processor.with_locations("flex_mem")
    try:
        for obj in processor:
            if not keep(obj.tags.get):
                continue
            if isinstance(obj, osmium.osm.Node):
                if obj.location.valid():
                    points.append((obj.location.lon, obj.location.lat))
                    tags.append(dict(obj.tags))
            elif isinstance(obj, osmium.osm.Way):
                locs = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
                if len(locs) > 1 and locs[0] == locs[-1]:
                    locs = locs[:-1]
                if not locs:
                    skipped["ways without node locations"] += 1
                    continue
                points.append((float(np.mean([p[0] for p in locs])), float(np.mean([p[1] for p in locs]))))
                tags.append(dict(obj.tags))
            else:
                skipped["relations (not read)"] += 1
    except RuntimeError as exc:
        raise LayerError(f"not a readable OSM file (corrupt or truncated?): {exc}", file=path) from exc
    return points, tags, {k: v for k, v in skipped.items() if v}


def _layer(points: list[tuple[float, float]], values: list[float], names: list[str], source: str,
           skipped: dict[str, int]) -> PointLayer:
    xy = np.array(points, dtype=float).reshape(-1, 2)
    return PointLayer(xy[:, 0], xy[:, 1], np.array(values, dtype=float), source=source, names=names,
                      notice=OSM_COPYRIGHT, skipped=skipped)


def _name(tags: Mapping[str, str], fallback: str) -> str:
    return tags.get("name:en") or tags.get("name") or fallback


def read_osm_pois(path: str | Path, tags: TagSpec) -> PointLayer:
    """Facilities: OSM nodes and ways carrying any of ``tags`` (value 1 each, named by their name)."""
    path = Path(path)
    spec = check_tag_spec(tags, file=path)
    points, found, skipped = _scan(path, spec, lambda get: tags_match(spec, get), ways=True)
    names = [_name(t, f"{_kind(t, spec)} {i}") for i, t in enumerate(found)]
    return _layer(points, [1.0] * len(points), names, f"{path} (OSM tags {_spec_text(spec)})", skipped)


def _kind(tags: Mapping[str, str], spec: Mapping[str, Any]) -> str:
    return next((f"{k}={tags[k]}" for k in spec if k in tags), "facility")


def _spec_text(spec: Mapping[str, list[str] | bool]) -> str:
    return ", ".join(f"{k}=*" if v is True else f"{k}={'|'.join(v) if isinstance(v, list) else v}"
                     for k, v in spec.items())


def read_osm_places(path: str | Path, *, place_types: Iterable[str] = OSM_PLACE_TYPES) -> PointLayer:
    """Population: ``place=*`` nodes of ``place_types`` with a numeric ``population`` tag."""
    path = Path(path)
    types = set(place_types)
    points, found, skipped = _scan(path, ["population"],
                                   lambda get: get("place") in types and get("population") is not None, ways=False)
    return _places_layer(points, found, skipped, f"{path} (OSM place={'|'.join(sorted(types))} with population)")


def _places_layer(points: list[tuple[float, float]], found: list[dict[str, str]], skipped: dict[str, int],
                  source: str) -> PointLayer:
    keep, values = [], []
    for i, t in enumerate(found):
        persons = parse_population(t.get("population"))
        if persons is None:
            skipped["population tag not a number"] = skipped.get("population tag not a number", 0) + 1
            continue
        keep.append(i)
        values.append(persons)
    names = [_name(found[i], f"place {i}") for i in keep]
    return _layer([points[i] for i in keep], values, names, source, skipped)


# ---------------------------------------------------------------- Overpass


def _bbox_text(bbox: BBox) -> str:
    west, south, east, north = bbox
    return f"({south:.7f},{west:.7f},{north:.7f},{east:.7f})"


def _clause(key: str, want: list[str] | bool) -> str:
    if not isinstance(want, list):
        return f'["{key}"]'
    values = "|".join(re.escape(v) for v in want)
    return f'["{key}"~"^({values})$"]'


def overpass_pois_query(bbox: BBox, tags: TagSpec) -> str:
    """Overpass QL for the nodes and ways carrying any of ``tags`` in ``bbox`` (ways with a centre)."""
    spec = check_tag_spec(tags)
    where = _bbox_text(bbox)
    parts = "".join(f"{kind}{_clause(k, v)}{where};" for k, v in spec.items() for kind in ("node", "way"))
    return f"[out:json][timeout:180];({parts});out center tags;"


def overpass_places_query(bbox: BBox, place_types: Iterable[str] = OSM_PLACE_TYPES) -> str:
    """Overpass QL for the place nodes of ``place_types`` with a population tag in ``bbox``."""
    types = "|".join(sorted(place_types))
    return f'[out:json][timeout:180];node["place"~"^({types})$"]["population"]{_bbox_text(bbox)};out body;'


def _elements(doc: dict[str, Any], source: str) -> tuple[list[tuple[float, float]], list[dict[str, str]]]:
    points, tags = [], []
    for i, el in enumerate(doc.get("elements", [])):
        try:
            where = el if el.get("type") == "node" else el.get("center")
            if where is None:
                continue
            points.append((float(where["lon"]), float(where["lat"])))
            tags.append({str(k): str(v) for k, v in (el.get("tags") or {}).items()})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise LayerError(f"malformed Overpass element: {exc!r}", file=source, field=f"elements[{i}]") from exc
    return points, tags


def overpass_pois(bbox: BBox, tags: TagSpec) -> PointLayer:
    """Facilities carrying any of ``tags`` in ``bbox``, from Overpass (answers cached)."""
    spec = check_tag_spec(tags)
    points, found = _elements(download(overpass_pois_query(bbox, spec)), "overpass")
    names = [_name(t, f"{_kind(t, spec)} {i}") for i, t in enumerate(found)]
    return _layer(points, [1.0] * len(points), names, f"overpass bbox {bbox} (OSM tags {_spec_text(spec)})", {})


def overpass_places(bbox: BBox, *, place_types: Iterable[str] = OSM_PLACE_TYPES) -> PointLayer:
    """Populated places in ``bbox`` from Overpass (see :func:`read_osm_places`)."""
    points, found = _elements(download(overpass_places_query(bbox, place_types)), "overpass")
    return _places_layer(points, found, {}, f"overpass bbox {bbox} (OSM places with population)")
