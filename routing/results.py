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
import pandas as pd
from shapely.geometry import MultiLineString, Point
from shapely.ops import linemerge

from .analysis.access import Accessibility
from .analysis.assets import AssetMatch, assets_of_edge
from .analysis.evacuation import EvacuationResult
from .analysis.reach import Route
from .engine import Network
from .network import EdgeKey, data_notice, edge_line, tag_text
from .scenario import Damage, EventOutcome, Scenario, incident_edges

OD_COLUMNS = {"origin": "from", "destination": "to", "baseline_km": "km before", "baseline_min": "min before",
              "damaged_km": "km after", "damaged_min": "min after", "detour_ratio": "detour ×",
              "status": "status", "baseline_assets": "assets before", "damaged_assets": "assets after"}
EVAC_COLUMNS = {"rank": "rank", "destination": "destination", "baseline_min": "min before",
                "damaged_min": "min after", "damaged_km": "km after", "alternatives_after": "routes after",
                "damaged_assets": "assets used after", "cut_by": "cut by"}


def _gdf(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs="EPSG:4326")
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def _text(value: Any) -> str:
    return tag_text(value, "; ") or ""


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
    access: Accessibility | None = None  # population access to facilities ([access] table)

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
        return [net.attr["capacity"][net.edge_index[e]] for e in self.graph.edges(keys=True)]

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

    def damaged_edges_gdf(self) -> gpd.GeoDataFrame:
        """Removed and degraded edges with OSM id, name, ref, bridge and the event that hit them."""
        rows = []
        hit = set(self.damage.removed_edges) | set(self.damage.speed_factor) | set(self.damage.capacity_factor)
        for e in sorted(hit, key=str):
            d = self.graph.edges[e]
            rows.append({"u": e[0], "v": e[1], "key": e[2], "osmid": str(d.get("osmid")), **_road_names(d),
                         "highway": _text(d.get("highway")), "bridge": _text(d.get("bridge")),
                         "effect": "removed" if e in self.damage.removed_edges else "degraded",
                         "speed_factor": self.damage.speed_factor.get(e, 1.0),
                         "capacity_factor": self.damage.capacity_factor.get(e, 1.0),
                         "event": self.damage.cause.get(e, ""), "geometry": self.edge_geometry(e)})
        return _gdf(rows)

    def closed_nodes_gdf(self) -> gpd.GeoDataFrame:
        """Closed or destroyed nodes (border posts, junctions) with name, barrier and the events."""
        G, rows = self.graph, []
        for n in sorted(self.damage.removed_nodes, key=str):
            d = G.nodes[n]
            causes = sorted({self.damage.cause[e] for e in incident_edges(G, {n}) if e in self.damage.cause})
            name = str(d.get("name:en") or d.get("name") or "")
            rows.append({"node": n, "osmid": str(d.get("osmid", n)), "name": name,
                         "barrier": str(d.get("barrier") or ""), "events": causes,
                         "geometry": Point(d["x"], d["y"])})
        return _gdf(rows)

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
        """Headline figures (counts of OD pairs by status, removed edges)."""
        counts = self.od["status"].value_counts().to_dict() if len(self.od) else {}
        return {"scenario": self.scenario.name, "schematic_network": self.schematic,
                "edges_removed": len(self.damage.removed_edges), "nodes_closed": len(self.damage.removed_nodes),
                "edges_degraded": len(set(self.damage.speed_factor) | set(self.damage.capacity_factor)),
                "od_pairs": len(self.od), "od_status": counts}

    def events_table(self) -> pd.DataFrame:
        """One row per event: date, action, target, edges and nodes matched, applied?, note."""
        return pd.DataFrame([{"date": str(o.event.date or ""), "action": o.event.action,
                              "target": self.asset_labels.get(o.event.label, o.event.label),
                              "edges": o.edges, "nodes": o.nodes,
                              "applied": "yes" if o.applied else "no (after as_of)",
                              "note": o.event.note} for o in self.events])

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
