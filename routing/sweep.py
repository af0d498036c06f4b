"""Scenario sweeps: many combinations of failed assets on one network, run in parallel, aggregated.

A sweep file (TOML) names a base scenario (network, places, evacuation settings) and the assets
that may fail, each with a failure probability::

    [sweep]
    name = "Strikes on the Orontes bridge and the Lebanese crossings"
    base = "demo-western-syria.toml"   # scenario file, relative to this file
    mode = "monte_carlo"               # or "combinations"
    draws = 200                        # monte_carlo: number of random draws
    seed = 20241206                    # monte_carlo: the same seed gives the same draws
    # max_failed = 2                   # combinations: every subset of at most this many assets
    # base_events = true               # also apply the base scenario's events in every draw

    [[sweep.assets]]
    asset = "rastan_bridge"            # a catalogue asset, or: select = {...} with name = "..."
    failure_probability = 0.4          # [0, 1], independent of the other assets
    action = "destroy"                 # destroy | close | degrade (speed_factor, capacity_factor)

Expansion is deterministic: ``monte_carlo`` draws each asset's failure independently with
``numpy.random.default_rng(seed)`` (every draw weighs the same); ``combinations`` enumerates every
subset of at most ``max_failed`` assets, weighted by its probability (product of p and 1 - p),
renormalised over the enumerated subsets (``coverage`` = their total probability).

Every selector is resolved once, on the driver, into edge indices. Identical failure sets are
computed once. One task = one failure set (a small integer array), evaluated by the pure function
:func:`evaluate_failures` against the shared :class:`SweepBase` (engine, reference OD matrix,
asset edge arrays), shipped to each worker once. It returns the travel time of every ordered OD
pair (seconds; None = unreachable) and the evacuation max flow (persons/hour) when the base
scenario has ``[evacuation]``.

Aggregates (probability-weighted over draws): P(connected) and detour-ratio quantiles per OD pair,
the evacuation capacity distribution, and assets ranked by expected impact (the mean difference in
disconnected pairs, extra OD minutes and evacuation capacity between draws where the asset failed
and draws where it did not, times its failure probability). The reference for detours is the
network with no swept asset failed (with the base events when ``base_events = true``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from .analysis.evacuation_flow import evacuation_capacity
from .atomic import RESULTS_MARKER, atomic_folder
from .damage import Damage
from .engine import Engine, ODMatrix, od_matrix
from .errors import InputError
from .outputs.report import _clean, _md_table, write_metrics
from .parallel import Executor, Journal, SerialExecutor
from .results import SCHEMATIC_BANNER
from .network import apply_capacity_overrides
from .run import evacuation_nodes, load_scenario_network, main_component_nodes, snap_places
from .scenario import Scenario, expand_path
from .toml_input import read_toml
from .selectors import select

log = logging.getLogger(__name__)
MODES = ("monte_carlo", "combinations")
ACTIONS = ("destroy", "close", "degrade")
MAX_DRAWS = 1_000_000  # draws (monte_carlo) or enumerated subsets (combinations)
QUANTILES = (0.05, 0.5, 0.9, 0.95)
JOURNAL_NAME = "partial_results.jsonl"
OD_COLUMNS = {"origin": "from", "destination": "to", "reference_min": "min (no failure)",
              "p_connected": "P(connected)", "mean_min_if_connected": "mean min if connected",
              "detour_ratio_p50": "detour × p50", "detour_ratio_p90": "detour × p90",
              "detour_ratio_max": "detour × max"}
ASSET_COLUMNS = {"rank": "rank", "asset": "asset", "action": "action", "failure_probability": "p(fail)",
                 "edges": "edges", "delta_disconnected_pairs": "Δ pairs cut if failed",
                 "delta_extra_min": "Δ extra OD min if failed", "delta_evacuation_persons_per_hour":
                 "Δ evacuation persons/h if failed", "expected_disconnected_pairs": "expected pairs cut",
                 "expected_extra_min": "expected extra min"}


class SweepError(InputError):
    """A sweep file is invalid."""


@dataclass(frozen=True)
class SweepAsset:
    """One asset that may fail in a sweep (``index`` = its position in ``[[sweep.assets]]``)."""

    index: int
    name: str  # catalogue key, or the sweep's name for an inline selector
    label: str
    selector: dict[str, Any]
    failure_probability: float  # [0, 1]
    action: str = "destroy"
    speed_factor: float = 1.0  # degrade: multiplies speed, (0, 1]
    capacity_factor: float = 1.0  # degrade: multiplies capacity (vehicles/hour), (0, 1]


@dataclass
class Expansion:
    """A sweep expanded into draws. ``failure_sets[t]`` are the asset indices failed in task t
    (distinct sets only); draw d evaluates task ``draw_task[d]`` and has probability
    ``weight[d] / weight.sum()`` (1 per Monte-Carlo draw; the subset's probability for combinations,
    so that a share of all draws is exactly 1); ``coverage`` is the probability mass of the
    enumerated draws."""

    failure_sets: list[np.ndarray]
    draw_task: np.ndarray
    weight: np.ndarray
    coverage: float

    def failed_matrix(self, n_assets: int) -> np.ndarray:
        """(draws, assets) booleans: which assets failed in each draw."""
        per_task = np.zeros((len(self.failure_sets), n_assets), dtype=bool)
        for t, s in enumerate(self.failure_sets):
            per_task[t, s] = True
        return per_task[self.draw_task]


@dataclass
class Sweep:
    """A validated sweep file."""

    name: str
    path: Path | None
    scenario: Scenario
    assets: list[SweepAsset]
    mode: str = "monte_carlo"
    draws: int = 0  # monte_carlo
    seed: int = 0  # monte_carlo
    max_failed: int = 0  # combinations
    base_events: bool = False

    @classmethod
    def from_file(cls, path: str | Path) -> "Sweep":
        """Read and validate a sweep TOML file; errors name the file, field and value."""
        path = Path(path)
        return cls.from_dict(read_toml(path, SweepError, "sweep file"), path=path)

    @classmethod
    def from_dict(cls, doc: dict[str, Any], *, path: Path | None = None) -> "Sweep":
        """Validate a parsed sweep document (``path``: for messages and the relative base path)."""
        return _Parser(doc, path).sweep()

    def expand(self) -> Expansion:
        """The draws of this sweep: a pure function of the file (same seed, same draws)."""
        p = np.array([a.failure_probability for a in self.assets])
        if self.mode == "monte_carlo":
            failed = np.random.default_rng(self.seed).random((self.draws, len(p))) < p
            task_of: dict[bytes, int] = {}
            draw_task = np.fromiter((task_of.setdefault(row.tobytes(), len(task_of)) for row in failed),
                                    dtype=np.int64, count=self.draws)
            sets = [np.flatnonzero(np.frombuffer(key, dtype=bool)) for key in task_of]
            return Expansion(sets, draw_task, np.ones(self.draws), 1.0)
        sets = [np.array(c, dtype=np.int64) for k in range(self.max_failed + 1)
                for c in itertools.combinations(range(len(p)), k)]
        mass = np.array([np.prod(np.where(np.isin(np.arange(len(p)), s), p, 1 - p)) for s in sets])
        coverage = float(mass.sum())
        if coverage <= 0:
            raise SweepError("the enumerated subsets have probability 0 (raise max_failed)", file=self.path,
                             field="sweep.max_failed", value=self.max_failed)
        return Expansion(sets, np.arange(len(sets)), mass, coverage)


class _Parser:
    def __init__(self, doc: dict[str, Any], path: Path | None):
        self.doc, self.path = doc, path

    def fail(self, problem: str, field_: str, value: Any = None, has_value: bool = True) -> SweepError:
        return SweepError(problem, file=self.path, field=field_, value=value, has_value=has_value)

    def integer(self, tbl: dict, key: str, low: int, high: int) -> int:
        value = tbl.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(f"expected an integer from {low} to {high:,}", f"sweep.{key}", value,
                            has_value=key in tbl)
        return value

    def sweep(self) -> Sweep:
        for key in self.doc:
            if key != "sweep":
                raise self.fail("unknown top-level key; a sweep file holds one table [sweep]", key, self.doc[key])
        tbl = self.doc.get("sweep")
        if not isinstance(tbl, dict):
            raise self.fail("missing required table", "[sweep]", has_value=False)
        allowed = {"name", "base", "mode", "draws", "seed", "max_failed", "base_events", "assets"}
        for key in tbl:
            if key not in allowed:
                raise self.fail(f"unknown field; expected one of {', '.join(sorted(allowed))}", f"sweep.{key}",
                                tbl[key])
        base = tbl.get("base")
        if not isinstance(base, str) or not base.strip():
            raise self.fail("expected the path of the base scenario file", "sweep.base", base,
                            has_value="base" in tbl)
        scenario = Scenario.from_file(expand_path(base, self.path))
        mode = tbl.get("mode", "monte_carlo")
        if mode not in MODES:
            raise self.fail(f"unknown mode; use one of {', '.join(MODES)}", "sweep.mode", mode)
        base_events = tbl.get("base_events", False)
        if not isinstance(base_events, bool):
            raise self.fail("expected true or false", "sweep.base_events", base_events)
        if len(scenario.od_places) < 2:
            raise self.fail("the base scenario needs at least two [places] od places", "sweep.base", base)
        name = tbl.get("name", f"{scenario.name}: sweep")
        if not isinstance(name, str) or not name.strip():
            raise self.fail("expected a non-empty string", "sweep.name", name)
        assets = self.assets(tbl.get("assets"), scenario, "assets" in tbl)
        sweep = Sweep(name=name, path=self.path, scenario=scenario, assets=assets, mode=mode,
                      base_events=base_events)
        only = {"monte_carlo": ("draws", "seed"), "combinations": ("max_failed",)}
        for other, keys in only.items():
            for key in keys:
                if other != mode and key in tbl:
                    raise self.fail(f"only for mode = {other!r}", f"sweep.{key}", tbl[key])
        if mode == "monte_carlo":
            sweep.draws = self.integer(tbl, "draws", 1, MAX_DRAWS)
            sweep.seed = self.integer(tbl, "seed", 0, 2**63 - 1)
        else:
            sweep.max_failed = self.integer(tbl, "max_failed", 0, len(assets)) if "max_failed" in tbl else len(assets)
            total = sum(math.comb(len(assets), k) for k in range(sweep.max_failed + 1))
            if total > MAX_DRAWS:
                raise self.fail(f"{total:,} subsets to enumerate (more than {MAX_DRAWS:,}); lower max_failed "
                                "or use mode = \"monte_carlo\"", "sweep.max_failed", sweep.max_failed)
        return sweep

    def assets(self, raw: Any, scenario: Scenario, given: bool) -> list[SweepAsset]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("expected a non-empty array of tables [[sweep.assets]]", "sweep.assets", raw,
                            has_value=given)
        catalogue = scenario.catalogue()
        out, names = [], set()
        allowed = {"asset", "select", "name", "label", "failure_probability", "action", "speed_factor",
                   "capacity_factor"}
        for i, a in enumerate(raw):
            where = f"sweep.assets[{i}]"
            if not isinstance(a, dict):
                raise self.fail("expected a table", where, a)
            for key in a:
                if key not in allowed:
                    raise self.fail(f"unknown field; expected one of {', '.join(sorted(allowed))}", f"{where}.{key}",
                                    a[key])
            if ("asset" in a) == ("select" in a):
                raise self.fail("give exactly one of 'asset' or 'select'", where, has_value=False)
            if "asset" in a:
                if not isinstance(a["asset"], str):
                    raise self.fail("expected an asset key (string)", f"{where}.asset", a["asset"])
                entry = catalogue.asset(a["asset"], file=self.path, field=f"{where}.asset")
                selector, name, label = {"asset": a["asset"]}, a.get("name", a["asset"]), a.get("label", entry.label)
            else:
                if not isinstance(a["select"], dict):
                    raise self.fail("expected a selector table", f"{where}.select", a["select"])
                if not isinstance(a.get("name"), str) or not a["name"].strip():
                    raise self.fail("an inline selector needs a name (string)", f"{where}.name", a.get("name"),
                                    has_value="name" in a)
                selector, name, label = a["select"], a["name"], a.get("label", a["name"])
            if name in names:
                raise self.fail("duplicate asset name in the sweep", f"{where}.name", name)
            names.add(name)
            p = a.get("failure_probability")
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
                raise self.fail("expected a probability in [0, 1]", f"{where}.failure_probability", p,
                                has_value="failure_probability" in a)
            action = a.get("action", "destroy")
            if action not in ACTIONS:
                raise self.fail(f"unknown action; use one of {', '.join(ACTIONS)}", f"{where}.action", action)
            factors = {}
            for key in ("speed_factor", "capacity_factor"):
                if key in a:
                    if action != "degrade":
                        raise self.fail("only for action = \"degrade\"", f"{where}.{key}", a[key])
                    f = a[key]
                    if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.0 < f <= 1.0:
                        raise self.fail("expected a factor in (0, 1]", f"{where}.{key}", f)
                    factors[key] = float(f)
            if action == "degrade" and not factors:
                raise self.fail("degrade needs speed_factor and/or capacity_factor in (0, 1]", where, has_value=False)
            out.append(SweepAsset(i, name, str(label), selector, float(p), action, **factors))
        return out


# ---------------------------------------------------------------- what the workers receive

@dataclass
class SweepBase:
    """Everything a task needs, shipped to each worker once.

    ``asset_edges[a]``: edge indices asset a acts on (its edges and every edge of its nodes);
    ``background``: damage present in every draw; ``reference``: the OD matrix with no swept asset
    failed (the incremental searches start from it); ``pair_rows``/``pair_cols``: the ordered OD
    pairs evaluated (rows/columns of the matrix). Evacuation: origin-area nodes and destination
    nodes (graph node ids), or None without ``[evacuation]``.
    """

    engine: Engine
    assets: list[SweepAsset]
    asset_edges: list[np.ndarray]
    background: Damage
    reference: ODMatrix
    pair_rows: np.ndarray
    pair_cols: np.ndarray
    evacuation_origin_nodes: list[int] | None = None
    evacuation_destination_nodes: dict[str, list[int]] | None = None
    persons_per_vehicle: float = 3.0
    populations: tuple[int, ...] = (280_000,)
    horizon_hours: float | None = None

    def damage(self, failed: np.ndarray) -> Damage:
        """The background damage plus the failure of assets ``failed`` (indices)."""
        edges = self.engine.edges
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
    od = od_matrix(base.engine, base.reference.origins, damage=damage, baseline=base.reference)
    times = od.time_s[base.pair_rows, base.pair_cols]
    out: dict[str, Any] = {"od_s": [float(t) if math.isfinite(t) else None for t in times],
                           "evacuation_persons_per_hour": None}
    if base.evacuation_origin_nodes is not None:
        ev = evacuation_capacity(base.engine.graph, damage, base.evacuation_origin_nodes,
                                 base.evacuation_destination_nodes, persons_per_vehicle=base.persons_per_vehicle,
                                 populations=base.populations, horizon_hours=base.horizon_hours,
                                 engine=base.engine)
        out["evacuation_persons_per_hour"] = float(ev.max_flow_persons_per_hour)
    return out


def prepare(sweep: Sweep, G: nx.MultiDiGraph) -> tuple[SweepBase, pd.DataFrame]:
    """Resolve every asset selector once, snap the places, compute the reference OD matrix.

    Like :func:`routing.run.run_scenario`, writes the scenario's capacity overrides into ``G``.

    Returns the shared base and the OD pairs (origin, destination names) in task-result order.
    """
    sc = sweep.scenario
    catalogue = sc.catalogue()
    if sc.capacity_per_lane_vph:  # as run_scenario: recomputes edge capacity on G in place
        apply_capacity_overrides(G, sc.capacity_per_lane_vph)
    engine = Engine(G)
    background = sc.damage(G, catalogue)[0] if sweep.base_events else Damage()
    asset_edges = []
    for a in sweep.assets:
        sel = select(G, a.selector, catalogue=catalogue, file=sweep.path, field=f"sweep.assets[{a.index}]")
        keys = set(sel.edges) | {e for n in sel.nodes for e in G.in_edges(n, keys=True)} \
            | {e for n in sel.nodes for e in G.out_edges(n, keys=True)}
        asset_edges.append(np.sort(engine.edge_ids(list(keys))))
    candidates = main_component_nodes(engine)
    names = list(dict.fromkeys(sc.od_places + ([sc.evacuation.origin, *sc.evacuation.destinations]
                                                if sc.evacuation else [])))
    places = snap_places(engine, [catalogue.place(n) for n in names], candidates)
    node_of = dict(zip(places["name"], places["node"].astype(int)))
    od_nodes = [node_of[n] for n in sc.od_places]
    pairs = [(i, j) for i in range(len(od_nodes)) for j in range(len(od_nodes))
             if i != j and od_nodes[i] != od_nodes[j]]
    reference = od_matrix(engine, od_nodes, damage=background)
    base = SweepBase(engine, sweep.assets, asset_edges, background, reference,
                     np.array([i for i, _ in pairs], dtype=np.int64), np.array([j for _, j in pairs], dtype=np.int64))
    if sc.evacuation:
        ev = sc.evacuation
        base.evacuation_origin_nodes, base.evacuation_destination_nodes = evacuation_nodes(
            sc, G, engine, catalogue, node_of, candidates)
        base.persons_per_vehicle, base.populations = ev.persons_per_vehicle, tuple(ev.populations)
        base.horizon_hours = ev.horizon_hours
    od_pairs = pd.DataFrame({"origin": [sc.od_places[i] for i, _ in pairs],
                             "destination": [sc.od_places[j] for _, j in pairs]})
    return base, od_pairs


def fingerprint(sweep: Sweep, base: SweepBase, expansion: Expansion) -> str:
    """Hash of everything a task result depends on (network arrays, assets, places, draws)."""
    h = hashlib.sha256()
    eng = base.engine
    for arr in (eng.src, eng.dst, eng.attr["travel_time"], eng.attr["length"], eng.attr["capacity"],
                base.pair_rows, base.pair_cols, *base.asset_edges, *expansion.failure_sets,
                base.engine.node_ids(base.reference.origins)):
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


# ---------------------------------------------------------------- aggregation

def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Inverted-CDF quantiles of ``values`` under ``weights`` (the smallest value whose cumulative
    weight share reaches q; equal weights give ``numpy.quantile(method="inverted_cdf")``)."""
    if len(values) == 0 or weights.sum() <= 0:
        return [float("nan")] * len(qs)
    order = np.argsort(values, kind="stable")
    cw = np.cumsum(weights[order])
    cw /= cw[-1]
    idx = np.minimum(np.searchsorted(cw, np.asarray(qs) - 1e-9, side="left"), len(values) - 1)
    return [float(v) for v in values[order][idx]]


def _wmean(values: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    return float((values * weights).sum() / total) if total > 0 else float("nan")


def _share(mask: np.ndarray, weights: np.ndarray) -> float:
    """Probability of ``mask`` over draws of ``weights`` (exactly 1.0 when the mask is all true)."""
    return float(weights[mask].sum() / weights.sum())


@dataclass
class SweepResult:
    """Aggregated results of a sweep (tables in minutes, persons/hour, probabilities in [0, 1])."""

    sweep: Sweep
    expansion: Expansion
    data_notice: str
    schematic: bool
    network: dict[str, Any]
    draws: pd.DataFrame  # one row per draw: probability, failed assets, pairs cut, extra minutes, evacuation
    od_connectivity: pd.DataFrame  # one row per ordered OD pair
    asset_impact: pd.DataFrame  # one row per asset, ranked
    evacuation: dict[str, Any] | None
    draws_summary: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict)  # executor, workers, seconds

    def metrics(self) -> dict[str, Any]:
        """Everything in the report as plain data (units in key names)."""
        sw = self.sweep
        return _clean({
            "sweep": {"name": sw.name, "file": sw.path, "base_scenario": sw.scenario.path, "mode": sw.mode,
                      "draws": len(self.expansion.draw_task), "seed": sw.seed if sw.mode == "monte_carlo" else None,
                      "max_failed": sw.max_failed if sw.mode == "combinations" else None,
                      "distinct_failure_sets": len(self.expansion.failure_sets),
                      "probability_coverage": self.expansion.coverage, "base_events": sw.base_events},
            "data_notice": self.data_notice,
            "schematic_network": self.schematic,
            "network": self.network,
            "assets": [{"name": a.name, "label": a.label, "action": a.action,
                        "failure_probability": a.failure_probability, "speed_factor": a.speed_factor,
                        "capacity_factor": a.capacity_factor} for a in sw.assets],
            "draws_summary": self.draws_summary,
            "evacuation_capacity": self.evacuation,
            "od_connectivity": self.od_connectivity.to_dict("records"),
            "asset_impact": self.asset_impact.to_dict("records"),
            "run": self.run,
        })

    def markdown(self) -> str:
        """The human report: notice, sweep, connectivity, detours, evacuation, asset ranking."""
        sw, ex = self.sweep, self.expansion
        out = [f"# {sw.name}\n", f"> **{'⚠ ' if self.schematic else ''}Data:** {self.data_notice}\n"]
        how = (f"{len(ex.draw_task):,} Monte-Carlo draws (seed {sw.seed}), each asset failing independently"
               if sw.mode == "monte_carlo" else
               f"every combination of at most {sw.max_failed} failed assets ({len(ex.draw_task):,} subsets, "
               f"weighted by probability; they cover {ex.coverage:.1%} of the probability mass)")
        out.append(f"Base scenario: `{sw.scenario.path}` ({sw.scenario.name}); network `{self.network['source']}` "
                   f"({self.network['nodes']:,} nodes, {self.network['edges']:,} edges). {how}; "
                   f"{len(ex.failure_sets):,} distinct failure sets computed. "
                   + ("The base scenario's events apply in every draw. " if sw.base_events else "")
                   + "Reference = no swept asset failed.\n")
        out.append("\n## Assets\n")
        out.append(_md_table(self.asset_impact.sort_values("index"), {
            "asset": "asset", "label": "label", "action": "action", "failure_probability": "p(fail)",
            "failed_share": "failed in share of draws", "edges": "edges"}))
        s = self.draws_summary
        out.append("\n## Corridor connectivity\n")
        out.append(f"Per draw, OD pairs cut off: mean {s['disconnected_pairs_mean']:.2f} of {s['od_pairs']}; "
                   f"P(at least one pair cut) = {s['p_any_disconnected']:.3f}. Extra minutes summed over pairs "
                   f"still connected: mean {s['extra_min_mean']:,.1f}, p90 {s['extra_min_quantiles']['p90']:,.1f}.\n\n")
        od = self.od_connectivity.sort_values(["p_connected", "detour_ratio_p90"], ascending=[True, False])
        affected = od[(od["p_connected"] < 1) | (od["detour_ratio_max"] > 1 + 1e-9)]
        out.append(f"OD pairs at risk ({len(affected)} of {len(od)}; the full table is `od_connectivity.csv`; "
                   "detour × = travel time / time with no failure, over draws where the pair stays connected):\n\n")
        out.append(_md_table(affected.head(30), OD_COLUMNS))
        if self.evacuation:
            e = self.evacuation
            out.append(f"\n## Evacuation capacity from {sw.scenario.evacuation.origin}\n")
            out.append(f"Maximum flow to {', '.join(sw.scenario.evacuation.destinations)} (persons/hour): "
                       f"{e['reference_persons_per_hour']:,.0f} with no failure; over draws mean "
                       f"{e['mean_persons_per_hour']:,.0f}, "
                       + ", ".join(f"{k} {v:,.0f}" for k, v in e["quantiles_persons_per_hour"].items())
                       + f". P(below half the reference) = {e['p_below_half_reference']:.3f}, "
                       f"P(no capacity) = {e['p_zero']:.3f}.\n")
        out.append("\n## Assets ranked by expected impact\n")
        out.append("Δ = mean over draws where the asset failed minus mean over draws where it did not; "
                   "expected = Δ × p(fail). Ranked by expected pairs cut, then extra minutes, then evacuation "
                   "capacity lost. Extra minutes are summed over the pairs still connected, so an asset whose "
                   "failure cuts pairs can show a negative Δ extra minutes."
                   + (" Monte-Carlo Δs carry sampling error: failures only remove or slow roads, so a small "
                      "negative Δ pairs cut is noise (more draws shrink it)." if sw.mode == "monte_carlo" else "")
                   + "\n\n")
        out.append(_md_table(self.asset_impact, ASSET_COLUMNS))
        out.append("\n## Files\n- `od_connectivity.csv`: every ordered OD pair\n- `asset_impact.csv`: the ranking\n"
                   "- `draws.csv`: one row per draw\n- `sweep_metrics.json`: everything above as data\n")
        out.append("\nFailures are independent across assets; a destroyed or closed asset loses every edge it "
                   "matches (both carriageways, all edges of its nodes).\n")
        out.append(f"\n---\n{self.data_notice}\n")
        return "\n".join(out)

    def write(self, out: str | Path) -> Path:
        """Write sweep_report.md, sweep_metrics.json, od_connectivity.csv, asset_impact.csv and
        draws.csv into ``out``, replacing it atomically (and with it the partial-results journal)."""
        out = Path(out)
        with atomic_folder(out) as tmp:
            self.od_connectivity.to_csv(tmp / "od_connectivity.csv", index=False)
            self.asset_impact.to_csv(tmp / "asset_impact.csv", index=False)
            self.draws.to_csv(tmp / "draws.csv", index=False)
            write_metrics(self.metrics(), tmp / "sweep_metrics.json")
            (tmp / "sweep_report.md").write_text(self.markdown(), encoding="utf-8")
        return out


def network_notice(G: nx.MultiDiGraph) -> str:
    """The data notice every output carries (as :attr:`ScenarioResult.data_notice`)."""
    if G.graph.get("schematic"):
        return SCHEMATIC_BANNER
    return str(G.graph.get("data_notice") or "© OpenStreetMap contributors, ODbL 1.0")


def aggregate(sweep: Sweep, expansion: Expansion, base: SweepBase, od_pairs: pd.DataFrame,
              reference: dict[str, Any], results: list[dict[str, Any]]) -> SweepResult:
    """Turn task results into the sweep tables (pure: the same inputs give the same tables)."""
    G = base.engine.graph
    w = expansion.weight
    task_s = np.array([[np.inf if t is None else t for t in r["od_s"]] for r in results]).reshape(len(results), -1)
    T = task_s[expansion.draw_task]  # (draws, pairs) seconds
    ref = np.array([np.inf if t is None else t for t in reference["od_s"]])
    ref_ok = np.isfinite(ref)
    conn = np.isfinite(T)
    cut = ~conn & ref_ok
    delta_min = np.where(conn & ref_ok, T - np.where(ref_ok, ref, 0.0), 0.0) / 60.0
    disconnected, extra_min = cut.sum(axis=1), delta_min.sum(axis=1)
    evac = np.array([np.nan if r["evacuation_persons_per_hour"] is None else r["evacuation_persons_per_hour"]
                     for r in results])[expansion.draw_task]
    failed = expansion.failed_matrix(len(sweep.assets))

    rows = []
    for p in range(T.shape[1]):
        ok = conn[:, p]
        ratio = T[ok, p] / ref[p] if ref_ok[p] else np.empty(0)
        q50, q90, qmax = weighted_quantiles(ratio, w[ok], (0.5, 0.9, 1.0))
        rows.append({"reference_min": ref[p] / 60 if ref_ok[p] else float("nan"),
                     "p_connected": _share(ok, w), "mean_min_if_connected": _wmean(T[ok, p] / 60, w[ok]),
                     "detour_ratio_mean": _wmean(ratio, w[ok]) if ref_ok[p] else float("nan"),
                     "detour_ratio_p50": q50, "detour_ratio_p90": q90, "detour_ratio_max": qmax})
    od = pd.concat([od_pairs.reset_index(drop=True), pd.DataFrame(rows)], axis=1)

    arows = []
    for a in sweep.assets:
        f = failed[:, a.index]
        row = {"index": a.index, "asset": a.name, "label": a.label, "action": a.action,
               "failure_probability": a.failure_probability, "failed_share": _share(f, w),
               "edges": len(base.asset_edges[a.index])}
        for key, values in (("disconnected_pairs", disconnected), ("extra_min", extra_min),
                            ("evacuation_persons_per_hour", evac)):
            row[f"{key}_if_failed"] = _wmean(values[f], w[f])
            row[f"{key}_if_intact"] = _wmean(values[~f], w[~f])
            row[f"delta_{key}"] = row[f"{key}_if_failed"] - row[f"{key}_if_intact"]
        row["expected_disconnected_pairs"] = a.failure_probability * row["delta_disconnected_pairs"]
        row["expected_extra_min"] = a.failure_probability * row["delta_extra_min"]
        row["expected_evacuation_loss_persons_per_hour"] = -a.failure_probability * row[
            "delta_evacuation_persons_per_hour"]
        arows.append(row)
    assets = pd.DataFrame(arows)
    for col in [c for c in assets.columns if c.startswith(("delta_", "expected_"))]:
        assets[col] = assets[col].round(9) + 0.0  # differences of means: drop float noise so that ties are ties
    assets = assets.sort_values(
        ["expected_disconnected_pairs", "expected_extra_min", "expected_evacuation_loss_persons_per_hour", "index"],
        ascending=[False, False, False, True], na_position="last", kind="stable").reset_index(drop=True)
    assets.insert(0, "rank", np.arange(1, len(assets) + 1))

    names = [a.name for a in sweep.assets]
    draws = pd.DataFrame({"draw": np.arange(len(w)), "probability": w / w.sum(),
                          "failed": [", ".join(names[i] for i in np.flatnonzero(row)) for row in failed],
                          "disconnected_pairs": disconnected, "extra_min": extra_min,
                          "evacuation_persons_per_hour": evac})
    qnames = [f"p{round(q * 100)}" for q in QUANTILES]
    summary = {"od_pairs": int(T.shape[1]), "disconnected_pairs_mean": _wmean(disconnected, w),
               "disconnected_pairs_quantiles": dict(zip(qnames, weighted_quantiles(disconnected, w, QUANTILES))),
               "p_any_disconnected": _share(disconnected > 0, w), "extra_min_mean": _wmean(extra_min, w),
               "extra_min_quantiles": dict(zip(qnames, weighted_quantiles(extra_min, w, QUANTILES)))}
    evacuation = None
    if reference["evacuation_persons_per_hour"] is not None:
        r = reference["evacuation_persons_per_hour"]
        evacuation = {"reference_persons_per_hour": r, "mean_persons_per_hour": _wmean(evac, w),
                      "quantiles_persons_per_hour": dict(zip(qnames, weighted_quantiles(evac, w, QUANTILES))),
                      "min_persons_per_hour": float(evac[w > 0].min()),
                      "p_below_half_reference": _share(evac < 0.5 * r, w), "p_zero": _share(evac <= 0, w)}
    network = {"source": str(G.graph.get("source", sweep.scenario.network.source)), "nodes": G.number_of_nodes(),
               "edges": G.number_of_edges(), "schematic": bool(G.graph.get("schematic"))}
    return SweepResult(sweep, expansion, network_notice(G), bool(G.graph.get("schematic")), network, draws, od,
                       assets, evacuation, summary)


# ---------------------------------------------------------------- running

def open_journal(out: str | Path, fp: str) -> Journal:
    """The partial-results journal in results folder ``out`` (created; a folder this toolkit did
    not write is refused, as by :func:`routing.atomic.atomic_folder`)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / RESULTS_MARKER).exists())):
        raise InputError("exists and was not written by corridor-routing; refusing to overwrite it "
                         "(choose another --out)", file=out)
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULTS_MARKER).write_text("written by corridor-routing\n", encoding="utf-8")
    return Journal(out / JOURNAL_NAME, fp)


def run_sweep(sweep: Sweep | str | Path, *, executor: Executor | None = None, out: str | Path | None = None,
              graph: nx.MultiDiGraph | None = None) -> SweepResult:
    """Expand, evaluate every distinct failure set on ``executor`` (default serial), aggregate.

    With ``out``, each finished task is appended to ``out/partial_results.jsonl`` as it arrives and
    a re-run of the same sweep skips those; at the end the outputs replace ``out`` atomically. If
    tasks fail for good, :class:`~routing.parallel.IncompleteRun` is raised and the journal stays.
    """
    if not isinstance(sweep, Sweep):
        sweep = Sweep.from_file(sweep)
    executor = executor or SerialExecutor()
    t0 = time.perf_counter()
    G = graph if graph is not None else load_scenario_network(sweep.scenario)
    base, od_pairs = prepare(sweep, G)
    expansion = sweep.expand()
    reference = evaluate_failures(base, np.empty(0, dtype=np.int64))
    log.info("sweep %s: %d draws, %d distinct failure sets, %d OD pairs on %d workers", sweep.name,
             len(expansion.draw_task), len(expansion.failure_sets), len(od_pairs), executor.n_workers)
    journal = open_journal(out, fingerprint(sweep, base, expansion)) if out is not None else None
    t1 = time.perf_counter()
    try:
        results = executor.map(evaluate_failures, expansion.failure_sets, base, journal=journal, desc="sweep")
    finally:
        if journal:
            journal.close()
    t2 = time.perf_counter()
    result = aggregate(sweep, expansion, base, od_pairs, reference, results)
    result.run = {"executor": type(executor).__name__, "workers": executor.n_workers,
                  "prepare_seconds": t1 - t0, "tasks_seconds": t2 - t1}
    if out is not None:
        result.write(out)
    return result
