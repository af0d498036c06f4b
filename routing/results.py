"""The result of a scenario run: one type for baseline and damaged, with GeoDataFrame accessors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import pandas as pd
from shapely.geometry import LineString, MultiLineString, Point
from shapely.ops import linemerge

from .analysis.reach import Route
from .damage import Damage
from .engine import Engine
from .scenario import EventOutcome, Scenario

if TYPE_CHECKING:
    import folium

SCHEMATIC_BANNER = ("SCHEMATIC NETWORK — for demos and tests, NOT OpenStreetMap data: "
                    "distances and times are illustrative only.")


@dataclass
class ScenarioResult:
    """Everything a scenario run produced; ``write_outputs`` turns it into files."""

    scenario: Scenario
    graph: nx.MultiDiGraph
    engine: Engine
    damage: Damage
    events: list[EventOutcome]
    places: pd.DataFrame  # name, lat, lon, node, snap_m, role
    od: pd.DataFrame  # ordered place pairs, baseline vs damaged
    routes: list[Route]  # OD routes (rank 1), baseline and damaged
    evacuation: pd.DataFrame | None = None  # destinations ranked, before/after
    evacuation_routes: list[Route] = field(default_factory=list)
    evacuation_capacity: dict[str, Any] | None = None  # {"baseline": EvacuationResult, "damaged": ...}
    asset_labels: dict[str, str] = field(default_factory=dict)  # asset key -> label (assets on this network)
    asset_edges: dict[str, set[int]] = field(default_factory=dict)  # asset key -> edge indices
    asset_nodes: dict[str, set[int]] = field(default_factory=dict)  # asset key -> node indices

    # ------------------------------------------------------------ data notice
    @property
    def schematic(self) -> bool:
        """True when the network is the project's schematic, not OpenStreetMap data."""
        return bool(self.graph.graph.get("schematic"))

    @property
    def data_notice(self) -> str:
        """The notice every output carries (schematic banner or data licence)."""
        if self.schematic:
            return SCHEMATIC_BANNER
        return str(self.graph.graph.get("data_notice") or "© OpenStreetMap contributors, ODbL 1.0")

    # ------------------------------------------------------------ geodataframes
    def edge_geometry(self, edge_id: int) -> LineString:
        u, v, k = self.engine.edges[edge_id]
        geom = self.graph.edges[u, v, k].get("geometry")
        if geom is not None:
            return geom
        nu, nv = self.graph.nodes[u], self.graph.nodes[v]
        return LineString([(nu["x"], nu["y"]), (nv["x"], nv["y"])])

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
        rows = self._route_rows(self.routes, "od") + self._route_rows(self.evacuation_routes, "evacuation")
        return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326") if rows else \
            gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs="EPSG:4326")

    def damaged_edges_gdf(self) -> gpd.GeoDataFrame:
        """Removed and degraded edges with OSM id, name, ref, bridge and the event that hit them."""
        rows = []
        hit = set(self.damage.removed_edges) | set(self.damage.speed_factor) | set(self.damage.capacity_factor)
        for e in sorted(hit, key=str):
            d = self.graph.edges[e]
            rows.append({"u": e[0], "v": e[1], "key": e[2], "osmid": str(d.get("osmid")),
                         "name": _text(d.get("name:en") or d.get("name")), "ref": _text(d.get("ref") or d.get("int_ref")),
                         "highway": _text(d.get("highway")), "bridge": _text(d.get("bridge")),
                         "effect": "removed" if e in self.damage.removed_edges else "degraded",
                         "speed_factor": self.damage.speed_factor.get(e, 1.0),
                         "capacity_factor": self.damage.capacity_factor.get(e, 1.0),
                         "event": self.damage.cause.get(e, ""),
                         "geometry": self.edge_geometry(self.engine.edge_index[e])})
        return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326") if rows else \
            gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs="EPSG:4326")

    def places_gdf(self) -> gpd.GeoDataFrame:
        """Places with their snapped graph node and snapping distance (metres)."""
        return gpd.GeoDataFrame(self.places.copy(), geometry=[Point(x, y) for x, y in
                                                             zip(self.places["lon"], self.places["lat"])],
                                crs="EPSG:4326")

    def od_gdf(self) -> pd.DataFrame:
        """The OD table (baseline vs damaged) as a DataFrame."""
        return self.od.copy()

    def assets_of_edge(self, edge_id: int) -> list[str]:
        """Catalogue asset keys an edge belongs to (directly, or through one of its end nodes)."""
        u, v = self.engine.src[edge_id], self.engine.dst[edge_id]
        return sorted(k for k in set(self.asset_edges) | set(self.asset_nodes)
                      if edge_id in self.asset_edges.get(k, ()) or {u, v} & self.asset_nodes.get(k, set()))

    def flow_edges(self, state: str) -> list[tuple[int, float]]:
        """(edge index, line width in points) of evacuation flow for maps; empty without capacity results."""
        cap = (self.evacuation_capacity or {}).get(state)
        if cap is None or not cap.edge_flows_vph:
            return []
        top = max(cap.edge_flows_vph.values())
        return [(self.engine.edge_index[e], 1.0 + 9.0 * f / top) for e, f in cap.edge_flows_vph.items() if f > 0]

    def extra_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Additional GeoPackage layers (evacuation flows when computed)."""
        if not self.evacuation_capacity:
            return {}
        from .outputs.evacuation_report import flow_layers

        return flow_layers(self)

    # ------------------------------------------------------------ summaries
    def summary(self) -> dict[str, Any]:
        """Headline figures (counts of OD pairs by status, removed edges)."""
        counts = self.od["status"].value_counts().to_dict() if len(self.od) else {}
        return {"scenario": self.scenario.name, "schematic_network": self.schematic,
                "edges_removed": len(self.damage.removed_edges), "nodes_closed": len(self.damage.removed_nodes),
                "edges_degraded": len(set(self.damage.speed_factor) | set(self.damage.capacity_factor)),
                "od_pairs": len(self.od), "od_status": counts}

    def _repr_html_(self) -> str:
        from .outputs.report import html_summary

        return html_summary(self)

    def web_map(self, **options: Any) -> folium.Map:
        """Interactive before/after map (folium; displays in Jupyter, works offline).

        ``options`` go to :func:`routing.outputs.webmap.web_map` (``network``, ``tiles``).
        """
        from .outputs.webmap import web_map

        return web_map(self, **options)

    def write(self, out: str, *, maps: bool = True) -> None:
        """Write report.md, metrics.json, routes.gpkg and maps into ``out`` atomically."""
        from .outputs import write_outputs

        write_outputs(self, out, maps=maps)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
