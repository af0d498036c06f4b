"""report.md (tables before/after), metrics.json and the notebook HTML summary."""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..atomic import atomic_path
from ..settings import defaults_summary

if TYPE_CHECKING:
    from ..results import ScenarioResult

OD_COLUMNS = {"origin": "from", "destination": "to", "baseline_km": "km before", "baseline_min": "min before",
              "damaged_km": "km after", "damaged_min": "min after", "detour_ratio": "detour ×",
              "status": "status", "baseline_assets": "assets before", "damaged_assets": "assets after"}
EVAC_COLUMNS = {"rank": "rank", "destination": "destination", "baseline_min": "min before",
                "damaged_min": "min after", "damaged_km": "km after", "alternatives_after": "routes after",
                "damaged_assets": "assets used after", "cut_by": "cut by"}


def _clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, numpy scalars -> Python, dates -> ISO."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (dt.date, Path)):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def network_summary(result: "ScenarioResult") -> dict[str, Any]:
    G = result.graph
    return {"source": str(G.graph.get("source", "")), "schematic": result.schematic,
            "data_notice": result.data_notice, "nodes": G.number_of_nodes(), "edges": G.number_of_edges(),
            "total_length_km": float(result.engine.attr["length"].sum() / 1000),
            "load_report": G.graph.get("load_report", {}),
            "capacity_overrides_vph_per_lane": G.graph.get("capacity_overrides_vph_per_lane", {})}


def events_table(result: "ScenarioResult") -> pd.DataFrame:
    return pd.DataFrame([{"date": str(o.event.date or ""), "action": o.event.action,
                          "target": result.asset_labels.get(o.event.label, o.event.label),
                          "edges": o.edges, "nodes": o.nodes, "applied": "yes" if o.applied else "no (after as_of)",
                          "note": o.event.note} for o in result.events])


def metrics(result: "ScenarioResult") -> dict[str, Any]:
    """Everything in the report as plain data (units in key names)."""
    sc = result.scenario
    doc = {
        "scenario": {"name": sc.name, "file": str(sc.path) if sc.path else None, "as_of": sc.as_of,
                     "description": sc.description.strip()},
        "data_notice": result.data_notice,
        "schematic_network": result.schematic,
        "network": network_summary(result),
        "events": events_table(result).to_dict("records"),
        "summary": result.summary(),
        "places": result.places.to_dict("records"),
        "od": result.od.to_dict("records"),
        "evacuation_routes": result.evacuation.to_dict("records") if result.evacuation is not None else None,
        "evacuation_capacity": {k: v.to_dict() for k, v in (result.evacuation_capacity or {}).items()} or None,
        "defaults": defaults_summary(),
    }
    return _clean(doc)


def write_metrics(doc: dict[str, Any], path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False), encoding="utf-8")


def _md_table(df: pd.DataFrame, columns: dict[str, str]) -> str:
    if df is None or len(df) == 0:
        return "_none_\n"
    df = df[[c for c in columns if c in df.columns]].rename(columns=columns)
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("|", "\\|") if value not in ("", None) else "—"


def markdown(result: "ScenarioResult", images: list[str]) -> str:
    """The human report: notice, network, events, OD changes, evacuation, defaults, maps."""
    sc, net = result.scenario, network_summary(result)
    notice = result.data_notice
    out = [f"# {sc.name}\n"]
    out.append(f"> **{'⚠ ' if result.schematic else ''}Data:** {notice}\n")
    if sc.description.strip():
        out.append(sc.description.strip() + "\n")
    out.append("## Network\n")
    out.append(f"- source: `{net['source']}`\n- {net['nodes']:,} nodes, {net['edges']:,} directed edges, "
               f"{net['total_length_km']:,.0f} km of directed road\n")
    if net["load_report"]:
        out.append("- loading: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in net["load_report"].items()) + "\n")
    out.append("\n## Events applied\n")
    out.append(_md_table(events_table(result), {c: c for c in ("date", "action", "target", "edges", "nodes",
                                                               "applied", "note")}))
    s = result.summary()
    counts = s["od_status"]
    out.append("\n## Corridor reachability (fastest routes between places)\n")
    out.append(f"{s['edges_removed']} directed edges removed, {s['nodes_closed']} nodes closed, "
               f"{s['edges_degraded']} edges degraded. Of {s['od_pairs']} ordered place pairs: "
               + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ".\n\n")
    changed = result.od[result.od["status"] != "unchanged"] if len(result.od) else result.od
    out.append("Pairs whose route changed (the full table is `od.csv`):\n\n")
    out.append(_md_table(changed, OD_COLUMNS))
    snapped = result.places[result.places["snap_warning"]]
    if len(snapped):
        out.append("\n**Places far from the network** (results for them are unreliable): "
                   + ", ".join(f"{r.name} ({r.snap_m / 1000:.1f} km)" for r in snapped.itertuples()) + "\n")
    if result.evacuation is not None:
        ev = sc.evacuation
        out.append(f"\n## Evacuation routes from {ev.origin}\n")
        out.append(f"Safe destinations, nearest first after the damage; up to {ev.alternatives} distinct "
                   "alternatives each (penalty method: each found route's edges cost ×1.6 for the next search).\n\n")
        out.append(_md_table(result.evacuation, EVAC_COLUMNS))
    if result.evacuation_capacity:
        from .evacuation_report import capacity_markdown

        out.append(capacity_markdown(result))
    if images:
        out.append("\n## Maps\n")
        for name in images:
            out.append(f"![{name}]({name})\n")
    out.append("\n## Defaults used\n")
    out.append("Speeds and capacities where OSM has no `maxspeed`/`lanes` (MATSim OSM defaults):\n\n")
    d = defaults_summary()["road_classes"]
    lines = ["| class | km/h | lanes/direction | veh/h/lane |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['speed_kph']:g} | {v['lanes_per_direction']} | {v['capacity_per_lane_vph']:g} |"
              for k, v in d.items()]
    out.append("\n".join(lines) + "\n")
    if net["capacity_overrides_vph_per_lane"]:
        out.append(f"\nScenario capacity overrides (veh/h/lane): {net['capacity_overrides_vph_per_lane']}\n")
    out.append(f"\n---\n{notice}\n")
    return "\n".join(out)


def html_summary(result: "ScenarioResult") -> str:
    """A compact HTML summary for Jupyter: notice, headline counts, events, changed OD pairs, evacuation."""
    s = result.summary()

    def table(df: pd.DataFrame, columns: dict[str, str]) -> str:
        cols = [c for c in columns if c in df.columns]
        return df[cols].rename(columns=columns).to_html(index=False, float_format=lambda v: f"{v:,.1f}", na_rep="—")

    changed = result.od[result.od["status"] != "unchanged"]
    colour = "#b00" if result.schematic else "#555"
    parts = [f"<div><h3>{html.escape(result.scenario.name)}</h3>",
             f"<p style='color:{colour}'><b>{html.escape(result.data_notice)}</b></p>",
             f"<p>{s['edges_removed']} edges removed, {s['nodes_closed']} nodes closed, {s['edges_degraded']} "
             "edges degraded; OD pairs: "
             f"{html.escape(', '.join(f'{n} {k}' for k, n in sorted(s['od_status'].items())))}</p>",
             "<h4>Events</h4>", events_table(result).to_html(index=False),
             f"<h4>OD pairs that changed ({len(changed)} of {len(result.od)})</h4>", table(changed, OD_COLUMNS)]
    if result.evacuation is not None:
        parts += [f"<h4>Evacuation from {html.escape(result.scenario.evacuation.origin)}</h4>",
                  table(result.evacuation, EVAC_COLUMNS)]
    parts.append("<p><small>As data: <code>.od</code>, <code>.routes_gdf()</code>, <code>.damaged_edges_gdf()</code>, "
                 "<code>.places_gdf()</code>; map: <code>.web_map()</code></small></p></div>")
    return "".join(parts)
