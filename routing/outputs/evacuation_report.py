"""Evacuation capacity in the outputs: report section and GeoPackage flow layers."""

from __future__ import annotations

import math

import geopandas as gpd

from ..analysis.evacuation import compare_evacuation
from ..results import ScenarioResult
from .formats import md_text

METHOD_NOTE = (
    "Method: maximum flow (Ford & Fulkerson) from every road node within {radius:,.0f} m of {origin} to the "
    "destinations, edge capacity = lanes × per-lane capacity of the road class (vehicles/hour, defaults below), "
    "× {ppv:g} persons per vehicle. The bottleneck is the minimum cut nearest the origin. Clearance of N persons "
    "is bracketed: *achievable* = the max flow repeated over time along its routes (free-flow travel times); "
    "*lower bound* = no schedule can push N persons across the minimum cut faster. Assumptions: free-flow "
    "speeds, steady capacities, everyone travels by road vehicle, no background traffic, no queueing at "
    "departure, border crossings process as fast as their road carries (real checkpoints are slower). "
    "See docs/evacuation-method.md.")


def _hours(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "never (no route)"
    return f"{value:,.1f} h" if value < 48 else f"{value / 24:,.1f} days"


def capacity_markdown(result: ScenarioResult) -> str:
    """The report section: throughput before/after, per destination, bottleneck, clearance."""
    ev = result.scenario.evacuation
    assert ev is not None and result.evacuation_capacity is not None
    before, after = result.evacuation_capacity["baseline"], result.evacuation_capacity["damaged"]
    delta = compare_evacuation(before, after)
    out = [f"\n## Evacuation capacity from {ev.origin}\n",
           METHOD_NOTE.format(radius=ev.origin_radius_m, origin=ev.origin, ppv=ev.persons_per_vehicle) + "\n",
           "| | before | after |", "|---|---|---|",
           f"| maximum flow (vehicles/hour) | {before.max_flow_vph:,} | {after.max_flow_vph:,} |",
           f"| maximum flow (persons/hour) | {before.max_flow_persons_per_hour:,.0f} | "
           f"{after.max_flow_persons_per_hour:,.0f} |"]
    for n in ev.populations:
        out.append(f"| clear {n:,} persons: achievable | {_hours(before.clearance_hours[n])} | "
                   f"{_hours(after.clearance_hours[n])} |")
        out.append(f"| clear {n:,} persons: lower bound | {_hours(before.clearance_lower_bound_hours[n])} | "
                   f"{_hours(after.clearance_lower_bound_hours[n])} |")
    lost = delta["max_flow_lost_percent"]
    out.append(f"\nCapacity lost: {delta['max_flow_lost_persons_per_hour']:,.0f} persons/hour"
               + (f" ({lost:.0f} %)" if lost is not None else "") + ".\n")
    out += ["\n**Flow per destination** (persons/hour; where destinations share a bottleneck this is one of "
            "several equally good splits)\n", "| destination | before | after |", "|---|---|---|"]
    for name in before.destination_flow_vph:
        out.append(f"| {md_text(name)} | {before.destination_flow_persons_per_hour[name]:,.0f} | "
                   f"{after.destination_flow_persons_per_hour.get(name, 0):,.0f} |")
    out += ["\n**Bottleneck after damage** (minimum cut: these edges are full; their capacities add up to the "
            "maximum flow)\n", f"| road | {result.way_id_heading} | capacity (veh/h) | before damage (veh/h) | asset |",
            "|---|---|---|---|---|"]
    for b in after.bottleneck:
        assets = [result.asset_labels.get(a, a) for a in result.assets_of_edge((b.u, b.v, b.key))]
        out.append(f"| {md_text(b.label)} | {b.osmid} | {b.capacity_vph:,} | {b.base_capacity_vph:,.0f} | "
                   f"{md_text(', '.join(assets)) or '—'} |")
    out += ["\n**Main evacuation routes after damage** (flow decomposition)\n",
            "| destination | persons/hour | minutes | km | via |", "|---|---|---|---|---|"]
    for r in after.routes[:8]:
        out.append(f"| {md_text(r.destination)} | {r.flow_persons_per_hour:,.0f} | {r.travel_time_s / 60:,.0f} | "
                   f"{r.length_m / 1000:,.0f} | {md_text(' → '.join(r.via[:6]))} |")
    return "\n".join(out) + "\n"


def flow_layers(result: ScenarioResult) -> dict[str, gpd.GeoDataFrame]:
    """GeoPackage layers ``evacuation_flow_before`` / ``_after``: one line per edge carrying flow."""
    layers = {}
    for state, name in (("baseline", "evacuation_flow_before"), ("damaged", "evacuation_flow_after")):
        gdf = result.flow_gdf(state)
        if len(gdf):
            layers[name] = gdf.drop(columns="width")
    return layers
