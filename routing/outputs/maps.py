"""Before/after map PNGs (matplotlib): what broke and how the routes changed, at a glance.

One figure of two panels, each drawn once. *Before*: the routes that are going to change (blue).
*After*, a difference view: the new parts of routes solid orange, the parts lost dashed blue, the
parts that stay quiet; the damage as large labelled markers (a closed crossing is marked at the
crossing, its approach roads are not painted), inset zooms around small damaged assets. Both
panels: the road network quiet and by class, evacuation max-flow (width ∝ flow), places, a scale
bar and a north arrow, a legend of what is drawn and nothing else, an extent fitted to the places
and the damage. Labels of places and events are moved apart (adjustText).

``map_compare.png`` is the figure; ``map_before.png`` and ``map_after.png`` are its two halves,
cut from the same rendering. Everything is drawn from the result's public GeoDataFrames.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import geopandas as gpd
import matplotlib.image as mpimg
import matplotlib.patheffects as pe
import matplotlib.pyplot as plt
import numpy as np
import shapely
from adjustText import adjust_text
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib_scalebar.scalebar import ScaleBar

from ..files import atomic_path
from ..results import ScenarioResult
from .style import (
    AFTER_COLOUR,
    BEFORE_COLOUR,
    BROKEN_COLOUR,
    DEGRADED_COLOUR,
    EFFECT_MARKERS,
    FLOW_COLOUR,
    METRES_PER_DEGREE,
    PLACE_COLOUR,
    UNCHANGED_COLOUR,
    cos_lat,
    event_caption,
    map_extent,
    one_direction,
    road_tier,
    short_name,
)

PANEL_WIDTH_IN = 7.5  # inches per panel
DPI = 110
ZOOM_MAX_SHARE = 0.12  # a damaged asset smaller than this share of the extent gets a zoom below the map
ZOOM_MIN_SHARE = 0.03  # a zoom shows at least this share of the extent around the asset
MAX_ZOOMS = 3
TITLE_CHARS = 80  # a scenario name wraps at this many characters above each panel
ZOOM_TITLE_CHARS = 30
LEADER_MIN_PX = 8.0  # a label moved farther than this from its point gets a leader line
LEGEND_ROW_IN = 0.2  # inches per legend row (two entries a row)
TITLES_IN = 1.3  # inches for the titles above and the data notice below each panel
WHITE_HALO = [pe.withStroke(linewidth=2.5, foreground="white")]


@dataclass
class Panel:
    """One drawn panel: its axes, the place and event labels, and what each legend entry names
    (``drawn``: legend label -> the artist holding those features)."""

    ax: Axes
    state: str
    labels: list[Text] = field(default_factory=list)
    drawn: dict[str, Artist] = field(default_factory=dict)
    handles: dict[str, Line2D] = field(default_factory=dict)  # legend entries, one per key of ``drawn``
    markers: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))  # damage marker positions (lon, lat)
    zooms: list[Axes] = field(default_factory=list)


@dataclass
class MapFigure:
    """The before/after figure: two subfigures (cut into map_before/map_after) and their panels."""

    figure: Figure
    subfigures: dict[str, SubFigure]
    panels: dict[str, Panel]
    extent: tuple[float, float, float, float]  # west, east, south, north (degrees)


# ------------------------------------------------------------------ geometry helpers
def _lines(geoms: Iterable) -> list[np.ndarray]:
    """(x, y) vertex arrays of lines (lon/lat degrees)."""
    geoms = np.asarray(list(geoms), dtype=object)
    if not len(geoms):
        return []
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    return np.split(coords, np.flatnonzero(np.diff(index)) + 1)


# ------------------------------------------------------------------ layers
@dataclass
class Layers:
    """Everything both panels draw, prepared once from the result's GeoDataFrames."""

    network: list[tuple[gpd.GeoSeries, LineStyle]]  # per road tier, minor first: lines, style
    network_gdf: gpd.GeoDataFrame
    changes: gpd.GeoDataFrame  # route_changes_gdf()
    damaged: gpd.GeoDataFrame  # damaged edges drawn as lines (not approach roads of closed nodes)
    markers: gpd.GeoDataFrame  # damage_markers_gdf()
    places: gpd.GeoDataFrame
    cut_off: set[str]  # places cut off after the damage
    flows: dict[str, gpd.GeoDataFrame]


def _layers(result: ScenarioResult, extent: tuple[float, float, float, float],
            markers: gpd.GeoDataFrame) -> Layers:
    x0, x1, y0, y1 = extent
    edges = one_direction(result.edges_gdf())
    if len(edges):
        mx, my = (x1 - x0) * 0.2, (y1 - y0) * 0.2
        edges = edges.cx[x0 - mx:x1 + mx, y0 - my:y1 + my]
    tiers = np.array([road_tier(h)[0] for h in edges["highway"]]) if len(edges) else np.empty(0, dtype=int)
    network = []
    for tier in sorted(set(tiers.tolist()), reverse=True):  # minor roads first (underneath)
        sel = edges[tiers == tier]
        _, colour, width = road_tier(sel["highway"].iloc[0])
        network.append((sel.geometry, LineStyle(colour, width)))
    damaged = result.damaged_edges_gdf()
    if len(damaged):
        damaged = damaged[~damaged["by_closed_node"]]
    cut_off: set[str] = set()
    if result.evacuation is not None:
        cut_off |= set(result.evacuation.loc[~result.evacuation["damaged_reachable"].astype(bool), "destination"])
    return Layers(network=network, network_gdf=edges, changes=one_direction(result.route_changes_gdf(), by="change"),
                  damaged=one_direction(damaged, by="effect"),
                  markers=markers, places=result.places_gdf(), cut_off=cut_off,
                  flows={s: result.flow_gdf(s) for s in ("baseline", "damaged")})


@dataclass(frozen=True)
class LineStyle:
    """How a kind of line is drawn: colour, width (points), dash pattern (points on, off)."""

    colour: str
    width: float
    dashes: tuple[float, float] | None = None

    def handle(self, label: str) -> Line2D:
        """Its legend entry."""
        return Line2D([], [], color=self.colour, lw=min(self.width, 6.0), label=label,
                      linestyle=(0, self.dashes) if self.dashes else "-")


ROUTES_BEFORE = LineStyle(BEFORE_COLOUR, 2.2)
CHANGE_STYLES = {  # route_changes_gdf()["change"] -> legend label, style (after panel)
    "unchanged": ("routes: parts that stay the same", LineStyle(UNCHANGED_COLOUR, 1.6)),
    "lost": ("routes: parts lost (as before)", LineStyle(BEFORE_COLOUR, 1.8, (3.0, 2.0))),
    "new": ("routes: new parts (after)", LineStyle(AFTER_COLOUR, 2.8)),
}
DAMAGE_STYLES = {"removed": ("destroyed / closed roads", LineStyle(BROKEN_COLOUR, 4.0)),
                 "degraded": ("degraded roads", LineStyle(DEGRADED_COLOUR, 4.0)),
                 "restricted": ("restricted roads (vehicle limits)", LineStyle(DEGRADED_COLOUR, 4.0, (2.0, 1.0)))}


class _Drawing:
    """Draws into one axes and records, for the panel's legend, each kind of feature drawn."""

    def __init__(self, ax: Axes, panel: Panel, scale: float = 1.0):
        self.ax, self.panel, self.scale = ax, panel, scale

    def lines(self, label: str | None, geoms: Iterable, style: LineStyle, zorder: float,
              widths: np.ndarray | None = None) -> None:
        """Lines in ``style`` (``widths``: one width per line instead), if there are any."""
        lines = _lines(geoms)
        if not lines:
            return
        collection = LineCollection(lines, colors=style.colour, zorder=zorder, capstyle="round", joinstyle="round",
                                    linewidths=widths if widths is not None else style.width * self.scale,
                                    linestyles=[(0, style.dashes)] if style.dashes else "solid")
        self.ax.add_collection(collection)
        if label:
            self.panel.drawn.setdefault(label, collection)
            self.panel.handles.setdefault(label, style.handle(label))

    def points(self, label: str, gdf: gpd.GeoDataFrame, *, marker: str, size: float, face: str, edge: str,
               zorder: float, legend_size: float = 11.0) -> None:
        """Point markers, if there are any."""
        if not len(gdf):
            return
        artist = self.ax.scatter(gdf.geometry.x, gdf.geometry.y, marker=marker, s=size, c=face if face != "none"
                                 else None, facecolors="none" if face == "none" else None, edgecolors=edge,
                                 linewidths=1.8 if size > 100 else 0.8, zorder=zorder)
        self.panel.drawn.setdefault(label, artist)
        self.panel.handles.setdefault(label, Line2D([], [], linestyle="", marker=marker, markersize=legend_size,
                                                    markerfacecolor=face, markeredgecolor=edge, label=label))


def _draw_content(ax: Axes, layers: Layers, panel: Panel,
                  window: tuple[float, float, float, float] | None = None) -> None:
    """Roads by class, evacuation flow (main panels), the routes that change (before) or their
    changes (after), destroyed and degraded roads and the damage markers (after), places.
    ``window`` (west, east, south, north) draws a zoom: only what lies in it, thicker."""
    state = panel.state
    zoom = window is not None
    draw = _Drawing(ax, panel, scale=1.3 if zoom else 1.0)
    if window is not None:
        roads = _clip(layers.network_gdf, window)
        tiers = [road_tier(h) for h in roads["highway"]] if len(roads) else []
        network = [(roads.geometry[[t[0] == tier for t in tiers]], LineStyle(colour, width * 1.6))
                   for tier, colour, width in sorted(set(tiers), reverse=True)]
    else:
        network = layers.network
    for i, (geoms, style) in enumerate(network):  # minor roads first; the legend shows the major style
        draw.lines("roads (darker = major)" if i == len(network) - 1 else None, geoms, style, zorder=1)
    flows = layers.flows[state]
    if len(flows) and not zoom:
        top = float(flows["flow_persons_per_hour"].max())
        draw.lines(f"evacuation max-flow (width ∝ flow; widest {top:,.0f} persons/h)", flows.geometry,
                   LineStyle(FLOW_COLOUR, 6.0), zorder=2, widths=flows["width"].to_numpy() * 0.75)
    ch = _clip(layers.changes, window)
    if state == "baseline":
        draw.lines("routes that change (as before the damage)", ch.geometry[ch["change"] != "new"] if len(ch) else [],
                   ROUTES_BEFORE, zorder=3)
    else:
        for z, (change, (label, style)) in enumerate(CHANGE_STYLES.items()):
            draw.lines(label, ch.geometry[ch["change"] == change] if len(ch) else [], style, zorder=3 + z)
        dm = _clip(layers.damaged, window)
        for effect, (label, style) in DAMAGE_STYLES.items():
            draw.lines(label, dm.geometry[dm["effect"] == effect] if len(dm) else [], style, zorder=7)
        markers = _clip(layers.markers, window)
        for effect, (marker, _, colour, label) in EFFECT_MARKERS.items():
            draw.points(label, markers[markers["effect"] == effect] if len(markers) else markers, marker=marker,
                        size=200 if zoom else 320, face=colour, edge="white", zorder=9)
    p = _clip(layers.places, window)
    draw.points("places", p, marker="o", size=26, face=PLACE_COLOUR, edge="white", zorder=10, legend_size=5)
    if state == "damaged" and len(p):
        draw.points("destination cut off", p[[n in layers.cut_off for n in p["name"]]], marker="o", size=170,
                    face="none", edge=BROKEN_COLOUR, zorder=10, legend_size=10)


def _place_labels(ax: Axes, layers: Layers, state: str) -> list[Text]:
    p = layers.places
    cut = [state == "damaged" and n in layers.cut_off for n in p["name"]]
    return [ax.text(x, y, f"{name} (cut off)" if c else name, fontsize=8, zorder=12,
                    color=BROKEN_COLOUR if c else PLACE_COLOUR, ha="left", va="bottom", path_effects=WHITE_HALO)
            for x, y, name, c in zip(p.geometry.x, p.geometry.y, p["name"], cut)]


def _event_labels(ax: Axes, markers: gpd.GeoDataFrame) -> list[Text]:
    return [ax.text(x, y, event_caption(short_name(ev), effect), fontsize=8, weight="bold",
                    color=DEGRADED_COLOUR if effect in ("degraded", "restricted") else BROKEN_COLOUR, ha="left",
                    va="top", zorder=13, path_effects=WHITE_HALO)
            for x, y, ev, effect in zip(markers.geometry.x, markers.geometry.y, markers["event"], markers["effect"])]


def fit_limits(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    """Set the limits to ``extent`` widened in x or y so that a metre is as long north-south as
    east-west on the axes box as laid out (what ``set_aspect(adjustable="datalim")`` does at every
    draw, done once)."""
    box = ax.get_window_extent()
    x0, x1, y0, y1 = extent
    c = cos_lat((y0 + y1) / 2)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_x, half_y = (x1 - x0) / 2, (y1 - y0) / 2
    want = box.height / box.width  # y span / (x span * cos)
    if half_y / (half_x * c) < want:
        half_y = half_x * c * want
    else:
        half_x = half_y / want / c
    ax.set_xlim(cx - half_x, cx + half_x)
    ax.set_ylim(cy - half_y, cy + half_y)


def decorate(ax: Axes, extent: tuple[float, float, float, float], *, zoom: bool = False) -> None:
    """Extent, scale bar and (main panels) a north arrow; no degree ticks (:func:`fit_limits`
    sets the true aspect once the layout is known)."""
    x0, x1, y0, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.add_artist(ScaleBar(METRES_PER_DEGREE * cos_lat((y0 + y1) / 2), units="m", location="lower left",
                           length_fraction=0.3 if zoom else 0.2, box_alpha=0.75, border_pad=0.3,
                           font_properties={"size": 6 if zoom else 8}, rotation="horizontal-only"))
    if not zoom:
        ax.annotate("N", xy=(0.965, 0.975), xytext=(0.965, 0.88), xycoords="axes fraction", ha="center", va="top",
                    fontsize=9, weight="bold", zorder=20,
                    arrowprops={"arrowstyle": "-|>,head_width=0.35,head_length=0.7", "color": "black", "lw": 1.8,
                                "shrinkA": 12, "shrinkB": 0})


def zoom_windows(layers: Layers, extent: tuple[float, float, float, float]
                 ) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(title, west-east-south-north window) of a zoom around each damaged asset small against the
    extent (at most ``MAX_ZOOMS``, in event order)."""
    x0, x1, y0, y1 = extent
    c = cos_lat((y0 + y1) / 2)
    span = max((x1 - x0) * c, y1 - y0)
    m = layers.markers
    if not len(m):
        return []
    size = np.maximum((m["maxx"] - m["minx"]) * c, m["maxy"] - m["miny"])
    out: list[tuple[str, tuple[float, float, float, float]]] = []
    for row in m[size < ZOOM_MAX_SHARE * span].head(MAX_ZOOMS).itertuples():
        half = max(1.5 * max((row.maxx - row.minx) * c, row.maxy - row.miny), ZOOM_MIN_SHARE * span)
        x, y = row.geometry.x, row.geometry.y
        out.append((f"{len(out) + 1} · {short_name(row.event)}", (x - half / c, x + half / c, y - half, y + half)))
    return out


def _clip(gdf: gpd.GeoDataFrame, window: tuple[float, float, float, float] | None) -> gpd.GeoDataFrame:
    """The rows of ``gdf`` whose geometry meets ``window`` (west, east, south, north)."""
    if not len(gdf) or window is None:
        return gdf
    x0, x1, y0, y1 = window
    return gdf[shapely.intersects(gdf.geometry.values, shapely.box(x0, y0, x1, y1))]


def _legend(ax: Axes, handles: dict[str, Line2D]) -> None:
    """The legend of what the panel drew (and nothing else), in its own axes below the map."""
    ax.axis("off")
    legend = ax.legend(handles=list(handles.values()), loc="upper left", ncols=2, fontsize=8, frameon=False,
                       handlelength=2.4, borderaxespad=0)
    legend.set_in_layout(False)  # its rows are reserved (LEGEND_ROW_IN); it must not narrow the map


@contextmanager
def _layout_is_final(ax: Axes) -> Iterator[None]:
    """adjustText forces a full draw of the axes' figure before it starts, to be sure that text
    positions are current; ours are (the layout ran once and is fixed), so that draw is skipped."""
    holder: Any = ax.figure  # the subfigure: adjustText calls its draw_without_rendering()
    holder.draw_without_rendering = lambda: None
    try:
        yield
    finally:
        del holder.draw_without_rendering


def spread_labels(ax: Axes, labels: list[Text]) -> None:
    """Move labels apart (adjustText) with a thin leader line back to their point, then hide any
    label that still overlaps an earlier one (event labels come first, then places)."""
    if not labels:
        return
    anchors = np.array([t.get_position() for t in labels], dtype=float)
    with _layout_is_final(ax):
        adjust_text(labels, x=anchors[:, 0], y=anchors[:, 1], ax=ax, expand=(1.15, 1.3), ensure_inside_axes=True,
                    iter_lim=150, prevent_crossings=False)
    renderer = agg_canvas(ax.get_figure(root=True)).get_renderer()
    kept: list = []
    to_data = ax.transData.inverted()
    frame = ax.get_window_extent(renderer).padded(-2)
    for text, (x, y) in zip(labels, anchors):
        box = text.get_window_extent(renderer)
        dx = max(frame.x0 - box.x0, 0) + min(frame.x1 - box.x1, 0)  # back inside the axes, if it is not
        dy = max(frame.y0 - box.y0, 0) + min(frame.y1 - box.y1, 0)
        if dx or dy:
            px, py = ax.transData.transform(text.get_position())
            nx_, ny_ = to_data.transform((px + dx, py + dy))
            text.set_position((float(nx_), float(ny_)))
            box = text.get_window_extent(renderer)
        if any(box.overlaps(other) for other in kept):
            text.set_visible(False)
            continue
        kept.append(box)
        px, py = ax.transData.transform((x, y))
        nx_, ny_ = np.clip(px, box.x0, box.x1), np.clip(py, box.y0, box.y1)
        if np.hypot(nx_ - px, ny_ - py) > LEADER_MIN_PX:
            end = to_data.transform((nx_, ny_))
            ax.add_line(Line2D([x, end[0]], [y, end[1]], color="#666666", lw=0.6, zorder=11))


def draw_maps(result: ScenarioResult) -> MapFigure:
    """The before/after figure of ``result``, laid out and drawn once (see the module docstring)."""
    markers = result.damage_markers_gdf()
    extent = map_extent(result, markers)
    layers = _layers(result, extent, markers)
    zooms = zoom_windows(layers, extent)
    x0, x1, y0, y1 = extent
    ratio = (y1 - y0) / ((x1 - x0) * cos_lat((y0 + y1) / 2))
    main_h = float(np.clip(PANEL_WIDTH_IN * ratio, 4.5, 10.5))
    zoom_h = PANEL_WIDTH_IN / MAX_ZOOMS if zooms else 0.0
    fig = plt.figure(figsize=(2 * PANEL_WIDTH_IN, main_h + zoom_h + 2.4), dpi=DPI, layout="constrained",
                     facecolor="white")
    grids = []
    halves = fig.subfigures(1, 2, wspace=0.02)
    assert isinstance(halves, np.ndarray)
    subfigs: dict[str, SubFigure] = dict(zip(("baseline", "damaged"), halves.ravel()))
    panels, legend_axes = {}, {}
    notice_colour = "#b00000" if result.schematic else "#333333"
    as_of = textwrap.fill(result.as_of_text(), 110)
    for state, sf in subfigs.items():
        grid = sf.add_gridspec(3 if zooms else 2, MAX_ZOOMS)
        grids.append(grid)
        ax = sf.add_subplot(grid[0, :])
        panel = panels[state] = Panel(ax, state)
        _draw_content(ax, layers, panel)
        decorate(ax, extent)
        for i, (title, window) in enumerate(zooms):
            zax = sf.add_subplot(grid[1, i])
            _draw_content(zax, layers, panel, window)
            decorate(zax, window, zoom=True)
            zax.set_title(textwrap.fill(title + (" (before)" if state == "baseline" else ""), ZOOM_TITLE_CHARS),
                          fontsize=7.5, loc="left", pad=2)
            wx0, wx1, wy0, wy1 = window
            ax.add_patch(Rectangle((wx0, wy0), wx1 - wx0, wy1 - wy0, fill=False, edgecolor="#333333", lw=0.9,
                                   zorder=14))
            ax.text(wx0, wy1, f" {i + 1}", fontsize=8, weight="bold", va="bottom", ha="left", zorder=14,
                    path_effects=WHITE_HALO)
            panel.zooms.append(zax)
        panel.labels = (_event_labels(ax, markers) if state == "damaged" else []) + _place_labels(ax, layers, state)
        for label in panel.labels:
            label.set_in_layout(False)  # moved inside the axes later (adjustText): it must not shrink the map
        if state == "damaged" and len(markers):
            panel.markers = np.column_stack([markers.geometry.x, markers.geometry.y])
        legend_axes[state] = sf.add_subplot(grid[-1, :])
        title = "Before the damage" if state == "baseline" else "After the damage: what changed"
        ax.set_title(f"{title}\n{as_of}", fontsize=9, loc="left")
        sf.suptitle(textwrap.fill(result.scenario.name, TITLE_CHARS), fontsize=11, weight="bold", x=0.02,
                    ha="left")
        sf.supxlabel(result.data_notice, fontsize=8 if result.schematic else 7, color=notice_colour,
                     weight="bold" if result.schematic else "normal",
                     bbox={"facecolor": "#fff3f3" if result.schematic else "white", "edgecolor": notice_colour})
    rows = max(-(-len(p.handles) // 2) for p in panels.values())  # the same legend height in both halves
    legend_h = LEGEND_ROW_IN * (rows + 1)
    for grid in grids:
        grid.set_height_ratios([main_h, zoom_h, legend_h] if zooms else [main_h, legend_h])
    fig.set_size_inches(2 * PANEL_WIDTH_IN, main_h + zoom_h + legend_h + TITLES_IN)
    for state, lax in legend_axes.items():
        _legend(lax, panels[state].handles)
    engine = fig.get_layout_engine()
    assert engine is not None
    engine.execute(fig)  # one layout pass, then fixed
    fig.set_layout_engine("none")
    for panel in panels.values():
        fit_limits(panel.ax, extent)
        for zax, (_, window) in zip(panel.zooms, zooms):
            fit_limits(zax, window)
        spread_labels(panel.ax, panel.labels)
    return MapFigure(fig, subfigs, panels, extent)


def write_maps(result: ScenarioResult, folder: Path) -> list[Path]:
    """Write map_compare.png (both panels) and its halves map_before.png and map_after.png into
    ``folder`` (each atomically) from one rendering; returns the paths."""
    drawn = draw_maps(result)
    fig = drawn.figure
    canvas = agg_canvas(fig)
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())
    height = image.shape[0]
    paths = []
    crops = {"map_before.png": drawn.subfigures["baseline"], "map_after.png": drawn.subfigures["damaged"]}
    for name, sf in crops.items():
        (x0, y0), (x1, y1) = np.clip(np.round(sf.bbox.get_points()).astype(int), 0, [image.shape[1], height])
        paths.append(_save(image[height - y1:height - y0, x0:x1], folder / name))
    paths.append(_save(image, folder / "map_compare.png"))
    plt.close(fig)
    return paths


def agg_canvas(fig: Figure | None) -> FigureCanvasAgg:
    """The figure's Agg canvas (this module draws with Agg only)."""
    assert fig is not None and isinstance(fig.canvas, FigureCanvasAgg)
    return fig.canvas


def _save(pixels: np.ndarray, path: Path) -> Path:
    with atomic_path(path) as tmp:
        mpimg.imsave(tmp, pixels, format="png", dpi=DPI)
    return path
