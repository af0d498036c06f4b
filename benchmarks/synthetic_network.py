"""Deterministic generator of a SYNTHETIC national-size road network (not OpenStreetMap data).

Writes the same network twice, with pyosmium's writer: as ``.osm.pbf`` (for our loader) and as
OSM XML ``.osm`` (for ``osmnx.graph_from_xml``, which cannot read PBF). The layout imitates a
country the size of Syria (6.7 x 5 degrees):

* towns and cities, each a rotated, jittered street grid (spacing 90-160 m) with missing blocks
  (dead ends, T-junctions), curved blocks (0-4 shape nodes per block), ways spanning 1-4 blocks,
  residential / tertiary / secondary / living_street classes, ~9 % one-way streets (some
  ``oneway=-1``), names, traffic signals, a few one-block bridges;
* intercity roads along a minimum spanning tree plus nearest-neighbour links between towns:
  trunk / primary / secondary / unclassified by town size, shape nodes every ~250 m on a smooth
  meander, ways of 2.5-6 km, one-segment ``bridge=yes`` + ``layer=1`` ways every ~70 km on
  average, refs and speed limits; the biggest city pairs get dual-carriageway motorways (two
  one-way ways) with ``motorway_link`` ramps;
* trunk roads from towns near the edge to the border, ending at a ``barrier=border_control`` node.

Every node is used by a way and every way is drivable, like an Overpass road download, so
osmnx and our loader build the same graph from the two files. The output is a pure function of
``towns`` and ``seed``. With the defaults (2,200 towns) it holds 687,419 ways and 2,869,975
nodes (PBF 21 MB, XML 375 MB); 275 and 550 towns give 84,652 and 195,590 ways.

Run ``python benchmarks/synthetic_network.py OUT_STEM [--towns N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import math
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import osmium
from osmium.osm.mutable import Node, Way
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import cKDTree

BBOX = (35.7, 32.3, 42.4, 37.3)  # (west, south, east, north) degrees: a Syria-sized area
M_PER_DEG_LAT = 111_320.0
GENERATOR = "corridor-routing benchmarks/synthetic_network.py: SYNTHETIC road network, not OpenStreetMap data"
DEFAULT_TOWNS = 2_200
DEFAULT_SEED = 20_240_601


@dataclass
class Network:
    """Nodes (ids 1..n, lon/lat degrees) and ways (ids 1..m) being generated."""

    lon: array = field(default_factory=lambda: array("d"))
    lat: array = field(default_factory=lambda: array("d"))
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)
    ways: list[tuple[list[int], dict[str, str]]] = field(default_factory=list)

    def add_node(self, lon: float, lat: float) -> int:
        """Append a node; returns its id."""
        self.lon.append(lon)
        self.lat.append(lat)
        return len(self.lon)

    def add_way(self, nodes: list[int], tags: dict[str, str]) -> None:
        """Append a way over existing node ids."""
        self.ways.append((nodes, tags))


@dataclass
class Town:
    """A town's centre (degrees), grid size (intersections per side), spacing (m) and rotation (rad)."""

    lon: float
    lat: float
    size: int
    spacing: float
    angle: float
    name: str
    grid: dict[tuple[int, int], int] = field(default_factory=dict)  # (i, j) -> node id, created lazily


def _offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point ``east_m`` / ``north_m`` metres from (lon, lat), in degrees."""
    return (lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat))), lat + north_m / M_PER_DEG_LAT)


def _town_streets(net: Network, town: Town, rng: np.random.Generator) -> None:
    """Add a town's street grid: lines of blocks, some blocks missing, ways of 1-4 blocks."""
    g, s = town.size, town.spacing
    ca, sa = math.cos(town.angle), math.sin(town.angle)
    jitter = rng.normal(0.0, 0.08 * s, size=(g, g, 2))

    def local(i: float, j: float) -> tuple[float, float]:
        x, y = (i - (g - 1) / 2) * s, (j - (g - 1) / 2) * s
        return x * ca - y * sa, x * sa + y * ca

    def intersection(i: int, j: int) -> int:
        nid = town.grid.get((i, j))
        if nid is None:
            x, y = local(i, j)
            nid = net.add_node(*_offset(town.lon, town.lat, x + jitter[i, j, 0], y + jitter[i, j, 1]))
            town.grid[(i, j)] = nid
        return nid

    big = g >= 20
    for axis in (0, 1):
        for line in range(g):
            if big and line % 10 == 5:
                tags = {"highway": "secondary", "maxspeed": "50", "lanes": "2"}
            elif line % 4 == 2 and g >= 6:
                tags = {"highway": "tertiary"}
            else:
                tags = {"highway": "living_street" if rng.random() < 0.02 else "residential"}
            if rng.random() < 0.6:
                tags["name"] = f"{town.name} {'Street' if axis else 'Avenue'} {line + 1}"
            present = rng.random(g - 1) >= (0.03 if tags["highway"] != "residential" else 0.09)
            cells = [(line, k) if axis else (k, line) for k in range(g)]
            k = 0
            while k < g - 1:
                if not present[k]:
                    k += 1
                    continue
                n_blocks = int(rng.integers(1, 5))
                way_tags = dict(tags)
                if tags["highway"] in ("residential", "living_street"):
                    r = rng.random()
                    if r < 0.08:
                        way_tags["oneway"] = "yes"
                    elif r < 0.09:
                        way_tags["oneway"] = "-1"
                if n_blocks == 1 and rng.random() < 0.01:
                    way_tags.update(bridge="yes", layer="1")
                nodes = [intersection(*cells[k])]
                while k < g - 1 and present[k] and n_blocks > 0:
                    (i0, j0), (i1, j1) = cells[k], cells[k + 1]
                    shape = int(rng.choice(5, p=[0.35, 0.3, 0.17, 0.1, 0.08]))
                    for t in range(1, shape + 1):
                        f = t / (shape + 1)
                        x, y = local(i0 + f * (i1 - i0), j0 + f * (j1 - j0))
                        wobble = rng.normal(0.0, 0.04 * s, size=2)
                        nodes.append(net.add_node(*_offset(town.lon, town.lat, x + wobble[0], y + wobble[1])))
                    nodes.append(intersection(i1, j1))
                    k += 1
                    n_blocks -= 1
                net.add_way(nodes, way_tags)
    for (i, j), nid in town.grid.items():
        if big and (i % 10 == 5 or j % 10 == 5) and rng.random() < 0.3:
            net.node_tags[nid] = {"highway": "traffic_signals"}


def _anchor(net: Network, town: Town, lon: float, lat: float) -> int:
    """The town's grid node nearest to (lon, lat): where a road from that direction enters."""
    coslat2 = math.cos(math.radians(town.lat)) ** 2
    return min(town.grid.values(),
               key=lambda nid: (net.lon[nid - 1] - lon) ** 2 * coslat2 + (net.lat[nid - 1] - lat) ** 2)


def _polyline(a: tuple[float, float], b: tuple[float, float], rng: np.random.Generator,
              spacing_m: float = 250.0) -> list[tuple[float, float]]:
    """Interior points of a meandering road from a to b (degrees), one every ~``spacing_m``."""
    coslat = math.cos(math.radians((a[1] + b[1]) / 2))
    dx, dy = (b[0] - a[0]) * coslat * M_PER_DEG_LAT, (b[1] - a[1]) * M_PER_DEG_LAT
    length = math.hypot(dx, dy)
    n = max(1, int(length / spacing_m))
    t = np.arange(1, n) / n
    amp = rng.uniform(0.01, 0.04) * length
    lateral = amp * (np.sin(math.pi * t * rng.integers(1, 4)) + 0.3 * np.sin(2 * math.pi * t * rng.integers(2, 7)))
    lateral += rng.normal(0, 4.0, size=t.size)
    ux, uy = (-dy / length, dx / length) if length else (0.0, 0.0)
    xs = a[0] + t * (b[0] - a[0]) + lateral * ux / (coslat * M_PER_DEG_LAT)
    ys = a[1] + t * (b[1] - a[1]) + lateral * uy / M_PER_DEG_LAT
    return list(zip(xs.tolist(), ys.tolist()))


def _road(net: Network, start: int, end: int, points: list[tuple[float, float]], tags: dict[str, str],
          rng: np.random.Generator) -> None:
    """Add a road through ``points`` from node ``start`` to node ``end``, split into ways of
    10-24 nodes, with occasional one-segment bridge ways."""
    ids = [start] + [net.add_node(x, y) for x, y in points] + [end]
    _split_into_ways(net, ids, tags, rng, bridge_probability=0.06)


def _split_into_ways(net: Network, ids: list[int], tags: dict[str, str], rng: np.random.Generator,
                     bridge_probability: float) -> None:
    """Add the node chain ``ids`` as ways of 10-24 segments, each step starting a one-segment
    ``bridge=yes`` way instead with ``bridge_probability``."""
    k = 0
    while k < len(ids) - 1:
        if rng.random() < bridge_probability and k + 2 < len(ids):
            net.add_way(ids[k:k + 2], {**tags, "bridge": "yes", "layer": "1"})
            k += 1
            continue
        n = int(rng.integers(10, 25))
        net.add_way(ids[k:k + n + 1], dict(tags))
        k += n


def _motorway(net: Network, a: int, b: int, points: list[tuple[float, float]], ref: str,
              rng: np.random.Generator) -> None:
    """Dual carriageway between nodes a and b: two one-way ways 12 m either side, with ramps."""
    tags = {"highway": "motorway", "ref": ref, "oneway": "yes", "maxspeed": "120", "lanes": "2"}
    sides = []
    for side in (1.0, -1.0):
        shifted = []
        for k, (x, y) in enumerate(points):
            nx_, ny_ = points[min(k + 1, len(points) - 1)]
            px, py = points[max(k - 1, 0)]
            dx, dy = (nx_ - px) * math.cos(math.radians(y)), ny_ - py
            norm = math.hypot(dx, dy) or 1.0
            shifted.append(_offset(x, y, side * 12.0 * dy / norm, -side * 12.0 * dx / norm))
        sides.append(shifted)
    forward = [net.add_node(x, y) for x, y in sides[0]]
    backward = [net.add_node(x, y) for x, y in reversed(sides[1])]
    link = {"highway": "motorway_link", "oneway": "yes"}
    for carriageway, (src, dst) in ((forward, (a, b)), (backward, (b, a))):
        net.add_way([src, carriageway[0]], dict(link))
        _split_into_ways(net, carriageway, tags, rng, bridge_probability=0.05)
        net.add_way([carriageway[-1], dst], dict(link))


def generate(stem: str | Path, *, towns: int = DEFAULT_TOWNS, seed: int = DEFAULT_SEED) -> dict[str, object]:
    """Write ``<stem>.osm.pbf`` and ``<stem>.osm``; returns their paths and element counts."""
    rng = np.random.default_rng(seed)
    net = Network()
    west, south, east, north = BBOX
    centres = np.column_stack([rng.uniform(west + 0.05, east - 0.05, towns),
                               rng.uniform(south + 0.05, north - 0.05, towns)])
    sizes = np.clip(3 + np.floor(rng.pareto(1.6, towns) * 7), 3, 90).astype(int)
    order = np.argsort(-sizes, kind="stable")
    town_list = [Town(float(centres[t, 0]), float(centres[t, 1]), int(sizes[t]), float(rng.uniform(90, 160)),
                      float(rng.uniform(0, math.pi / 2)), f"Town{t}") for t in range(towns)]
    for town in town_list:
        _town_streets(net, town, rng)

    # intercity links: minimum spanning tree of the 4-nearest-neighbour graph, plus extra neighbours
    scale = np.array([math.cos(math.radians((south + north) / 2)), 1.0])
    tree = cKDTree(centres * scale)
    dist, nbr = tree.query(centres * scale, k=5)
    rows = np.repeat(np.arange(towns), 4)
    knn = coo_matrix((dist[:, 1:].ravel(), (rows, nbr[:, 1:].ravel())), shape=(towns, towns)).tocsr()
    mst = minimum_spanning_tree(knn).tocoo()
    links = {(min(a, b), max(a, b)) for a, b in zip(mst.row.tolist(), mst.col.tolist())}
    extra = rng.random(towns) < 0.5
    links |= {(min(a, int(nbr[a, 2])), max(a, int(nbr[a, 2]))) for a in np.flatnonzero(extra).tolist()}
    rank = np.empty(towns, dtype=int)
    rank[order] = np.arange(towns)
    for n_link, (a, b) in enumerate(sorted(links)):
        ta, tb = town_list[a], town_list[b]
        top = max(rank[a], rank[b])
        start, end = _anchor(net, ta, tb.lon, tb.lat), _anchor(net, tb, ta.lon, ta.lat)
        pa = (net.lon[start - 1], net.lat[start - 1])
        pb = (net.lon[end - 1], net.lat[end - 1])
        points = _polyline(pa, pb, rng)
        if top < 12:
            _motorway(net, start, end, points, f"M{n_link % 90 + 1}", rng)
            continue
        if top < 60:
            tags = {"highway": "trunk", "ref": f"M{n_link % 90 + 1}", "maxspeed": "100", "lanes": "2"}
        elif top < 400:
            tags = {"highway": "primary", "ref": f"{n_link % 400 + 1}", "maxspeed": "80"}
        elif top < 1200:
            tags = {"highway": "secondary"}
        else:
            tags = {"highway": "unclassified"}
        if rng.random() < 0.1:
            tags["oneway"] = "no"
        _road(net, start, end, points, tags, rng)

    # border crossings: trunk roads from the 12 towns nearest the edge, ending at a checkpoint
    edge_dist = np.minimum.reduce([centres[:, 0] - west, east - centres[:, 0], centres[:, 1] - south,
                                   north - centres[:, 1]])
    for t in np.argsort(edge_dist, kind="stable")[:12].tolist():
        town = town_list[t]
        x, y = town.lon, town.lat
        target = min(((west + 0.005, y), (east - 0.005, y), (x, south + 0.005), (x, north - 0.005)),
                     key=lambda p: abs(p[0] - x) + abs(p[1] - y))
        start = _anchor(net, town, *target)
        checkpoint = net.add_node(*target)
        net.node_tags[checkpoint] = {"barrier": "border_control", "name": f"Border crossing {t}"}
        beyond = net.add_node(target[0] + (0.004 if target[0] > x + 0.01 else -0.004 if target[0] < x - 0.01 else 0),
                              target[1] + (0.004 if target[1] > y + 0.01 else -0.004 if target[1] < y - 0.01 else 0))
        points = _polyline((net.lon[start - 1], net.lat[start - 1]), target, rng)
        _road(net, start, checkpoint, points, {"highway": "trunk", "ref": f"B{t}"}, rng)
        net.add_way([checkpoint, beyond], {"highway": "trunk", "ref": f"B{t}"})
    return _write(net, Path(stem))


def _write(net: Network, stem: Path) -> dict[str, object]:
    """Write nodes then ways, in id order, to both files at once."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    pbf, xml = stem.with_name(stem.name + ".osm.pbf"), stem.with_name(stem.name + ".osm")
    header = osmium.io.Header()
    header.set("generator", GENERATOR)
    west, south, east, north = BBOX
    header.add_box(osmium.osm.Box(west, south, east, north))
    with osmium.SimpleWriter(str(pbf), overwrite=True, header=header) as wp, \
            osmium.SimpleWriter(str(xml), overwrite=True, header=header) as wx:
        for k, (lon, lat) in enumerate(zip(net.lon, net.lat)):
            node = Node(id=k + 1, version=1, location=(lon, lat), tags=net.node_tags.get(k + 1, {}))
            wp.add_node(node)
            wx.add_node(node)
        for k, (nodes, tags) in enumerate(net.ways):
            way = Way(id=k + 1, version=1, nodes=nodes, tags=tags)
            wp.add_way(way)
            wx.add_way(way)
    return {"pbf": pbf, "xml": xml, "nodes": len(net.lon), "ways": len(net.ways),
            "way_node_refs": sum(len(n) for n, _ in net.ways)}


def main() -> None:
    """Command line: write the synthetic network and print its size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stem", help="output path without extension; writes STEM.osm.pbf and STEM.osm")
    parser.add_argument("--towns", type=int, default=DEFAULT_TOWNS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    info = generate(args.stem, towns=args.towns, seed=args.seed)
    print(f"SYNTHETIC network: {info['nodes']:,} nodes, {info['ways']:,} ways -> {info['pbf']}, {info['xml']}")


if __name__ == "__main__":
    main()
