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
    keep = _restriction_nodes(root, classes)
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
                    if nid in keep:
                        G.nodes[nid]["turn_restriction"] = True
            for u, v in itertools.pairwise(nodes):
                if u != v:
                    G.add_edge(u, v, **attrs, reversed=False)
                    if not oneway:
                        G.add_edge(v, u, **attrs, reversed=True)
    G = ox.distance.add_edge_lengths(G)
    if simplify:
        G = ox.simplify_graph(G, edge_attrs_differ=list(SIMPLIFY_EDGE_ATTRS_DIFFER),
                              node_attrs_include=[*SIMPLIFY_NODE_ATTRS_INCLUDE, "turn_restriction"])
        nx.set_node_attributes(G, ox.stats.count_streets_per_node(G), name="street_count")
    for _, data in G.nodes(data=True):
        data.pop("turn_restriction", None)
    return G


def _restriction_nodes(root: ET.Element, classes: frozenset[str]) -> set[int]:
    """Via nodes and the end nodes of the roads that are members of turn restrictions (kept by
    simplification)."""
    members, keep = set(), set()
    for rel in root.iter("relation"):
        if not any(t.get("k") == "type" and t.get("v") == "restriction" for t in rel.iter("tag")):
            continue
        for m in rel.iter("member"):
            if m.get("type") == "way":
                members.add(int(m.get("ref")))
            elif m.get("role") == "via":
                keep.add(int(m.get("ref")))
    for way in root.iter("way"):
        if int(way.get("id")) in members and is_drivable({t.get("k"): t.get("v") for t in way.iter("tag")}, classes):
            refs = [int(nd.get("ref")) for nd in way.iter("nd")]
            keep |= {refs[0], refs[-1]}
    return keep
