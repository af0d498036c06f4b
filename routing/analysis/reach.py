"""Corridor reachability before/after damage: OD tables, detours, evacuation paths.

All times are seconds internally and minutes in tables; distances metres internally, km in tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..damage import Damage
from ..engine import Engine

ALTERNATIVE_PENALTY = 1.6  # weight multiplier on edges of routes already found (penalty method)
MAX_SHARED_LENGTH = 0.8  # an alternative sharing more than this share of its length is not distinct


@dataclass
class Route:
    """One path: edge indices into ``Engine.edges``; time in seconds, length in metres."""

    origin: str
    destination: str
    state: str  # "baseline" or "damaged"
    rank: int  # 1 = fastest, 2.. = alternatives
    edges: list[int]
    travel_time_s: float
    length_m: float
    assets: list[str]


def assets_on_path(edge_ids: list[int], engine: Engine, asset_edges: dict[str, set[int]],
                   asset_nodes: dict[str, set[int]]) -> list[str]:
    """Catalogue assets a path uses (an edge of the asset, or passes through one of its nodes)."""
    if not edge_ids:
        return []
    used = set(edge_ids)
    nodes = set(engine.src[edge_ids].tolist()) | set(engine.dst[edge_ids].tolist())
    return sorted(a for a in set(asset_edges) | set(asset_nodes)
                  if used & asset_edges.get(a, set()) or nodes & asset_nodes.get(a, set()))


def od_table(engine: Engine, place_nodes: dict[str, int], damage: Damage, asset_edges: dict[str, set[int]],
             asset_nodes: dict[str, set[int]], weight: str = "travel_time") -> tuple[pd.DataFrame, list[Route]]:
    """Fastest routes among all ordered pairs of places, baseline and damaged.

    Returns the table (one row per ordered pair: reachable?, km, minutes, detour ratio, assets
    used, status) and the routes drawn from it. ``place_nodes`` maps place name -> graph node.
    """
    names = list(place_nodes)
    idx = [engine.node_index[place_nodes[n]] for n in names]
    trees = {"baseline": engine.tree(idx, engine.weights(weight)),
             "damaged": engine.tree(idx, engine.weights(weight, damage))}
    tt_damaged = engine.weights("travel_time", damage)
    rows, routes = [], []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j or idx[i] == idx[j]:
                continue
            row = {"origin": a, "destination": b}
            paths = {}
            for state, tree in trees.items():
                path = paths[state] = tree.edge_path(i, idx[j])
                reachable = path is not None
                row[f"{state}_reachable"] = reachable
                if reachable:
                    times = tt_damaged if state == "damaged" else engine.attr["travel_time"]
                    t = float(times[path].sum())
                    length = engine.path_sum(path, "length")
                    assets = assets_on_path(path, engine, asset_edges, asset_nodes)
                    routes.append(Route(a, b, state, 1, path, t, length, assets))
                else:
                    t = length = float("nan")
                    assets = []
                row[f"{state}_km"] = length / 1000
                row[f"{state}_min"] = t / 60
                row[f"{state}_assets"] = ", ".join(assets)
            row["detour_ratio"] = row["damaged_min"] / row["baseline_min"] if row["damaged_reachable"] else float("nan")
            row["delta_min"] = row["damaged_min"] - row["baseline_min"]
            row["status"] = _status(row, same_path=paths["baseline"] == paths["damaged"])
            rows.append(row)
    return pd.DataFrame(rows), routes


def _status(row: dict, same_path: bool) -> str:
    """unchanged | slower (same route, degraded) | rerouted | cut off | unreachable before | ..."""
    if not row["baseline_reachable"]:
        return "unreachable before" if not row["damaged_reachable"] else "reachable only after"
    if not row["damaged_reachable"]:
        return "cut off"
    if not same_path:
        return "rerouted"
    return "slower" if row["delta_min"] > 1e-6 else "unchanged"


def alternative_routes(engine: Engine, origin_node: int, target_node: int, damage: Damage | None, k: int
                       ) -> list[tuple[list[int], float, float]]:
    """Up to ``k`` distinct fastest routes (edge ids, seconds, metres) by the penalty method.

    After each route, the travel time of its edges (and of their reverse twins) is multiplied by
    ALTERNATIVE_PENALTY; a new route that shares more than MAX_SHARED_LENGTH of its length with a
    found one is skipped. Reported times are the true (unpenalised) times.
    """
    true_w = engine.weights("travel_time", damage)
    w = true_w.copy()
    s, t = engine.node_index[origin_node], engine.node_index[target_node]
    found: list[tuple[list[int], float, float]] = []
    used_length = engine.attr["length"]
    for _ in range(3 * k):
        path = engine.tree([s], w).edge_path(0, t)
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
        twins = twin_edges(engine, path)
        w[path] *= ALTERNATIVE_PENALTY
        w[twins] *= ALTERNATIVE_PENALTY
    return found


def twin_edges(engine: Engine, edge_ids: list[int]) -> np.ndarray:
    """Indices of edges running the opposite way between the same nodes as ``edge_ids``."""
    n = engine.n_nodes
    codes = engine.src * n + engine.dst
    wanted = set((engine.dst[edge_ids] * n + engine.src[edge_ids]).tolist())
    return np.flatnonzero(np.isin(codes, list(wanted)))


def evacuation_routes(engine: Engine, origin: str, origin_node: int, destinations: dict[str, int],
                      damage: Damage, k: int, asset_edges: dict[str, set[int]], asset_nodes: dict[str, set[int]]
                      ) -> tuple[pd.DataFrame, list[Route]]:
    """Fastest and alternative routes from the origin to each safe destination, before/after.

    The table lists destinations nearest first (damaged travel time), with the cause when cut off.
    """
    rows, routes = [], []
    for dest, node in destinations.items():
        for state, dmg in (("baseline", None), ("damaged", damage)):
            alts = alternative_routes(engine, origin_node, node, dmg, k)
            for rank, (path, t, length) in enumerate(alts, start=1):
                routes.append(Route(origin, dest, state, rank, path, t, length,
                                    assets_on_path(path, engine, asset_edges, asset_nodes)))
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
            "cut_by": "" if dmg_routes else ", ".join(base[0].assets) if base else "",
        })
    table = pd.DataFrame(rows)
    table = table.sort_values(["damaged_reachable", "damaged_min"], ascending=[False, True], na_position="last")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True), routes
