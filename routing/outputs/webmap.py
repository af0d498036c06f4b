"""Interactive before/after map (folium/Leaflet HTML) that renders without internet access.

The map is one self-contained HTML file. Leaflet's JavaScript and CSS (with its images as
``data:`` URIs) are inlined from the ``xstatic-leaflet`` package on PyPI (Leaflet 1.9.3, the
version folium 0.20 pins; BSD-2-Clause, its copyright header is kept). folium's other CDN assets
(jQuery, Bootstrap, Font Awesome, awesome-markers) are not included: this map uses only Leaflet
vector layers, circle markers, popups, tooltips and the layer control, which need none of them.
The background tile layer is the only thing fetched from the internet; without it the vector
layers still draw.

Layers (each toggleable in the layer control, see ``LAYERS``): "Network" (by road class),
"Evacuation flow before/after" (when the capacity analysis ran), "What changed" (the parts of the
routes that change: new solid, lost dashed, unchanged quiet; shown), "Routes before" and "Routes
after" (whole routes of the pairs that change, with their figures; hidden), "Evacuation routes
before/after" (hidden), "Destroyed / closed" and "Degraded / restricted" (large labelled markers,
the same size at every zoom, and the damaged roads) and "Places" (popups: snapping, whether an
evacuation destination is cut off and by what). The map opens fitted to the places and the damage
(the extent of the PNG maps); a title box states the scenario, its as-of date and how many events
were applied, the data notice and a colour key.
"""

from __future__ import annotations

import base64
import html
import logging
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

import folium
import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template
from shapely.geometry import Point, mapping

from ..errors import RoutingError
from ..files import atomic_path
from ..network import EdgeKey, data_notice, edge_line, road_label, tag_text
from ..results import ScenarioResult
from .access import add_access_layers
from .style import (
    AFTER_COLOUR,
    BEFORE_COLOUR,
    BROKEN_COLOUR,
    DEGRADED_COLOUR,
    EFFECT_MARKERS,
    EVAC_COLOUR,
    FLOW_COLOUR,
    PLACE_COLOUR,
    UNCHANGED_COLOUR,
    event_caption,
    map_extent,
    one_direction,
    road_tier,
    short_name,
)

log = logging.getLogger(__name__)

NETWORK_MAX_EDGES = 40_000  # above this the grey "Network" layer is left out by default (file size)
COORD_DECIMALS = 5  # ~1 m: keeps the HTML small
LEAFLET_PACKAGE = "xstatic.pkg.leaflet"  # PyPI: xstatic-leaflet

LAYERS = {  # in the layer control's order, bottom to top of the drawing
    "network": "Network",
    "flow_before": "Evacuation flow before",
    "flow_after": "Evacuation flow after",
    "changes": "What changed",
    "routes_before": "Routes before",
    "routes_after": "Routes after",
    "evac_before": "Evacuation routes before",
    "evac_after": "Evacuation routes after",
    "destroyed": "Destroyed / closed",
    "degraded": "Degraded / restricted",
    "places": "Places",
}
MARKER_PX = 30  # damage markers: a fixed size on screen, so visible at every zoom
FIT_PADDING_TOP_LEFT = (40, 30)  # pixels kept free when the map opens: zoom buttons
FIT_PADDING_BOTTOM_RIGHT = (250, 150)  # the layer list (right) and the title box (bottom)


# ------------------------------------------------------------------ offline Leaflet
@lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's (JavaScript, CSS) from the xstatic-leaflet package, CSS images inlined as data URIs."""
    try:
        data = resources.files(LEAFLET_PACKAGE).joinpath("data")
        js = data.joinpath("leaflet.js").read_text(encoding="utf-8")
        css = data.joinpath("leaflet.css").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise RoutingError("the interactive map needs Leaflet from the 'xstatic-leaflet' package: "
                           "pip install xstatic-leaflet") from exc

    def data_uri(match: re.Match) -> str:
        png = data.joinpath("images", match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"

    js = re.sub(r"^//# sourceMappingURL=.*$", "", js, flags=re.MULTILINE)
    return js, re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, css)


def _root(m: folium.Map) -> Figure:
    """The HTML document a map renders into."""
    return cast(Figure, m.get_root())


class OfflineMap(folium.Map):
    """A ``folium.Map`` whose HTML carries Leaflet inline and links no CDN."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_js, self.default_css = [], []  # no CDN links
        js, css = leaflet_assets()
        _root(self).header.add_child(Element(f"<style>{css}</style>\n<script>{js}</script>"),
                                         name="leaflet_inline")


# ------------------------------------------------------------------ features
def _rounded(geom: Any) -> dict[str, Any]:
    """GeoJSON geometry with coordinates rounded to ``COORD_DECIMALS``."""
    return mapping(shapely.transform(geom, lambda c: np.round(c, COORD_DECIMALS)))


def _collection(rows: list[tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
    """GeoJSON FeatureCollection; text properties are HTML-escaped (popups and tooltips render HTML)."""
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": _rounded(g),
                          "properties": {k: html.escape(v) if isinstance(v, str) else v for k, v in p.items()}}
                         for g, p in rows]}


def _permanent_label(css_class: str, direction: str) -> folium.JsCode:
    offset = {"right": "[8, 0]", "top": f"[0, -{MARKER_PX // 2}]"}[direction]
    return folium.JsCode(
        "function(feature, layer) { layer.bindTooltip(feature.properties.label,"
        f" {{permanent: true, direction: '{direction}', offset: {offset}, className: '{css_class}'}}); }}")


LABEL_CSS = (".leaflet-tooltip.routing-label { padding: 0 4px; font: 11px/1.4 sans-serif; "
             "background: rgba(255,255,255,0.85); box-shadow: none; } "
             ".leaflet-tooltip.routing-damage { padding: 1px 5px; font: bold 12px/1.4 sans-serif; color: #b00000; "
             "background: rgba(255,255,255,0.92); border: 1px solid #b00000; }")
# Permanent labels must not cover a damage marker or each other. Damage labels (above their marker
# by default) try below, right and left of it; place labels (right) try left, above and below; a label that fits
# nowhere is hidden until zooming in separates it. Runs when the map opens and after each zoom or
# layer change. ``MARKER`` is MARKER_PX.
DECLUTTER_JS = """
{
  function rect(el) { return el.getBoundingClientRect(); }
  function meets(r, k) {  // with a 2-pixel margin
    return r.left < k.right + 2 && k.left < r.right + 2 && r.top < k.bottom + 2 && k.top < r.bottom + 2; }
  function declutter() {
    var kept = Array.from(document.querySelectorAll('.routing-damage-marker')).map(rect);
    function place(el, shifts) {
      el.style.visibility = '';
      for (var i = 0; i < shifts.length; i++) {
        el.style.marginLeft = shifts[i][0] + 'px';
        el.style.marginTop = shifts[i][1] + 'px';
        var r = rect(el);
        if (!kept.some(function (k) { return meets(r, k); })) { kept.push(r); return; }
      }
      el.style.marginLeft = el.style.marginTop = '';
      el.style.visibility = 'hidden';
    }
    document.querySelectorAll('.leaflet-tooltip.routing-damage').forEach(function (el) {
      var w = el.offsetWidth, h = el.offsetHeight;
      place(el, [[0, 0], [0, h + MARKER + 8], [w / 2 + MARKER / 2 + 4, h / 2 + MARKER / 2],
                 [-(w / 2 + MARKER / 2 + 4), h / 2 + MARKER / 2]]);
    });
    document.querySelectorAll('.leaflet-tooltip.routing-label').forEach(function (el) {
      var w = el.offsetWidth, h = el.offsetHeight;
      place(el, [[0, 0], [-(w + 24), 0], [-(w / 2 + 12), -(h + 4)], [-(w / 2 + 12), h + 4],
                 [0, -(h / 2 + 6)], [0, h / 2 + 6], [-(w + 24), -(h / 2 + 6)], [-(w + 24), h / 2 + 6]]);
    });
    document.body.dataset.decluttered = String(Number(document.body.dataset.decluttered || 0) + 1);
  }
  MAP.on('zoomend moveend overlayadd overlayremove', declutter);
  setTimeout(declutter, 0);
}
""".replace("MARKER", str(MARKER_PX))


class Declutter(MacroElement):
    """Runs ``DECLUTTER_JS`` on its map (rendered after the map exists)."""

    _template = Template("{% macro script(this, kwargs) %}"
                         "(function (MAP) {{ this.js }})({{ this._parent.get_name() }});"
                         "{% endmacro %}")
    js = DECLUTTER_JS
STYLE_PROPERTIES = ("color", "weight", "dashArray", "opacity")  # a feature's own style overrides its layer's


def _geojson(layer: folium.FeatureGroup, rows: list[tuple[Any, dict[str, Any]]], style: dict[str, Any],
             fields: dict[str, str], *, marker: folium.CircleMarker | folium.Marker | None = None,
             labels: bool = False, label_class: str = "routing-label", label_side: str = "right") -> None:
    """Add features as one GeoJson to ``layer``, with popups listing ``fields`` (property -> label).

    Each feature's ``label`` property is its tooltip (always shown, on ``label_side`` with CSS class
    ``label_class``, when ``labels``); ``STYLE_PROPERTIES`` among its properties override ``style``; points are
    drawn as ``marker``. Popups and tooltips are built by Leaflet in the page (folium's ``Popup``
    would need jQuery).
    """
    folium.GeoJson(
        _collection(rows), control=False, marker=marker,
        style_function=lambda f: {**style, **{k: f["properties"][k] for k in STYLE_PROPERTIES
                                             if k in f["properties"]}},
        popup=folium.GeoJsonPopup(fields=list(fields), aliases=list(fields.values()), localize=True),
        tooltip=None if labels else folium.GeoJsonTooltip(fields=["label"], labels=False),
        on_each_feature=_permanent_label(label_class, label_side) if labels else None,
    ).add_to(layer)


def _fmt(value: float, unit: str) -> str:
    """'12.3 min', or a dash when not reachable."""
    return f"{value:,.1f} {unit}" if np.isfinite(value) else "—"


def _network_rows(result: ScenarioResult) -> list[tuple[Any, dict[str, Any]]]:
    """Every road once (the two directions of a two-way road share one line), styled by class."""
    rows = []
    for r in one_direction(result.edges_gdf()).itertuples(index=False):
        _, colour, width = road_tier(r.highway)
        rows.append((r.geometry, {"label": " ".join(x for x in (r.ref, r.name) if x) or r.highway,
                                  "osmid": r.osmid, "name": r.name, "ref": r.ref, "highway": r.highway,
                                  "color": colour, "weight": round(width * 1.5, 1)}))
    return rows


def _route_rows(routes: gpd.GeoDataFrame, od_status: dict[tuple[str, str], str]) -> list[tuple[Any, dict]]:
    """Routes from ``routes_gdf()``; alternatives (rank > 1) thinner."""
    rows = []
    for r in routes.itertuples():
        label = f"{r.origin} → {r.destination}" + (f" (route {r.rank})" if r.rank > 1 else "")
        rows.append((r.geometry, {"label": label,
                                  "origin": r.origin, "destination": r.destination, "rank": int(r.rank),
                                  "minutes": _fmt(r.minutes, "min"), "km": _fmt(r.km, "km"),
                                  "status": od_status.get((r.origin, r.destination), ""), "assets": r.assets or "—",
                                  "weight": 4 if r.rank == 1 else 2}))
    return rows


CHANGES = {  # route_changes_gdf()["change"] -> tooltip, style
    "unchanged": ("route part that stays the same", {"color": UNCHANGED_COLOUR, "weight": 3}),
    "lost": ("route part lost (as before the damage)", {"color": BEFORE_COLOUR, "weight": 3, "dashArray": "7 5"}),
    "new": ("route part new after the damage", {"color": AFTER_COLOUR, "weight": 5}),
}


def _change_rows(result: ScenarioResult) -> list[tuple[Any, dict[str, Any]]]:
    """The parts of the routes that change: new, lost, unchanged (as on the PNG 'after' panel)."""
    rows = []
    for r in one_direction(result.route_changes_gdf(), by="change").itertuples(index=False):
        text, style = CHANGES[r.change]
        rows.append((r.geometry, {"label": text, "change": text, "routes": int(r.routes), **style}))
    return sorted(rows, key=lambda row: list(CHANGES).index(next(k for k, v in CHANGES.items()
                                                                  if v[0] == row[1]["change"])))


def _flow_rows(result: ScenarioResult, state: str) -> list[tuple[Any, dict[str, Any]]]:
    """Edges carrying evacuation max-flow, width proportional to the flow (as on the PNG maps)."""
    rows = []
    for r in result.flow_gdf(state).itertuples(index=False):
        vph, cap = float(r.flow_vph), float(r.capacity_vph)
        rows.append((r.geometry, {
            "label": f"{vph:,.0f} veh/h", "flow": f"{vph:,.0f} veh/h",
            "persons": f"{r.flow_persons_per_hour:,.0f} persons/h", "capacity": f"{cap:,.0f} veh/h",
            "use": f"{100 * vph / cap:.0f} %" if cap else "—", "weight": round(r.width, 1)}))
    return rows


def _event_text(result: ScenarioResult, name: str) -> str:
    """'2024-12-06 destroy: Rastan bridge (...) — note' for an event's name."""
    for o in result.applied_events:
        if result.event_label(o) == name:
            text = f"{o.event.date} " if o.event.date else ""
            text += f"{o.event.action}: {name}"
            return f"{text} — {o.event.note}" if o.event.note and o.event.note != name else text
    return name


def _damage_rows(result: ScenarioResult, damaged: gpd.GeoDataFrame) -> list[tuple[Any, dict[str, Any]]]:
    """Removed, degraded or restricted edges with OSM way id, name, ref and the event that hit them."""
    return [(r.geometry, {"label": f"{r.effect}: {r.ref or r.name or r.highway}", "osmid": r.osmid,
                          "name": r.name or "—", "ref": r.ref or "—", "highway": r.highway,
                          "bridge": r.bridge or "—",
                          "effect": r.effect if r.effect == "removed" else
                          f"restricted: {r.restriction}" if r.effect == "restricted" else
                          f"speed ×{r.speed_factor:g}, capacity ×{r.capacity_factor:g}",
                          "event": _event_text(result, r.event_name)}) for r in damaged.itertuples()]


def _marker_rows(result: ScenarioResult, markers: gpd.GeoDataFrame) -> list[tuple[Any, dict[str, Any]]]:
    """One labelled marker per event and place it damaged (``damage_markers_gdf()``)."""
    return [(r.geometry, {"label": event_caption(short_name(r.event), r.effect, width=60).replace("\n", " "),
                          "event": _event_text(result, r.event), "effect": r.effect,
                          "matched": f"{r.edges} road segments, {r.nodes} nodes"})
            for r in markers.itertuples()]


def _closed_node_rows(result: ScenarioResult) -> list[tuple[Any, dict[str, Any]]]:
    """Closed nodes (border posts, junctions) with their OSM id, name, barrier and event."""
    return [(r.geometry, {"label": f"closed: {r.name or r.node}", "osmid": r.osmid, "name": r.name or "—",
                          "barrier": r.barrier or "—",
                          "event": "; ".join(_event_text(result, n) for n in r.event_names) or "—"})
            for r in result.closed_nodes_gdf().itertuples(index=False)]


def _place_rows(result: ScenarioResult) -> list[tuple[Any, dict[str, Any]]]:
    """Places with their snapping and, for evacuation destinations, whether (and by what) they are
    cut off; the evacuation origin and destinations first (their labels win where labels collide)."""
    evac = result.evacuation.set_index("destination") if result.evacuation is not None else None
    spec = result.scenario.evacuation
    first = [spec.origin, *spec.destinations] if spec else []
    places = result.places_gdf()
    places = places.iloc[sorted(range(len(places)), key=lambda i: (places["name"].iloc[i] not in first, i))]
    rows = []
    for p in places.itertuples():
        after = "—"
        if evac is not None and p.name in evac.index:
            e = evac.loc[p.name]
            after = (f"reachable: {_fmt(e['damaged_min'], 'min')}" if e["damaged_reachable"]
                     else f"cut off by {e['cut_by']}" if e["cut_by"] else "not reachable")
        rows.append((p.geometry, {"label": p.name, "name": p.name, "kind": str(p.kind), "node": str(p.node),
                                  "snapped": f"{p.snap_m:,.0f} m", "evacuation": after}))
    return rows


# ------------------------------------------------------------------ map
def _notice_box(result: ScenarioResult) -> Element:
    """Title, as-of line, data notice (a red SCHEMATIC box on the schematic network) and colour key."""
    colour, bg = ("#b00000", "#fff3f3") if result.schematic else ("#333", "rgba(255,255,255,0.92)")

    def swatch(c: str, dashed: bool = False) -> str:
        line = f"border-top:4px {'dashed' if dashed else 'solid'} {c}"
        return f"<span style='display:inline-block;width:16px;{line};vertical-align:middle;margin:0 3px 0 8px'></span>"

    key = "".join(f"{swatch(c, d)}{html.escape(n)}" for c, n, d in (
        (BEFORE_COLOUR, "route lost", True), (AFTER_COLOUR, "route new", False),
        (UNCHANGED_COLOUR, "route unchanged", False), (EVAC_COLOUR, "evacuation flow", False),
        (BROKEN_COLOUR, "destroyed / closed", False), (DEGRADED_COLOUR, "degraded / restricted", False)))
    notice = html.escape(result.data_notice if result.schematic else f"Data: {result.data_notice}")
    return Element(
        f"<div id='routing-notice' class='routing-notice{' schematic' if result.schematic else ''}' "
        f"style='position:fixed;bottom:52px;left:10px;z-index:1000;max-width:46%;padding:6px 9px;"
        f"font:12px/1.35 sans-serif;background:{bg};border:2px solid {colour};border-radius:4px'>"
        f"<b>{html.escape(result.scenario.name)}</b><br>"
        f"<span id='routing-as-of'>{html.escape(result.as_of_text())}</span><br>"
        f"<span style='color:{colour};font-weight:{'bold' if result.schematic else 'normal'}'>"
        f"{notice}</span><br><span style='font-size:11px'>{key}</span></div>")


def _damage_icon(effect: str) -> folium.DivIcon:
    """A round marker of ``MARKER_PX`` pixels with the effect's symbol (the same size at every zoom)."""
    _, symbol, colour, _ = EFFECT_MARKERS[effect]
    return folium.DivIcon(
        html=(f"<div class='routing-damage-marker' title='{html.escape(effect)}' style='width:{MARKER_PX - 4}px;"
              f"height:{MARKER_PX - 4}px;border-radius:50%;background:{colour};border:2px solid white;"
              f"box-shadow:0 0 4px rgba(0,0,0,0.6);color:white;font:bold 16px/{MARKER_PX - 4}px sans-serif;"
              f"text-align:center'>{symbol}</div>"),
        icon_size=(MARKER_PX, MARKER_PX), icon_anchor=(MARKER_PX // 2, MARKER_PX // 2), class_name="routing-damage")


def web_map(result: ScenarioResult, *, network: bool | None = None,
            tiles: str | None = "OpenStreetMap") -> folium.Map:
    """The interactive before/after map of ``result`` (display it in Jupyter, or ``.save()`` it).

    Opens fitted to the places and the damage. OD routes are drawn for the pairs whose route
    changed (the OD table has all pairs). ``network`` draws every road by class (default: when
    the graph has at most ``NETWORK_MAX_EDGES`` edges). ``tiles`` is a folium tile name for the
    background (fetched online when the map is viewed), or None for none; the vector layers
    never depend on it.
    """
    G = result.graph
    markers = result.damage_markers_gdf()
    west, east, south, north = map_extent(result, markers)
    m = OfflineMap(location=[(south + north) / 2, (west + east) / 2], zoom_start=8, tiles=None, control_scale=True,
                   zoom_snap=0.1, zoom_delta=0.5)  # fractional zoom: the view fits the places closely
    if tiles:
        folium.TileLayer(tiles, name=f"{tiles} tiles (online)").add_to(m)
    m.fit_bounds([[south, west], [north, east]], padding_top_left=FIT_PADDING_TOP_LEFT,
                 padding_bottom_right=FIT_PADDING_BOTTOM_RIGHT)

    def layer(key: str, show: bool = True) -> folium.FeatureGroup:
        group = folium.FeatureGroup(name=LAYERS[key], show=show)
        group.add_to(m)
        return group

    # drawn bottom to top: network, flows, routes, damage, places
    if network if network is not None else G.number_of_edges() <= NETWORK_MAX_EDGES:
        _geojson(layer("network"), _network_rows(result), {"opacity": 0.9},
                 {"osmid": result.way_id_heading, "name": "name", "ref": "ref", "highway": "highway"})
    elif network is None:
        log.info("web map: %d edges, the 'Network' layer is left out", G.number_of_edges())

    for key, state in (("flow_before", "baseline"), ("flow_after", "damaged")):
        if (result.evacuation_capacity or {}).get(state) is not None and (rows := _flow_rows(result, state)):
            _geojson(layer(key, show=state == "damaged"), rows, {"color": FLOW_COLOUR, "opacity": 0.9},
                     {"flow": "evacuation flow", "persons": "persons", "capacity": "capacity",
                      "use": "capacity used"})

    if rows := _change_rows(result):
        _geojson(layer("changes"), rows, {"opacity": 0.9}, {"change": "route part", "routes": "routes using it"})
    od_status = dict(zip(zip(result.od["origin"], result.od["destination"]), result.od["status"]))
    changed = {k for k, s in od_status.items() if s != "unchanged"}
    routes = result.routes_gdf()
    for key, state, colour in (("routes_before", "baseline", BEFORE_COLOUR), ("routes_after", "damaged", AFTER_COLOUR)):
        sel = routes[(routes["kind"] == "od") & (routes["state"] == state)] if len(routes) else routes
        sel = sel[[(o, d) in changed for o, d in zip(sel["origin"], sel["destination"])]] if len(sel) else sel
        if len(sel):
            _geojson(layer(key, show=False), _route_rows(sel, od_status), {"color": colour, "opacity": 0.75},
                     {"origin": "from", "destination": "to", "minutes": "time", "km": "distance",
                      "status": "status", "assets": "assets used"})
    for key, state in (("evac_before", "baseline"), ("evac_after", "damaged")):
        sel = routes[(routes["kind"] == "evacuation") & (routes["state"] == state)] if len(routes) else routes
        if len(sel):
            _geojson(layer(key, show=False), _route_rows(sel, {}),
                     {"color": EVAC_COLOUR, "opacity": 0.8, "dashArray": "8 5"},
                     {"destination": "to", "rank": "route", "minutes": "time", "km": "distance",
                      "assets": "assets used"})

    damaged = result.damaged_edges_gdf()
    damage_fields = {"osmid": result.way_id_heading, "name": "name", "ref": "ref", "highway": "highway",
                     "bridge": "bridge", "effect": "effect", "event": "event"}
    marker_fields = {"event": "event", "effect": "effect", "matched": "matched"}
    for key, effects, colour, kinds in (
            ("destroyed", ("destroyed", "closed", "area denied"), BROKEN_COLOUR, ("removed",)),
            ("degraded", ("degraded", "restricted"), DEGRADED_COLOUR, ("degraded", "restricted"))):
        lines = damaged[damaged["effect"].isin(kinds) & ~damaged["by_closed_node"]] if len(damaged) else damaged
        points = markers[markers["effect"].isin(effects)] if len(markers) else markers
        if not len(lines) and not len(points):
            continue
        group = layer(key)
        if len(lines):
            _geojson(group, _damage_rows(result, lines), {"color": colour, "weight": 6, "opacity": 0.9}, damage_fields)
        if key == "destroyed" and (rows := _closed_node_rows(result)):
            _geojson(group, rows, {"color": "white", "weight": 2, "fill": True, "fillColor": colour, "fillOpacity": 1},
                     {"osmid": "OSM node", "name": "name", "barrier": "barrier", "event": "event"},
                     marker=folium.CircleMarker(radius=6))
        for effect in effects:
            sel = points[points["effect"] == effect] if len(points) else points
            if len(sel):
                _geojson(group, _marker_rows(result, sel), {}, marker_fields,
                         marker=folium.Marker(icon=_damage_icon(effect)), labels=True, label_class="routing-damage",
                         label_side="top")

    add_access_layers(m, result)
    if rows := _place_rows(result):  # a scenario with only an [access] table has no places
        _geojson(layer("places"), rows,
                 {"color": "white", "weight": 1.5, "fill": True, "fillColor": PLACE_COLOUR, "fillOpacity": 1},
                 {"name": "place", "kind": "kind", "node": "graph node", "snapped": "snapped to the network",
                  "evacuation": "after the damage"},
                 marker=folium.CircleMarker(radius=5), labels=True)

    _root(m).header.add_child(Element(f"<style>{LABEL_CSS}</style>"), name="routing_css")
    m.add_child(Declutter(), name="routing_declutter")
    _root(m).html.add_child(_notice_box(result), name="routing_notice")
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def write_web_map(result: ScenarioResult, path: str | Path, **options: Any) -> Path:
    """Write the interactive map (self-contained HTML) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(web_map(result, **options).get_root().render(), encoding="utf-8")
    return path


SELECTION_COLOURS = ("#d62728", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def write_selection_map(G: nx.MultiDiGraph, matches: Mapping[str, tuple[Iterable[EdgeKey], Iterable[int]]],
                        path: str | Path) -> Path:
    """An interactive map of what selectors matched (``routing validate --map``): one toggleable
    layer per match (name -> (edges, nodes)), its roads thick and its nodes as circles, over the
    network; opens fitted to the matches. Written atomically; returns the path."""
    geoms = {name: ([edge_line(G, e) for e in edges], [(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes])
             for name, (edges, nodes) in matches.items()}
    xs = [c[0] for lines, points in geoms.values() for g in lines for c in g.coords] + [
        x for _, points in geoms.values() for x, _ in points]
    ys = [c[1] for lines, points in geoms.values() for g in lines for c in g.coords] + [
        y for _, points in geoms.values() for _, y in points]
    if not xs:
        xs = [d["x"] for _, d in G.nodes(data=True)]
        ys = [d["y"] for _, d in G.nodes(data=True)]
    m = OfflineMap(location=[(min(ys) + max(ys)) / 2, (min(xs) + max(xs)) / 2], zoom_start=10, tiles=None,
                   control_scale=True, zoom_snap=0.1)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap tiles (online)").add_to(m)
    m.fit_bounds([[min(ys), min(xs)], [max(ys), max(xs)]], padding=(40, 40))
    if G.number_of_edges() <= NETWORK_MAX_EDGES:
        group = folium.FeatureGroup(name="Network")
        group.add_to(m)
        rows = [(edge_line(G, (u, v, k)), {"label": road_label(d), "highway": tag_text(d.get("highway")) or "",
                                             "color": road_tier(tag_text(d.get("highway"), ";") or "")[1]})
                for u, v, k, d in G.edges(keys=True, data=True) if u <= v or not G.has_edge(v, u)]
        _geojson(group, rows, {"weight": 1.5, "opacity": 0.8}, {"label": "road", "highway": "highway"})
    for i, (name, (lines, points)) in enumerate(geoms.items()):
        colour = SELECTION_COLOURS[i % len(SELECTION_COLOURS)]
        group = folium.FeatureGroup(name=html.escape(name))
        group.add_to(m)
        if lines:
            _geojson(group, [(g, {"label": name}) for g in lines], {"color": colour, "weight": 6, "opacity": 0.85},
                     {"label": "matched by"})
        if points:
            _geojson(group, [(Point(p), {"label": name}) for p in points],
                     {"color": "white", "weight": 2, "fill": True, "fillColor": colour, "fillOpacity": 1},
                     {"label": "matched by"}, marker=folium.CircleMarker(radius=8))
    notice = html.escape(G.graph.get("data_notice") or data_notice(G))
    _root(m).html.add_child(Element(
        "<div id='routing-notice' style='position:fixed;bottom:52px;left:10px;z-index:1000;max-width:46%;"
        "padding:6px 9px;font:12px/1.35 sans-serif;background:rgba(255,255,255,0.92);border:2px solid #333;"
        f"border-radius:4px'><b>What the selectors match</b><br>{notice}</div>"), name="routing_notice")
    _root(m).header.add_child(Element(f"<style>{LABEL_CSS}</style>"), name="routing_css")
    folium.LayerControl(collapsed=False).add_to(m)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(m.get_root().render(), encoding="utf-8")
    return path
