"""Before/after map PNGs (matplotlib): what broke and how the routes changed, at a glance."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from ..analysis.reach import Route
from ..network import EdgeKey
from ..results import ScenarioResult

BASE_COLOUR, AFTER_COLOUR, BROKEN_COLOUR, EVAC_COLOUR = "#1f77b4", "#ff7f0e", "#d62728", "#2ca02c"


def _segments(result: ScenarioResult, edges: Iterable[EdgeKey]) -> list[np.ndarray]:
    return [np.asarray(result.edge_geometry(e).coords) for e in edges]


def _changed_routes(result: ScenarioResult, state: str) -> list[Route]:
    changed = set(zip(*[result.od.loc[result.od["status"] != "unchanged", c] for c in ("origin", "destination")]))
    return [r for r in result.routes if r.state == state and (r.origin, r.destination) in changed]


def _extent(result: ScenarioResult) -> tuple[float, float, float, float]:
    xs = [result.graph.nodes[n]["x"] for n in result.graph.nodes]
    ys = [result.graph.nodes[n]["y"] for n in result.graph.nodes]
    pad_x, pad_y = 0.03 * (max(xs) - min(xs) or 0.01), 0.03 * (max(ys) - min(ys) or 0.01)
    return min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y


def _damage_marks(result: ScenarioResult) -> list[tuple[float, float]]:
    """One mark per closed node, and one per removed edge not touching a closed node (its midpoint)."""
    closed = result.damage.removed_nodes
    marks = [(result.graph.nodes[n]["x"], result.graph.nodes[n]["y"]) for n in closed]
    for u, v, k in result.damage.removed_edges:
        if u not in closed and v not in closed:
            mid = result.edge_geometry((u, v, k)).interpolate(0.5, normalized=True)
            marks.append((mid.x, mid.y))
    return marks


def draw_panel(ax: plt.Axes, result: ScenarioResult, state: str) -> None:
    """Network in grey; changed OD routes; evacuation routes; damage in red (after only)."""
    lines = [np.asarray(g.coords) for g in result.edges_gdf().geometry]
    ax.add_collection(LineCollection(lines, colors="#c8c8c8", linewidths=0.6, zorder=1))
    colour = BASE_COLOUR if state == "baseline" else AFTER_COLOUR
    od_ids = sorted({e for r in _changed_routes(result, state) for e in r.edges})
    if od_ids:
        ax.add_collection(LineCollection(_segments(result, od_ids), colors=colour, linewidths=2.4, alpha=0.8, zorder=3))
    evac_ids = sorted({e for r in result.evacuation_routes if r.state == state and r.rank == 1 for e in r.edges})
    if evac_ids:
        ax.add_collection(LineCollection(_segments(result, evac_ids), colors=EVAC_COLOUR, linewidths=1.4,
                                         linestyles="--", zorder=4))
    flows = result.flow_gdf(state)
    if len(flows):
        ax.add_collection(LineCollection([np.asarray(g.coords) for g in flows.geometry], colors=EVAC_COLOUR,
                                         linewidths=flows["width"].to_numpy(), alpha=0.45, zorder=2))
    if state == "damaged":
        broken = sorted(result.damage.removed_edges)
        if broken:
            ax.add_collection(LineCollection(_segments(result, broken), colors=BROKEN_COLOUR, linewidths=4, zorder=5))
            marks = np.array(_damage_marks(result)).reshape(-1, 2)
            ax.scatter(marks[:, 0], marks[:, 1], marker="X", s=110, c=BROKEN_COLOUR, edgecolors="white", zorder=6)
        degraded = sorted(set(result.damage.speed_factor) | set(result.damage.capacity_factor))
        if degraded:
            ax.add_collection(LineCollection(_segments(result, degraded), colors="#9467bd", linewidths=3, zorder=5))
    p = result.places
    ax.scatter(p["lon"], p["lat"], s=22, c="black", zorder=7)
    for row in p.itertuples():
        ax.annotate(row.name, (row.lon, row.lat), xytext=(4, 3), textcoords="offset points", fontsize=7, zorder=8)
    x0, x1, y0, y1 = _extent(result)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1 / np.cos(np.radians((y0 + y1) / 2)))
    ax.set_xlabel("longitude (°)")
    ax.set_ylabel("latitude (°)")
    ax.set_title("Before (baseline)" if state == "baseline" else "After (damaged)")


def _legend(ax: plt.Axes, state: str, result: ScenarioResult) -> None:
    handles = [Line2D([], [], color="#c8c8c8", lw=1, label="road network"),
               Line2D([], [], color=BASE_COLOUR if state == "baseline" else AFTER_COLOUR, lw=2.4,
                      label="routes of pairs that change"),
               Line2D([], [], color=EVAC_COLOUR, lw=1.4, ls="--", label="fastest evacuation route")]
    cap = (result.evacuation_capacity or {}).get(state)
    if cap is not None and cap.edge_flows_vph:
        top = max(cap.edge_flows_vph.values())
        handles.append(Line2D([], [], color=EVAC_COLOUR, lw=10, alpha=0.45,
                              label="evacuation max-flow (width ∝ flow, max "
                                    f"{top * cap.persons_per_vehicle:,.0f} persons/h)"))
    if state == "damaged":
        handles += [Line2D([], [], color=BROKEN_COLOUR, lw=4, marker="X", label="destroyed / closed"),
                    Line2D([], [], color="#9467bd", lw=3, label="degraded")]
    ax.legend(handles=handles, loc="best", fontsize=7, framealpha=0.9)


def _notice(fig: plt.Figure, result: ScenarioResult) -> None:
    colour = "#b00000" if result.schematic else "#333333"
    fig.text(0.5, 0.01, result.data_notice, ha="center", va="bottom", fontsize=9 if result.schematic else 7,
             color=colour, weight="bold" if result.schematic else "normal",
             bbox={"facecolor": "#fff3f3" if result.schematic else "white", "edgecolor": colour})


def write_maps(result: ScenarioResult, folder: Path) -> list[Path]:
    """Write map_before.png, map_after.png and map_compare.png (side by side) into ``folder``."""
    paths = []
    for state, name in (("baseline", "map_before.png"), ("damaged", "map_after.png")):
        fig, ax = plt.subplots(figsize=(9, 9), layout="constrained")
        draw_panel(ax, result, state)
        _legend(ax, state, result)
        fig.suptitle(result.scenario.name, fontsize=11)
        _notice(fig, result)
        fig.savefig(folder / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths.append(folder / name)
    fig, axes = plt.subplots(1, 2, figsize=(16, 8), sharex=True, sharey=True, layout="constrained")
    for ax, state in zip(axes, ("baseline", "damaged")):
        draw_panel(ax, result, state)
        _legend(ax, state, result)
    fig.suptitle(result.scenario.name, fontsize=12)
    _notice(fig, result)
    fig.savefig(folder / "map_compare.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    paths.append(folder / "map_compare.png")
    return paths
