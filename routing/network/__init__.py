"""Network sources and building: OSM files, Overpass, Geofabrik, GraphML -> one array builder ->
osmnx-compatible ``MultiDiGraph`` enriched with length, speed, travel time and capacity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_EXPORTS = {
    ".attributes": "edge_capacity_vph enrich maxspeed_kph road_class",
    ".build": "write_osm_xml",
    ".geometry": "EdgeKey edge_line edge_lines",
    ".graphml": "load_graphml save_graphml",
    ".overpass": "overpass_filter",
    ".sources": "data_notice load_network load_osm_file",
    ".tags": "road_label tag_text truthy",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["EdgeKey", "data_notice", "edge_capacity_vph", "edge_line", "edge_lines", "enrich", "load_graphml",
           "load_network",
           "load_osm_file", "maxspeed_kph", "overpass_filter", "road_class", "road_label", "save_graphml",
           "tag_text", "truthy", "write_osm_xml"]

if TYPE_CHECKING:
    from .attributes import edge_capacity_vph, enrich, maxspeed_kph, road_class
    from .build import write_osm_xml
    from .geometry import EdgeKey, edge_line, edge_lines
    from .graphml import load_graphml, save_graphml
    from .overpass import overpass_filter
    from .sources import data_notice, load_network, load_osm_file
    from .tags import road_label, tag_text, truthy
