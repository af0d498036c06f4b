"""GraphML files: saved by :func:`save_graphml` (or osmnx), loaded back and enriched."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import osmnx as ox

from ..errors import NetworkLoadError
from ..files import atomic_path
from .attributes import enrich
from .osm_file import require_file

# graph attributes holding lists or tables: stored as JSON text in GraphML
JSON_GRAPH_ATTRS = ("load_report", "turn_restrictions", "turn_restrictions_dropped")


def load_graphml(path: str | Path) -> nx.MultiDiGraph:
    """Load a GraphML saved by :func:`save_graphml` (or osmnx) and enrich it."""
    path = Path(path)
    require_file(path)
    try:
        G = ox.load_graphml(path, edge_dtypes={"capacity": float, "speed_kph": float, "travel_time": float,
                                                "layer": str, "lanes": str},
                            graph_dtypes={"schematic": lambda s: s == "True",
                                          **{key: json.loads for key in JSON_GRAPH_ATTRS}})
    except Exception as exc:  # lxml/networkx raise many types for a corrupt file
        raise NetworkLoadError(f"not a readable GraphML file: {exc}", file=path) from exc
    if not isinstance(G, nx.MultiDiGraph) or len(G) == 0:
        raise NetworkLoadError("GraphML holds no road graph", file=path)
    return enrich(G)


def save_graphml(G: nx.MultiDiGraph, path: str | Path) -> Path:
    """Save a graph as GraphML atomically (temp file + rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        H = G.copy()
        H.graph.update({key: json.dumps(G.graph[key]) for key in JSON_GRAPH_ATTRS if key in G.graph})
        H.graph.pop("cache", None)
        ox.save_graphml(H, tmp)
    return path
