"""OSM files (``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``) -> :class:`RoadWays` arrays.

Reader: **pyosmium** (Python bindings of libosmium, binary wheels on PyPI) for every OSM file
format. Chosen because its C++ decoder reads PBF blocks on worker threads and streams XML, its
tag filters run in C++ so buildings, land use and footpaths never reach Python, it keeps a
compact node-location index (16 bytes a node) and it hands each way's coordinates over in one
call (WKB). pyrosm, the other compiled reader on PyPI, decodes a whole PBF into (Geo)DataFrames
at once, so its memory grows with everything in the extract, not only the roads; it reads no XML.

:func:`read_osm_file` streams the file once: ways with ``highway`` in the requested classes that
are drivable (:func:`routing.network.classes.is_drivable`), their node ids, the coordinates of
every referenced node (NaN where the node is missing from a clipped extract), the kept tags
(``settings.EDGE_TAGS``) and the kept node tags (border controls...). libosmium's location index
holds positive node ids only; files with negative ids (JOSM edits, the schematic demo network)
get a second pass over their nodes. An XML file's ``<note>`` is its data notice (the schematic
network says SCHEMATIC there).
"""

from __future__ import annotations

import bz2
import gzip
import re
import struct
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import osmium

from ..errors import NetworkLoadError
from ..settings import EDGE_TAGS, KEPT_BARRIERS, NODE_TAGS, OSM_COPYRIGHT, SCHEMATIC_MARKER
from .classes import FILTER_KEYS, is_drivable, resolve_classes
from .restrictions import restriction_record

LOCATION_INDEX = "sparse_mem_array"  # 16 bytes per node of the file, independent of id range
WAY_KEYS = tuple(dict.fromkeys(EDGE_TAGS + FILTER_KEYS))  # way tags read from the file
_WKB_HEADER = 9  # WKB LineString: byte order (1), geometry type (4), point count (4), then x/y doubles
_NOTE_BYTES = 65_536  # the head of an XML file searched for its <note>
_NOTE = re.compile(rb"<note>(.*?)</note>", re.DOTALL)
# file name endings -> libosmium format names
FORMATS = {".osm.pbf": "pbf", ".pbf": "pbf", ".osm.gz": "osm.gz", ".osm.bz2": "osm.bz2", ".osm": "osm",
           ".xml": "osm", ".osm.xml": "osm"}


@dataclass
class RoadWays:
    """The drivable ways of an OSM source as flat arrays.

    Way ``i`` has id ``way_ids[i]``, kept tags ``way_tags[i]`` and node ids
    ``refs[offsets[i]:offsets[i + 1]]``; ``lon``/``lat`` (degrees, WGS84) are given per entry of
    ``refs`` and are NaN where the node is missing from the source (clipped extract).
    ``notice`` is the data notice (licence, or the schematic network's label).
    """

    source: str
    way_ids: np.ndarray  # int64, (W,)
    way_tags: list[dict[str, str]]
    offsets: np.ndarray  # int64, (W + 1,)
    refs: np.ndarray  # int64, (R,)
    lon: np.ndarray  # float64, (R,)
    lat: np.ndarray  # float64, (R,)
    node_tags: dict[int, dict[str, str]]  # kept tags of tagged nodes (settings.NODE_TAGS)
    ways_read: int  # ways of the requested highway classes in the source, drivable or not
    notice: str = OSM_COPYRIGHT
    restrictions: list[dict[str, Any]] = field(default_factory=list)  # turn restrictions (network.restrictions)

    @property
    def schematic(self) -> bool:
        """True when the source says it is a schematic network, not OpenStreetMap data."""
        return self.notice.lstrip().upper().startswith(SCHEMATIC_MARKER)


def kept_node_tags(tags: dict[str, str]) -> dict[str, str]:
    """The node tags the graph keeps (barrier only for checkpoints such as border_control)."""
    kept = {k: v for k, v in tags.items() if k in NODE_TAGS}
    if kept.get("barrier") not in KEPT_BARRIERS:
        kept.pop("barrier", None)
    return kept


def require_file(path: Path) -> None:
    """Raise :class:`NetworkLoadError` unless ``path`` is a non-empty file."""
    if not path.exists():
        raise NetworkLoadError("file not found", file=path)
    if path.is_dir():
        raise NetworkLoadError("is a folder, expected a file", file=path)
    if path.stat().st_size == 0:
        raise NetworkLoadError("file is empty", file=path)


def file_format(path: Path) -> str | None:
    """libosmium's format name for ``path`` by its ending, or None when it is no OSM file."""
    name = path.name.lower()
    for ending, fmt in FORMATS.items():
        if name.endswith(ending):
            return fmt
    return None


def read_osm_file(path: str | Path, road_classes: str | Iterable[str] = "drive") -> RoadWays:
    """Stream an OSM file once and return its drivable ways of ``road_classes`` (see module doc).

    Raises :class:`NetworkLoadError` naming the file when it is missing, empty, not OSM data,
    corrupt or truncated, or holds no drivable way of the requested classes.
    """
    path = Path(path)
    require_file(path)
    fmt = file_format(path)
    if fmt is None:
        raise NetworkLoadError("not an OSM file name (.osm, .osm.gz, .osm.bz2, .osm.pbf)", file=path)
    classes = resolve_classes(road_classes)
    way_filter = osmium.filter.TagFilter(*(("highway", c) for c in sorted(classes)))
    way_filter.enable_for(osmium.osm.WAY)
    node_filter = osmium.filter.KeyFilter(*NODE_TAGS)
    node_filter.enable_for(osmium.osm.NODE)
    relation_filter = osmium.filter.TagFilter(("type", "restriction"))
    relation_filter.enable_for(osmium.osm.RELATION)
    wkb = osmium.geom.WKBFactory()
    all_nodes = osmium.geom.use_nodes.ALL
    intern = sys.intern
    way_ids, counts, refs = array("q"), array("q"), array("q")  # 8 bytes an entry, not 40 as a list
    way_tags: list[dict[str, str]] = []
    coords = bytearray()  # WKB LineStrings of all ways, back to back
    node_tags: dict[int, dict[str, str]] = {}
    restrictions: list[dict[str, Any]] = []
    ways_read = 0
    try:
        processor = (osmium.FileProcessor(osmium.io.File(str(path), fmt),
                                          osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION)
                     .with_locations(LOCATION_INDEX)
                     .with_filter(way_filter).with_filter(node_filter).with_filter(relation_filter))
        for obj in processor:
            if isinstance(obj, osmium.osm.Relation):
                record = restriction_record(obj.id, dict(obj.tags), ((m.role, m.type, m.ref) for m in obj.members))
                if record is not None:
                    restrictions.append(record)
                continue
            if isinstance(obj, osmium.osm.Node):
                get = obj.tags.get
                kept = {k: v for k in NODE_TAGS if (v := get(k)) is not None}
                if "barrier" in kept:
                    kept = kept_node_tags(kept)
                if kept:
                    node_tags[obj.id] = kept
                continue
            assert isinstance(obj, osmium.osm.Way)  # the processor reads nodes, ways and relations
            ways_read += 1
            get = obj.tags.get
            tags = {k: intern(v) for k in WAY_KEYS if (v := get(k)) is not None}
            if not is_drivable(tags, classes):
                continue
            nodes = obj.nodes
            way_ids.append(obj.id)
            way_tags.append({k: v for k, v in tags.items() if k not in FILTER_KEYS})
            counts.append(len(nodes))
            refs.fromlist([node.ref for node in nodes])
            try:
                coords += bytes.fromhex(wkb.create_linestring(nodes, all_nodes))
            except (osmium.InvalidLocationError, RuntimeError):  # a node outside the extract, or < 2 nodes
                coords += _wkb_with_gaps(nodes)
    except (RuntimeError, osmium.InvalidLocationError) as exc:  # libosmium: corrupt, truncated, not OSM
        raise NetworkLoadError(f"not a readable OSM file (corrupt or truncated?): {exc}", file=path) from exc
    if not way_ids:
        raise NetworkLoadError(f"no drivable ways of classes {sorted(classes)} in the file"
                               + ("" if ways_read else " (no road of these classes at all: an empty, cut-short "
                                  "or non-road extract?)"), file=path)
    count = np.frombuffer(counts, dtype=np.int64)
    offsets = np.zeros(len(count) + 1, dtype=np.int64)
    np.cumsum(count, out=offsets[1:])
    lon, lat = _parse_wkb(coords, count)
    ref_ids = np.frombuffer(refs, dtype=np.int64).copy()
    _locate_negative_ids(path, fmt, ref_ids, lon, lat)
    return RoadWays(source=str(path), way_ids=np.frombuffer(way_ids, dtype=np.int64).copy(), way_tags=way_tags,
                    offsets=offsets, refs=ref_ids, lon=lon, lat=lat, node_tags=node_tags, ways_read=ways_read,
                    notice=xml_note(path, fmt) or OSM_COPYRIGHT, restrictions=restrictions)


def _locate_negative_ids(path: Path, fmt: str, refs: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
    """Fill the coordinates of negative node ids (libosmium's index holds positive ids only)."""
    wanted = refs < 0
    if not wanted.any():
        return
    found: dict[int, tuple[float, float]] = {}
    for node in osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.NODE):
        if isinstance(node, osmium.osm.Node) and node.id < 0 and node.location.valid():
            found[node.id] = (node.location.lon, node.location.lat)
    idx = np.flatnonzero(wanted)
    xy = np.array([found.get(int(r), (np.nan, np.nan)) for r in refs[idx]], dtype=float).reshape(-1, 2)
    lon[idx], lat[idx] = xy[:, 0], xy[:, 1]


def xml_note(path: Path, fmt: str) -> str | None:
    """The ``<note>`` text near the start of an OSM XML file (None for PBF or without one)."""
    if fmt not in ("osm", "osm.gz", "osm.bz2"):
        return None
    try:
        head = _read_head(path, fmt)
    except (OSError, EOFError):
        return None
    found = _NOTE.search(head)
    return found.group(1).decode("utf-8", "replace").strip() if found else None


def _read_head(path: Path, fmt: str) -> bytes:
    """The first bytes of an OSM XML file, decompressed."""
    if fmt == "osm.gz":
        with gzip.open(path, "rb") as gz:
            return gz.read(_NOTE_BYTES)
    if fmt == "osm.bz2":
        with bz2.open(path, "rb") as bz:
            return bz.read(_NOTE_BYTES)
    with open(path, "rb") as fh:
        return fh.read(_NOTE_BYTES)


def _wkb_with_gaps(nodes: osmium.osm.WayNodeList) -> bytes:
    """A little-endian WKB LineString of all ``nodes``, NaN where a location is missing."""
    flat: list[float] = []
    for node in nodes:
        loc = node.location
        flat.extend((loc.lon, loc.lat) if loc.valid() else (np.nan, np.nan))
    return struct.pack(f"<BII{len(flat)}d", 1, 2, len(nodes), *flat)


def _parse_wkb(buf: bytearray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split back-to-back WKB LineStrings with ``counts`` points each into lon, lat arrays."""
    sizes = _WKB_HEADER + 16 * counts
    if int(sizes.sum()) != len(buf):
        raise RuntimeError("internal error: WKB buffer does not match the way node counts")
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    raw = np.frombuffer(buf, dtype=np.uint8)
    if not (raw[starts] == 1).all():
        raise RuntimeError("internal error: big-endian WKB from pyosmium")
    keep = np.ones(len(buf), dtype=bool)
    keep[(starts[:, None] + np.arange(_WKB_HEADER)).ravel()] = False
    xy = raw[keep].view("<f8").reshape(-1, 2)
    return np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
