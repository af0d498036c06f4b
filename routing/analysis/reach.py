"""Corridor reachability before/after damage: OD tables, detours, evacuation routes.

All times are seconds internally and minutes in tables; distances metres internally, km in tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine import Network
from ..network import EdgeKey
from ..scenario import Damage
from ..settings import ALTERNATIVE_PENALTY, ALTERNATIVES, MAX_SHARED_LENGTH
from .assets import AssetMatch, assets_on_path
from .cuts import cut_causes


@dataclass
class Route:
    """One path: its (u, v, key) edges in travel order; time in seconds, length in metres."""

    origin: str
    destination: str
    state: str  # "baseline" or "damaged"
    rank: int  # 1 = fastest, 2.. = alternatives
    edges: list[EdgeKey]
    travel_time_s: float
    length_m: float
    assets: list[str]


def od_table(network: Network, place_nodes: Mapping[str, int], *, damage: Damage,
             assets: Mapping[str, AssetMatch], weight: str = "travel_time",
             events: Mapping[str, Damage] | None = None) -> tuple[pd.DataFrame, list[Route]]:
    """Fastest routes among all ordered pairs of places, baseline and damaged.

    Returns the table (one row per ordered pair: reachable?, km, minutes, travel-time ratio
    after/before, assets used, status, ``cut_by``) and the routes drawn from it. ``place_nodes``
    maps place name -> graph node; ``events`` maps each applied event's name to what it alone
    did, for ``cut_by`` (see :mod:`routing.analysis.cuts`; empty without ``events``).
    """
    names = list(place_nodes)
    idx = [network.node_index[place_nodes[n]] for n in names]
    trees = {"baseline": network.tree(idx, network.weights(weight)),
             "damaged": network.tree(idx, network.weights(weight, damage))}
    tt_damaged = network.weights("travel_time", damage)
    rows, routes = [], []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j or idx[i] == idx[j]:
                continue
            row: dict[str, object] = {"origin": a, "destination": b}
            paths = {}
            for state, tree in trees.items():
                path = paths[state] = tree.edge_path(i, idx[j])
                if path is not None:
                    times = tt_damaged if state == "damaged" else network.attr["travel_time"]
                    t = float(times[path].sum())
                    length = network.path_sum(path, "length")
                    keys = network.edge_keys(path)
                    used = assets_on_path(keys, assets)
                    routes.append(Route(a, b, state, 1, keys, t, length, used))
                else:
                    t = length = float("nan")
                    used = []
                row[f"{state}_reachable"] = path is not None
                row[f"{state}_km"] = length / 1000
                row[f"{state}_min"] = t / 60
                row[f"{state}_assets"] = ", ".join(used)
            base_min, damaged_min = float(row["baseline_min"]), float(row["damaged_min"])  # type: ignore[arg-type]
            row["detour_ratio"] = damaged_min / base_min if row["damaged_reachable"] else float("nan")
            row["delta_min"] = damaged_min - base_min
            row["status"] = _status(row, same_path=paths["baseline"] == paths["damaged"])
            row["cut_by"] = ""
            rows.append(row)
    columns = ["origin", "destination", *(f"{s}_{k}" for s in ("baseline", "damaged")
                                         for k in ("reachable", "km", "min", "assets")),
               "detour_ratio", "delta_min", "status", "cut_by"]
    table = pd.DataFrame(rows, columns=columns)  # columns kept without OD places ([access] only)
    if events and len(table):
        for origin, group in table[table["status"] == "cut off"].groupby("origin", sort=False):
            causes = cut_causes(network, place_nodes[origin], [place_nodes[d] for d in group["destination"]], events)
            table.loc[group.index, "cut_by"] = [c.text() for c in causes]
    return table, routes


def _status(row: dict, same_path: bool) -> str:
    """unchanged | slower (same route, degraded) | rerouted | cut off | unreachable before | ..."""
    if not row["baseline_reachable"]:
        return "unreachable before" if not row["damaged_reachable"] else "reachable only after"
    if not row["damaged_reachable"]:
        return "cut off"
    if not same_path:
        return "rerouted"
    return "slower" if row["delta_min"] > 1e-6 else "unchanged"


def alternative_routes(network: Network, origin_node: int, target_node: int, *, damage: Damage | None = None,
                       k: int = ALTERNATIVES) -> list[tuple[list[int], float, float]]:
    """Up to ``k`` distinct fastest routes (edge indices, seconds, metres) by the penalty method.

    After each route, the travel time of its edges (and of their reverse twins) is multiplied by
    ``settings.ALTERNATIVE_PENALTY``; a new route that shares more than
    ``settings.MAX_SHARED_LENGTH`` of its length with a found one is skipped. Reported times are
    the true (unpenalised) times.
    """
    true_w = network.weights("travel_time", damage)
    w = true_w.copy()
    s, t = network.node_index[origin_node], network.node_index[target_node]
    found: list[tuple[list[int], float, float]] = []
    used_length = network.attr["length"]
    for _ in range(3 * k):
        path = network.tree([s], w).edge_path(0, t)
        if path is None:
            break
        pset = set(path)
        length = float(used_length[path].sum())
        distinct = all(float(used_length[list(pset & set(p))].sum()) <= MAX_SHARED_LENGTH * length
                       for p, _, _ in found)
        if distinct:
            found.append((path, float(true_w[path].sum()), length))
            if len(found) == k:
                break
        twins = twin_edges(network, path)
        w[path] *= ALTERNATIVE_PENALTY
        w[twins] *= ALTERNATIVE_PENALTY
    return found


def twin_edges(network: Network, edge_ids: list[int]) -> np.ndarray:
    """Indices of edges running the opposite way between the same nodes as ``edge_ids``."""
    n = network.n_nodes
    codes = network.src * n + network.dst
    wanted = set((network.dst[edge_ids] * n + network.src[edge_ids]).tolist())
    return np.flatnonzero(np.isin(codes, list(wanted)))


def evacuation_routes(network: Network, origin: str, origin_node: int, destinations: Mapping[str, int], *,
                      damage: Damage, alternatives: int = ALTERNATIVES, assets: Mapping[str, AssetMatch],
                      events: Mapping[str, Damage] | None = None) -> tuple[pd.DataFrame, list[Route]]:
    """Fastest and alternative routes from the origin to each safe destination, before/after.

    ``destinations`` maps name -> graph node. The table lists destinations nearest first
    (damaged travel time); ``cut_by`` names the events (``events``: name -> what that event alone
    did) whose damage cuts a destination off, found by recomputation (:mod:`routing.analysis.cuts`).
    """
    rows, routes = [], []
    for dest, node in destinations.items():
        for state, dmg in (("baseline", None), ("damaged", damage)):
            alts = alternative_routes(network, origin_node, node, damage=dmg, k=alternatives)
            for rank, (path, t, length) in enumerate(alts, start=1):
                keys = network.edge_keys(path)
                routes.append(Route(origin, dest, state, rank, keys, t, length, assets_on_path(keys, assets)))
        base = [r for r in routes if r.destination == dest and r.state == "baseline"]
        dmg_routes = [r for r in routes if r.destination == dest and r.state == "damaged"]
        rows.append({
            "destination": dest,
            "baseline_min": base[0].travel_time_s / 60 if base else float("nan"),
            "baseline_km": base[0].length_m / 1000 if base else float("nan"),
            "damaged_reachable": bool(dmg_routes),
            "damaged_min": dmg_routes[0].travel_time_s / 60 if dmg_routes else float("nan"),
            "damaged_km": dmg_routes[0].length_m / 1000 if dmg_routes else float("nan"),
            "alternatives_after": len(dmg_routes),
            "damaged_assets": ", ".join(dmg_routes[0].assets) if dmg_routes else "",
        })
    table = pd.DataFrame(rows)
    causes = cut_causes(network, origin_node, list(destinations.values()), events) if events else []
    table["cut_by"] = [c.text() for c in causes] if causes else ""
    table = table.sort_values(["damaged_reachable", "damaged_min"], ascending=[False, True], na_position="last")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True), routes
