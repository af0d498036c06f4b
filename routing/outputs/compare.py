"""Compare two scenario runs side by side from their results folders (``metrics.json``).

``compare_results("results/a", "results/b")`` returns a :class:`Comparison`: headline figures,
events, every OD pair (minutes before/after and status in each run) and evacuation destinations,
as DataFrames, with ``to_markdown()`` for ``routing compare A B [--out FILE.md]``.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError

METRICS = "metrics.json"
SAME_MINUTES = 0.05  # OD times closer than this (minutes) count as equal
REQUIRED_KEYS = ("scenario", "summary", "events", "od")


def load_metrics(source: str | Path) -> dict[str, Any]:
    """``metrics.json`` of a results folder (or the file itself); InputError naming the path otherwise."""
    path = Path(source)
    if path.is_dir():
        path = path / METRICS
    elif not path.exists():
        raise InputError("results folder not found", file=source)
    if not path.is_file():
        raise InputError(f"no {METRICS} here: not a corridor-routing results folder (run 'routing run' first)",
                         file=source)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not valid JSON: {exc}", file=path) from exc
    missing = [k for k in REQUIRED_KEYS if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise InputError(f"not a corridor-routing metrics file (missing {', '.join(missing)})", file=path)
    return doc


@dataclass
class Comparison:
    """Two runs side by side. Columns ending ``_a``/``_b`` belong to run A/B (``labels``)."""

    labels: tuple[str, str]
    notices: tuple[str, str]  # each run's data notice
    schematic: tuple[bool, bool]
    summary: pd.DataFrame  # index: figure; columns: the two labels
    events: pd.DataFrame  # date, action, target, note, applied_a/b, edges_a/b
    od: pd.DataFrame  # origin, destination, baseline/damaged minutes and status per run, delta, differs
    evacuation: pd.DataFrame | None  # destination, minutes after per run, delta (when both runs have one)

    @property
    def od_differences(self) -> pd.DataFrame:
        """OD pairs whose status or travel time differs between the runs."""
        return self.od[self.od["differs"]]

    def to_markdown(self) -> str:
        """The comparison as a Markdown report."""
        a, b = self.labels
        out = [f"# Comparison: {a} vs {b}\n"]
        for label, notice, schematic in zip(self.labels, self.notices, self.schematic):
            out.append(f"> **{'⚠ ' if schematic else ''}{label}:** {notice}\n")
        out.append("\n## Summary\n")
        out.append(_md(self.summary.reset_index().rename(columns={"index": "figure"})))
        out.append("\n## Events\n")
        out.append(_md(self.events.rename(columns=self._names())))
        diff = self.od_differences
        out.append(f"\n## OD pairs that differ ({len(diff)} of {len(self.od)})\n")
        out.append("Times in minutes; Δ = after in B − after in A.\n\n")
        out.append(_md(diff.drop(columns="differs").rename(columns=self._names())))
        if self.evacuation is not None:
            out.append("\n## Evacuation destinations (minutes after the damage)\n")
            out.append(_md(self.evacuation.rename(columns=self._names())))
        return "\n".join(out)

    def _repr_html_(self) -> str:
        """Summary and differing OD pairs, for Jupyter."""
        diff = self.od_differences.drop(columns="differs").rename(columns=self._names())
        return (f"<div><h3>{html.escape(self.labels[0])} vs {html.escape(self.labels[1])}</h3>"
                + self.summary.to_html()
                + f"<p>{len(self.od_differences)} of {len(self.od)} OD pairs differ</p>"
                + diff.to_html(index=False, float_format=lambda v: f"{v:,.1f}", na_rep="—") + "</div>")

    def _names(self) -> dict[str, str]:
        """Column names for display: ``damaged_min_a`` -> ``min after (A label)``."""
        a, b = self.labels
        base = {"baseline_min": "min before", "damaged_min": "min after", "status": "status",
                "applied": "applied", "edges": "edges"}
        names = {f"{k}_{s}": f"{v} ({label})" for k, v in base.items() for s, label in (("a", a), ("b", b))}
        return {**names, "origin": "from", "destination": "to", "delta_min": "Δ min after"}


def compare_results(dir_a: str | Path, dir_b: str | Path,
                    labels: tuple[str, str] | None = None) -> Comparison:
    """Compare two results folders written by ``routing run`` (or ``ScenarioResult.write``)."""
    ma, mb = load_metrics(dir_a), load_metrics(dir_b)
    if labels is None:
        labels = (Path(dir_a).name, Path(dir_b).name)
        if labels[0] == labels[1]:
            labels = (f"A: {labels[0]}", f"B: {labels[1]}")
    return Comparison(
        labels=labels,
        notices=(str(ma.get("data_notice", "")), str(mb.get("data_notice", ""))),
        schematic=(bool(ma.get("schematic_network")), bool(mb.get("schematic_network"))),
        summary=_summary(ma, mb, labels),
        events=_events(ma, mb),
        od=_od(ma, mb),
        evacuation=_evacuation(ma, mb),
    )


# ------------------------------------------------------------------ tables
def _figures(m: dict[str, Any], statuses: list[str]) -> dict[str, Any]:
    s, net, sc = m["summary"], m.get("network", {}), m["scenario"]
    rows = {"scenario": sc.get("name"), "scenario file": sc.get("file"), "as of": sc.get("as_of") or "—",
            "network": net.get("source"), "schematic network": "yes" if m.get("schematic_network") else "no",
            "nodes": net.get("nodes"), "directed edges": net.get("edges"),
            "vehicle": (net.get("road_model") or {}).get("profile", "car"),
            "edges removed": s.get("edges_removed"), "nodes closed": s.get("nodes_closed"),
            "edges degraded": s.get("edges_degraded"), "edges restricted": s.get("edges_restricted"),
            "OD pairs": s.get("od_pairs")}
    rows.update({f"OD pairs {k}": s.get("od_status", {}).get(k, 0) for k in statuses})
    cap = (m.get("evacuation_capacity") or {}).get("damaged") or {}
    if cap:
        rows["evacuation max flow after (veh/h)"] = cap.get("max_flow_vph")
    return rows


def _summary(ma: dict[str, Any], mb: dict[str, Any], labels: tuple[str, str]) -> pd.DataFrame:
    statuses = sorted(set(ma["summary"].get("od_status", {})) | set(mb["summary"].get("od_status", {})))
    fa, fb = _figures(ma, statuses), _figures(mb, statuses)
    keys = list(dict.fromkeys([*fa, *fb]))
    return pd.DataFrame({labels[0]: [fa.get(k, "—") for k in keys], labels[1]: [fb.get(k, "—") for k in keys]},
                        index=keys)


def _events(ma: dict[str, Any], mb: dict[str, Any]) -> pd.DataFrame:
    key = ["date", "action", "target", "note"]
    frames = []
    for m, suffix in ((ma, "a"), (mb, "b")):
        df = pd.DataFrame(m["events"], columns=[*key, "applied", "edges"])
        frames.append(df.rename(columns={"applied": f"applied_{suffix}", "edges": f"edges_{suffix}"}))
    merged = frames[0].merge(frames[1], on=key, how="outer", sort=False)
    for s in ("a", "b"):
        merged[f"applied_{s}"] = merged[f"applied_{s}"].fillna("not in this run")
        merged[f"edges_{s}"] = merged[f"edges_{s}"].astype("Int64")
    return merged


def _od(ma: dict[str, Any], mb: dict[str, Any]) -> pd.DataFrame:
    key = ["origin", "destination"]
    cols = ["baseline_min", "damaged_min", "status"]
    frames = [pd.DataFrame(m["od"], columns=[*key, *cols]).rename(columns={c: f"{c}_{s}" for c in cols})
              for m, s in ((ma, "a"), (mb, "b"))]
    od = frames[0].merge(frames[1], on=key, how="outer", sort=False)
    for s in ("a", "b"):
        od[f"status_{s}"] = od[f"status_{s}"].fillna("not in this run")
        for c in ("baseline_min", "damaged_min"):
            od[f"{c}_{s}"] = pd.to_numeric(od[f"{c}_{s}"], errors="coerce")
    od["delta_min"] = od["damaged_min_b"] - od["damaged_min_a"]
    od["differs"] = [sa != sb or not _same(x, y) or not _same(p, q) for sa, sb, x, y, p, q in
                     zip(od["status_a"], od["status_b"], od["damaged_min_a"], od["damaged_min_b"],
                         od["baseline_min_a"], od["baseline_min_b"])]
    return od


def _evacuation(ma: dict[str, Any], mb: dict[str, Any]) -> pd.DataFrame | None:
    if not ma.get("evacuation_routes") or not mb.get("evacuation_routes"):
        return None
    frames = [pd.DataFrame(m["evacuation_routes"], columns=["destination", "damaged_min"])
              .rename(columns={"damaged_min": f"damaged_min_{s}"}) for m, s in ((ma, "a"), (mb, "b"))]
    ev = frames[0].merge(frames[1], on="destination", how="outer", sort=False)
    for s in ("a", "b"):
        ev[f"damaged_min_{s}"] = pd.to_numeric(ev[f"damaged_min_{s}"], errors="coerce")
    ev["delta_min"] = ev["damaged_min_b"] - ev["damaged_min_a"]
    return ev


def _same(x: float, y: float) -> bool:
    """Equal minutes (both unreachable counts as equal)."""
    if pd.isna(x) or pd.isna(y):
        return bool(pd.isna(x) and pd.isna(y))
    return abs(x - y) < SAME_MINUTES


def _md(df: pd.DataFrame) -> str:
    """A Markdown table: floats with one decimal (Δ columns signed), missing values as a dash."""
    if not len(df):
        return "_none_\n"
    signed = [str(c).startswith("Δ") for c in df.columns]
    lines = ["| " + " | ".join(str(c) for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v, sign) for v, sign in zip(row, signed)) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Any, signed: bool = False) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:+,.1f}" if signed else f"{value:,.1f}"
    return str(value).replace("|", "\\|").replace("\n", " ") or "—"
