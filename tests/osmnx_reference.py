"""An independent reference for the graph builder: OSM XML read with ElementTree, the graph built
edge by edge with networkx, simplified by osmnx itself (with our ``edge_attrs_differ`` and
``node_attrs_include``), as osmnx users would. Ways that reference missing nodes are trimmed to
their runs of present nodes (osmnx's XML loader refuses such files)."""

from __future__ import annotations

import gzip
import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import osmnx as ox
from shapely import contains_xy
from shapely.geometry import Polygon

from routing.network.classes import ONEWAY_VALUES, REVERSED_VALUES, is_drivable, resolve_classes
from routing.settings import (
    EDGE_TAGS,
    KEPT_BARRIERS,
    NODE_TAGS,
    SIMPLIFY_EDGE_ATTRS_DIFFER,
    SIMPLIFY_NODE_ATTRS_INCLUDE,
)


def _runs(refs: list[int], coords: dict[int, tuple[float, float]]) -> list[list[int]]:
    runs, current = [], []
    for nid in refs:
        if nid in coords:
            current.append(nid)
            continue
        if len(current) >= 2:
            runs.append(current)
        current = []
    if len(current) >= 2:
        runs.append(current)
    return runs


def reference_graph(path: str | Path, road_classes: str = "drive", *, simplify: bool = True,
                    clip: Polygon | None = None) -> nx.MultiDiGraph:
    """The reference graph of an OSM XML file (see the module docstring)."""
    classes = resolve_classes(road_classes)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        root = ET.parse(fh).getroot()
    coords, node_tags = {}, {}
    for node in root.iter("node"):
        nid, x, y = int(node.get("id")), float(node.get("lon")), float(node.get("lat"))
        if clip is None or contains_xy(clip, x, y):
            coords[nid] = (x, y)
        tags = {t.get("k"): t.get("v") for t in node.iter("tag") if t.get("k") in NODE_TAGS}
        if tags.get("barrier") not in KEPT_BARRIERS:
            tags.pop("barrier", None)
        if tags:
            node_tags[nid] = tags
    G = nx.MultiDiGraph(crs="epsg:4326")
    for way in root.iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if not is_drivable(tags, classes):
            continue
        attrs = {k: v for k, v in tags.items() if k in EDGE_TAGS}
        oneway = tags.get("oneway") in ONEWAY_VALUES or tags.get("junction") == "roundabout"
        attrs.update(osmid=int(way.get("id")), oneway=oneway)
        for run in _runs([int(nd.get("ref")) for nd in way.iter("nd")], coords):
            nodes = run[::-1] if tags.get("oneway") in REVERSED_VALUES else run
            for nid in nodes:
                if nid not in G:
                    G.add_node(nid, y=coords[nid][1], x=coords[nid][0], **node_tags.get(nid, {}))
            for u, v in itertools.pairwise(nodes):
                if u != v:
                    G.add_edge(u, v, **attrs, reversed=False)
                    if not oneway:
                        G.add_edge(v, u, **attrs, reversed=True)
    G = ox.distance.add_edge_lengths(G)
    if simplify:
        G = ox.simplify_graph(G, edge_attrs_differ=list(SIMPLIFY_EDGE_ATTRS_DIFFER),
                              node_attrs_include=list(SIMPLIFY_NODE_ATTRS_INCLUDE))
        nx.set_node_attributes(G, ox.stats.count_streets_per_node(G), name="street_count")
    return G
