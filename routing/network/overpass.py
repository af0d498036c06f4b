"""Overpass: download the roads of an area, or read a saved Overpass JSON answer, into
:class:`~routing.network.osm_file.RoadWays` (then the one builder makes the graph).

Downloads go to ``settings.OVERPASS_URL`` (``$ROUTING_OVERPASS_URL`` overrides it) with one
query per area and a timeout (``settings.NETWORK_TIMEOUT_S``); answers are cached as JSON in
``settings.cache_dir() / "overpass"`` (written atomically), so a second load of the same area
and classes needs no network. A place name is turned into its boundary polygon by osmnx's
Nominatim geocoder. ``out geom`` answers (coordinates without node ids) get synthetic negative
node ids, shared where coordinates are identical so junctions stay junctions.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import requests
from shapely.geometry import MultiPolygon, Polygon, box

from ..errors import NetworkLoadError
from ..files import atomic_path
from ..settings import NETWORK_TIMEOUT_S, OSM_COPYRIGHT, cache_dir, overpass_url
from .classes import FILTER_KEYS, BBox, clip_area, is_drivable, resolve_classes
from .osm_file import WAY_KEYS, RoadWays, kept_node_tags, require_file
from .restrictions import restriction_record


def overpass_filter(classes: frozenset[str]) -> str:
    """An Overpass way filter for the given highway classes (access is decided when routing)."""
    alternation = "|".join(sorted(classes))
    return f'["highway"~"^({alternation})$"]["area"!~"yes"]'


def overpass_query(area: Polygon, classes: frozenset[str]) -> str:
    """The Overpass QL query for the ways of ``classes`` in ``area``, their nodes and the turn
    restriction relations they belong to."""
    if area.equals(box(*area.bounds)):
        west, south, east, north = area.bounds
        where = f"({south:.7f},{west:.7f},{north:.7f},{east:.7f})"
    else:
        points = " ".join(f"{y:.7f} {x:.7f}" for x, y in area.exterior.coords[:-1])
        where = f'(poly:"{points}")'
    return (f"[out:json][timeout:180];way{overpass_filter(classes)}{where}->.roads;"
            '(.roads;.roads >;rel(bw.roads)["type"="restriction"];);out body;')


def download(query: str, *, url: str | None = None, timeout_s: float = NETWORK_TIMEOUT_S,
             cache: bool = True) -> dict[str, Any]:
    """The JSON answer of Overpass to ``query`` (from the cache when there)."""
    url = url or overpass_url()
    key = hashlib.sha256(f"{url}\n{query}".encode()).hexdigest()[:32]
    path = cache_dir() / "overpass" / f"{key}.json"
    if cache and path.exists():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and isinstance(doc.get("elements"), list):
                return doc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            pass  # a damaged entry: download again
    try:
        response = requests.post(url, data={"data": query}, timeout=timeout_s)
        response.raise_for_status()
        doc = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise NetworkLoadError(f"Overpass download failed ({type(exc).__name__}: {exc}); without internet use a "
                               "local file (--network FILE.osm.pbf) or a cached download", file=url) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
        raise NetworkLoadError("Overpass answered without an 'elements' list (query timed out or rate limited?)",
                               file=url, field="remark", value=doc.get("remark") if isinstance(doc, dict) else doc)
    if cache:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(doc), encoding="utf-8")
    return doc


def place_polygon(place: str) -> Polygon | MultiPolygon:
    """The boundary of a named place, geocoded by osmnx's Nominatim client."""
    import osmnx as ox

    try:
        gdf = ox.geocode_to_gdf(place)
    except Exception as exc:  # osmnx raises InsufficientResponseError, requests errors, ...
        raise NetworkLoadError(f"cannot geocode the place ({type(exc).__name__}: {exc}); without internet use a "
                               "local file (--network FILE.osm.pbf)", field="network.source",
                               value=f"place:{place}") from exc
    geometry = gdf.geometry.iloc[0]
    if not isinstance(geometry, (Polygon, MultiPolygon)):
        raise NetworkLoadError("the geocoder returned a point, not an area; give a bbox instead",
                               field="network.source", value=f"place:{place}")
    return geometry


def download_road_ways(*, bbox: BBox | None = None, polygon: Polygon | MultiPolygon | None = None,
                       place: str | None = None, road_classes: str | Iterable[str] = "drive"
                       ) -> tuple[RoadWays, Polygon | MultiPolygon, str]:
    """The drivable ways of an area from Overpass, the area (lon/lat degrees) and a source label."""
    classes = resolve_classes(road_classes)
    if place is not None:
        area, label = place_polygon(place), f"overpass: place {place!r}"
    elif polygon is not None:
        area, label = polygon, f"overpass: polygon {polygon.bounds}"
    elif bbox is not None:
        area, label = clip_area(bbox), f"overpass: bbox {tuple(bbox)}"
    else:
        raise NetworkLoadError("Overpass needs a bbox, a polygon or a place", field="network.source",
                               value="overpass")
    parts = list(area.geoms) if isinstance(area, MultiPolygon) else [area]
    elements = [el for part in parts for el in download(overpass_query(part, classes))["elements"]]
    ways = road_ways_from_json({"elements": elements}, label, classes)
    return ways, area, label


def read_overpass_json(path: str | Path, road_classes: str | Iterable[str] = "drive") -> RoadWays:
    """Read an Overpass API JSON answer saved to disk."""
    path = Path(path)
    require_file(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise NetworkLoadError(f"not valid JSON (corrupt or truncated): {exc}", file=path) from exc
    return road_ways_from_json(doc, str(path), resolve_classes(road_classes))


def _coordinate(value: Any, low: float, high: float) -> float:
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"coordinate {value!r} outside [{low}, {high}]")
    return number


def road_ways_from_json(doc: Any, source: str, classes: frozenset[str]) -> RoadWays:
    """Convert an Overpass JSON document (``out body`` or ``out geom``) to :class:`RoadWays`."""
    if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
        raise NetworkLoadError("not an Overpass JSON document (no 'elements' list)", file=source)
    osm3s = doc.get("osm3s")
    copyright_text = osm3s.get("copyright") if isinstance(osm3s, dict) else None
    coords: dict[int, tuple[float, float]] = {}
    node_tags: dict[int, dict[str, str]] = {}
    synthetic: dict[tuple[float, float], int] = {}
    ways: list[tuple[int, list[int], dict[str, str]]] = []
    restrictions: list[dict[str, Any]] = []
    ways_read = 0
    intern = sys.intern
    for i, el in enumerate(doc["elements"]):
        try:
            kind = el["type"]
            if kind == "node":
                nid = int(el["id"])
                coords[nid] = (_coordinate(el["lon"], -180, 180), _coordinate(el["lat"], -90, 90))
                tags = kept_node_tags(_tags(el))
                if tags:
                    node_tags[nid] = tags
            elif kind == "way":
                raw = _tags(el)
                if raw.get("highway") not in classes:
                    continue
                ways_read += 1
                tags = {k: intern(raw[k]) for k in WAY_KEYS if k in raw}
                if not is_drivable(tags, classes):
                    continue
                refs = [int(n) for n in el.get("nodes") or []]
                geom = el.get("geometry")
                if geom and refs and len(geom) == len(refs):
                    for nid, pt in zip(refs, geom):
                        if pt:  # Overpass writes null for nodes outside the query area
                            coords.setdefault(nid, (_coordinate(pt["lon"], -180, 180), _coordinate(pt["lat"], -90, 90)))
                elif geom:
                    refs = []
                    for pt in geom:
                        key = (round(_coordinate(pt["lon"], -180, 180), 7), round(_coordinate(pt["lat"], -90, 90), 7))
                        nid = synthetic.setdefault(key, -(len(synthetic) + 1))
                        coords[nid] = key
                        refs.append(nid)
                ways.append((int(el["id"]), refs, {k: v for k, v in tags.items() if k not in FILTER_KEYS}))
            elif kind == "relation":
                members = ((str(m["role"]), str(m["type"])[:1], int(m["ref"])) for m in el.get("members") or [])
                record = restriction_record(int(el["id"]), _tags(el), members)
                if record is not None:
                    restrictions.append(record)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NetworkLoadError(f"malformed element: {exc!r}", file=source, field=f"elements[{i}]",
                                   value=el.get("id") if isinstance(el, dict) else el) from exc
    if not ways:
        raise NetworkLoadError(f"no drivable ways of classes {sorted(classes)} in the data", file=source)
    refs_all = array("q")
    offsets = np.zeros(len(ways) + 1, dtype=np.int64)
    for w, (_, refs, _) in enumerate(ways):
        refs_all.fromlist(refs)
        offsets[w + 1] = offsets[w] + len(refs)
    ref_ids = np.frombuffer(refs_all, dtype=np.int64).copy()
    xy = np.array([coords.get(int(r), (np.nan, np.nan)) for r in ref_ids], dtype=float).reshape(-1, 2)
    return RoadWays(source=source, way_ids=np.array([w[0] for w in ways], dtype=np.int64),
                    way_tags=[w[2] for w in ways], offsets=offsets, refs=ref_ids,
                    lon=np.ascontiguousarray(xy[:, 0]), lat=np.ascontiguousarray(xy[:, 1]), node_tags=node_tags,
                    ways_read=ways_read, notice=copyright_text or OSM_COPYRIGHT, restrictions=restrictions)


def _tags(element: dict[str, Any]) -> dict[str, str]:
    """An element's tags; every value must be a string."""
    tags = element.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ValueError("tags must be a table of strings")
    return tags
