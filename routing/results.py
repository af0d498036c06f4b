"""The result of a scenario run: one type for baseline and damaged, as tables and GeoDataFrames.

Outputs (:mod:`routing.outputs`) read a result only through what this module makes public.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import MultiLineString, Point
from shapely.ops import linemerge

from .analysis.access import Accessibility
from .analysis.assets import AssetMatch, assets_of_edge
from .analysis.evacuation import EvacuationResult
from .analysis.reach import Route
from .engine import Network
from .network import EdgeKey, data_notice, edge_line, tag_text
from .scenario import Damage, Event, EventOutcome, Scenario, incident_edges

OD_COLUMNS = {"origin": "from", "destination": "to", "baseline_km": "km before", "baseline_min": "min before",
              "damaged_km": "km after", "damaged_min": "min after", "detour_ratio": "travel time × (after / before)",
              "status": "status", "cut_by": "cut by", "baseline_assets": "assets before",
              "damaged_assets": "assets after"}
EVAC_COLUMNS = {"rank": "rank", "destination": "destination", "baseline_min": "min before",
                "damaged_min": "min after", "damaged_km": "km after", "alternatives_after": "routes after",
                "damaged_assets": "assets used after", "cut_by": "cut by"}


EFFECTS = {"destroy": "destroyed", "close": "closed", "degrade": "degraded", "deny_area": "area denied",
           "restrict": "restricted"}
MARKER_CLUSTER_M = 1_500.0  # damage of one event farther apart than this (metres) gets separate map markers


def _clusters(geoms: list[Any], distance_m: float) -> list[list[int]]:
    """Indices of geometries (lon/lat) grouped by single linkage: a geometry within ``distance_m``
    metres (about: degrees × 111 km) of one of a group joins it, so a long damaged road is one group."""
    if len(geoms) == 1:
        return [[0]]
    pairs = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=distance_m / 111_320.0)
    n = len(geoms)
    _, labels = connected_components(csr_matrix((np.ones(pairs.shape[1]), (pairs[0], pairs[1])), shape=(n, n)),
                                     directed=False)
    return [list(np.flatnonzero(labels == k)) for k in np.unique(labels)]


def _gdf(rows: list[dict[str, Any]], columns: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """A GeoDataFrame (EPSG:4326) of ``rows``; with no rows, one with ``columns`` and a geometry."""
    if not rows:
        return gpd.GeoDataFrame({**{c: [] for c in columns}, "geometry": []}, geometry="geometry", crs="EPSG:4326")
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def _text(value: Any) -> str:
    return tag_text(value, "; ") or ""


def event_title(ev: Event, asset_labels: dict[str, str]) -> str:
    """An event's readable name: its ``label`` (the asset's label for an asset event without one),
    else its note, else ``"<action> events[i]"``. ``asset_labels`` maps asset keys (casefolded) to labels."""
    asset = ev.selector.get("asset") if isinstance(ev.selector.get("asset"), str) else None
    if asset and ev.label == asset:
        return asset_labels.get(asset.casefold(), asset)
    if ev.label and ev.label != "selection":
        return ev.label
    return ev.note or f"{ev.action} events[{ev.index}]"


def event_names(events: list[EventOutcome], asset_labels: dict[str, str]) -> list[str]:
    """:func:`event_title` of each event, unique: a repeated name gets ``(events[i])`` appended."""
    names = [event_title(o.event, asset_labels) for o in events]
    return [f"{n} (events[{o.event.index}])" if names.count(n) > 1 else n for n, o in zip(names, events)]


def _road_names(data: dict[str, Any]) -> dict[str, str]:
    """An edge's display ``name`` (English first) and ``ref`` (else int_ref)."""
    return {"name": _text(data.get("name:en") or data.get("name")),
            "ref": _text(data.get("ref") or data.get("int_ref"))}


@dataclass
class ScenarioResult:
    """Everything a scenario run produced (``routing.write_outputs`` turns it into files).

    ``graph`` is the baseline network (osmnx ``MultiDiGraph``, unmodified), ``network`` its
    compiled arrays (for further analyses), ``damage`` what the events did to it. Tables: ``places``
    (name, lat, lon, node, snap_m), ``od`` (ordered place pairs, baseline vs damaged: km, minutes,
    detour, assets, status), ``evacuation`` (destinations ranked, before/after);
    ``evacuation_capacity`` maps "baseline"/"damaged" to an :class:`EvacuationResult`.
    """

    scenario: Scenario
    graph: nx.MultiDiGraph
    network: Network
    damage: Damage
    events: list[EventOutcome]
    places: pd.DataFrame
    od: pd.DataFrame
    routes: list[Route]  # OD routes (rank 1), baseline and damaged
    evacuation: pd.DataFrame | None = None
    evacuation_routes: list[Route] = field(default_factory=list)
    evacuation_capacity: dict[str, EvacuationResult] | None = None
    assets: dict[str, AssetMatch] = field(default_factory=dict)  # catalogue assets found on this network
    event_labels: list[str] = field(default_factory=list)  # a readable name per event (see event_names)
    warnings: list[str] = field(default_factory=list)  # set-up problems every output repeats (one line each)
    access: Accessibility | None = None  # population access to facilities ([access] table)

    # ------------------------------------------------------------ events and the as-of date
    def event_label(self, outcome: EventOutcome) -> str:
        """The readable name of one of ``events``."""
        if len(self.event_labels) == len(self.events):
            return self.event_labels[self.events.index(outcome)]
        return event_names([outcome], self.asset_labels)[0]

    @property
    def applied_events(self) -> list[EventOutcome]:
        """Events applied (all of them without an as-of date)."""
        return [o for o in self.events if o.applied]

    @property
    def events_not_applied(self) -> list[EventOutcome]:
        """Events dated after the scenario's as-of date, so left out."""
        return [o for o in self.events if not o.applied]

    def as_of_summary(self) -> dict[str, Any]:
        """The as-of date (or None), how many of the events were applied, and which were not."""
        return {"as_of": self.scenario.as_of, "events_total": len(self.events),
                "events_applied": len(self.applied_events),
                "events_not_applied": [{"name": self.event_label(o), "date": o.event.date, "action": o.event.action}
                                       for o in self.events_not_applied]}

    def as_of_text(self) -> str:
        """One line for title blocks: ``As of 2024-12-05: 0 of 3 events applied (not applied: ...)``;
        ``3 of 3 events applied`` without an as-of date."""
        n, total = len(self.applied_events), len(self.events)
        head = (f"As of {self.scenario.as_of}: " if self.scenario.as_of else "") + f"{n} of {total} events applied"
        missing = [f"{o.event.action} {self.event_label(o)} ({o.event.date})" for o in self.events_not_applied]
        return head + (f"; not applied (dated later): {', '.join(missing)}" if missing else "")

    # ------------------------------------------------------------ data notice
    @property
    def schematic(self) -> bool:
        """True when the network is the project's schematic, not OpenStreetMap data."""
        return bool(self.graph.graph.get("schematic"))

    @property
    def data_notice(self) -> str:
        """The notice every output carries (schematic banner or data licence)."""
        return data_notice(self.graph)

    @property
    def way_id_heading(self) -> str:
        """How to title way ids: ``OSM way``, or ``way id (schematic, not OSM)`` on the schematic network."""
        return "way id (schematic, not OSM)" if self.schematic else "OSM way"

    @property
    def asset_labels(self) -> dict[str, str]:
        """Asset key -> label, for the assets found on this network."""
        return {k: a.label for k, a in self.assets.items()}

    # ------------------------------------------------------------ geometry
    def edge_geometry(self, edge: EdgeKey) -> Any:
        """An edge's line (lon/lat degrees)."""
        return edge_line(self.graph, edge)

    def assets_of_edge(self, edge: EdgeKey) -> list[str]:
        """Catalogue asset keys an edge belongs to (directly, or through one of its end nodes)."""
        return assets_of_edge(edge, self.assets)

    @property
    def _capacity(self) -> list[float]:
        """Capacity (vehicles/hour, the scenario's overrides applied) of each edge in graph order."""
        net = self.network
        return net.attr["capacity"][net.edge_ids(self.graph.edges(keys=True))].tolist()

    @cached_property
    def _edges_gdf(self) -> gpd.GeoDataFrame:
        rows = [{"u": u, "v": v, "key": k, "osmid": _text(d.get("osmid")), **_road_names(d),
                 "highway": _text(d.get("highway")), "capacity_vph": float(cap),
                 "geometry": self.edge_geometry((u, v, k))}
                for (u, v, k, d), cap in zip(self.graph.edges(keys=True, data=True), self._capacity)]
        return _gdf(rows).set_index(["u", "v", "key"], drop=False)

    def edges_gdf(self) -> gpd.GeoDataFrame:
        """Every edge of the network (u, v, key, osmid, name, ref, highway, capacity_vph) as lines."""
        return self._edges_gdf.copy()

    def _route_rows(self, routes: list[Route], kind: str) -> list[dict[str, Any]]:
        rows = []
        for r in routes:
            merged = linemerge(MultiLineString([self.edge_geometry(e) for e in r.edges]))
            rows.append({"kind": kind, "origin": r.origin, "destination": r.destination, "state": r.state,
                         "rank": r.rank, "minutes": r.travel_time_s / 60, "km": r.length_m / 1000,
                         "assets": ", ".join(r.assets), "geometry": merged})
        return rows

    def routes_gdf(self) -> gpd.GeoDataFrame:
        """OD and evacuation routes, baseline and damaged, as lines (EPSG:4326)."""
        return _gdf(self._route_rows(self.routes, "od") + self._route_rows(self.evacuation_routes, "evacuation"))

    def _cause_names(self) -> dict[str, str]:
        """Damage cause tag (``"destroy: rastan_bridge"``) -> the event's readable name."""
        return {f"{o.event.action}: {o.event.label}": self.event_label(o) for o in self.applied_events}

    def damaged_edges_gdf(self) -> gpd.GeoDataFrame:
        """Removed, degraded and restricted edges with OSM id, name, ref, bridge, ``effect``
        ("removed", "degraded", "restricted"), ``restriction`` (what may still pass), the event
        that hit them (``event`` tag and ``event_name``) and ``by_closed_node`` (removed because an
        end node was closed: the approach roads of a closed crossing, which maps mark by the node,
        not as destroyed roads)."""
        rows = []
        names = self._cause_names()
        dmg = self.damage
        closed = dmg.removed_nodes
        degraded = set(dmg.speed_factor) | set(dmg.capacity_factor)
        for e in sorted(set(dmg.removed_edges) | degraded | set(dmg.restricted), key=str):
            d = self.graph.edges[e]
            removed = e in dmg.removed_edges
            cause = dmg.cause.get(e, "")
            rows.append({"u": e[0], "v": e[1], "key": e[2], "osmid": str(d.get("osmid")), **_road_names(d),
                         "highway": _text(d.get("highway")), "bridge": _text(d.get("bridge")),
                         "effect": "removed" if removed else "degraded" if e in degraded else "restricted",
                         "restriction": dmg.restricted[e].text() if e in dmg.restricted else "",
                         "speed_factor": dmg.speed_factor.get(e, 1.0),
                         "capacity_factor": dmg.capacity_factor.get(e, 1.0),
                         "event": cause, "event_name": names.get(cause, cause),
                         "by_closed_node": removed and (e[0] in closed or e[1] in closed),
                         "geometry": self.edge_geometry(e)})
        return _gdf(rows, ("u", "v", "key", "osmid", "name", "ref", "highway", "bridge", "effect", "restriction",
                           "speed_factor", "capacity_factor", "event", "event_name", "by_closed_node"))

    def closed_nodes_gdf(self) -> gpd.GeoDataFrame:
        """Closed or destroyed nodes (border posts, junctions) with name, barrier and the events
        (cause tags in ``events``, readable names in ``event_names``)."""
        G, rows, names = self.graph, [], self._cause_names()
        for n in sorted(self.damage.removed_nodes, key=str):
            d = G.nodes[n]
            causes = sorted({self.damage.cause[e] for e in incident_edges(G, {n}) if e in self.damage.cause})
            name = str(d.get("name:en") or d.get("name") or "")
            rows.append({"node": n, "osmid": str(d.get("osmid", n)), "name": name,
                         "barrier": str(d.get("barrier") or ""), "events": causes,
                         "event_names": [names.get(c, c) for c in causes], "geometry": Point(d["x"], d["y"])})
        return _gdf(rows)

    def route_changes_gdf(self) -> gpd.GeoDataFrame:
        """The edges of the routes that change, before vs after: ``change`` is ``"unchanged"`` (on
        such a route before and after), ``"lost"`` (before only) or ``"new"`` (after only).

        Routes compared: the OD pairs whose status is not "unchanged" and the fastest evacuation
        route to each destination. Columns: u, v, key, change, routes (how many of those routes
        use the edge, before and after), geometry."""
        changed = set(zip(*[self.od.loc[self.od["status"] != "unchanged", c] for c in ("origin", "destination")]))
        routes = [r for r in self.routes if (r.origin, r.destination) in changed]
        routes += [r for r in self.evacuation_routes if r.rank == 1]
        uses: dict[str, dict[EdgeKey, int]] = {"baseline": {}, "damaged": {}}
        for r in routes:
            for e in r.edges:
                uses[r.state][e] = uses[r.state].get(e, 0) + 1
        rows = []
        for e in sorted(set(uses["baseline"]) | set(uses["damaged"]), key=str):
            before, after = uses["baseline"].get(e, 0), uses["damaged"].get(e, 0)
            rows.append({"u": e[0], "v": e[1], "key": e[2],
                         "change": "unchanged" if before and after else "lost" if before else "new",
                         "routes": before + after, "geometry": self.edge_geometry(e)})
        return _gdf(rows, ("u", "v", "key", "change", "routes"))

    def damage_markers_gdf(self) -> gpd.GeoDataFrame:
        """Where maps mark the damage: one point per applied event and place it damaged.

        A closed node is marked where it is (its approach roads are not); destroyed or degraded
        edges at the midpoint of the edge nearest their centre. What one event damaged in places
        more than ``MARKER_CLUSTER_M`` apart gets one marker per place. Columns: event (name),
        action, effect ("destroyed", "closed", "degraded", "restricted", "area denied"), edges, nodes, and
        minx, miny, maxx, maxy: the bounds of what it damaged there (degrees). Restricted edges
        count as damaged."""
        rows = []
        for o in self.applied_events:
            d = o.damage
            nodes = sorted(d.removed_nodes, key=str)
            edges = sorted({e for e in d.removed_edges if e[0] not in d.removed_nodes and e[1] not in d.removed_nodes}
                           | set(d.speed_factor) | set(d.capacity_factor) | set(d.restricted), key=str)
            items = [Point(self.graph.nodes[n]["x"], self.graph.nodes[n]["y"]) for n in nodes]
            items += [self.edge_geometry(e) for e in edges]
            if not items:
                continue
            marks = items[:len(nodes)] + [line.interpolate(0.5, normalized=True) for line in items[len(nodes):]]
            for group in _clusters(items, MARKER_CLUSTER_M):
                centre = np.mean([(marks[i].x, marks[i].y) for i in group], axis=0)
                best = min(group, key=lambda i: (marks[i].x - centre[0]) ** 2 + (marks[i].y - centre[1]) ** 2)
                minx, miny, maxx, maxy = shapely.GeometryCollection([items[i] for i in group]).bounds
                rows.append({"event": self.event_label(o), "action": o.event.action,
                             "effect": EFFECTS[o.event.action],
                             "edges": sum(1 for i in group if i >= len(nodes)),
                             "nodes": sum(1 for i in group if i < len(nodes)),
                             "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy, "geometry": marks[best]})
        return _gdf(rows, ("event", "action", "effect", "edges", "nodes", "minx", "miny", "maxx", "maxy"))

    def places_gdf(self) -> gpd.GeoDataFrame:
        """Places with their snapped graph node and snapping distance (metres)."""
        return gpd.GeoDataFrame(self.places.copy(), geometry=[Point(x, y) for x, y in
                                                             zip(self.places["lon"], self.places["lat"])],
                                crs="EPSG:4326")

    def flow_gdf(self, state: str) -> gpd.GeoDataFrame:
        """Edges carrying evacuation max-flow in ``state`` ("baseline" or "damaged"): flow
        (vehicles/hour, persons/hour), capacity (vehicles/hour) and ``width`` (line width in points,
        1-10, proportional to the flow); empty without the capacity analysis."""
        cap = (self.evacuation_capacity or {}).get(state)
        if cap is None or not cap.edge_flows_vph:
            return _gdf([])
        top = max(cap.edge_flows_vph.values())
        rows = []
        for edge, flow in cap.edge_flows_vph.items():
            if flow <= 0:
                continue
            d = self.graph.edges[edge]
            rows.append({"u": edge[0], "v": edge[1], "key": edge[2], "osmid": str(d.get("osmid")),
                         "ref": str(d.get("ref") or d.get("int_ref") or ""), "flow_vph": int(flow),
                         "flow_persons_per_hour": flow * cap.persons_per_vehicle,
                         "capacity_vph": float(self.network.attr["capacity"][self.network.edge_index[edge]]),
                         "width": 1.0 + 9.0 * flow / top, "geometry": self.edge_geometry(edge)})
        return _gdf(rows)

    # ------------------------------------------------------------ summaries
    def summary(self) -> dict[str, Any]:
        """Headline figures (counts of OD pairs by status; edges removed, degraded, restricted and,
        of those, barred to the network's vehicle)."""
        counts = self.od["status"].value_counts().to_dict() if len(self.od) else {}
        return {"scenario": self.scenario.name, "schematic_network": self.schematic,
                "edges_removed": len(self.damage.removed_edges), "nodes_closed": len(self.damage.removed_nodes),
                "edges_degraded": len(set(self.damage.speed_factor) | set(self.damage.capacity_factor)),
                "edges_restricted": len(self.damage.restricted),
                "edges_barred_to_vehicle": len(self.network.barred(self.damage)),
                "od_pairs": len(self.od), "od_status": counts}

    def events_table(self) -> pd.DataFrame:
        """One row per event: date, action, target (its readable name), edges and nodes matched,
        applied?, note."""
        return pd.DataFrame([{"date": str(o.event.date or ""), "action": o.event.action,
                              "target": self.event_label(o), "edges": o.edges, "nodes": o.nodes,
                              "applied": "yes" if o.applied else "no (after as_of)",
                              "note": o.event.note} for o in self.events],
                            columns=["date", "action", "target", "edges", "nodes", "applied", "note"])

    def _repr_html_(self) -> str:
        """A compact HTML summary for Jupyter: notice, headline counts, events, changed OD pairs, evacuation."""
        s = self.summary()

        def table(df: pd.DataFrame, columns: dict[str, str]) -> str:
            cols = [c for c in columns if c in df.columns]
            return df[cols].rename(columns=columns).to_html(index=False, float_format=lambda v: f"{v:,.1f}",
                                                            na_rep="—")

        changed = self.od[self.od["status"] != "unchanged"]
        colour = "#b00" if self.schematic else "#555"
        parts = [f"<div><h3>{html.escape(self.scenario.name)}</h3>",
                 f"<p style='color:{colour}'><b>{html.escape(self.data_notice)}</b></p>",
                 f"<p>{s['edges_removed']} edges removed, {s['nodes_closed']} nodes closed, {s['edges_degraded']} "
                 "edges degraded; OD pairs: "
                 f"{html.escape(', '.join(f'{n} {k}' for k, n in sorted(s['od_status'].items())))}</p>",
                 "<h4>Events</h4>", self.events_table().to_html(index=False),
                 f"<h4>OD pairs that changed ({len(changed)} of {len(self.od)})</h4>", table(changed, OD_COLUMNS)]
        if self.evacuation is not None and self.scenario.evacuation is not None:
            parts += [f"<h4>Evacuation from {html.escape(self.scenario.evacuation.origin)}</h4>",
                      table(self.evacuation, EVAC_COLUMNS)]
        parts.append("<p><small>As data: <code>.od</code>, <code>.routes_gdf()</code>, "
                     "<code>.damaged_edges_gdf()</code>, <code>.places_gdf()</code>; map: "
                     "<code>routing.web_map(result)</code>; files: <code>routing.write_outputs(result, folder)</code>"
                     "</small></p></div>")
        return "".join(parts)
