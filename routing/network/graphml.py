"""GraphML files: saved by :func:`save_graphml` (or osmnx), loaded back and enriched."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TypeGuard

import networkx as nx

from ..errors import NetworkLoadError
from ..files import atomic_path
from .arrays import SIGNALS
from .attributes import enrich
from .osm_file import require_file

# graph attributes holding lists or tables: stored as JSON text in GraphML
JSON_GRAPH_ATTRS = ("load_report", "turn_restrictions", "turn_restrictions_dropped")


def load_graphml(path: str | Path) -> nx.MultiDiGraph:
    """Load a GraphML saved by :func:`save_graphml` (or osmnx) and enrich it."""
    import osmnx as ox  # imported on use: osmnx (and matplotlib with it) take a second to import

    path = Path(path)
    require_file(path)
    try:
        G = ox.load_graphml(path, edge_dtypes={"capacity": float, "speed_kph": float, "travel_time": float,
                                                SIGNALS: int, "layer": str, "lanes": str},
                            graph_dtypes={"schematic": lambda s: s == "True",
                                          **{key: json.loads for key in JSON_GRAPH_ATTRS}})
    except Exception as exc:  # lxml/networkx raise many types for a corrupt file
        raise NetworkLoadError(f"not a readable GraphML file: {exc}", file=path) from exc
    if not isinstance(G, nx.MultiDiGraph) or len(G) == 0:
        raise NetworkLoadError("GraphML holds no road graph", file=path)
    check_graph(G, path)
    return enrich(G)


_RANGES = {"x": (-180.0, 180.0), "y": (-90.0, 90.0)}
# non-negative where present (length: always)
_EDGE_NUMBERS = ("length", "speed_kph", "travel_time", "capacity", SIGNALS)


def check_graph(G: nx.MultiDiGraph, path: str | Path) -> None:
    """Refuse a loaded graph whose nodes lack finite ``x``/``y`` degrees or whose edges lack a
    finite non-negative ``length`` (metres), or carry a negative or non-finite speed, travel
    time, capacity or traffic-signal count; the error names the file, the node or edge, the attribute and the value."""
    for n, d in G.nodes(data=True):
        for key, (low, high) in _RANGES.items():
            value = d.get(key)
            if not (_is_number(value) and low <= value <= high):
                raise NetworkLoadError(f"expected a coordinate in degrees within [{low:g}, {high:g}]", file=path,
                                       field=f"node {n}.{key}", value=value, has_value=key in d)
    for u, v, k, d in G.edges(keys=True, data=True):
        for key in _EDGE_NUMBERS:
            if key in d or key == "length":
                value = d.get(key)
                if not (_is_number(value) and value >= 0):
                    raise NetworkLoadError("expected a finite number >= 0", file=path,
                                           field=f"edge ({u}, {v}, {k}).{key}", value=value, has_value=key in d)


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def save_graphml(G: nx.MultiDiGraph, path: str | Path) -> Path:
    """Save a graph as GraphML atomically (temp file + rename)."""
    import osmnx as ox

    path = Path(path)
    with atomic_path(path) as tmp:
        H = G.copy()
        H.graph.update({key: json.dumps(G.graph[key]) for key in JSON_GRAPH_ATTRS if key in G.graph})
        H.graph.pop("cache", None)
        ox.save_graphml(H, tmp)
    return path
