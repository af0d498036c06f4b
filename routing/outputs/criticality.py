"""Criticality outputs: the ranked table as CSV and Markdown, and the map of the top candidates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.patheffects as pe
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize

from ..analysis.criticality import CriticalityResult
from ..files import atomic_folder, atomic_path
from ..network import EdgeKey, data_notice, edge_lines


def _edge_lines(G: nx.MultiDiGraph, edges: Iterable[EdgeKey]) -> list[np.ndarray]:
    """(x, y) vertex arrays in degrees of each edge."""
    return [np.asarray(line.coords) for line in edge_lines(G, edges)]


def _road(row: Any) -> str:
    """Map label of a table row: ref, else a Latin-script name (matplotlib cannot shape Arabic
    and other right-to-left scripts), else the group label."""
    latin_name = row.name if row.name and all(ord(c) < 0x250 for c in row.name) else ""
    return (row.ref or latin_name or row.group) + (" (bridge)" if row.bridge == "yes" else "")


def criticality_map(G: nx.MultiDiGraph, table: pd.DataFrame, path: str | Path, *, top: int = 20,
                    places: Mapping[str, int] | None = None, title: str | None = None,
                    colour_by: tuple[str, float, str] = ("delta_total_time_s", 3600.0,
                                                         "increase in total OD travel time if it alone fails (hours)"),
                    dashed_by: str = "pairs_disconnected") -> Path:
    """PNG map: the network in grey, the ``top`` candidates coloured by ``colour_by`` = (column,
    divisor, legend; default the increase in total OD travel time in hours), labelled by rank (one
    label per road: ``#2,3,5 R869``); candidates with a value only in ``dashed_by`` (e.g. pairs
    disconnected, nothing slower) are dashed; places (name -> node) as black dots."""
    head = table.head(top)
    column, divisor, legend = colour_by
    xs = np.array([d["x"] for _, d in G.nodes(data=True)])
    ys = np.array([d["y"] for _, d in G.nodes(data=True)])
    aspect = 1 / max(np.cos(np.radians(ys.mean())), 1e-6)
    span_x, span_y = max(np.ptp(xs), 1e-9), max(np.ptp(ys), 1e-9) * aspect
    fig, ax = plt.subplots(figsize=(11, float(np.clip(11 * span_y / span_x, 4, 14)) + 1), dpi=120)
    ax.add_collection(LineCollection(_edge_lines(G, G.edges(keys=True)), colors="#b4b4b4", linewidths=0.4, zorder=1))
    hours = head[column].to_numpy() / divisor
    low, high = (float(hours.min()), float(hours.max())) if len(hours) else (0.0, 0.0)
    norm = Normalize(vmin=low, vmax=max(high, low + 1e-9))
    cmap = plt.get_cmap("plasma_r")
    labels: dict[str, tuple[list[int], tuple[float, float]]] = {}
    for row, h in zip(head.itertuples(), hours):
        lines = _edge_lines(G, row.edges)
        ax.add_collection(LineCollection(lines, colors=[cmap(norm(h))], linewidths=4, zorder=3, capstyle="round",
                                         linestyles="--" if getattr(row, dashed_by) and not h else "-",
                                         path_effects=[pe.Stroke(linewidth=6, foreground="white"), pe.Normal()]))
        ranks, _anchor = labels.setdefault(_road(row), ([], tuple(lines[0][len(lines[0]) // 2])))
        ranks.append(int(row.rank))
    for road, (ranks, (x, y)) in labels.items():
        ax.annotate(f"#{','.join(map(str, ranks))} {road}", (x, y), xytext=(5, 5), textcoords="offset points",
                    fontsize=7, zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    for name, node in (places or {}).items():
        ax.plot(G.nodes[node]["x"], G.nodes[node]["y"], "o", color="black", markersize=4, zorder=4)
        ax.annotate(name, (G.nodes[node]["x"], G.nodes[node]["y"]), xytext=(3, -9), textcoords="offset points",
                    fontsize=7, zorder=5)
    ax.set_xlim(xs.min() - 0.02 * span_x, xs.max() + 0.02 * span_x)
    ax.set_ylim(ys.min() - 0.02 * span_y / aspect, ys.max() + 0.02 * span_y / aspect)
    ax.set_aspect(aspect)
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, shrink=0.7, label=legend)
    ax.set_title(title or f"Single-link criticality: top {len(head)} candidates (dashed: only disconnects pairs)")
    notice = data_notice(G)
    ax.text(0.995, 0.005, notice, transform=ax.transAxes, fontsize=7, color="#444444", ha="right", va="bottom",
            zorder=6, bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1})
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def criticality_markdown(result: CriticalityResult, *, top: int = 20, notice: str = "") -> str:
    """Markdown section for a report: what was computed, how long it took, the top-N table."""
    s = result.summary
    lines = ["## Single-link criticality", ""]
    if notice:
        lines += [f"*{notice}*", ""]
    lines += [f"Each candidate (group of edges: {s.get('grouping', 'custom groups')}) is removed alone and the "
              f"{s['od_pairs_connected']} connected OD pairs among {s['origins']} origins x {s['destinations']} "
              "destinations are re-routed by travel time. Exact: only pairs whose baseline route uses the "
              "candidate can change, and those are re-computed.", "",
              f"- candidates: {s['candidates']:,}; on some baseline route: {s['candidates_on_routes']:,} "
              "(the others change nothing)",
              f"- baseline total OD travel time: {s['baseline_total_time_s'] / 3600:,.1f} h",
              f"- computed in {s['seconds_total']:.1f} s (baseline trees {s['seconds_baseline']:.1f} s)", "",
              "| rank | road | highway | bridge | length (km) | Δ total time (h) | Δ per affected pair (min) "
              "| pairs cut off | pairs rerouted | edge (u-v) |",
              "|---:|---|---|---|---:|---:|---:|---:|---:|---|"]
    for row in result.table.head(top).itertuples():
        rerouted = row.pairs_affected - row.pairs_disconnected
        per_pair = row.delta_total_time_s / 60 / rerouted if rerouted else 0.0
        road = (" / ".join(x for x in (row.ref, row.name) if x) or "(unnamed)").replace("|", "/")
        lines.append(f"| {row.rank} | {road} | {row.highway} | {row.bridge} | {row.length_m / 1000:.2f} "
                     f"| {row.delta_total_time_s / 3600:.2f} | {per_pair:.1f} | {row.pairs_disconnected} "
                     f"| {row.pairs_affected} | {row.u}-{row.v} |")
    return "\n".join(lines) + "\n"


def write_criticality(result: CriticalityResult, out: str | Path, *, graph: nx.MultiDiGraph,
                      places: Mapping[str, int], top: int = 20) -> Path:
    """Write ``criticality.csv`` (every candidate, ranked), ``criticality.md`` (summary and the
    top-``top`` table) and ``criticality.png`` (map of the top, ``places``: name -> graph node)
    into the folder ``out``, replaced atomically."""
    notice = data_notice(graph)
    with atomic_folder(out) as tmp:
        result.table.drop(columns="edges").to_csv(tmp / "criticality.csv", index=False)
        (tmp / "criticality.md").write_text(criticality_markdown(result, top=top, notice=notice), encoding="utf-8")
        criticality_map(graph, result.table, tmp / "criticality.png", top=top, places=places)
    return Path(out)
