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

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..files import read_toml
from ..scenario import Scenario, expand_path, scenario_path

MODES = ("monte_carlo", "combinations")
ACTIONS = ("destroy", "close", "degrade")
MAX_DRAWS = 1_000_000  # draws (monte_carlo) or enumerated subsets (combinations)


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
    def from_file(cls, path: str | Path) -> Sweep:
        """Read and validate a sweep TOML file; errors name the file, field and value."""
        path = scenario_path(path)
        return cls.from_dict(read_toml(path, SweepError, "sweep file"), path=path)

    @classmethod
    def from_dict(cls, doc: dict[str, Any], *, path: Path | None = None) -> Sweep:
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

