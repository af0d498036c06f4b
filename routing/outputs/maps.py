"""Before/after map PNGs (matplotlib): what broke and how the routes changed, at a glance.

One figure of two panels, each drawn once. *Before*: the routes that are going to change (blue).
*After*, a difference view: the new parts of routes solid orange, the parts lost dashed blue, the
parts that stay quiet; the damage as large labelled markers (a closed crossing is marked at the
crossing, its approach roads are not painted), inset zooms around small damaged assets. Both
panels: the road network quiet and by class, evacuation max-flow (width ∝ flow), places, a scale
bar and a north arrow, a legend of what is drawn and nothing else, an extent fitted to the places
and the damage. Labels of places and events are moved apart (adjustText) once, in the after panel;
the before panel labels each place where the after panel does. Both halves are laid out once, in
inches, alike (:func:`lay_out`): the two maps have the same size and scale.

``map_compare.png`` is the figure; ``map_before.png`` and ``map_after.png`` are its two halves,
cut from the same rendering (written by :func:`png_bytes`, not Pillow). Everything is drawn from
the result's public GeoDataFrames, prepared once for both panels (the road network as a few long
NaN-separated paths, not one path a road).
"""

from __future__ import annotations

import math
import struct
import textwrap
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import geopandas as gpd
import matplotlib.patheffects as pe
import numpy as np
import pandas as pd
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
from matplotlib.transforms import Bbox
from zlib_ng import zlib_ng

if TYPE_CHECKING:  # only for the type: benchmarks/bench_maps.py also runs this module on matplotlib 3.10
    from matplotlib.typing import RcKeyType

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
PNG_LEVEL = 3  # deflate level of the PNGs (zlib-ng; its default, 6: smaller files, slower)
ZOOM_MAX_SHARE = 0.12  # a damaged asset smaller than this share of the extent gets a zoom below the map
ZOOM_MIN_SHARE = 0.03  # a zoom shows at least this share of the extent around the asset
MAX_ZOOMS = 3
TITLE_CHARS = 80  # a scenario name wraps at this many characters above each panel
ZOOM_TITLE_CHARS = 30
PATH_VERTICES = 20_000  # vertices per drawn path of the road network (see _joined)
SCALE_BAR_SHARE = 0.2  # a main panel's scale bar: at most this share of the axes' width
SCALE_BAR_ZOOM_SHARE = 0.3  # a zoom's
SCALE_BAR_HEIGHT_SHARE = 0.01  # the bar's thickness, a share of the axes' height (at least 2 pixels)
LEADER_MIN_PX = 8.0  # a label moved farther than this from its point gets a leader line
LEGEND_ROW_IN = 0.2  # inches per legend row (two entries a row)
LEGEND_GAP_IN = 0.1  # inches between the lowest axes of a panel and its legend
LEGEND_FONT_PT = 8.0
MARGIN_IN = 3 / 72  # inches around each half of the figure and between its titles and maps
ZOOM_GAP_IN = 0.1  # inches between two zooms, and between the main map and the zooms' titles
TITLE_PAD_PT = 4.0  # points between a main map and its title
ZOOM_TITLE_PAD_PT = 2.0  # points between a zoom and its title
NOTICE_PAD_PT = 4.0  # points between the data notice and its box (matplotlib's default text box pad)
WHITE_HALO = [pe.withStroke(linewidth=2.5, foreground="white")]
# matplotlib settings while the maps are laid out and drawn: glyphs unhinted (the same shapes, a few
# tenths of a pixel softer; FreeType skips the font's hinting program: less CPU to measure and draw text)
MAP_RC: dict[RcKeyType, Any] = {"text.hinting": "no_hinting"}


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
    zoom_numbers: list[Text] = field(default_factory=list)  # the numbers on the zoom frames (see place_zoom_numbers)
    legend: MapLegend | None = None  # drawn once the layout is done


@dataclass
class Headings:
    """The texts around one half's maps, placed by :func:`lay_out`."""

    name: Text  # the scenario's name, at the top
    title: Text  # the main map's title
    zoom_titles: list[Text]
    notice: Text  # the data notice, at the bottom


@dataclass
class MapFigure:
    """The before/after figure: two subfigures (cut into map_before/map_after), their panels and
    the texts around them."""

    figure: Figure
    subfigures: dict[str, SubFigure]
    panels: dict[str, Panel]
    headings: dict[str, Headings]
    extent: tuple[float, float, float, float]  # west, east, south, north (degrees)


# ------------------------------------------------------------------ geometry helpers
def _lines(geoms: Iterable) -> list[np.ndarray]:
    """(x, y) vertex arrays of lines (lon/lat degrees), one per line (a multi-line: one per part)."""
    parts = shapely.get_parts(np.asarray(list(geoms), dtype=object))
    if not len(parts):
        return []
    coords, index = shapely.get_coordinates(parts, return_index=True)
    return np.split(coords, np.flatnonzero(np.diff(index)) + 1)


def _joined(geoms: Iterable) -> list[np.ndarray]:
    """Lines joined into a few long vertex arrays, a NaN row between two lines (a break in the
    drawn path), about ``PATH_VERTICES`` vertices each: one path per array instead of one per
    road (what makes a dense network cheap to build and to draw)."""
    parts = shapely.get_parts(np.asarray(list(geoms), dtype=object))
    coords, index = shapely.get_coordinates(parts, return_index=True)
    if not len(coords):
        return []
    starts = np.flatnonzero(np.r_[True, np.diff(index) != 0])  # first vertex of each line
    rows = np.insert(coords, starts[1:], np.nan, axis=0)
    chunk_starts = np.flatnonzero(np.diff(starts // PATH_VERTICES)) + 1  # lines that begin a new array
    return np.split(rows, (starts + np.arange(len(starts)))[chunk_starts])


def _tiers(highways: np.ndarray) -> np.ndarray:
    """The road tier (:func:`road_tier`) of each ``highway`` value."""
    codes, classes = pd.factorize(highways)
    return np.array([road_tier(h)[0] for h in classes], dtype=int)[codes]


def _clip(gdf: gpd.GeoDataFrame, window: tuple[float, float, float, float] | None,
          column: str) -> tuple[np.ndarray, np.ndarray]:
    """The geometries of ``gdf`` that meet ``window`` (west, east, south, north; None: all) and
    their values of ``column``, as arrays (cheaper to select from than the frame)."""
    geoms, values = np.asarray(gdf.geometry.values), gdf[column].to_numpy()
    if window is None or not len(geoms):
        return geoms, values
    x0, x1, y0, y1 = window
    meets = shapely.intersects(geoms, shapely.box(x0, y0, x1, y1))
    return geoms[meets], values[meets]


def _by(geoms: np.ndarray, values: np.ndarray) -> dict[str, list[np.ndarray]]:
    """The lines of ``geoms`` grouped by their ``values``."""
    return {value: _lines(geoms[values == value]) for value in pd.unique(values)}


# ------------------------------------------------------------------ layers
@dataclass
class Layers:
    """What a map (a main panel or a zoom) draws, prepared once for both panels: vertex arrays
    of the lines, the point layers."""

    network: list[tuple[list[np.ndarray], LineStyle]]  # per road tier, minor first: joined lines, style
    changes: dict[str, list[np.ndarray]]  # route_changes_gdf()["change"] -> lines
    damaged: dict[str, list[np.ndarray]]  # effect -> damaged edges drawn as lines (not approach roads of closed nodes)
    markers: dict[str, np.ndarray]  # effect -> damage marker positions (n x 2: lon, lat)
    place_xy: np.ndarray  # the places' positions (n x 2)
    cut_off_xy: np.ndarray  # the positions of the places cut off after the damage
    flows: dict[str, tuple[list[np.ndarray], np.ndarray, float]]  # state -> lines, widths, top flow (main panels)
    zoom: bool = False  # a zoom: lines thicker, markers smaller


@dataclass
class Sources:
    """The result's GeoDataFrames the maps draw, read once."""

    edges: gpd.GeoDataFrame  # one direction, within the extent and a margin
    changes: gpd.GeoDataFrame
    damaged: gpd.GeoDataFrame
    markers: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    cut_off: set[str]
    flows: dict[str, gpd.GeoDataFrame]

    @classmethod
    def of(cls, result: ScenarioResult, extent: tuple[float, float, float, float],
           markers: gpd.GeoDataFrame) -> Sources:
        """Read from ``result``; roads beyond the ``extent`` and a margin are left out."""
        x0, x1, y0, y1 = extent
        edges = one_direction(result.edges_gdf())
        if len(edges):
            mx, my = (x1 - x0) * 0.2, (y1 - y0) * 0.2
            edges = edges.cx[x0 - mx:x1 + mx, y0 - my:y1 + my]
        damaged = result.damaged_edges_gdf()
        if len(damaged):
            damaged = damaged[~damaged["by_closed_node"]]
        cut_off: set[str] = set()
        if result.evacuation is not None:
            cut_off |= set(result.evacuation.loc[~result.evacuation["damaged_reachable"].astype(bool),
                                                 "destination"])
        return cls(edges=edges, changes=one_direction(result.route_changes_gdf(), by="change"),
                   damaged=one_direction(damaged, by="effect"), markers=markers, places=result.places_gdf(),
                   cut_off=cut_off, flows={s: result.flow_gdf(s) for s in ("baseline", "damaged")})

    def layers(self, window: tuple[float, float, float, float] | None = None) -> Layers:
        """The layers of the main panels (``window`` None) or of a zoom on ``window`` (west, east,
        south, north): only what meets it, roads wider, no flows."""
        edges, highways = _clip(self.edges, window, "highway")
        tiers = _tiers(highways)
        widen = 1.0 if window is None else 1.6
        network = []
        for tier in sorted(set(tiers.tolist()), reverse=True):  # minor roads first (underneath)
            _, colour, width = road_tier(highways[tiers == tier][0])
            network.append((_joined(edges[tiers == tier]), LineStyle(colour, width * widen)))
        flows = {}
        for state, gdf in self.flows.items():
            if len(gdf) and window is None:
                widths = np.repeat(gdf["width"].to_numpy() * 0.75, shapely.get_num_geometries(gdf.geometry.values))
                flows[state] = (_lines(gdf.geometry), widths, float(gdf["flow_persons_per_hour"].max()))
        markers, effects = _clip(self.markers, window, "effect")
        places, names = _clip(self.places, window, "name")
        place_xy = shapely.get_coordinates(places)
        return Layers(network=network, changes=_by(*_clip(self.changes, window, "change")),
                      damaged=_by(*_clip(self.damaged, window, "effect")),
                      markers={effect: shapely.get_coordinates(markers[effects == effect])
                               for effect in pd.unique(effects)},
                      place_xy=place_xy,
                      cut_off_xy=place_xy[[n in self.cut_off for n in names]].reshape(-1, 2),
                      flows=flows, zoom=window is not None)


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

    def lines(self, label: str | None, lines: list[np.ndarray], style: LineStyle, zorder: float,
              widths: np.ndarray | None = None) -> None:
        """Lines in ``style`` (``widths``: one width per line instead), if there are any."""
        if not lines:
            return
        collection = LineCollection(lines, colors=style.colour, zorder=zorder, capstyle="round", joinstyle="round",
                                    linewidths=widths if widths is not None else style.width * self.scale,
                                    linestyles=[(0, style.dashes)] if style.dashes else "solid")
        self.ax.add_collection(collection, autolim=False)  # the extent is set, not fitted to the data
        if label and label not in self.panel.drawn:  # the first artist of a kind names it; one legend entry
            self.panel.drawn[label] = collection
            self.panel.handles[label] = style.handle(label)

    def points(self, label: str, xy: np.ndarray, *, marker: str, size: float, face: str, edge: str,
               zorder: float, legend_size: float = 11.0) -> None:
        """Point markers at ``xy`` (n x 2), if there are any; ``size``: marker area (points²). A
        line of markers only: a fraction of a scatter's cost to build and draw, the same pixels."""
        if not len(xy):
            return
        artist = Line2D(xy[:, 0], xy[:, 1], linestyle="none", marker=marker, markersize=np.sqrt(size),
                        markerfacecolor=face, markeredgecolor=edge, markeredgewidth=1.8 if size > 100 else 0.8,
                        zorder=zorder)
        self.ax.add_line(artist)
        if label not in self.panel.drawn:
            self.panel.drawn[label] = artist
            self.panel.handles[label] = Line2D([], [], linestyle="", marker=marker, markersize=legend_size,
                                               markerfacecolor=face, markeredgecolor=edge, label=label)


def _draw_content(ax: Axes, layers: Layers, panel: Panel) -> None:
    """Roads by class, evacuation flow (main panels), the routes that change (before) or their
    changes (after), destroyed and degraded roads and the damage markers (after), places."""
    state, zoom = panel.state, layers.zoom
    draw = _Drawing(ax, panel, scale=1.3 if zoom else 1.0)
    for i, (lines, style) in enumerate(layers.network):  # minor roads first; the legend shows the major style
        draw.lines("roads (darker = major)" if i == len(layers.network) - 1 else None, lines, style, zorder=1)
    if state in layers.flows:
        lines, widths, top = layers.flows[state]
        draw.lines(f"evacuation max-flow (width ∝ flow; widest {top:,.0f} persons/h)", lines,
                   LineStyle(FLOW_COLOUR, 6.0), zorder=2, widths=widths)
    if state == "baseline":
        draw.lines("routes that change (as before the damage)",
                   [line for change, lines in layers.changes.items() if change != "new" for line in lines],
                   ROUTES_BEFORE, zorder=3)
    else:
        for z, (change, (label, style)) in enumerate(CHANGE_STYLES.items()):
            draw.lines(label, layers.changes.get(change, []), style, zorder=3 + z)
        for effect, (label, style) in DAMAGE_STYLES.items():
            draw.lines(label, layers.damaged.get(effect, []), style, zorder=7)
        for effect, (marker, _, colour, label) in EFFECT_MARKERS.items():
            draw.points(label, layers.markers.get(effect, np.empty((0, 2))), marker=marker,
                        size=200 if zoom else 320, face=colour, edge="white", zorder=9)
    draw.points("places", layers.place_xy, marker="o", size=26, face=PLACE_COLOUR, edge="white", zorder=10,
                legend_size=5)
    if state == "damaged":
        draw.points("destination cut off", layers.cut_off_xy, marker="o", size=170, face="none", edge=BROKEN_COLOUR,
                    zorder=10, legend_size=10)


def _place_labels(ax: Axes, sources: Sources, state: str) -> list[Text]:
    p = sources.places
    cut = [state == "damaged" and n in sources.cut_off for n in p["name"]]
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
    """Extent and (main panels) a north arrow; no degree ticks (:func:`fit_limits` sets the true
    aspect once the layout is known, :func:`add_scale_bar` then draws the scale bar)."""
    x0, x1, y0, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.xaxis.set_visible(False)  # no ticks: nothing to lay out or draw
    ax.yaxis.set_visible(False)
    if not zoom:
        ax.annotate("N", xy=(0.965, 0.975), xytext=(0.965, 0.88), xycoords="axes fraction", ha="center",
                    va="top", fontsize=9, weight="bold", zorder=20,
                    arrowprops={"arrowstyle": "-|>,head_width=0.35,head_length=0.7", "color": "black",
                                "lw": 1.8, "shrinkA": 18, "shrinkB": 0, "patchA": None})


def scale_bar_metres(longest_m: float) -> float:
    """The longest round length (1, 2 or 5 x 10^k metres) not longer than ``longest_m`` (metres > 0)."""
    power = 10.0 ** math.floor(math.log10(longest_m))
    return max(step * power for step in (1, 2, 5) if step * power <= longest_m * (1 + 1e-9))


def scale_bar_label(metres: float) -> str:
    """``metres`` as a scale bar writes it: "500 m", "2 km", "50 km"."""
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def add_scale_bar(ax: Axes, *, zoom: bool = False) -> tuple[Rectangle, Text]:
    """A scale bar in the lower left corner of ``ax``, for its limits as set (call it after
    :func:`fit_limits`): a black bar of a round length (:func:`scale_bar_metres`; at most 20 % of
    the axes' width, 30 % in a zoom), that length written below it, on a translucent white box.
    A bar, a text and a box placed once, in axes fractions (matplotlib-scalebar, used before,
    re-packs and re-measures its boxes at every draw). Returns the bar and its label."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    width_m = (x1 - x0) * METRES_PER_DEGREE * cos_lat((y0 + y1) / 2)
    metres = scale_bar_metres((SCALE_BAR_ZOOM_SHARE if zoom else SCALE_BAR_SHARE) * width_m)
    fontsize = 6.0 if zoom else 8.0
    canvas = agg_canvas(ax.get_figure(root=True))
    frame = ax.get_window_extent()
    points = canvas.figure.dpi / 72  # pixels a point
    fx, fy = points / frame.width, points / frame.height  # axes fraction a point, in x and y
    margin, pad, gap = 0.3 * fontsize, 0.25 * fontsize, 0.4 * fontsize  # points
    label = ax.text(margin * fx + pad * fx, (margin + pad) * fy, scale_bar_label(metres), transform=ax.transAxes,
                    fontsize=fontsize, ha="center", va="bottom", zorder=16)
    text_box = label.get_window_extent(canvas.get_renderer())
    bar_w, bar_h = metres / width_m, max(SCALE_BAR_HEIGHT_SHARE, 2 / frame.height)  # axes fractions
    inner_w = max(bar_w, text_box.width / frame.width)
    left = (margin + pad) * fx
    label.set_x(left + inner_w / 2)
    bar_y = (margin + pad + gap) * fy + text_box.height / frame.height
    bar = Rectangle((left + (inner_w - bar_w) / 2, bar_y), bar_w, bar_h, transform=ax.transAxes, facecolor="black",
                    edgecolor="none", zorder=16)
    ax.add_patch(bar)
    ax.add_patch(Rectangle((margin * fx, margin * fy), inner_w + 2 * pad * fx, bar_y + bar_h + pad * fy - margin * fy,
                           transform=ax.transAxes, facecolor="white", alpha=0.75, edgecolor="none", zorder=15))
    return bar, label


def zoom_windows(sources: Sources, extent: tuple[float, float, float, float]
                 ) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(title, west-east-south-north window) of a zoom around each damaged asset small against the
    extent (at most ``MAX_ZOOMS``, in event order)."""
    x0, x1, y0, y1 = extent
    c = cos_lat((y0 + y1) / 2)
    span = max((x1 - x0) * c, y1 - y0)
    m = sources.markers
    if not len(m):
        return []
    size = np.maximum((m["maxx"] - m["minx"]) * c, m["maxy"] - m["miny"])
    out: list[tuple[str, tuple[float, float, float, float]]] = []
    for row in m[size < ZOOM_MAX_SHARE * span].head(MAX_ZOOMS).itertuples():
        half = max(1.5 * max((row.maxx - row.minx) * c, row.maxy - row.miny), ZOOM_MIN_SHARE * span)
        x, y = row.geometry.x, row.geometry.y
        out.append((f"{len(out) + 1} · {short_name(row.event)}", (x - half / c, x + half / c, y - half, y + half)))
    return out


@dataclass
class MapLegend:
    """A panel's legend: per entry, its handle (a short line, or a marker, as the map draws that
    feature) and its label."""

    handles: list[Line2D]
    texts: list[Text]

    def window_extent(self, renderer: Any) -> Bbox:
        """Its box, display pixels."""
        return Bbox.union([a.get_window_extent(renderer) for a in (*self.handles, *self.texts)])


def draw_legend(sf: SubFigure, above: Axes, handles: dict[str, Line2D]) -> MapLegend:
    """The legend of what the panel drew (and nothing else) in the rows :func:`lay_out` reserves
    for it: ``LEGEND_GAP_IN`` below the ``above`` axes (the lowest row of the panel), left-aligned
    with them, ``LEGEND_ROW_IN`` a row, two columns filled top to bottom (``handles``: label ->
    its handle, drawn here). Placed once, in inches: matplotlib's legend re-packs and re-measures
    its boxes at every draw (on the demo, nearly as long as drawing its texts)."""
    fig = sf.get_figure(root=True)
    assert fig is not None
    em = LEGEND_FONT_PT / 72  # inches
    handle_w, text_pad, column_gap = 2.4 * em, 0.8 * em, 2.0 * em
    frame = above.get_window_extent()
    left, top = frame.x0 / fig.dpi, frame.y0 / fig.dpi - LEGEND_GAP_IN  # inches from the figure's lower left
    rows = -(-len(handles) // 2)
    legend = MapLegend([], [])
    x = left
    entries = list(handles.items())
    for first, column in ((True, entries[:rows]), (False, entries[rows:])):
        for row, (label, handle) in enumerate(column):
            y = top - (row + 0.5) * LEGEND_ROW_IN
            marker_only = handle.get_linestyle() in ("None", "")
            handle.set_data([x + handle_w / 2] if marker_only else [x, x + handle_w], [y] * (1 if marker_only else 2))
            handle.set_transform(fig.dpi_scale_trans)
            sf.add_artist(handle)
            legend.handles.append(handle)
            legend.texts.append(sf.text(x + handle_w + text_pad, y, label, transform=fig.dpi_scale_trans,
                                        fontsize=LEGEND_FONT_PT, va="center", ha="left"))
        if first:  # the second column starts past the first one's widest label
            renderer = agg_canvas(fig).get_renderer()
            widest = max((t.get_window_extent(renderer).width / fig.dpi for t in legend.texts), default=0.0)
            x = left + handle_w + text_pad + widest + column_gap
    return legend


@contextmanager
def _layout_is_final(ax: Axes) -> Iterator[None]:
    """adjustText forces a full draw of the axes' figure before it starts, to be sure that text
    positions are current; ours are (:func:`lay_out` placed everything once), so that draw is skipped."""
    holder: Any = ax.figure  # the subfigure: adjustText calls its draw_without_rendering()
    holder.draw_without_rendering = lambda: None
    try:
        yield
    finally:
        del holder.draw_without_rendering


def spread_labels(ax: Axes, labels: list[Text]) -> list[Bbox]:
    """Move labels apart (adjustText), then :func:`settle_labels`; returns the shown labels' boxes."""
    if not labels:
        return []
    anchors = np.array([t.get_position() for t in labels], dtype=float)
    renderer = agg_canvas(ax.get_figure(root=True)).get_renderer()
    right_edge = ax.get_window_extent(renderer).x1
    for text in labels:  # a label running off the right edge is put on the left of its point instead
        if text.get_horizontalalignment() == "left" and text.get_window_extent(renderer).x1 > right_edge:
            text.set_horizontalalignment("right")
    with _layout_is_final(ax):
        adjust_text(labels, x=anchors[:, 0], y=anchors[:, 1], ax=ax, expand=(1.15, 1.3), ensure_inside_axes=True,
                    iter_lim=40, prevent_crossings=False)
    return settle_labels(ax, labels, anchors)


ZOOM_NUMBER_SPOTS = (("left", "bottom", 0, 1), ("right", "bottom", 1, 1), ("left", "top", 0, 0), ("right", "top", 1, 0))


def place_zoom_numbers(panels: list[Panel], windows: list[tuple[float, float, float, float]],
                       shown: list[list[Bbox]]) -> None:
    """Put each zoom frame's number, in every panel alike, at the first of its corners (above left,
    above right, below left, below right) where it covers no shown label (``shown``: the boxes of a
    panel's shown labels, display pixels, as :func:`settle_labels` returns them)."""
    renderer = agg_canvas(panels[0].ax.get_figure(root=True)).get_renderer()
    for i, (x0, x1, y0, y1) in enumerate(windows):
        for ha, va, right, top in (*ZOOM_NUMBER_SPOTS, ZOOM_NUMBER_SPOTS[0]):  # the first again if all cover one
            for p in panels:
                p.zoom_numbers[i].update({"position": (x1 if right else x0, y1 if top else y0),
                                          "horizontalalignment": ha, "verticalalignment": va})
            numbers = [p.zoom_numbers[i].get_window_extent(renderer) for p in panels]  # measured once a spot
            if not any(number.overlaps(box) for number, boxes in zip(numbers, shown) for box in boxes):
                break


def settle_labels(ax: Axes, labels: list[Text], anchors: np.ndarray) -> list[Bbox]:
    """Move each label back inside the axes if it is not, hide any label that overlaps an earlier
    one (event labels come first, then places), and draw a thin leader line from a label moved
    away to its point (``anchors``: one (x, y) a label, data coordinates); returns the boxes of the
    labels shown (display pixels)."""
    renderer = agg_canvas(ax.get_figure(root=True)).get_renderer()
    kept: list[Bbox] = []
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
    return kept


def lay_out(halves: list[SubFigure], panels: list[Panel], headings: list[Headings], main_h: float,
            legend_h: float) -> None:
    """Set the figure's height and place, identically in each half (a subfigure, its panel and
    its headings), from the top: the scenario name, the main map's title, the main map (``main_h``
    inches tall), the zooms' titles and the square zooms in a row, ``legend_h`` inches for the
    legend, the data notice in its box. One pass, in inches; the texts measured as drawn, the
    tallest of both halves sets each row's height, so both maps have the same size and scale."""
    fig = halves[0].get_figure(root=True)
    assert fig is not None
    renderer = agg_canvas(fig).get_renderer()
    dpi = fig.dpi

    def tallest(texts: Iterable[Text]) -> float:  # inches
        return max((t.get_window_extent(renderer).height / dpi for t in texts if t.get_text()), default=0.0)

    half_w = halves[0].bbox.width / dpi
    inner_w = half_w - 2 * MARGIN_IN
    n_zooms = len(panels[0].zooms)
    zoom_w = (inner_w - (MAX_ZOOMS - 1) * ZOOM_GAP_IN) / MAX_ZOOMS
    top_h = (MARGIN_IN + tallest(h.name for h in headings) + MARGIN_IN
             + tallest(h.title for h in headings) + TITLE_PAD_PT / 72)
    zooms_h = ZOOM_GAP_IN + tallest(t for h in headings for t in h.zoom_titles) + ZOOM_TITLE_PAD_PT / 72 + zoom_w
    notice_h = tallest(h.notice for h in headings) + 2 * NOTICE_PAD_PT / 72
    height = top_h + main_h + (zooms_h if n_zooms else 0.0) + LEGEND_GAP_IN + legend_h + notice_h + 2 * MARGIN_IN
    fig.set_size_inches(fig.get_figwidth(), height)

    def rect(left: float, bottom: float, width: float, tall: float) -> tuple[float, float, float, float]:
        return left / half_w, bottom / height, width / half_w, tall / height  # in the half's fractions

    main_bottom = height - top_h - main_h
    for p, h in zip(panels, headings):
        p.ax.set_position(rect(MARGIN_IN, main_bottom, inner_w, main_h))
        for i, zax in enumerate(p.zooms):
            zax.set_position(rect(MARGIN_IN + i * (zoom_w + ZOOM_GAP_IN), main_bottom - zooms_h, zoom_w, zoom_w))
        h.name.set_y(1 - MARGIN_IN / height)
        h.notice.set_y((MARGIN_IN + NOTICE_PAD_PT / 72) / height)


def draw_maps(result: ScenarioResult) -> MapFigure:
    """The before/after figure of ``result``, laid out and drawn once (see the module docstring)."""
    with matplotlib.rc_context(MAP_RC):  # text measured as write_maps draws it
        return _draw_maps(result)


def _draw_maps(result: ScenarioResult) -> MapFigure:
    markers = result.damage_markers_gdf()
    extent = map_extent(result, markers)
    sources = Sources.of(result, extent, markers)
    zooms = zoom_windows(sources, extent)
    layers = sources.layers()
    zoom_layers = [sources.layers(window) for _, window in zooms]  # shared by both panels
    x0, x1, y0, y1 = extent
    ratio = (y1 - y0) / ((x1 - x0) * cos_lat((y0 + y1) / 2))
    main_h = float(np.clip(PANEL_WIDTH_IN * ratio, 4.5, 10.5))
    fig = Figure(figsize=(2 * PANEL_WIDTH_IN, main_h), dpi=DPI, facecolor="white")  # not pyplot's: no figure
    FigureCanvasAgg(fig)  # manager, no redraw hook on each change; its height is set by lay_out
    halves = fig.subfigures(1, 2, wspace=0.02)
    assert isinstance(halves, np.ndarray)
    subfigs: dict[str, SubFigure] = dict(zip(("baseline", "damaged"), halves.ravel()))
    panels = {}
    headings: dict[str, Headings] = {}
    notice_colour = "#b00000" if result.schematic else "#333333"
    as_of = textwrap.fill(result.as_of_text(), 110)
    for state, sf in subfigs.items():
        ax = sf.add_axes((0, 0, 1, 1))  # placed by lay_out
        panel = panels[state] = Panel(ax, state)
        _draw_content(ax, layers, panel)
        decorate(ax, extent)
        zoom_titles = []
        for i, ((title, window), zoomed) in enumerate(zip(zooms, zoom_layers)):
            zax = sf.add_axes((0, 0, 1, 1))
            _draw_content(zax, zoomed, panel)
            decorate(zax, window, zoom=True)
            zoom_title = textwrap.fill(title + (" (before)" if state == "baseline" else ""), ZOOM_TITLE_CHARS)
            zoom_titles.append(zax.set_title(zoom_title, fontsize=7.5, loc="left", pad=ZOOM_TITLE_PAD_PT, y=1,
                                             va="bottom"))
            wx0, wx1, wy0, wy1 = window
            ax.add_patch(Rectangle((wx0, wy0), wx1 - wx0, wy1 - wy0, fill=False, edgecolor="#333333", lw=0.9,
                                   zorder=14))
            panel.zoom_numbers.append(ax.text(wx0, wy1, str(i + 1), fontsize=8, weight="bold", va="bottom",
                                              ha="left", zorder=14, path_effects=WHITE_HALO))
            panel.zooms.append(zax)
        panel.labels = (_event_labels(ax, markers) if state == "damaged" else []) + _place_labels(ax, sources, state)
        if state == "damaged" and len(markers):
            panel.markers = np.column_stack([markers.geometry.x, markers.geometry.y])
        title = "Before the damage" if state == "baseline" else "After the damage: what changed"
        headings[state] = Headings(
            name=sf.suptitle(textwrap.fill(result.scenario.name, TITLE_CHARS), fontsize=11, weight="bold", x=0.02,
                             ha="left", va="top"),
            title=ax.set_title(f"{title}\n{as_of}", fontsize=9, loc="left", pad=TITLE_PAD_PT, y=1, va="bottom"),
            zoom_titles=zoom_titles,
            notice=sf.supxlabel(result.data_notice, fontsize=8 if result.schematic else 7, color=notice_colour,
                                weight="bold" if result.schematic else "normal", va="bottom",
                                bbox={"facecolor": "#fff3f3" if result.schematic else "white",
                                      "edgecolor": notice_colour, "pad": NOTICE_PAD_PT}))
        for ax in (panel.ax, *panel.zooms):
            ax.patch.set_visible(False)  # white on the white figure: not painted (still the clip path of the content)
    rows = max(-(-len(p.handles) // 2) for p in panels.values())  # the same legend height in both halves
    lay_out(list(subfigs.values()), list(panels.values()), list(headings.values()), main_h, LEGEND_ROW_IN * (rows + 1))
    for state, panel in panels.items():
        panel.legend = draw_legend(subfigs[state], (panel.zooms or [panel.ax])[0], panel.handles)
    for panel in panels.values():
        fit_limits(panel.ax, extent)
        add_scale_bar(panel.ax)
        for zax, (_, window) in zip(panel.zooms, zooms):
            fit_limits(zax, window)
            add_scale_bar(zax, zoom=True)
    before, after = panels["baseline"], panels["damaged"]
    # the one label layout: the after panel's labels hold the before panel's
    shown_after = spread_labels(after.ax, after.labels)
    anchors = np.array([t.get_position() for t in before.labels], dtype=float).reshape(-1, 2)
    for text, placed in zip(before.labels, after.labels[len(after.labels) - len(before.labels):]):
        text.update({"position": placed.get_position(), "horizontalalignment": placed.get_horizontalalignment(),
                     "verticalalignment": placed.get_verticalalignment()})  # each place labelled as after
    shown_before = settle_labels(before.ax, before.labels, anchors)
    place_zoom_numbers([before, after], [window for _, window in zooms], [shown_before, shown_after])
    return MapFigure(fig, subfigs, panels, headings, extent)


def write_maps(result: ScenarioResult, folder: Path) -> list[Path]:
    """Write map_compare.png (both panels) and its halves map_before.png and map_after.png into
    ``folder`` (each atomically) from one rendering; returns the paths."""
    with matplotlib.rc_context(MAP_RC):
        drawn = _draw_maps(result)
        canvas = agg_canvas(drawn.figure)
        canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3]  # a view of the rendering; opaque: alpha left out
    height, width = pixels.shape[:2]
    paths = []
    crops = {"map_before.png": drawn.subfigures["baseline"], "map_after.png": drawn.subfigures["damaged"]}
    for name, sf in crops.items():
        (x0, y0), (x1, y1) = np.clip(np.round(sf.bbox.get_points()).astype(int), 0, [width, height])
        paths.append(_save(pixels[height - y1:height - y0, x0:x1], folder / name))
    paths.append(_save(pixels, folder / "map_compare.png"))
    return paths


def agg_canvas(fig: Figure | None) -> FigureCanvasAgg:
    """The figure's Agg canvas (this module draws with Agg only)."""
    assert fig is not None and isinstance(fig.canvas, FigureCanvasAgg)
    return fig.canvas


def _save(rgb: np.ndarray, path: Path) -> Path:
    """Write ``rgb`` (rows x columns x 3, uint8) as a PNG at ``DPI``, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(png_bytes(rgb, DPI))
    return path


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METRES_PER_INCH = 0.0254


def png_bytes(rgb: np.ndarray, dpi: float) -> bytes:
    """A PNG (8 bits a channel, RGB) of ``rgb`` (rows x columns x 3, uint8; a view will do) that
    records its ``dpi`` (dots per inch). Every row has filter type 0 (none), deflated by zlib-ng (the
    zlib format, several times faster than the stdlib's zlib) at ``PNG_LEVEL``: on maps (large areas
    of one colour, the same colours row after row) no larger than Pillow's files, which try all five
    filters on every row, for a fraction of the CPU time."""
    height, width, channels = rgb.shape
    if channels != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"png_bytes takes rows x columns x 3 uint8 pixels, not {rgb.shape} {rgb.dtype}")
    rows = np.empty((height, 1 + 3 * width), dtype=np.uint8)  # each row: its filter type, then its pixels
    rows[:, 0] = 0
    for channel in range(3):  # a plane at a time: a few times faster than copying 3-byte pixels from a view
        rows[:, 1 + channel::3] = rgb[..., channel]
    dots_per_metre = round(dpi / METRES_PER_INCH)
    return b"".join([
        PNG_SIGNATURE,
        _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),  # 8 bits, RGB, no interlace
        _png_chunk(b"pHYs", struct.pack(">IIB", dots_per_metre, dots_per_metre, 1)),  # unit 1: the metre
        _png_chunk(b"IDAT", zlib_ng.compress(rows.data, PNG_LEVEL)),
        _png_chunk(b"IEND", b""),
    ])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: length, ``kind``, ``data``, CRC-32 of kind and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib_ng.crc32(data, zlib_ng.crc32(kind)))
