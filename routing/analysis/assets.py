"""Catalogue assets found on a network, and which of them a route or an edge uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

from ..network import EdgeKey
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
