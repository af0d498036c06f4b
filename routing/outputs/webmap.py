"""Interactive before/after map (folium/Leaflet HTML) that renders without internet access.

The map is one self-contained HTML file. Leaflet's JavaScript and CSS (with its images as
``data:`` URIs) are inlined from the ``xstatic-leaflet`` package on PyPI (Leaflet 1.9.3, the
version folium 0.20 pins; BSD-2-Clause, its copyright header is kept). folium's other CDN assets
(jQuery, Bootstrap, Font Awesome, awesome-markers) are not included: this map uses only Leaflet
vector layers, circle markers, popups, tooltips and the layer control, which need none of them.
The background tile layer is the only thing fetched from the internet; without it the vector
layers still draw.

Layers (each toggleable in the layer control, see ``LAYERS``): "Network", "Evacuation flow
before/after" (when the capacity analysis ran), "Routes before", "Routes after", "Evacuation
routes before/after" (when the scenario has an evacuation), "Destroyed / closed", "Degraded"
(when something was degraded) and "Places".
"""

from __future__ import annotations

import base64
import html
import logging
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, Figure
from shapely.geometry import mapping

from ..errors import RoutingError
from ..files import atomic_path
from ..results import ScenarioResult
from .access import add_access_layers
from .maps import AFTER_COLOUR, BASE_COLOUR, BROKEN_COLOUR, EVAC_COLOUR

log = logging.getLogger(__name__)

NETWORK_COLOUR, DEGRADED_COLOUR, PLACE_COLOUR = "#8c8c8c", "#9467bd", "#222222"
NETWORK_MAX_EDGES = 40_000  # above this the grey "Network" layer is left out by default (file size)
COORD_DECIMALS = 5  # ~1 m: keeps the HTML small
LEAFLET_PACKAGE = "xstatic.pkg.leaflet"  # PyPI: xstatic-leaflet

LAYERS = {  # in the layer control's order, bottom to top of the drawing
    "network": "Network",
    "flow_before": "Evacuation flow before",
    "flow_after": "Evacuation flow after",
    "routes_before": "Routes before",
    "routes_after": "Routes after",
    "evac_before": "Evacuation routes before",
    "evac_after": "Evacuation routes after",
    "destroyed": "Destroyed / closed",
    "degraded": "Degraded",
    "places": "Places",
}


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


PERMANENT_LABEL = folium.JsCode(
    "function(feature, layer) { layer.bindTooltip(feature.properties.label,"
    " {permanent: true, direction: 'right', className: 'routing-label'}); }")
LABEL_CSS = (".leaflet-tooltip.routing-label { padding: 0 4px; font: 11px/1.4 sans-serif; "
             "background: rgba(255,255,255,0.85); box-shadow: none; }")


def _geojson(layer: folium.FeatureGroup, rows: list[tuple[Any, dict[str, Any]]], style: dict[str, Any],
             fields: dict[str, str], *, marker: folium.CircleMarker | None = None, labels: bool = False) -> None:
    """Add features as one GeoJson to ``layer``, with popups listing ``fields`` (property -> label).

    Each feature's ``label`` property is its tooltip (always shown when ``labels``); a ``weight``
    property overrides the style's line width; points are drawn as ``marker``. Popups and
    tooltips are built by Leaflet in the page (folium's ``Popup`` would need jQuery).
    """
    folium.GeoJson(
        _collection(rows), control=False, marker=marker,
        style_function=lambda f: {**style, **({"weight": f["properties"]["weight"]}
                                             if "weight" in f["properties"] else {})},
        popup=folium.GeoJsonPopup(fields=list(fields), aliases=list(fields.values()), localize=True),
        tooltip=None if labels else folium.GeoJsonTooltip(fields=["label"], labels=False),
        on_each_feature=PERMANENT_LABEL if labels else None,
    ).add_to(layer)


def _event_text(result: ScenarioResult, cause: str) -> str:
    """'2024-12-06 destroy: Rastan bridge (...) — note' for a damage cause tag 'destroy: rastan_bridge'."""
    for o in result.events:
        if f"{o.event.action}: {o.event.label}" == cause:
            target = result.asset_labels.get(o.event.label, o.event.label)
            text = f"{o.event.action}: {target}"
            if o.event.date:
                text = f"{o.event.date} {text}"
            return f"{text} — {o.event.note}" if o.event.note and o.event.note != o.event.label else text
    return cause


def _fmt(value: float, unit: str) -> str:
    """'12.3 min', or a dash when not reachable."""
    return f"{value:,.1f} {unit}" if np.isfinite(value) else "—"


def _network_rows(result: ScenarioResult) -> list[tuple[Any, dict[str, Any]]]:
    """Every road once (the two directions of a two-way road share one line)."""
    rows, seen = [], set()
    for r in result.edges_gdf().itertuples(index=False):
        coords = tuple(np.round(np.asarray(r.geometry.coords), COORD_DECIMALS).ravel())
        rev = tuple(np.round(np.asarray(r.geometry.coords)[::-1], COORD_DECIMALS).ravel())
        if min(coords, rev) in seen:
            continue
        seen.add(min(coords, rev))
        rows.append((r.geometry, {"label": " ".join(x for x in (r.ref, r.name) if x) or r.highway,
                                  "osmid": r.osmid, "name": r.name, "ref": r.ref, "highway": r.highway}))
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


def _damage_rows(result: ScenarioResult, damaged: gpd.GeoDataFrame) -> list[tuple[Any, dict[str, Any]]]:
    """Removed or degraded edges with OSM way id, name, ref and the event that hit them."""
    return [(r.geometry, {"label": f"{r.effect}: {r.ref or r.name or r.highway}", "osmid": r.osmid,
                          "name": r.name or "—", "ref": r.ref or "—", "highway": r.highway,
                          "bridge": r.bridge or "—",
                          "effect": r.effect if r.effect == "removed" else
                          f"speed ×{r.speed_factor:g}, capacity ×{r.capacity_factor:g}",
                          "event": _event_text(result, r.event)}) for r in damaged.itertuples()]


def _closed_node_rows(result: ScenarioResult) -> list[tuple[Any, dict[str, Any]]]:
    """Closed nodes (border posts, junctions) with their OSM id, name, barrier and event."""
    return [(r.geometry, {"label": f"closed: {r.name or r.node}", "osmid": r.osmid, "name": r.name or "—",
                          "barrier": r.barrier or "—",
                          "event": "; ".join(_event_text(result, c) for c in r.events) or "—"})
            for r in result.closed_nodes_gdf().itertuples(index=False)]


# ------------------------------------------------------------------ map
def _notice_box(result: ScenarioResult) -> Element:
    """Title, data notice (a red SCHEMATIC box on the schematic network) and colour key."""
    colour, bg = ("#b00000", "#fff3f3") if result.schematic else ("#333", "rgba(255,255,255,0.9)")
    key = "".join(f"<span style='display:inline-block;width:14px;height:4px;background:{c};vertical-align:middle;"
                  f"margin:0 3px 0 8px'></span>{html.escape(n)}"
                  for c, n in ((BASE_COLOUR, "before"), (AFTER_COLOUR, "after"), (EVAC_COLOUR, "evacuation"),
                               (BROKEN_COLOUR, "destroyed / closed"), (DEGRADED_COLOUR, "degraded")))
    notice = html.escape(result.data_notice if result.schematic else f"Data: {result.data_notice}")
    return Element(
        f"<div id='routing-notice' class='routing-notice{' schematic' if result.schematic else ''}' "
        f"style='position:fixed;bottom:48px;left:10px;z-index:1000;max-width:46%;padding:6px 9px;"
        f"font:12px/1.35 sans-serif;background:{bg};border:2px solid {colour};border-radius:4px'>"
        f"<b>{html.escape(result.scenario.name)}</b><br>"
        f"<span style='color:{colour};font-weight:{'bold' if result.schematic else 'normal'}'>"
        f"{notice}</span><br><span style='font-size:11px'>{key}</span></div>")


def web_map(result: ScenarioResult, *, network: bool | None = None,
            tiles: str | None = "OpenStreetMap") -> folium.Map:
    """The interactive before/after map of ``result`` (display it in Jupyter, or ``.save()`` it).

    OD routes are drawn for the pairs whose route changed (as on the PNG maps; the OD table has
    all pairs). ``network`` draws every road in grey (default: when the graph has at most
    ``NETWORK_MAX_EDGES`` edges). ``tiles`` is a folium tile name for the background (fetched
    online when the map is viewed), or None for none; the vector layers never depend on it.
    """
    G = result.graph
    xs = [d["x"] for _, d in G.nodes(data=True)]
    ys = [d["y"] for _, d in G.nodes(data=True)]
    m = OfflineMap(location=[(min(ys) + max(ys)) / 2, (min(xs) + max(xs)) / 2], zoom_start=8, tiles=None,
                   control_scale=True)
    if tiles:
        folium.TileLayer(tiles, name=f"{tiles} tiles (online)").add_to(m)
    m.fit_bounds([[min(ys), min(xs)], [max(ys), max(xs)]])

    def layer(key: str, show: bool = True) -> folium.FeatureGroup:
        group = folium.FeatureGroup(name=LAYERS[key], show=show)
        group.add_to(m)
        return group

    # drawn bottom to top: network, flows, routes, damage, places
    if network if network is not None else G.number_of_edges() <= NETWORK_MAX_EDGES:
        _geojson(layer("network"), _network_rows(result), {"color": NETWORK_COLOUR, "weight": 1.2, "opacity": 0.8},
                 {"osmid": "OSM way", "name": "name", "ref": "ref", "highway": "highway"})
    elif network is None:
        log.info("web map: %d edges, the 'Network' layer is left out", G.number_of_edges())

    for key, state in (("flow_before", "baseline"), ("flow_after", "damaged")):
        if (result.evacuation_capacity or {}).get(state) is not None and (rows := _flow_rows(result, state)):
            _geojson(layer(key, show=state == "damaged"), rows, {"color": EVAC_COLOUR, "opacity": 0.4},
                     {"flow": "evacuation flow", "persons": "persons", "capacity": "capacity",
                      "use": "capacity used"})

    od_status = dict(zip(zip(result.od["origin"], result.od["destination"]), result.od["status"]))
    changed = {k for k, s in od_status.items() if s != "unchanged"}
    routes = result.routes_gdf()
    for key, state, colour in (("routes_before", "baseline", BASE_COLOUR), ("routes_after", "damaged", AFTER_COLOUR)):
        group = layer(key)
        sel = routes[(routes["kind"] == "od") & (routes["state"] == state)] if len(routes) else routes
        sel = sel[[(o, d) in changed for o, d in zip(sel["origin"], sel["destination"])]] if len(sel) else sel
        if len(sel):
            _geojson(group, _route_rows(sel, od_status), {"color": colour, "opacity": 0.75},
                     {"origin": "from", "destination": "to", "minutes": "time", "km": "distance",
                      "status": "status", "assets": "assets used"})
    for key, state in (("evac_before", "baseline"), ("evac_after", "damaged")):
        sel = routes[(routes["kind"] == "evacuation") & (routes["state"] == state)] if len(routes) else routes
        if len(sel):
            _geojson(layer(key, show=state == "damaged"), _route_rows(sel, {}),
                     {"color": EVAC_COLOUR, "opacity": 0.8, "dashArray": "8 5"},
                     {"destination": "to", "rank": "route", "minutes": "time", "km": "distance",
                      "assets": "assets used"})

    damaged = result.damaged_edges_gdf()
    damage_fields = {"osmid": "OSM way", "name": "name", "ref": "ref", "highway": "highway", "bridge": "bridge",
                     "effect": "effect", "event": "event"}
    group = layer("destroyed")
    if len(removed := damaged[damaged["effect"] == "removed"] if len(damaged) else damaged):
        _geojson(group, _damage_rows(result, removed), {"color": BROKEN_COLOUR, "weight": 6, "opacity": 0.9},
                 damage_fields)
    if rows := _closed_node_rows(result):
        _geojson(group, rows, {"color": "white", "weight": 2, "fill": True, "fillColor": BROKEN_COLOUR,
                               "fillOpacity": 1},
                 {"osmid": "OSM node", "name": "name", "barrier": "barrier", "event": "event"},
                 marker=folium.CircleMarker(radius=8))
    if len(degraded := damaged[damaged["effect"] == "degraded"] if len(damaged) else damaged):
        _geojson(layer("degraded"), _damage_rows(result, degraded),
                 {"color": DEGRADED_COLOUR, "weight": 5, "opacity": 0.9}, damage_fields)

    add_access_layers(m, result)
    rows = [(p.geometry, {"label": p.name, "name": p.name, "kind": str(p.kind), "node": str(p.node),
                          "snapped": f"{p.snap_m:,.0f} m"}) for p in result.places_gdf().itertuples()]
    if rows:  # a scenario with only an [access] table has no places
        _geojson(layer("places"), rows,
                 {"color": "white", "weight": 1.5, "fill": True, "fillColor": PLACE_COLOUR, "fillOpacity": 1},
                 {"name": "place", "kind": "kind", "node": "graph node", "snapped": "snapped to the network"},
                 marker=folium.CircleMarker(radius=5), labels=True)

    _root(m).header.add_child(Element(f"<style>{LABEL_CSS}</style>"), name="routing_css")
    _root(m).html.add_child(_notice_box(result), name="routing_notice")
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def write_web_map(result: ScenarioResult, path: str | Path, **options: Any) -> Path:
    """Write the interactive map (self-contained HTML) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(web_map(result, **options).get_root().render(), encoding="utf-8")
    return path

