"""Criticality outputs: the ranked table as CSV and Markdown, and the map of the top candidates.

Candidates are named by road (ref and name), OSM way ids and catalogue asset. One name, one
meaning: ``pairs_cut_off`` (disconnected), ``pairs_rerouted`` (on its route, still connected) and
``pairs_affected`` (= cut off + rerouted) are the same words in the CSV, the Markdown and the map.
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.text import Text

from ..analysis.criticality import CriticalityResult
from ..files import atomic_folder, atomic_path
from ..network import data_notice, edge_lines
from .formats import md_cell, vehicle_line
from .maps import DPI, WHITE_HALO, decorate, fit_limits, spread_labels
from .style import BROKEN_COLOUR, PAD, PLACE_COLOUR, cos_lat, road_tier

CMAP = "viridis_r"  # more added hours = darker
CUT_WIDTH = (3.0, 8.0)  # line width (points) of candidates that cut pairs: fewest .. most pairs cut
LABEL_CHARS = 28


def candidate_name(row: object) -> str:
    """A table row's readable name: its road (ref and name), else its assets, else "unnamed <class>";
    a bridge says so. A right-to-left name (Arabic, Hebrew) gives way to the ref: matplotlib cannot
    shape those scripts."""
    road = str(getattr(row, "road", "") or "")
    if any(unicodedata.bidirectional(c) in ("R", "AL") for c in road):
        road = str(getattr(row, "ref", "") or "")
    name = road or str(getattr(row, "assets", "") or "") or f"unnamed {getattr(row, 'highway', '') or 'road'}"
    return name + (" (bridge)" if getattr(row, "bridge", "") == "yes" else "")


def _extent(G: nx.MultiDiGraph, lines: list[np.ndarray], places: Mapping[str, int]) -> tuple[float, float, float,
                                                                                            float]:
    """West, east, south, north holding the places and the drawn candidates, with a margin."""
    pts = [np.array([[G.nodes[n]["x"], G.nodes[n]["y"]] for n in places.values()]).reshape(-1, 2), *lines]
    xy = np.vstack(pts) if pts else np.array([[d["x"], d["y"]] for _, d in G.nodes(data=True)])
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    c = cos_lat((y0 + y1) / 2)
    pad = PAD * max((x1 - x0) * c, y1 - y0, 0.01)
    return x0 - pad / c, x1 + pad / c, y0 - pad, y1 + pad


def criticality_map(G: nx.MultiDiGraph, table: pd.DataFrame, path: str | Path, *, top: int = 20,
                    places: Mapping[str, int] | None = None, title: str | None = None,
                    colour_by: tuple[str, float, str] = ("delta_total_time_s", 3600.0,
                                                         "increase in total OD travel time if it alone fails (hours)"),
                    cut_by: tuple[str, str] = ("pairs_cut_off", "cuts OD pairs off if it alone fails")) -> Path:
    """PNG map of the ``top`` candidates: those with a value in ``cut_by`` = (column, legend;
    default OD pairs cut off) in red, wider the more they cut; the others coloured by ``colour_by``
    = (column, divisor, legend; default the increase in total OD travel time in hours, darker =
    more); labelled ``#rank road`` (labels moved apart); the network quiet by class, places, a
    scale bar and a north arrow; extent fitted to the places and the candidates."""
    places = dict(places or {})
    head = table.head(top)
    geoms = [[np.asarray(line.coords) for line in edge_lines(G, row.edges)] for row in head.itertuples()]
    extent = _extent(G, [g for lines in geoms for g in lines], places)
    fig = plt.figure(figsize=(10, 9), dpi=DPI, layout="constrained", facecolor="white")
    grid = fig.add_gridspec(2, 2, height_ratios=[12, 1], width_ratios=[30, 1])
    ax = fig.add_subplot(grid[0, 0])
    tiers: dict[int, tuple[list[np.ndarray], str, float]] = {}
    for (_, _, d), line in zip(G.edges(data=True), edge_lines(G, G.edges(keys=True))):
        tier, colour, width = road_tier(str(d.get("highway") or ""))
        tiers.setdefault(tier, ([], colour, width))[0].append(np.asarray(line.coords))
    for tier in sorted(tiers, reverse=True):
        lines, colour, width = tiers[tier]
        ax.add_collection(matplotlib.collections.LineCollection(lines, colors=colour, linewidths=width, zorder=1))
    column, divisor, colour_legend = colour_by
    hours = head[column].to_numpy() / divisor
    cuts = head[cut_by[0]].to_numpy()
    slow = cuts == 0
    norm = Normalize(vmin=0.0, vmax=max(float(hours[slow].max()) if slow.any() else 0.0, 1e-9))
    cmap = plt.get_cmap(CMAP)
    most_cut = max(float(cuts.max()) if len(cuts) else 0.0, 1.0)
    for lines, h, cut in zip(geoms, hours, cuts):
        colour = BROKEN_COLOUR if cut else cmap(norm(h))
        width = np.interp(cut, [1, most_cut], CUT_WIDTH) if cut else 3.0
        ax.add_collection(matplotlib.collections.LineCollection(lines, colors=[colour], linewidths=width, zorder=3,
                                                                capstyle="round", path_effects=WHITE_HALO))
    roads: dict[str, tuple[list[int], np.ndarray, bool]] = {}  # one label per road: "#2, 3, 5 M5"
    for row, lines in zip(head.itertuples(), geoms):
        ranks, _, cuts_pairs = roads.setdefault(candidate_name(row), ([], lines[0][len(lines[0]) // 2], False))
        ranks.append(int(row.rank))
        roads[candidate_name(row)] = (ranks, roads[candidate_name(row)][1], cuts_pairs or bool(getattr(row, cut_by[0])))
    labels: list[Text] = [ax.text(x, y, textwrap.fill(f"#{', '.join(map(str, ranks))} {name}", LABEL_CHARS),
                                  fontsize=8, zorder=6, weight="bold" if cut else "normal", path_effects=WHITE_HALO)
                          for name, (ranks, (x, y), cut) in roads.items()]
    for name, node in places.items():
        x, y = G.nodes[node]["x"], G.nodes[node]["y"]
        ax.scatter([x], [y], s=26, c=PLACE_COLOUR, edgecolors="white", zorder=7)
        labels.append(ax.text(x, y, name, fontsize=8, color=PLACE_COLOUR, zorder=6, path_effects=WHITE_HALO))
    for label in labels:
        label.set_in_layout(False)
    decorate(ax, extent)
    ax.set_title(title or f"Single-link criticality: the top {len(head)} candidates", fontsize=11, loc="left")
    cax = fig.add_subplot(grid[0, 1])
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax,
                 label=colour_legend)
    lax = fig.add_subplot(grid[1, :])
    lax.axis("off")
    handles = [Line2D([], [], color=BROKEN_COLOUR, lw=CUT_WIDTH[1],
                      label=f"{cut_by[1]} (wider = more; at most {most_cut:,.0f})")]
    handles.append(Line2D([], [], marker="o", ls="", color=PLACE_COLOUR, label="OD places"))
    notice = data_notice(G)
    legend = lax.legend(handles=handles, loc="upper left", ncols=2, fontsize=8, frameon=False,
                        title=notice, title_fontproperties={"size": 7})
    legend.set_in_layout(False)
    engine = fig.get_layout_engine()
    assert engine is not None
    engine.execute(fig)
    fig.set_layout_engine("none")
    fit_limits(ax, extent)
    spread_labels(ax, labels)
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)


def criticality_markdown(result: CriticalityResult, *, top: int = 20, notice: str = "",
                         schematic: bool = False) -> str:
    """Markdown section for a report: what was computed, how long it took, the top-N table."""
    s = result.summary
    lines = ["## Single-link criticality", ""]
    if notice:
        lines += [f"*{notice}*", ""]
    ways = "way ids (schematic, not OSM)" if schematic else "OSM ways"
    lines += [f"Each candidate (group of edges: {s.get('grouping', 'custom groups')}) is removed alone and the "
              f"{s['od_pairs_connected']} connected OD pairs among {s['origins']} origins x {s['destinations']} "
              "destinations are re-routed by travel time. Exact: only pairs whose baseline route uses the "
              "candidate can change, and those are re-computed. Ranked by pairs cut off, then by the added "
              "travel time.", "",
              f"- candidates: {s['candidates']:,}; on some baseline route: {s['candidates_on_routes']:,} "
              "(the others change nothing)",
              vehicle_line(s["road_model"]).rstrip("\n"),
              f"- baseline total OD travel time: {s['baseline_total_time_s'] / 3600:,.1f} h",
              f"- computed in {s['seconds_total']:.1f} s (baseline trees {s['seconds_baseline']:.1f} s)",
              "- *pairs cut off*: pairs it disconnects; *pairs rerouted*: pairs whose route uses it and that "
              "stay connected; *pairs affected* = cut off + rerouted (the CSV columns `pairs_cut_off`, "
              "`pairs_rerouted`, `pairs_affected`); *Δ total time* sums the extra time of the rerouted pairs.", "",
              f"| rank | road | {ways} | assets | highway | bridge | length (km) | Δ total time (h) "
              "| Δ per rerouted pair (min) | pairs cut off | pairs rerouted | pairs affected |",
              "|---:|---|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in result.table.head(top).itertuples():
        per_pair = row.delta_total_time_s / 60 / row.pairs_rerouted if row.pairs_rerouted else 0.0
        cells = [row.rank, row.road or "(unnamed)", row.osmid, row.assets, row.highway, row.bridge,
                 f"{row.length_m / 1000:.2f}", f"{row.delta_total_time_s / 3600:.2f}", f"{per_pair:.1f}",
                 row.pairs_cut_off, row.pairs_rerouted, row.pairs_affected]
        lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_criticality(result: CriticalityResult, out: str | Path, *, graph: nx.MultiDiGraph,
                      places: Mapping[str, int], top: int = 20) -> Path:
    """Write ``criticality.csv`` (every candidate, ranked), ``criticality.md`` (summary and the
    top-``top`` table) and ``criticality.png`` (map of the top, ``places``: name -> graph node)
    into the folder ``out``, replaced atomically."""
    notice = data_notice(graph)
    with atomic_folder(out) as tmp:
        result.table.drop(columns="edges").to_csv(tmp / "criticality.csv", index=False)
        (tmp / "criticality.md").write_text(criticality_markdown(result, top=top, notice=notice,
                                                                 schematic=bool(graph.graph.get("schematic"))),
                                            encoding="utf-8")
        criticality_map(graph, result.table, tmp / "criticality.png", top=top, places=places)
    return Path(out)
