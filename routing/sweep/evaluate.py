"""What the sweep workers receive and compute: the shared :class:`SweepBase` (resolved once on the
driver) and the pure per-task function :func:`evaluate_failures`."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ..analysis.evacuation import evacuation_capacity
from ..analysis.places import check_evacuation_areas, evacuation_nodes, scenario_places
from ..engine import Network, ODMatrix, od_matrix
from ..engine.od import INCREMENTAL_MIN_WORK
from ..run import scenario_network
from ..scenario import Damage, apply_events, incident_edges, select
from ..settings import PERSONS_PER_VEHICLE, POPULATIONS
from .model import Expansion, Sweep, SweepAsset

log = logging.getLogger(__name__)


@dataclass
class SweepBase:
    """Everything a task needs, shipped to each worker once.

    ``asset_edges[a]``: edge indices asset a acts on (its edges and every edge of its nodes);
    ``background``: damage present in every draw; ``reference``: the OD matrix with no swept asset
    failed (the incremental searches start from it); ``pair_rows``/``pair_cols``: the ordered OD
    pairs evaluated (rows/columns of the matrix). Evacuation: origin-area nodes and destination
    nodes (graph node ids), or None without ``[evacuation]``.
    """

    network: Network
    assets: list[SweepAsset]
    asset_edges: list[np.ndarray]
    background: Damage
    reference: ODMatrix
    pair_rows: np.ndarray
    pair_cols: np.ndarray
    evacuation_origin_nodes: list[int] | None = None
    evacuation_destination_nodes: dict[str, list[int]] | None = None
    persons_per_vehicle: float = PERSONS_PER_VEHICLE
    populations: tuple[int, ...] = POPULATIONS
    horizon_hours: float | None = None

    def damage(self, failed: np.ndarray) -> Damage:
        """The background damage plus the failure of assets ``failed`` (indices)."""
        edges = self.network.edges
        d = Damage()
        for a in failed:
            asset = self.assets[int(a)]
            keys = {edges[i] for i in self.asset_edges[int(a)]}
            if asset.action == "degrade":
                d.degrade(keys, asset.speed_factor, asset.capacity_factor, asset.name)
            else:
                d.remove_edges(keys, asset.name)
        return self.background.merged(d)


def evaluate_failures(base: SweepBase, failed: np.ndarray) -> dict[str, Any]:
    """One draw: OD travel times (seconds, None = unreachable, in ``pair_rows``/``pair_cols`` order)
    and the evacuation max flow (persons/hour; None without evacuation) with ``failed`` assets down."""
    damage = base.damage(np.asarray(failed, dtype=np.int64))
    od = od_matrix(base.network, base.reference.origins, damage=damage, baseline=base.reference)
    times = od.time_s[base.pair_rows, base.pair_cols]
    out: dict[str, Any] = {"od_s": [float(t) if math.isfinite(t) else None for t in times],
                           "evacuation_persons_per_hour": None}
    if base.evacuation_origin_nodes is not None and base.evacuation_destination_nodes is not None:
        ev = evacuation_capacity(base.network, base.evacuation_origin_nodes, base.evacuation_destination_nodes,
                                 damage=damage, persons_per_vehicle=base.persons_per_vehicle,
                                 populations=base.populations, horizon_hours=base.horizon_hours)
        out["evacuation_persons_per_hour"] = float(ev.max_flow_persons_per_hour)
    return out


def prepare(sweep: Sweep, G: nx.MultiDiGraph) -> tuple[SweepBase, pd.DataFrame]:
    """Resolve every asset selector once, snap the places, compute the reference OD matrix.

    ``G`` is not modified (the scenario's capacity overrides apply to the compiled network).
    Returns the shared base and the OD pairs (origin, destination names) in task-result order.
    """
    sc = sweep.scenario
    catalogue = sc.catalogue()
    network = scenario_network(sc, G)
    background = apply_events(G, sc, catalogue)[0] if sweep.base_events else Damage()
    asset_edges = []
    for a in sweep.assets:
        sel = select(G, a.selector, catalogue=catalogue, file=sweep.path, field=f"sweep.assets[{a.index}]")
        asset_edges.append(np.sort(network.edge_ids(set(sel.edges) | incident_edges(G, sel.nodes))))
    names = list(dict.fromkeys(sc.od_places + ([sc.evacuation.origin, *sc.evacuation.destinations]
                                                if sc.evacuation else [])))
    places, candidates = scenario_places(network, sc, catalogue, names)
    node_of = dict(zip(places["name"], places["node"].astype(int)))
    od_nodes = [node_of[n] for n in sc.od_places]
    pairs = [(i, j) for i in range(len(od_nodes)) for j in range(len(od_nodes))
             if i != j and od_nodes[i] != od_nodes[j]]
    reference = od_matrix(network, od_nodes, damage=background)
    if len(od_nodes) * len(reference.w) >= INCREMENTAL_MIN_WORK:
        reference.build_index()  # once for every draw: each is then computed incrementally
    base = SweepBase(network, sweep.assets, asset_edges, background, reference,
                     np.array([i for i, _ in pairs], dtype=np.int64), np.array([j for _, j in pairs], dtype=np.int64))
    if sc.evacuation:
        ev = sc.evacuation
        base.evacuation_origin_nodes, base.evacuation_destination_nodes = evacuation_nodes(
            network, ev, catalogue, node_of, candidates)
        for warning in check_evacuation_areas(ev, catalogue, network=network, origin_nodes=base.evacuation_origin_nodes,
                                              file=sc.path):
            log.warning("%s", warning)
        base.persons_per_vehicle, base.populations = ev.persons_per_vehicle, tuple(ev.populations)
        base.horizon_hours = ev.horizon_hours
    od_pairs = pd.DataFrame({"origin": [sc.od_places[i] for i, _ in pairs],
                             "destination": [sc.od_places[j] for _, j in pairs]})
    return base, od_pairs


def fingerprint(sweep: Sweep, base: SweepBase, expansion: Expansion) -> str:
    """Hash of everything a task result depends on (network arrays, assets, places, draws)."""
    h = hashlib.sha256()
    net = base.network
    for arr in (net.src, net.dst, net.attr["travel_time"], net.attr["length"], net.attr["capacity"],
                base.pair_rows, base.pair_cols, *base.asset_edges, *expansion.failure_sets,
                net.node_ids(base.reference.origins)):
        h.update(np.ascontiguousarray(arr).tobytes())
        h.update(b"|")
    meta = {"assets": [(a.action, a.speed_factor, a.capacity_factor) for a in sweep.assets],
            "background": sorted(map(str, base.background.removed_edges)),
            "background_factors": sorted(map(str, base.background.speed_factor.items()))
            + sorted(map(str, base.background.capacity_factor.items())),
            "evacuation": [base.evacuation_origin_nodes, base.evacuation_destination_nodes,
                           base.persons_per_vehicle, list(base.populations), base.horizon_hours]}
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    return h.hexdigest()
