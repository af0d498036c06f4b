"""report.md (tables before/after) and metrics.json of a scenario run."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..results import EVAC_COLUMNS, OD_COLUMNS, ScenarioResult
from ..settings import ALTERNATIVE_PENALTY, defaults_summary
from .access import access_markdown, access_metrics
from .evacuation_report import capacity_markdown
from .formats import json_clean, md_table, vehicle_line


def network_summary(result: ScenarioResult) -> dict[str, Any]:
    """Source, notice, size (nodes, directed edges, km) and load report of the run's network."""
    G = result.graph
    lengths = np.fromiter((d["length"] for *_, d in G.edges(data=True)), dtype=float, count=G.number_of_edges())
    return {"source": str(G.graph.get("source", "")), "schematic": result.schematic,
            "data_notice": result.data_notice, "nodes": G.number_of_nodes(), "edges": G.number_of_edges(),
            "total_length_km": float(lengths.sum() / 1000),
            "load_report": G.graph.get("load_report", {}),
            "road_model": result.network.road_model(),
            "capacity_overrides_vph_per_lane": dict(result.scenario.capacity_per_lane_vph)}


def effective_road_classes(result: ScenarioResult) -> dict[str, dict[str, Any]]:
    """The per-class defaults this run used: speeds, lanes and capacity per lane (vehicles/hour/lane)
    with the scenario's ``[capacity]`` overrides applied (``overridden`` marks them)."""
    overrides = result.scenario.capacity_per_lane_vph
    table = defaults_summary()["road_classes"]
    return {k: {**v, "capacity_per_lane_vph": overrides.get(k, v["capacity_per_lane_vph"]),
                "overridden": k in overrides} for k, v in table.items()}


def metrics(result: ScenarioResult) -> dict[str, Any]:
    """Everything in the report as plain data (units in key names)."""
    sc = result.scenario
    doc = {
        "scenario": {"name": sc.name, "file": str(sc.path) if sc.path else None,
                     **result.as_of_summary(), "description": sc.description.strip(),
                     "description_covers_events_not_applied": bool(result.events_not_applied)},
        "data_notice": result.data_notice,
        "schematic_network": result.schematic,
        "warnings": list(result.warnings),
        "network": network_summary(result),
        "events": result.events_table().to_dict("records"),
        "summary": result.summary(),
        "places": result.places.to_dict("records"),
        "od": result.od.to_dict("records"),
        "evacuation_routes": result.evacuation.to_dict("records") if result.evacuation is not None else None,
        "evacuation_capacity": {k: v.to_dict() for k, v in (result.evacuation_capacity or {}).items()} or None,
        "access": access_metrics(result),
        "defaults": {**defaults_summary(), "road_classes": effective_road_classes(result)},
    }
    return json_clean(doc)


def markdown(result: ScenarioResult, images: list[str]) -> str:
    """The human report: notice, network, events, OD changes, evacuation, defaults, maps."""
    sc, net = result.scenario, network_summary(result)
    notice = result.data_notice
    out = [f"# {sc.name}\n"]
    out.append(f"> **{'⚠ ' if result.schematic else ''}Data:** {notice}\n")
    out.append(f"**{result.as_of_text()}.**\n")
    for warning in result.warnings:
        out.append(f"> **Warning:** {warning} (results that depend on it are unreliable)\n")
    if sc.description.strip():
        if result.events_not_applied:
            out.append(f"> Events after the as-of date ({sc.as_of}) are not applied; the description below "
                       "describes the full scenario, not these results.\n")
        out.append(sc.description.strip() + "\n")
    out.append("## Network\n")
    out.append(f"- source: `{net['source']}`\n- {net['nodes']:,} nodes, {net['edges']:,} directed edges, "
               f"{net['total_length_km']:,.0f} km of directed road\n")
    if net["load_report"]:
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in net["load_report"].items())
        out.append(f"- loading: {counts}\n")
    out.append(vehicle_line(net["road_model"]))
    out.append("\n## Events\n")
    out.append(md_table(result.events_table(), {c: c for c in ("date", "action", "target", "edges", "nodes",
                                                               "applied", "note")}))
    s = result.summary()
    counts = s["od_status"]
    out.append("\n## Corridor reachability (fastest routes between places)\n")
    out.append(f"{s['edges_removed']} directed edges removed, {s['nodes_closed']} nodes closed, "
               f"{s['edges_degraded']} edges degraded"
               + (f", {s['edges_restricted']} edges restricted ({s['edges_barred_to_vehicle']} of them barred to "
                  f"this {result.network.vehicle.name})" if s["edges_restricted"] else "")
               + f". Of {s['od_pairs']} ordered place pairs: "
               + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ".\n\n")
    changed = result.od[result.od["status"] != "unchanged"] if len(result.od) else result.od
    out.append("Pairs whose route changed (the full table is `od.csv`). *travel time ×* is the fastest travel "
               "time after the damage divided by the time before (a ratio of minutes, not of kilometres: a detour "
               "can be shorter and still slower); *cut by* names the events whose damage, alone taken away, "
               "reconnects the pair (found by recomputation).\n\n")
    out.append(md_table(changed, OD_COLUMNS))
    if result.evacuation is not None and sc.evacuation is not None:
        ev = sc.evacuation
        out.append(f"\n## Evacuation routes from {ev.origin}\n")
        out.append(f"Safe destinations, nearest first after the damage; up to {ev.alternatives} distinct "
                   f"alternatives each (penalty method: each found route's edges cost ×{ALTERNATIVE_PENALTY:g} for "
                   "the next search). *cut by*: the events whose damage, alone taken away, reconnects the "
                   "destination (recomputed; \"A + B (together)\" when only both together do).\n\n")
        out.append(md_table(result.evacuation, EVAC_COLUMNS))
    if result.evacuation_capacity:
        out.append(capacity_markdown(result))
    out.append(access_markdown(result, images))
    images = [name for name in images if not name.startswith("access_")]  # shown in the access section
    if images:
        out.append("\n## Maps\n")
        for name in images:
            out.append(f"![{name}]({name})\n")
    out.append("\n## Defaults used\n")
    overridden = net["capacity_overrides_vph_per_lane"]
    out.append("Speeds and capacities where OSM has no `maxspeed`/`lanes` (speeds: OSRM car profile; "
               "lanes and capacities: MATSim OSM defaults"
               + ("; capacities marked * are this scenario's `[capacity]` overrides" if overridden else "")
               + "):\n\n")
    lines = ["| class | km/h | lanes/direction | veh/h/lane |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['speed_kph']:g} | {v['lanes_per_direction']} | {v['capacity_per_lane_vph']:g}"
              f"{' *' if v['overridden'] else ''} |" for k, v in effective_road_classes(result).items()]
    out.append("\n".join(lines) + "\n")
    model = net["road_model"]
    if "signal_delay_s" in model:
        out.append(f"\nEach traffic signal passed adds {model['signal_delay_s']:g} s (the {model['profile']} "
                   "profile's `signal_delay_s`, OSRM's car-profile figure).\n")
    out.append(f"\n---\n{notice}\n")
    return "\n".join(out)
