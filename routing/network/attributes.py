"""Routing attributes of every edge: ``speed_kph``, ``travel_time`` (s), ``capacity`` (veh/h).

Speed is the edge's ``maxspeed`` where tagged, else its class default; capacity is lanes in the
edge's direction times the per-lane capacity of its class (``settings.ROAD_CLASSES``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import networkx as nx

from ..errors import NetworkLoadError
from ..settings import FALLBACK_CLASS, ROAD_CLASSES, RoadClass


def _first_number(value: object) -> float | None:
    """The first number in one OSM tag value (``"2"``, ``"50 mph"``); None if there is none."""
    if value is None:
        return None
    match = re.search(r"\d+(?:\.\d+)?", str(value))
    return float(match.group()) if match else None


def road_class(highway: object) -> tuple[str, RoadClass]:
    """The (highway value, defaults) of an edge; a list (merged ways) takes its highest known class,
    so the answer does not depend on the list's order."""
    values = highway if isinstance(highway, list) else [highway]
    for name, cls in ROAD_CLASSES.items():  # ordered from motorway down
        if name in values:
            return name, cls
    return (str(sorted(map(str, values))[0]) if values else "unknown"), FALLBACK_CLASS


def maxspeed_kph(value: object) -> float | None:
    """Parse an OSM ``maxspeed`` value (``"80"``, ``"50 mph"``) to km/h; a list (merged ways) gives
    the mean of its usable values, as osmnx does; None if unusable."""
    if isinstance(value, list):
        speeds = [v for v in (maxspeed_kph(item) for item in value) if v is not None]
        return sum(speeds) / len(speeds) if speeds else None
    number = _first_number(value)
    if number is None or number <= 0:
        return None
    return number * 1.609344 if "mph" in str(value) else number


def edge_capacity_vph(data: Mapping[str, Any], per_lane_vph: Mapping[str, float] | None = None) -> float:
    """Capacity of one directed edge (vehicles/hour): lanes in this direction x per-lane capacity.

    ``lanes`` on a two-way road counts both directions; half of it (at least one) is used.
    ``per_lane_vph`` overrides the class default per lane (vehicles/hour/lane) by highway value.
    """
    name, cls = road_class(data.get("highway"))
    per_lane = (per_lane_vph or {}).get(name, cls.capacity_per_lane_vph)
    lanes_tag = data.get("lanes")
    known = [n for n in (_first_number(v) for v in (lanes_tag if isinstance(lanes_tag, list) else [lanes_tag]))
             if n is not None]
    lanes = min(known) if known else None  # a merged edge is as wide as its narrowest way
    if lanes is None or lanes <= 0:
        per_direction = cls.lanes_per_direction
    elif data.get("oneway") in (True, "True", "true", "yes"):
        per_direction = max(1, int(lanes))
    else:
        per_direction = max(1, math.ceil(lanes / 2))
    return float(per_direction * per_lane)


def edge_speed_kph(data: Mapping[str, Any]) -> float:
    """Free-flow speed (km/h) of an edge's tags: its ``maxspeed``, else its class default
    (``settings.ROAD_CLASSES``)."""
    return float(maxspeed_kph(data.get("maxspeed")) or road_class(data.get("highway"))[1].speed_kph)


def enrich(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Add ``speed_kph``, ``travel_time`` (s) and ``capacity`` (veh/h) to every edge, in place."""
    if G.number_of_edges() == 0:
        raise NetworkLoadError("the graph has no edges", file=G.graph.get("source"))
    for _, _, data in G.edges(data=True):
        if "length" not in data:
            raise NetworkLoadError("edge without 'length' attribute; not an osmnx graph?",
                                   file=G.graph.get("source"))
        speed = edge_speed_kph(data)
        data["speed_kph"] = speed
        data["travel_time"] = float(data["length"]) / (speed / 3.6)
        data["capacity"] = edge_capacity_vph(data)
    G.graph.setdefault("schematic", False)
    G.graph.setdefault("crs", "epsg:4326")
    return G
