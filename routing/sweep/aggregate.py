"""Sweep aggregation: task results -> probability-weighted tables (pure: same inputs, same tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..network import data_notice
from .evaluate import SweepBase
from .model import Expansion, Sweep

QUANTILES = (0.05, 0.5, 0.9, 0.95)
Z95 = 1.959963984540054  # two-sided 95 % normal quantile
METRICS = ("disconnected_pairs", "extra_min", "evacuation_persons_per_hour")
RANKING = ("Assets are ranked by expected OD pairs cut off (p(fail) × Δ pairs cut), then expected extra OD "
           "minutes, then expected evacuation capacity lost (persons/hour)")


def difference_of_means(values: np.ndarray, failed: np.ndarray, weights: np.ndarray,
                        exact: bool) -> tuple[float, float, float]:
    """Δ = mean where ``failed`` minus mean where not (``weights``), and its 95 % confidence interval.

    ``exact`` (every failure set enumerated with its probability): the interval is Δ itself.
    Monte-Carlo draws (equal weights): Welch's normal interval, Δ ± 1.96·sqrt(s²_f/n_f + s²_i/n_i);
    infinite when a side has fewer than two draws. NaN values (no evacuation) are left out."""
    ok = ~np.isnan(values)
    f, i = failed & ok, ~failed & ok
    delta = _wmean(values[f], weights[f]) - _wmean(values[i], weights[i])
    if exact or np.isnan(delta):
        return delta, delta, delta
    if f.sum() < 2 or i.sum() < 2:
        return delta, -np.inf, np.inf
    se = float(np.sqrt(values[f].var(ddof=1) / f.sum() + values[i].var(ddof=1) / i.sum()))
    return delta, delta - Z95 * se, delta + Z95 * se


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


def aggregate(sweep: Sweep, expansion: Expansion, base: SweepBase, od_pairs: pd.DataFrame,
              reference: dict[str, Any], results: list[dict[str, Any]]) -> SweepResult:
    """Turn task results into the sweep tables (pure: the same inputs give the same tables)."""
    G = base.network.graph
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
        row: dict[str, Any] = {"index": a.index, "asset": a.name, "label": a.label, "action": a.action,
                               "failure_probability": a.failure_probability, "failed_share": _share(f, w),
                               "edges": len(base.asset_edges[a.index])}
        for key, values in zip(METRICS, (disconnected, extra_min, evac)):
            row[f"{key}_if_failed"] = _wmean(values[f], w[f])
            row[f"{key}_if_intact"] = _wmean(values[~f], w[~f])
            delta, low, high = difference_of_means(values.astype(float), f, w, expansion.exact)
            row[f"delta_{key}"], row[f"delta_{key}_ci_low"], row[f"delta_{key}_ci_high"] = delta, low, high
            # distinguishable from zero: exact and not 0, or a confidence interval that excludes 0
            row[f"delta_{key}_nonzero"] = bool(delta != 0 and (low > 0 or high < 0)) if not np.isnan(delta) else False
        for key, sign, name in (("disconnected_pairs", 1, "expected_disconnected_pairs"),
                                ("extra_min", 1, "expected_extra_min"),
                                ("evacuation_persons_per_hour", -1, "expected_evacuation_loss_persons_per_hour")):
            row[name] = sign * a.failure_probability * row[f"delta_{key}"]
            # the ranking counts an effect not distinguishable from zero as zero
            row[f"rank_{name}"] = row[name] if row[f"delta_{key}_nonzero"] else 0.0
        arows.append(row)
    assets = pd.DataFrame(arows)
    for col in [c for c in assets.columns if c.startswith(("delta_", "expected_", "rank_expected_"))
                and not c.endswith("_nonzero")]:
        assets[col] = assets[col].round(9) + 0.0  # differences of means: drop float noise so that ties are ties
    keys = ["rank_expected_disconnected_pairs", "rank_expected_extra_min",
            "rank_expected_evacuation_loss_persons_per_hour"]
    assets = assets.sort_values([*keys, "index"], ascending=[False, False, False, True], na_position="last",
                                kind="stable").drop(columns=keys).reset_index(drop=True)
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
    return SweepResult(sweep, expansion, data_notice(G), bool(G.graph.get("schematic")), network, draws, od,
                       assets, evacuation, summary)
