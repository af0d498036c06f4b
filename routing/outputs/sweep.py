"""Sweep outputs: sweep_report.md, sweep_metrics.json and the CSV tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..files import atomic_folder
from ..sweep.aggregate import METRICS, RANKING, SweepResult
from .formats import json_clean, md_table, write_json

OD_COLUMNS = {"origin": "from", "destination": "to", "reference_min": "min (no failure)",
              "p_connected": "P(connected)", "mean_min_if_connected": "mean min if connected",
              "detour_ratio_p50": "detour × p50", "detour_ratio_p90": "detour × p90",
              "detour_ratio_max": "detour × max"}
ASSET_COLUMNS = {"rank": "rank", "asset": "asset", "action": "action", "failure_probability": "p(fail)",
                 "edges": "edges", "delta_disconnected_pairs": "Δ pairs cut if failed",
                 "delta_extra_min": "Δ extra OD min if failed", "delta_evacuation_persons_per_hour":
                 "Δ evacuation persons/h if failed", "expected_disconnected_pairs": "expected pairs cut",
                 "expected_extra_min": "expected extra min",
                 "expected_evacuation_loss_persons_per_hour": "expected evacuation loss (persons/h)"}
NOT_DISTINGUISHABLE = "≈0"  # marks a Monte-Carlo effect whose 95 % confidence interval contains zero


def effect_table(assets: pd.DataFrame, exact: bool) -> pd.DataFrame:
    """The asset ranking for the report: each Monte-Carlo Δ with its 95 % confidence interval, and
    ``≈0`` where the interval contains zero (exact enumerations have no sampling error)."""
    out = assets.copy()
    for key in METRICS:
        col = f"delta_{key}"
        decimals = 0 if key.startswith("evacuation") else 2
        if exact:
            out[col] = [f"{v:,.{decimals}f}" if pd.notna(v) else "—" for v in assets[col]]
            continue
        out[col] = [f"{v:,.{decimals}f} [{lo:,.{decimals}f}, {hi:,.{decimals}f}]"
                    + ("" if nz else f" {NOT_DISTINGUISHABLE}") if pd.notna(v) else "—"
                    for v, lo, hi, nz in zip(assets[col], assets[f"{col}_ci_low"], assets[f"{col}_ci_high"],
                                             assets[f"{col}_nonzero"])]
    return out


def sweep_metrics(result: SweepResult) -> dict[str, Any]:
    """Everything in the report as plain data (units in key names)."""
    sw = result.sweep
    return json_clean({
        "sweep": {"name": sw.name, "file": sw.path, "base_scenario": sw.scenario.path, "mode": sw.mode,
                  "draws": len(result.expansion.draw_task),
                  "draws_requested": sw.draws if sw.mode == "monte_carlo" else None,
                  "seed": sw.seed if sw.mode == "monte_carlo" else None,
                  "exact": result.expansion.exact, "method": result.expansion.method, "ranking": RANKING,
                  "max_failed": sw.max_failed if sw.mode == "combinations" else None,
                  "distinct_failure_sets": len(result.expansion.failure_sets),
                  "probability_coverage": result.expansion.coverage, "base_events": sw.base_events},
        "data_notice": result.data_notice,
        "schematic_network": result.schematic,
        "network": result.network,
        "assets": [{"name": a.name, "label": a.label, "action": a.action,
                    "failure_probability": a.failure_probability, "speed_factor": a.speed_factor,
                    "capacity_factor": a.capacity_factor} for a in sw.assets],
        "draws_summary": result.draws_summary,
        "evacuation_capacity": result.evacuation,
        "od_connectivity": result.od_connectivity.to_dict("records"),
        "asset_impact": result.asset_impact.to_dict("records"),
        "run": result.run,
    })

def sweep_markdown(result: SweepResult) -> str:
    """The human report: notice, sweep, connectivity, detours, evacuation, asset ranking."""
    sw, ex = result.sweep, result.expansion
    out = [f"# {sw.name}\n", f"> **{'⚠ ' if result.schematic else ''}Data:** {result.data_notice}\n"]
    how = (f"{len(ex.draw_task):,} Monte-Carlo draws (seed {sw.seed}), each asset failing independently"
           if not ex.exact else
           f"every failure set of the {len(sw.assets)} assets enumerated exactly ({len(ex.failure_sets):,} sets "
           "of non-zero probability, each weighted by its probability; no sampling error)"
           if sw.mode == "monte_carlo" else
           f"every combination of at most {sw.max_failed} failed assets ({len(ex.draw_task):,} subsets, "
           f"weighted by probability; they cover {ex.coverage:.1%} of the probability mass)")
    out.append(f"Base scenario: `{sw.scenario.path}` ({sw.scenario.name}); network `{result.network['source']}` "
               f"({result.network['nodes']:,} nodes, {result.network['edges']:,} edges). {how}; "
               f"{len(ex.failure_sets):,} distinct failure sets computed. "
               + ("The base scenario's events apply in every draw. " if sw.base_events else "")
               + "Reference = no swept asset failed.\n")
    out.append("\n## Assets\n")
    out.append(md_table(result.asset_impact.sort_values("index"), {
        "asset": "asset", "label": "label", "action": "action", "failure_probability": "p(fail)",
        "failed_share": "failed in share of draws", "edges": "edges"}))
    s = result.draws_summary
    out.append("\n## Corridor connectivity\n")
    out.append(f"Per draw, OD pairs cut off: mean {s['disconnected_pairs_mean']:.2f} of {s['od_pairs']}; "
               f"P(at least one pair cut) = {s['p_any_disconnected']:.3f}. Extra minutes summed over pairs "
               f"still connected: mean {s['extra_min_mean']:,.1f}, p90 {s['extra_min_quantiles']['p90']:,.1f}.\n\n")
    od = result.od_connectivity.sort_values(["p_connected", "detour_ratio_p90"], ascending=[True, False])
    affected = od[(od["p_connected"] < 1) | (od["detour_ratio_max"] > 1 + 1e-9)]
    out.append(f"OD pairs at risk ({len(affected)} of {len(od)}; the full table is `od_connectivity.csv`; "
               "detour × = travel time / time with no failure, over draws where the pair stays connected):\n\n")
    out.append(md_table(affected.head(30), OD_COLUMNS))
    if result.evacuation and sw.scenario.evacuation is not None:
        e, spec = result.evacuation, sw.scenario.evacuation
        out.append(f"\n## Evacuation capacity from {spec.origin}\n")
        out.append(f"Maximum flow to {', '.join(spec.destinations)} (persons/hour): "
                   f"{e['reference_persons_per_hour']:,.0f} with no failure; over draws mean "
                   f"{e['mean_persons_per_hour']:,.0f}, "
                   + ", ".join(f"{k} {v:,.0f}" for k, v in e["quantiles_persons_per_hour"].items())
                   + f". P(below half the reference) = {e['p_below_half_reference']:.3f}, "
                   f"P(no capacity) = {e['p_zero']:.3f}.\n")
    out.append("\n## Assets ranked by expected impact\n")
    out.append("Δ = mean over draws where the asset failed minus mean over draws where it did not (probability-"
               "weighted); expected = Δ × p(fail). " + RANKING
               + (". Computed exactly: no sampling error." if ex.exact else
                  f"; an effect whose 95 % confidence interval (in brackets) contains zero is marked "
                  f"{NOT_DISTINGUISHABLE} (not distinguishable from zero) and counts as zero in the ranking. "
                  "More draws narrow the intervals.")
               + " Extra minutes are summed over the pairs still connected, so an asset whose failure cuts "
               "pairs can show a negative Δ extra minutes.\n\n")
    out.append(md_table(effect_table(result.asset_impact, ex.exact), ASSET_COLUMNS))
    out.append("\n## Files\n- `od_connectivity.csv`: every ordered OD pair\n- `asset_impact.csv`: the ranking\n"
               "- `draws.csv`: one row per draw\n- `sweep_metrics.json`: everything above as data\n")
    out.append("\nFailures are independent across assets; a destroyed or closed asset loses every edge it "
               "matches (both carriageways, all edges of its nodes).\n")
    out.append(f"\n---\n{result.data_notice}\n")
    return "\n".join(out)

def write_sweep(result: SweepResult, out: str | Path) -> Path:
    """Write sweep_report.md, sweep_metrics.json, od_connectivity.csv, asset_impact.csv and
    draws.csv into ``out``, replacing it atomically (and with it the partial-results journal)."""
    out = Path(out)
    with atomic_folder(out) as tmp:
        result.od_connectivity.to_csv(tmp / "od_connectivity.csv", index=False)
        result.asset_impact.to_csv(tmp / "asset_impact.csv", index=False)
        result.draws.to_csv(tmp / "draws.csv", index=False)
        write_json(sweep_metrics(result), tmp / "sweep_metrics.json")
        (tmp / "sweep_report.md").write_text(sweep_markdown(result), encoding="utf-8")
    return out
