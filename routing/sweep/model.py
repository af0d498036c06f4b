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
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ..errors import InputError
from ..files import read_toml
from ..scenario import Scenario, expand_path, scenario_path
from ..scenario.selector_schema import Selector
from ..scenario.validation import Factor, Probability, Strict, Text, in_range, problem, unique_names, validate

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
        return _from_file(validate(SweepFile, doc, file=path, error=SweepError), path)

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


Action = Literal["destroy", "close", "degrade"]


class SweepAssetTable(Strict):
    """One ``[[sweep.assets]]`` table."""

    asset: Text | None = None
    select: Selector | None = None
    name: Text | None = None
    label: Text | None = None
    failure_probability: Probability
    action: Action = "destroy"
    speed_factor: Factor | None = None
    capacity_factor: Factor | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SweepAssetTable:
        if (self.asset is None) == (self.select is None):
            raise problem("give exactly one of 'asset' or 'select'")
        if self.select is not None and self.name is None:
            raise problem("an inline selector needs a name (string)", field="name")
        for key in ("speed_factor", "capacity_factor"):
            if getattr(self, key) is not None and self.action != "degrade":
                raise problem('only for action = "degrade"', field=key, value=getattr(self, key))
        if self.action == "degrade" and self.speed_factor is None and self.capacity_factor is None:
            raise problem("degrade needs speed_factor and/or capacity_factor in (0, 1]")
        return self


ONLY_FOR_MODE = {"draws": "monte_carlo", "seed": "monte_carlo", "max_failed": "combinations"}


class SweepTable(Strict):
    """``[sweep]``: the base scenario, the mode and its settings, the assets."""

    name: Text | None = None
    base: Text
    mode: Literal["monte_carlo", "combinations"] = "monte_carlo"
    draws: Annotated[int, in_range(1, MAX_DRAWS, low_open=False)] | None = None
    seed: Annotated[int, in_range(0, 2**63 - 1, low_open=False)] | None = None
    max_failed: Annotated[int, in_range(0, MAX_DRAWS, low_open=False)] | None = None
    base_events: bool = False
    assets: Annotated[list[SweepAssetTable], Field(min_length=1)]

    @model_validator(mode="after")
    def _mode_settings(self) -> SweepTable:
        for key, mode in ONLY_FOR_MODE.items():
            if getattr(self, key) is not None and self.mode != mode:
                raise problem(f"only for mode = {mode!r}", field=key, value=getattr(self, key))
        if self.mode == "monte_carlo":
            for key in ("draws", "seed"):
                if getattr(self, key) is None:
                    raise problem("missing required field (monte_carlo needs draws and seed)", field=key)
        unique_names([(i, a.name or a.asset or "") for i, a in enumerate(self.assets)], "asset name in the sweep")
        return self


class SweepFile(Strict):
    """A sweep file: one ``[sweep]`` table."""

    sweep: SweepTable


def _from_file(doc: SweepFile, path: Path | None) -> Sweep:
    """The :class:`Sweep` of a validated file: base scenario read, asset keys looked up."""
    tbl = doc.sweep
    scenario = Scenario.from_file(expand_path(tbl.base, path))
    if len(scenario.od_places) < 2:
        raise SweepError("the base scenario needs at least two [places] od places", file=path, field="sweep.base",
                         value=tbl.base)
    catalogue = scenario.catalogue()
    assets = []
    for i, a in enumerate(tbl.assets):
        if a.asset is not None:
            entry = catalogue.asset(a.asset, file=path, field=f"sweep.assets[{i}].asset")
            selector, name, label = {"asset": a.asset}, a.name or a.asset, a.label or entry.label
        else:
            assert a.select is not None and a.name is not None
            selector, name, label = a.select.as_dict(), a.name, a.label or a.name
        factors = {k: v for k, v in (("speed_factor", a.speed_factor), ("capacity_factor", a.capacity_factor))
                   if v is not None}
        assets.append(SweepAsset(i, name, label, selector, a.failure_probability, a.action, **factors))
    sweep = Sweep(name=tbl.name or f"{scenario.name}: sweep", path=path, scenario=scenario, assets=assets,
                  mode=tbl.mode, base_events=tbl.base_events)
    if tbl.mode == "monte_carlo":
        assert tbl.draws is not None and tbl.seed is not None
        sweep.draws, sweep.seed = tbl.draws, tbl.seed
    else:
        sweep.max_failed = len(assets) if tbl.max_failed is None else tbl.max_failed
        if sweep.max_failed > len(assets):
            raise SweepError(f"expected an integer from 0 to {len(assets)} (the number of assets)", file=path,
                             field="sweep.max_failed", value=sweep.max_failed)
        total = sum(math.comb(len(assets), k) for k in range(sweep.max_failed + 1))
        if total > MAX_DRAWS:
            raise SweepError(f"{total:,} subsets to enumerate (more than {MAX_DRAWS:,}); lower max_failed "
                             "or use mode = \"monte_carlo\"", file=path, field="sweep.max_failed",
                             value=sweep.max_failed)
    return sweep
