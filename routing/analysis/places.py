"""Places on the network: the main component, snapping places to nodes, evacuation areas."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import osmnx as ox
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from ..engine import Network
from ..scenario import Catalogue, EvacuationSpec, Place, area_from_spec, area_selection
from ..settings import SNAP_WARNING_M


def _strong_components(network: Network) -> np.ndarray:
    """Strongly connected component label of each node, over the roads the vehicle may use."""
    n = network.n_nodes
    usable = np.isfinite(network.weights())
    src, dst = network.src[usable], network.dst[usable]
    m = csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    return connected_components(m, directed=True, connection="strong")[1]


def main_component_nodes(network: Network) -> np.ndarray:
    """Node indices of the largest strongly connected component of the roads the vehicle may use
    (where places are snapped)."""
    labels = _strong_components(network)
    return np.flatnonzero(labels == np.bincount(labels).argmax())


def large_component_nodes(network: Network, min_share: float) -> np.ndarray:
    """Node indices of the strongly connected components holding at least ``min_share`` of the
    nodes (always the largest): an island's network (Gozo beside Malta) counts, a stray clipped
    fragment does not."""
    labels = _strong_components(network)
    sizes = np.bincount(labels)
    keep = (sizes >= min_share * network.n_nodes) | (np.arange(len(sizes)) == sizes.argmax())
    return np.flatnonzero(keep[labels])


def _node_xy(network: Network, candidates: np.ndarray) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    nodes = network.graph.nodes
    xs = np.array([nodes[network.nodes[i]]["x"] for i in candidates], dtype=np.float64)
    ys = np.array([nodes[network.nodes[i]]["y"] for i in candidates], dtype=np.float64)
    return xs, ys


def snap_places(network: Network, places: list[Place], candidates: np.ndarray) -> pd.DataFrame:
    """Nearest candidate node (node indices ``candidates``) to each place, great-circle metres.

    Columns: name, lat, lon, kind, node (graph node id), snap_m, snap_warning (farther than
    ``settings.SNAP_WARNING_M``)."""
    xs, ys = _node_xy(network, candidates)
    rows = []
    for p in places:
        d = ox.distance.great_circle(np.full_like(ys, p.lat), np.full_like(xs, p.lon), ys, xs)
        best = int(np.argmin(d))
        rows.append({"name": p.name, "lat": p.lat, "lon": p.lon, "kind": p.kind,
                     "node": network.nodes[candidates[best]], "snap_m": float(d[best]),
                     "snap_warning": bool(d[best] > SNAP_WARNING_M)})
    return pd.DataFrame(rows, columns=["name", "lat", "lon", "kind", "node", "snap_m", "snap_warning"])


def nodes_within(network: Network, place: Place, radius_m: float, candidates: np.ndarray) -> list[int]:
    """Graph node ids among ``candidates`` (node indices) within ``radius_m`` metres of ``place``."""
    xs, ys = _node_xy(network, candidates)
    inside = ox.distance.great_circle(np.full_like(ys, place.lat), np.full_like(xs, place.lon), ys, xs) <= radius_m
    return [network.nodes[i] for i in candidates[inside]]


def evacuation_nodes(network: Network, spec: EvacuationSpec, catalogue: Catalogue, node_of: dict[str, int],
                     candidates: np.ndarray) -> tuple[list[int], dict[str, list[int]]]:
    """Origin-area nodes and destination nodes (graph node ids) of an evacuation.

    The origin area is every candidate node (node indices, usually the main component) within
    ``origin_radius_m`` of the origin place, or inside ``origin_area`` when given, plus the
    origin's snapped node (``node_of``: place name -> graph node); a town destination is its
    node and every candidate within ``destination_radius_m``, a border crossing only its node
    (so a closed crossing is not bypassed by nodes beyond it)."""
    if spec.origin_area is not None:
        inside = area_selection(network.graph, area_from_spec(spec.origin_area)).nodes
        origin = {network.nodes[i] for i in candidates if network.nodes[i] in inside}
    else:
        origin = set(nodes_within(network, catalogue.place(spec.origin), spec.origin_radius_m, candidates))
    origin.add(int(node_of[spec.origin]))
    destinations = {}
    for name in spec.destinations:
        place, area = catalogue.place(name), {int(node_of[name])}
        if place.kind != "border_crossing":
            area |= set(nodes_within(network, place, spec.destination_radius_m, candidates))
        destinations[name] = sorted(area - origin)
    return sorted(origin), destinations
