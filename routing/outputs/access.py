"""Population access outputs: the report section, metrics, GeoPackage layers, PNG maps (travel
time to the nearest facility before / after / added, on the populated road nodes) and the
map.html layers. The other output modules only call the hooks here."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import matplotlib
import networkx as nx

matplotlib.use("Agg")
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, ListedColormap

from ..analysis.access import AccessCriticalityResult, Accessibility
from ..files import atomic_folder, atomic_path
from ..network import data_notice
from ..results import ScenarioResult
from .criticality import criticality_map
from .formats import json_clean, md_table

NO_ACCESS_COLOUR, LOST_COLOUR = "#000000", "#d62728"
WEB_MAX_POINTS = 3_000  # above this many populated nodes, map.html shows them merged into grid cells
ADDED_BINS_MIN = (0.5, 2.0, 5.0)  # colour classes of minutes added (difference maps), with the thresholds


def _notices(result: ScenarioResult) -> list[str]:
    acc = result.access
    assert acc is not None
    notices = [result.data_notice]
    pop_notice = acc.population.layer.notice
    if pop_notice and pop_notice not in notices:
        notices.append(f"Population: {pop_notice}")
    return notices


# ------------------------------------------------------------------ report and metrics


def access_metrics(result: ScenarioResult) -> dict[str, Any] | None:
    """The access figures as plain data (persons, minutes), or None without an [access] table."""
    acc = result.access
    if acc is None:
        return None
    return json_clean({
        "population_notice": acc.population.layer.notice,
        "thresholds_min": list(acc.thresholds_min),
        "population_layer": acc.population.summary(),
        "facilities": {name: {**fa.facilities.summary(),
                              "closed_after": int(fa.closed.sum()),
                              "open_after": int((fa.facilities.snapped & ~fa.closed).sum())}
                       for name, fa in acc.types.items()},
        "summary": acc.summary.to_dict("records"),
        "change": acc.change.to_dict("records"),
        "areas": acc.areas.to_dict("records") if acc.areas is not None else None,
        "seconds": acc.seconds,
    })


def _people(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:,.0f}"


def _minutes(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:.1f}"


def access_markdown(result: ScenarioResult, images: list[str]) -> str:
    """The report section: layers and snapping, one table per facility type (before, after,
    losing), the per-area table, the maps."""
    acc = result.access
    if acc is None:
        return ""
    pop = acc.population.summary()
    out = ["\n## Population access to facilities\n"]
    for notice in _notices(result)[1:]:
        out.append(f"> **⚠ {notice}**\n")
    out.append(f"Population: `{pop['source']}` — {_people(pop['total'])} persons in {pop['points']:,} points; "
               f"{_people(pop['snapped'])} snapped to the road network (mean snap distance "
               f"{pop['snap_m_mean']:,.0f} m, largest {pop['snap_m_largest']:,.0f} m"
               + (f", each point shared among the road nodes within {pop['spread_m']:,.0f} m" if pop["spread_m"]
                  else "")
               + f"); **{_people(pop['unsnapped'])} persons in {pop['points_unsnapped']:,} points lie farther than "
               f"{pop['max_snap_m']:,.0f} m from the network and are counted as unsnapped**, not as served.\n")
    if pop["skipped"]:
        out.append("Left out of the layer: " + ", ".join(f"{n} {k}" for k, n in pop["skipped"].items()) + ".\n")
    out.append("\nTravel time from every populated road node to the nearest open facility of each type: one "
               "multi-source search on the reversed network per type and state (free-flow times; a facility "
               "whose node is closed is closed). Mean and median are over the population that reaches one.\n")
    for name, fa in acc.types.items():
        fs = fa.facilities.summary()
        rows = acc.summary[acc.summary["facility"] == name]
        change = acc.change[acc.change["facility"] == name]
        out.append(f"\n### {name}\n")
        out.append(f"{fs['points']} facilities from `{fs['source']}`: {fs['points_snapped']} on the network"
                   + (f", {fs['points_unsnapped']} farther than {fs['max_snap_m']:,.0f} m (left out)"
                      if fs["points_unsnapped"] else "")
                   + (f"; {int(fa.closed.sum())} closed by the events" if fa.closed.any() else "") + ".\n\n")
        heads = ["state", "population", *[f"≤ {t:g} min" for t in acc.thresholds_min], "no facility reachable",
                 "mean min", "median min"]
        lines = ["| " + " | ".join(heads) + " |", "|---|" + "---:|" * (len(heads) - 1)]
        for r in rows.itertuples(index=False):
            d = r._asdict()
            lines.append("| " + " | ".join([d["state"], _people(d["population"]),
                                            *[_people(d[f"within_{t:g}_min"]) for t in acc.thresholds_min],
                                            _people(d["no_access"]), _minutes(d["mean_min"]),
                                            _minutes(d["median_min"])]) + " |")
        lines.append("| **losing access** | | " + " | ".join(_people(v) for v in change["population_losing"])
                     + " | | | |")
        out.append("\n".join(lines) + "\n")
    if acc.areas is not None:
        out.append("\n### Per area\n")
        table = _area_wide(acc)
        out.append(md_table(table, {c: c for c in table.columns}))
    access_images = [i for i in images if i.startswith("access_")]
    if access_images:
        out.append("\n")
        out += [f"![{name}]({name})\n" for name in access_images]
    return "\n".join(out)


def _area_wide(acc: Accessibility) -> pd.DataFrame:
    """Per area and facility: population, within the largest and smallest threshold before and
    after, no access after, mean minutes before and after."""
    assert acc.areas is not None
    low, high = acc.thresholds_min[0], acc.thresholds_min[-1]
    rows = []
    for (area, facility), part in acc.areas.groupby(["area", "facility"], sort=False):
        b, a = (part[part["state"] == s].iloc[0] for s in ("baseline", "damaged"))
        rows.append({"area": area, "facility": facility, "population": _people(b["population"]),
                     f"≤ {low:g} min before": _people(b[f"within_{low:g}_min"]),
                     f"≤ {low:g} min after": _people(a[f"within_{low:g}_min"]),
                     f"≤ {high:g} min before": _people(b[f"within_{high:g}_min"]),
                     f"≤ {high:g} min after": _people(a[f"within_{high:g}_min"]),
                     "no access after": _people(a["no_access"]), "mean min before": _minutes(b["mean_min"]),
                     "mean min after": _minutes(a["mean_min"]), "unsnapped": _people(b["unsnapped"])})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ GeoPackage


def access_layers(result: ScenarioResult) -> dict[str, gpd.GeoDataFrame]:
    """GeoPackage layers: ``access_<type>`` (populated road nodes: persons, minutes before, after,
    added; nearest facility node before/after) and ``access_facilities`` (every facility point:
    type, node, snap distance, closed after)."""
    acc = result.access
    if acc is None:
        return {}
    layers = {}
    for name in acc.types:
        table = acc.node_table(name)
        layers[f"access_{name}"] = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]),
                                                    crs="EPSG:4326")
    frames = []
    for name, fa in acc.types.items():
        frame = fa.facility_table(result.network)
        frame.insert(0, "facility_type", name)
        frames.append(frame)
    facilities = pd.concat(frames, ignore_index=True)
    layers["access_facilities"] = gpd.GeoDataFrame(
        facilities, geometry=gpd.points_from_xy(facilities["lon"], facilities["lat"]), crs="EPSG:4326")
    for gdf in layers.values():
        gdf["population_notice"] = acc.population.layer.notice
    return layers


# ------------------------------------------------------------------ PNG maps


def _time_scale(acc: Accessibility) -> tuple[ListedColormap, BoundaryNorm, list[float]]:
    bounds = [0.0, *acc.thresholds_min]
    colours = [*plt.get_cmap("viridis_r")(np.linspace(0.05, 0.8, len(bounds) - 1)), "#f768a1"]  # last: over
    cmap = ListedColormap(colours)
    return cmap, BoundaryNorm(bounds, cmap.N, extend="max"), bounds


def access_map(result: ScenarioResult, facility_type: str, path: str | Path) -> Path:
    """PNG: travel time to the nearest ``facility_type`` before, after and the minutes added, on
    the populated road nodes (dot area ~ persons); no facility reachable in black, facilities
    as white-edged squares (closed ones red), removed roads in red."""
    acc = result.access
    assert acc is not None
    fa = acc.types[facility_type]
    table = acc.node_table(facility_type)
    G = result.graph
    lines = [np.asarray(g.coords) for g in result.edges_gdf().geometry]
    removed = [np.asarray(result.edge_geometry(e).coords) for e in sorted(result.damage.removed_edges)]
    xs, ys = table["lon"].to_numpy(), table["lat"].to_numpy()
    size = 1 + 90 * np.sqrt(table["population"].to_numpy() / max(table["population"].max(), 1.0))
    node_x = np.array([d["x"] for _, d in G.nodes(data=True)])
    node_y = np.array([d["y"] for _, d in G.nodes(data=True)])
    aspect = 1 / max(np.cos(np.radians(node_y.mean())), 1e-6)
    span_x, span_y = max(np.ptp(node_x), 1e-6), max(np.ptp(node_y), 1e-6) * aspect
    height = float(np.clip(4.8 * span_y / span_x, 3.0, 10.0)) + 2.2
    fig, axes = plt.subplots(1, 3, figsize=(18.0, height), dpi=110, sharex=True, sharey=True, layout="constrained")
    label = facility_type.replace("_", " ")
    cmap, norm, bounds = _time_scale(acc)
    fac = fa.facility_table(result.network)
    fac = fac[fac["snapped"]]
    for ax, (title, column) in zip(axes, (("before", "minutes_before"), ("after", "minutes_after"),
                                          ("minutes added", "minutes_added"))):
        ax.add_collection(LineCollection(lines, colors="#c8c8c8", linewidths=0.4, zorder=1))
        values = table[column].to_numpy()
        if column == "minutes_added":
            before, after = table["minutes_before"].to_numpy(), table["minutes_after"].to_numpy()
            lost = np.isfinite(before) & ~np.isfinite(after)
            grew = np.isfinite(values) & (values > ADDED_BINS_MIN[0])
            bins = sorted({*ADDED_BINS_MIN, *acc.thresholds_min})
            add_cmap = ListedColormap(plt.get_cmap("OrRd")(np.linspace(0.3, 1.0, len(bins))))
            add_norm = BoundaryNorm(bins, add_cmap.N, extend="max")
            same = ~grew & ~lost
            ax.scatter(xs[same], ys[same], s=size[same], c="#bdbdbd", alpha=0.5, linewidths=0, zorder=2)
            sc = ax.scatter(xs[grew], ys[grew], s=size[grew], c=values[grew], cmap=add_cmap, norm=add_norm,
                            alpha=0.9, linewidths=0, zorder=3)
            ax.scatter(xs[lost], ys[lost], s=size[lost], c=LOST_COLOUR, marker="X", linewidths=0, zorder=4,
                       label="facility no longer reachable" if lost.any() else None)
            fig.colorbar(sc, ax=ax, shrink=0.6, label="minutes added (grey: < 0.5)", extend="max")
        else:
            ok = np.isfinite(values)
            sc = ax.scatter(xs[ok], ys[ok], s=size[ok], c=values[ok], cmap=cmap, norm=norm, alpha=0.85,
                            linewidths=0, zorder=2)
            ax.scatter(xs[~ok], ys[~ok], s=size[~ok], c=NO_ACCESS_COLOUR, marker="X", linewidths=0, zorder=3,
                       label="no facility reachable" if (~ok).any() else None)
            fig.colorbar(sc, ax=ax, shrink=0.6, label="minutes to the nearest facility", extend="max",
                         ticks=bounds)
        if removed and column != "minutes_before":
            ax.add_collection(LineCollection(removed, colors=LOST_COLOUR, linewidths=2.5, zorder=5))
        closed = fac["closed_after"].to_numpy() if column != "minutes_before" else np.zeros(len(fac), dtype=bool)
        ax.scatter(fac["lon"][~closed], fac["lat"][~closed], marker="s", s=36, c="white", edgecolors="black",
                   linewidths=1.2, zorder=6, label=f"{label} (open)")
        if closed.any():
            ax.scatter(fac["lon"][closed], fac["lat"][closed], marker="s", s=36, c=LOST_COLOUR,
                       edgecolors="black", linewidths=1.2, zorder=6, label=f"{label} (closed)")
        ax.set_title(f"{label}: {title}")
        ax.set_aspect(aspect)
        ax.set_xlabel("longitude (°)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=7, frameon=False)
    axes[0].set_ylabel("latitude (°)")
    axes[0].set_xlim(node_x.min() - 0.02 * span_x, node_x.max() + 0.02 * span_x)
    axes[0].set_ylim(node_y.min() - 0.02 * span_y / aspect, node_y.max() + 0.02 * span_y / aspect)
    change = acc.change[acc.change["facility"] == facility_type]
    headline = "; ".join(f"{r.population_losing:,.0f} lose ≤ {r.threshold_min:g} min"
                         for r in change.itertuples() if r.population_losing > 0) or "nobody loses access"
    fig.suptitle(f"{result.scenario.name}\nTravel time to the nearest {label} by road (dot area ~ persons "
                 f"at a road node): {headline}", fontsize=11)
    fig.supxlabel("   |   ".join(_notices(result)), fontsize=8, color="#444444")
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def write_access_maps(result: ScenarioResult, out: Path) -> list[Path]:
    """One ``access_<type>.png`` per facility type into the folder ``out``."""
    if result.access is None:
        return []
    return [access_map(result, name, out / f"access_{name}.png") for name in result.access.types]


# ------------------------------------------------------------------ map.html


def _colour(minutes: float, acc: Accessibility) -> str:
    cmap, norm, _ = _time_scale(acc)
    if not math.isfinite(minutes):
        return NO_ACCESS_COLOUR
    return matplotlib.colors.to_hex(cmap(norm(minutes)))


def _legend(result: ScenarioResult) -> str:
    """HTML of the colour classes of the access layers and the population notice."""
    acc = result.access
    assert acc is not None
    cmap, norm, bounds = _time_scale(acc)
    swatches = [(matplotlib.colors.to_hex(cmap(norm((a + b) / 2))), f"{a:g}–{b:g} min")
                for a, b in itertools.pairwise(bounds)]
    swatches += [(matplotlib.colors.to_hex(cmap(norm(bounds[-1] + 1))), f"> {bounds[-1]:g} min"),
                 (NO_ACCESS_COLOUR, "no facility reachable")]
    items = " ".join(f"<span style='white-space:nowrap'><span style='display:inline-block;width:10px;height:10px;"
                     f"border-radius:5px;background:{c}'></span> {html.escape(t)}</span>" for c, t in swatches)
    notice = acc.population.layer.notice
    text = f"<br><b>Population:</b> {html.escape(notice)}" if notice and notice != result.data_notice else ""
    return ("<div style='position:fixed;bottom:110px;left:10px;z-index:9999;background:white;padding:4px 8px;"
            "border:1px solid #999;font:11px sans-serif;max-width:520px'><b>Travel time to the nearest facility "
            f"(circle area ~ persons at a road node)</b><br>{items}{text}</div>")


def _web_points(table: pd.DataFrame) -> pd.DataFrame:
    """The populated nodes, or (more than WEB_MAX_POINTS) grid cells merging them: persons summed,
    position and minutes population-weighted (a cell where most people reach no facility: inf)."""
    if len(table) <= WEB_MAX_POINTS:
        return table
    cell = 0.002  # degrees, grown until few enough cells
    while True:
        key = (np.floor(table["lon"] / cell).astype(np.int64) * 10_000_000
               + np.floor(table["lat"] / cell).astype(np.int64))
        if key.nunique() <= WEB_MAX_POINTS:
            break
        cell *= 1.5
    rows = []
    for _, part in table.groupby(key, sort=False):
        persons = part["population"].to_numpy()
        row = {"population": persons.sum(), "lon": np.average(part["lon"], weights=persons),
               "lat": np.average(part["lat"], weights=persons)}
        for column in ("minutes_before", "minutes_after"):
            t = part[column].to_numpy()
            ok = np.isfinite(t)
            row[column] = np.average(t[ok], weights=persons[ok]) if persons[ok].sum() >= persons.sum() / 2 \
                else np.inf
        rows.append(row)
    out = pd.DataFrame(rows)
    with np.errstate(invalid="ignore"):
        out["minutes_added"] = out["minutes_after"] - out["minutes_before"]
    return out


def add_access_layers(m: folium.Map, result: ScenarioResult) -> None:
    """Toggleable layers per facility type: "Access to <type> before/after" (populated road nodes,
    merged into grid cells when there are many, coloured by minutes to the nearest facility;
    black = none reachable; popups with persons and minutes; only the first type's "after" is
    shown at first) and "<type> facilities"."""
    acc = result.access
    if acc is None:
        return
    for i, (name, fa) in enumerate(acc.types.items()):
        table = _web_points(acc.node_table(name))
        radius = 2 + 8 * np.sqrt(table["population"].to_numpy() / max(table["population"].max(), 1.0))
        for state, column in (("before", "minutes_before"), ("after", "minutes_after")):
            group = folium.FeatureGroup(name=f"Access to {name} {state}", show=state == "after" and i == 0)
            features = [{"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [round(r.lon, 5), round(r.lat, 5)]},
                         "properties": {"p": f"{r.population:,.0f}",
                                        "m": _minutes(getattr(r, column)) if math.isfinite(getattr(r, column))
                                        else "none reachable",
                                        "a": _minutes(r.minutes_added), "c": _colour(getattr(r, column), acc),
                                        "r": round(float(rad), 1)}}
                        for r, rad in zip(table.itertuples(), radius)]
            folium.GeoJson({"type": "FeatureCollection", "features": features}, control=False,
                           marker=folium.CircleMarker(radius=5, fill=True, weight=0, fill_opacity=0.8),
                           style_function=lambda f: {"fillColor": f["properties"]["c"], "color": f["properties"]["c"],
                                                     "radius": f["properties"]["r"]},
                           popup=folium.GeoJsonPopup(fields=["p", "m", "a"],
                                                     aliases=["persons", f"minutes to {name}", "minutes added"]),
                           ).add_to(group)
            group.add_to(m)
        fac = fa.facility_table(result.network)
        group = folium.FeatureGroup(name=f"{name} facilities", show=i == 0)
        features = [{"type": "Feature",
                     "geometry": {"type": "Point", "coordinates": [round(r.lon, 5), round(r.lat, 5)]},
                     "properties": {"name": html.escape(str(r.name)), "state": "closed" if r.closed_after
                                    else ("open" if r.snapped else "off the network"),
                                    "colour": LOST_COLOUR if r.closed_after else "#ffffff"}}
                    for r in fac.itertuples()]
        folium.GeoJson({"type": "FeatureCollection", "features": features}, control=False,
                       marker=folium.CircleMarker(radius=6, fill=True, weight=2, fill_opacity=1),
                       style_function=lambda f: {"fillColor": f["properties"]["colour"], "color": "#000000"},
                       tooltip=folium.GeoJsonTooltip(fields=["name", "state"], labels=False),
                       ).add_to(group)
        group.add_to(m)
    m.get_root().html.add_child(folium.Element(_legend(result)), name="routing_access_legend")  # type: ignore[attr-defined]


# ------------------------------------------------------------------ population-weighted criticality


def access_criticality_markdown(result: AccessCriticalityResult, *, top: int = 20, notice: str = "",
                                facility: str = "facility") -> str:
    """Markdown for ``criticality.md`` when candidates are ranked by population."""
    s = result.summary
    t = s["threshold_min"]
    lines = ["## Population-weighted criticality", ""]
    if notice:
        lines += [f"*{notice}*", ""]
    lines += [f"Each candidate ({s['grouping']}) is removed alone from the baseline network; for every populated "
              f"road node the travel time to the nearest {facility} ({s['facilities']} on the network) is "
              f"recomputed exactly (only nodes whose path used the candidate). Ranked by the population that "
              f"loses access within {t:g} minutes, then by person-hours added.", "",
              f"- population on the network: {s['population']:,.0f} (unsnapped: {s['population_unsnapped']:,.0f}); "
              f"within {t:g} min of a {facility}: {s['population_within_threshold']:,.0f}; "
              f"none reachable: {s['population_no_access']:,.0f}",
              f"- candidates: {s['candidates']:,}; on some path to a {facility}: {s['candidates_on_paths']:,}; "
              f"ranked: {s['candidates_ranked']:,}"
              + (f" (the top {s['top']:,} by population routed through them)" if s["top"] else ""),
              f"- computed in {s['seconds_total']:.1f} s (baseline search {s['seconds_baseline']:.1f} s)", "",
              f"| rank | road | highway | bridge | length (km) | persons losing ≤ {t:g} min | persons cut off "
              "| person-hours added | persons slower | persons routed | edge (u-v) |",
              "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in result.table.head(top).itertuples():
        road = (" / ".join(x for x in (row.ref, row.name) if x) or "(unnamed)").replace("|", "/")
        lines.append(f"| {row.rank} | {road} | {row.highway} | {row.bridge} | {row.length_m / 1000:.2f} "
                     f"| {row.population_losing_access:,.0f} | {row.population_cut_off:,.0f} "
                     f"| {row.person_hours_added:,.1f} | {row.population_affected:,.0f} "
                     f"| {row.population_routed:,.0f} | {row.u}-{row.v} |")
    return "\n".join(lines) + "\n"


def write_access_criticality(result: AccessCriticalityResult, out: str | Path, *, graph: nx.MultiDiGraph,
                             facilities: Mapping[str, int], top: int = 20, facility: str = "facility",
                             notice: str = "") -> Path:
    """Write ``criticality.csv`` (every ranked candidate), ``criticality.md`` and
    ``criticality.png`` (the top ``top`` coloured by person-hours added; dashed: only cuts people
    off; ``facilities``: name -> graph node as dots) into the folder ``out``, replaced atomically."""
    notices = " | ".join(dict.fromkeys(n for n in (data_notice(graph), notice) if n))
    t = result.summary["threshold_min"]
    with atomic_folder(out) as tmp:
        result.table.drop(columns="edges").to_csv(tmp / "criticality.csv", index=False)
        (tmp / "criticality.md").write_text(access_criticality_markdown(result, top=top, notice=notices,
                                                                        facility=facility), encoding="utf-8")
        criticality_map(graph, result.table, tmp / "criticality.png", top=top, places=facilities,
                        title=f"Population-weighted criticality: top {min(top, len(result.table))} by persons "
                              f"losing access to a {facility} within {t:g} min",
                        colour_by=("person_hours_added", 1.0, f"person-hours added to reach a {facility} "
                                                              "if it alone fails"),
                        cut_by=("population_cut_off", f"cuts people off from every {facility} if it alone fails"))
    return Path(out)
