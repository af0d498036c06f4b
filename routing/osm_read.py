"""Readers: OSM XML, Overpass JSON and OSM PBF files -> :class:`OsmData`.

Every reader tolerates clipped extracts (ways that reference nodes outside the file); the
graph builder trims such ways and counts them.
"""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .errors import NetworkLoadError
from .settings import NODE_TAGS

SCHEMATIC_MARKER = "SCHEMATIC"  # a file whose <note> starts with this is not OpenStreetMap data
KEPT_BARRIERS = frozenset({"border_control", "toll_booth"})


@dataclass
class OsmData:
    """Raw OSM elements, enough to build a road graph.

    ``node_coords`` maps node id -> (lon, lat) in degrees (WGS84); ``node_tags`` holds the kept
    tags of tagged nodes; ``ways`` holds (way id, node ids, tags).
    """

    source: str
    node_coords: dict[int, tuple[float, float]] = field(default_factory=dict)
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)
    ways: list[tuple[int, list[int], dict[str, str]]] = field(default_factory=list)
    notice: str | None = None  # a data notice carried by the file (licence, schematic label)

    @property
    def schematic(self) -> bool:
        """True when the file says it is a schematic network, not OpenStreetMap data."""
        return bool(self.notice and self.notice.lstrip().upper().startswith(SCHEMATIC_MARKER))


def kept_node_tags(tags: dict[str, str]) -> dict[str, str]:
    """The node tags the graph keeps (barrier only for checkpoints such as border_control)."""
    kept = {k: v for k, v in tags.items() if k in NODE_TAGS}
    if kept.get("barrier") not in KEPT_BARRIERS:
        kept.pop("barrier", None)
    return kept


def _require_file(path: Path) -> None:
    if not path.exists():
        raise NetworkLoadError("file not found", file=path)
    if path.is_dir():
        raise NetworkLoadError("is a folder, expected a file", file=path)
    if path.stat().st_size == 0:
        raise NetworkLoadError("file is empty", file=path)


def read_osm_xml(path: str | Path) -> OsmData:
    """Read an OSM XML file (``.osm``, ``.osm.gz``, ``.xml``) with a streaming parser."""
    path = Path(path)
    _require_file(path)
    data = OsmData(source=str(path))
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            root_seen = False
            for event, elem in ET.iterparse(fh, events=("start", "end")):
                if event == "start":
                    if not root_seen:
                        root_seen = True
                        if elem.tag != "osm":
                            raise NetworkLoadError(f"root element is <{elem.tag}>, expected <osm>", file=path)
                    continue
                tag = elem.tag
                if tag == "node":
                    nid = int(elem.attrib["id"])
                    if "lat" in elem.attrib and "lon" in elem.attrib:
                        data.node_coords[nid] = (float(elem.attrib["lon"]), float(elem.attrib["lat"]))
                    tags = kept_node_tags({t.attrib["k"]: t.attrib["v"] for t in elem.iter("tag")})
                    if tags:
                        data.node_tags[nid] = tags
                    elem.clear()
                elif tag == "way":
                    refs = [int(nd.attrib["ref"]) for nd in elem.iter("nd")]
                    tags = {t.attrib["k"]: t.attrib["v"] for t in elem.iter("tag")}
                    data.ways.append((int(elem.attrib["id"]), refs, tags))
                    elem.clear()
                elif tag == "note" and elem.text:
                    data.notice = elem.text.strip()
                elif tag == "relation":
                    elem.clear()
    except ET.ParseError as exc:
        raise NetworkLoadError(f"not valid OSM XML (corrupt or truncated): {exc}", file=path) from exc
    except (KeyError, ValueError) as exc:
        raise NetworkLoadError(f"malformed OSM element attribute: {exc}", file=path) from exc
    except (OSError, EOFError) as exc:
        raise NetworkLoadError(f"cannot read file: {exc}", file=path) from exc
    if not data.ways:
        raise NetworkLoadError("contains no ways", file=path)
    return data


def osm_data_from_overpass_json(doc: dict, source: str) -> OsmData:
    """Convert an Overpass API JSON document (``out body`` or ``out geom``) to :class:`OsmData`.

    ``out geom`` ways carry coordinates but no node ids; their nodes get synthetic negative
    ids, shared where coordinates are identical so junctions stay junctions.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
        raise NetworkLoadError("not an Overpass JSON document (no 'elements' list)", file=source)
    data = OsmData(source=source, notice=(doc.get("osm3s") or {}).get("copyright"))
    synthetic: dict[tuple[float, float], int] = {}
    for i, el in enumerate(doc["elements"]):
        try:
            kind = el["type"]
            if kind == "node":
                data.node_coords[int(el["id"])] = (float(el["lon"]), float(el["lat"]))
                tags = kept_node_tags(el.get("tags") or {})
                if tags:
                    data.node_tags[int(el["id"])] = tags
            elif kind == "way":
                tags = dict(el.get("tags") or {})
                refs = [int(n) for n in el.get("nodes") or []]
                geom = el.get("geometry")
                if geom and refs and len(geom) == len(refs):
                    for nid, pt in zip(refs, geom):
                        if pt:  # Overpass writes null for nodes outside the query area
                            data.node_coords.setdefault(nid, (float(pt["lon"]), float(pt["lat"])))
                elif geom:
                    refs = []
                    for pt in geom:
                        key = (round(float(pt["lon"]), 7), round(float(pt["lat"]), 7))
                        nid = synthetic.setdefault(key, -(len(synthetic) + 1))
                        data.node_coords[nid] = key
                        refs.append(nid)
                data.ways.append((int(el["id"]), refs, tags))
        except (KeyError, TypeError, ValueError) as exc:
            raise NetworkLoadError(f"malformed element: {exc!r}", file=source,
                                   field=f"elements[{i}]", value=el.get("id") if isinstance(el, dict) else el) from exc
    if not data.ways:
        raise NetworkLoadError("contains no ways", file=source)
    return data


def read_overpass_json(path: str | Path) -> OsmData:
    """Read an Overpass API JSON dump from disk."""
    path = Path(path)
    _require_file(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NetworkLoadError(f"not valid JSON (corrupt or truncated): {exc}", file=path) from exc
    return osm_data_from_overpass_json(doc, str(path))
