"""Places on the network: the main component, snapping places to nodes, evacuation areas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from ..engine import Network
from ..errors import InputError, ScenarioError
from ..network.geometry import great_circle_m
from ..scenario import Catalogue, EvacuationSpec, Place, Scenario, area_from_spec, area_selection
from ..settings import MAX_SNAP_M, MIN_AREA_GAP_M, SNAP_WARNING_M


def component_labels(network: Network) -> np.ndarray:
    """Per node index, its strongly connected component over the roads the vehicle may use,
    numbered by size (0 = the largest)."""
    n = network.n_nodes
    usable = np.isfinite(network.weights())
    src, dst = network.src[usable], network.dst[usable]
    m = csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    _, labels = connected_components(m, directed=True, connection="strong")
    sizes = np.bincount(labels)
    rank = np.empty_like(sizes)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(len(sizes))
    return rank[labels]


def main_component_nodes(network: Network) -> np.ndarray:
    """Node indices of the roads' main component, where places are snapped: the road nodes whose
    routes can enter the largest strongly connected part of the routing graph (roads the vehicle
    may use, turn restrictions and destination-only zones honoured) and be reached from it, so
    that every two of them reach each other by legal routes."""
    r = network.routing
    usable = np.isfinite(network.routing_weights(network.weights()))
    m = csr_matrix((np.ones(int(usable.sum())), (r.src[usable], r.dst[usable])), shape=(r.n, r.n))
    _, labels = connected_components(m, directed=True, connection="strong")
    seed = int(np.flatnonzero(labels == np.argmax(np.bincount(labels)))[0])
    from_seed = np.zeros(r.n, dtype=bool)
    from_seed[breadth_first_order(m, seed, directed=True, return_predecessors=False)] = True
    to_seed = np.zeros(r.n, dtype=bool)
    to_seed[breadth_first_order(m.T.tocsr(), seed, directed=True, return_predecessors=False)] = True
    return np.flatnonzero(to_seed[r.start] & from_seed[r.end])


def place_fields(scenario: Scenario) -> dict[str, str]:
    """Each place name a scenario uses -> the field that first names it (for messages)."""
    fields = {name: f"places.od[{i}]" for i, name in reversed(list(enumerate(scenario.od_places)))}
    if scenario.evacuation is not None:
        for i, name in enumerate(scenario.evacuation.destinations):
            fields.setdefault(name, f"evacuation.destinations[{i}]")
        fields.setdefault(scenario.evacuation.origin, "evacuation.origin")
    return fields


def scenario_places(network: Network, scenario: Scenario, catalogue: Catalogue, names: list[str]
                    ) -> tuple[pd.DataFrame, np.ndarray]:
    """The scenario's places ``names`` snapped to the main component (see :func:`snap_places`),
    and the main component's node indices.

    Raises :class:`~routing.errors.ScenarioError` when a place is farther than its snap limit
    from the main component (the place's ``max_snap_m``, else the scenario's, else
    ``settings.MAX_SNAP_M``), naming the place and the distance, or saying which separate part
    of the network it sits on; and when fewer than two of the OD places are connected.
    """
    main = main_component_nodes(network)
    places = [catalogue.place(n) for n in names]
    snapped = snap_places(network, places, main)
    nearest = snap_places(network, places, np.arange(network.n_nodes))
    limits = [place.max_snap_m or scenario.max_snap_m or MAX_SNAP_M for place in places]
    too_far = [(place, row, near, limit) for place, row, near, limit
               in zip(places, snapped.itertuples(), nearest.itertuples(), limits) if row.snap_m > limit]
    if too_far:  # the network's parts are needed only to say where a stranded place is
        labels = component_labels(network)
        far = [(place.name, row.snap_m, near.snap_m if near.snap_m <= limit else None,
                int(labels[network.node_index[near.node]]), limit) for place, row, near, limit in too_far]
        raise _places_error(scenario, place_fields(scenario), far, labels)
    return snapped, main


def _places_error(scenario: Scenario, fields: dict[str, str], far: list[tuple], labels: np.ndarray) -> ScenarioError:
    """One message for places that cannot be snapped: the first far one, or how the OD places
    split over the network's parts when no two of them are connected."""
    stranded = {name for name, *_ in far}
    connected = [n for n in scenario.od_places if n not in stranded]
    on_other_parts = any(near_m is not None for _, _, near_m, _, _ in far)
    if len(scenario.od_places) >= 2 and len(connected) < 2 and on_other_parts:
        sizes = np.bincount(labels)
        parts: dict[str, list[str]] = {}
        for name, _, near_m, part, _ in far:
            key = (f"part {part + 1} ({sizes[part]:,} nodes)" if near_m is not None
                   else "no part (farther than the snap limit from every road)")
            parts.setdefault(key, []).append(name)
        if connected:
            parts.setdefault(f"part 1, the largest ({sizes[0]:,} nodes)", []).extend(connected)
        where = "; ".join(f"{', '.join(names)} on {key}" for key, names in parts.items())
        return ScenarioError(f"no two OD places are connected on this network: {where}; use a network that joins "
                             "them (a larger extract or bbox, road_classes = \"drive\")", file=scenario.path,
                             field="places.od", value=scenario.od_places)
    name, main_m, near_m, part, limit = far[0]
    if near_m is None:
        where = "check its coordinates or the network's extent"
    elif part == 0:  # on the roads' largest part, yet outside the main component of legal routes
        where = (f"its nearest road ({near_m / 1000:,.1f} km) has no legal route to or from the rest "
                 "(turn restrictions, one-way or destination-only streets)")
    else:
        where = (f"its nearest road ({near_m / 1000:,.1f} km) is on a separate part of the network "
                 f"({np.bincount(labels)[part]:,} nodes) not connected to the rest")
    return ScenarioError(f"{main_m / 1000:,.1f} km from the network (limit max_snap_m = {limit:,.0f} m): {where}",
                         file=scenario.path, field=fields.get(name, "places"), value=name)


def large_component_nodes(network: Network, min_share: float) -> np.ndarray:
    """Node indices of the strongly connected components holding at least ``min_share`` of the
    nodes (always the largest): an island's network (Gozo beside Malta) counts, a stray clipped
    fragment does not."""
    labels = component_labels(network)
    sizes = np.bincount(labels)
    keep = (sizes >= min_share * network.n_nodes) | (np.arange(len(sizes)) == 0)
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
        d = great_circle_m(np.full_like(ys, p.lat), np.full_like(xs, p.lon), ys, xs)
        best = int(np.argmin(d))
        rows.append({"name": p.name, "lat": p.lat, "lon": p.lon, "kind": p.kind,
                     "node": network.nodes[candidates[best]], "snap_m": float(d[best]),
                     "snap_warning": bool(d[best] > SNAP_WARNING_M)})
    return pd.DataFrame(rows, columns=["name", "lat", "lon", "kind", "node", "snap_m", "snap_warning"])


def nodes_within(network: Network, place: Place, radius_m: float, candidates: np.ndarray) -> list[int]:
    """Graph node ids among ``candidates`` (node indices) within ``radius_m`` metres of ``place``."""
    xs, ys = _node_xy(network, candidates)
    inside = great_circle_m(np.full_like(ys, place.lat), np.full_like(xs, place.lon), ys, xs) <= radius_m
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


def check_evacuation_areas(spec: EvacuationSpec, catalogue: Catalogue, *, network: Network | None = None,
                           origin_nodes: list[int] | None = None, file: str | Path | None = None) -> list[str]:
    """Refuse origin and destination areas that overlap; warn when they nearly touch.

    The areas are discs: ``origin_radius_m`` around the origin, ``destination_radius_m`` around a
    town destination, a border crossing is a point. When the origin and a destination overlap the
    evacuation measures nothing: :class:`~routing.errors.InputError` naming the radius to shrink.
    When the gap between them is under ``settings.MIN_AREA_GAP_M`` (metres), the routes and the
    capacity cover only that gap: a warning (returned, one line each) says which radius to shrink.
    With ``origin_area`` (a polygon) the gap is measured from its nodes (``origin_nodes``, graph
    ids on ``network``) and only destination radii can be named.
    """
    origin = catalogue.place(spec.origin)
    polygon = spec.origin_area is not None
    if polygon and (network is None or not origin_nodes):
        return []
    warnings = []
    for name in spec.destinations:
        place = catalogue.place(name)
        r_dest = 0.0 if place.kind == "border_crossing" else spec.destination_radius_m
        if polygon:
            assert network is not None and origin_nodes is not None
            xs, ys = _node_xy(network, network.node_ids(origin_nodes))
            away = float(np.min(great_circle_m(np.full_like(ys, place.lat), np.full_like(xs, place.lon),
                                                         ys, xs)))
            gap, origin_text = away - r_dest, "the origin_area"
            shrink = ["origin_area"] + (["destination_radius_m"] if r_dest else [])
        else:
            away = float(great_circle_m(origin.lat, origin.lon, place.lat, place.lon))
            gap = away - spec.origin_radius_m - r_dest
            origin_text = f"the origin area ({spec.origin_radius_m / 1000:g} km around {origin.name})"
            shrink = ["origin_radius_m"] + (["destination_radius_m"] if r_dest else [])
        if gap >= MIN_AREA_GAP_M:
            continue
        dest_text = f"{name} ({f'{r_dest / 1000:g} km around it' if r_dest else 'a point'}, {away / 1000:.1f} km away)"
        fix = f"shrink {' or '.join(shrink)}"
        if gap <= 0:
            value = "polygon" if polygon else spec.origin_radius_m
            raise InputError(f"{origin_text} and destination {dest_text} overlap by {-gap / 1000:.1f} km, so the "
                             f"evacuation would measure nothing: {fix}", file=file,
                             field=f"evacuation.{shrink[0]}", value=value)
        warnings.append(f"evacuation: {origin_text} and destination {dest_text} are only {gap / 1000:.1f} km apart: "
                        f"routes and capacity measure that gap only; {fix} so that they are at least "
                        f"{MIN_AREA_GAP_M / 1000:g} km apart")
    return warnings
