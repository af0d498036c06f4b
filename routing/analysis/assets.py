"""Catalogue assets found on a network, and which of them a route or an edge uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

from ..network import EdgeKey, tag_text, truthy
from ..scenario import Catalogue, select


@dataclass(frozen=True)
class AssetMatch:
    """A catalogue asset as found on one network: its (u, v, key) edges and node ids."""

    key: str
    label: str
    edges: frozenset[EdgeKey]
    nodes: frozenset[int]


def resolve_assets(G: nx.MultiDiGraph, catalogue: Catalogue) -> dict[str, AssetMatch]:
    """Every catalogue asset present on ``G``, by key (assets that match nothing are left out)."""
    found = {}
    for asset in catalogue.assets.values():
        sel = select(G, {"asset": asset.key}, catalogue=catalogue, allow_empty=True)
        if sel:
            found[asset.key] = AssetMatch(asset.key, asset.label, frozenset(sel.edges), frozenset(sel.nodes))
    return found


def assets_on_path(edges: Iterable[EdgeKey], assets: Mapping[str, AssetMatch]) -> list[str]:
    """Keys of the assets a path uses (an edge of the asset, or passes through one of its nodes)."""
    used = set(edges)
    if not used:
        return []
    nodes = {u for u, _, _ in used} | {v for _, v, _ in used}
    return sorted(k for k, a in assets.items() if used & a.edges or nodes & a.nodes)


def assets_of_edge(edge: EdgeKey, assets: Mapping[str, AssetMatch]) -> list[str]:
    """Keys of the assets an edge belongs to (directly, or through one of its end nodes)."""
    return assets_on_path([edge], assets)


@dataclass(frozen=True)
class SelectionSummary:
    """What a selector matched, in words an analyst can check against a map.

    ``roads``: distinct road names (ref and name, "(bridge)" marked), ``ways``: OSM way ids,
    ``km``: length of road matched (a two-way segment counted once), ``bbox``: west, south, east,
    north (degrees) or None, ``node_names``: matched nodes by name (barrier) or id."""

    edges: int
    nodes: int
    roads: tuple[str, ...]
    ways: tuple[str, ...]
    km: float
    bbox: tuple[float, float, float, float] | None
    node_names: tuple[str, ...]


def summarise_selection(G: nx.MultiDiGraph, edges: Iterable[EdgeKey], nodes: Iterable[int]) -> SelectionSummary:
    """A :class:`SelectionSummary` of matched ``edges`` and ``nodes`` on ``G``."""
    edges, nodes = sorted(set(edges), key=str), sorted(set(nodes), key=str)
    roads: dict[str, None] = {}
    ways: dict[str, None] = {}
    segments: dict[tuple, float] = {}
    xs, ys = [], []
    for u, v, k in edges:
        d = G.edges[u, v, k]
        ref = tag_text(d.get("ref")) or tag_text(d.get("int_ref"))
        name = tag_text(d.get("name:en")) or tag_text(d.get("name"))
        road = " ".join(x for x in (ref, name) if x) or f"unnamed {tag_text(d.get('highway')) or 'road'}"
        roads[road + (" (bridge)" if truthy(d.get("bridge")) else "")] = None
        ids = d.get("osmid") if isinstance(d.get("osmid"), list) else [d.get("osmid")]
        ways.update(dict.fromkeys(str(i) for i in ids if i is not None))
        key = (min(u, v), max(u, v), tuple(sorted(map(str, ids))))
        segments[key] = max(segments.get(key, 0.0), float(d.get("length", 0.0)))
        geom = d.get("geometry")
        coords = list(geom.coords) if geom is not None else [(G.nodes[u]["x"], G.nodes[u]["y"]),
                                                              (G.nodes[v]["x"], G.nodes[v]["y"])]
        xs += [c[0] for c in coords]
        ys += [c[1] for c in coords]
    names = []
    for n in nodes:
        d = G.nodes[n]
        name = tag_text(d.get("name:en")) or tag_text(d.get("name")) or f"node {d.get('osmid', n)}"
        names.append(name + (f" (barrier={d['barrier']})" if d.get("barrier") else ""))
        xs.append(d["x"])
        ys.append(d["y"])
    bbox = (min(xs), min(ys), max(xs), max(ys)) if xs else None
    return SelectionSummary(len(edges), len(nodes), tuple(roads), tuple(ways), sum(segments.values()) / 1000, bbox,
                            tuple(names))
