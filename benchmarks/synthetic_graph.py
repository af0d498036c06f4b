"""A deterministic, national-size SYNTHETIC road graph built directly in memory (not OpenStreetMap data).

Towns are street grids (residential streets, a secondary street every few blocks, some one-way
streets, a few missing blocks). A jittered 5 km grid of rural roads (tertiary, 70 km/h) covers
the country outside the towns; each town joins it at four gates. Towns are linked by highways
along a Delaunay triangulation of the town centres: the minimum spanning tree as dual-carriageway
motorways (two one-way chains with their own nodes, like OSM's divided highways, with an
interchange to the rural roads every third node), the other short links as two-way primary
roads joined to the rural grid at every node. Straight "rivers" cross the country: where a
highway crosses one, a 200 m ``bridge=yes`` edge is inserted (both carriageways of a motorway
get one); most rural roads stop at a river and the others cross it on a bridge. Coordinates lie
in the South Atlantic so the graph cannot be mistaken for a real place.

The result is an osmnx-style MultiDiGraph (node ``x``/``y`` in degrees; edge ``osmid``,
``highway``, ``name``, ``ref``, ``oneway``, ``reversed``, ``length`` in metres, ``bridge``,
``maxspeed`` on rural roads), enriched by :func:`routing.network.load_network` (speed, travel
time, capacity). With the default arguments: 206,954 nodes and 704,625 directed edges, built in
about 10 s.

Run ``python benchmarks/synthetic_graph.py`` to print its size.
"""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay

from routing.network import load_network

LAT0, LON0 = -30.0, -20.0  # South Atlantic: nowhere real
M_PER_DEG_LAT = 111_320.0
NOTICE = "SYNTHETIC benchmark graph (benchmarks/synthetic_graph.py), not OpenStreetMap data"


class _Builder:
    """Accumulates nodes (metric x, y) and edges with osmnx-style attributes."""

    def __init__(self) -> None:
        self.xy: list[tuple[float, float]] = []
        self.edges: list[tuple[int, int, dict]] = []
        self.next_way = 1

    def node(self, x: float, y: float) -> int:
        self.xy.append((x, y))
        return len(self.xy)  # node ids start at 1, like OSM ids

    def way(self) -> int:
        self.next_way += 1
        return self.next_way - 1

    def road(self, nodes: list[int], tags: dict, *, oneway: bool, way: int | None = None) -> None:
        """Edges along ``nodes``; two-way roads get both directions (same osmid, ``reversed``)."""
        way = self.way() if way is None else way
        for a, b in itertools.pairwise(nodes):
            (xa, ya), (xb, yb) = self.xy[a - 1], self.xy[b - 1]
            length = math.hypot(xb - xa, yb - ya)
            self.edges.append((a, b, {**tags, "osmid": way, "oneway": oneway, "reversed": False, "length": length}))
            if not oneway:
                self.edges.append((b, a, {**tags, "osmid": way, "oneway": False, "reversed": True, "length": length}))


def _town(b: _Builder, rng: np.random.Generator, cx: float, cy: float, side: int, spacing: float,
          name: str) -> np.ndarray:
    """A side x side street grid (``spacing`` metres) centred on (cx, cy) metres; returns its node ids."""
    ids = np.empty((side, side), dtype=np.int64)
    off = (side - 1) / 2
    for r in range(side):
        for c in range(side):
            ids[r, c] = b.node(cx + (c - off) * spacing + rng.normal(0, 8), cy + (r - off) * spacing + rng.normal(0, 8))
    for axis in (0, 1):
        for line in range(side):
            main = line % 6 == 3
            tags = {"highway": "secondary" if main else "residential", "name": f"{name} street {axis}-{line}"}
            nodes = ids[line, :] if axis == 0 else ids[:, line]
            oneway = not main and rng.random() < 0.15
            if oneway and line % 2:
                nodes = nodes[::-1]
            way = b.way()
            keep = rng.random(side - 1) > (0.0 if main else 0.06)  # a few missing blocks
            for i in np.flatnonzero(keep):
                b.road([int(nodes[i]), int(nodes[i + 1])], tags, oneway=oneway, way=way)
    return ids


class _Rural:
    """A jittered grid of two-way rural roads (``tertiary``, 70 km/h) covering the country; grid
    points inside towns are left out. Where a rural road crosses a river, most have no bridge
    (the river is a barrier) and the rest are ``bridge=yes``."""

    SPACING = 5000.0

    def __init__(self, b: _Builder, rng: np.random.Generator, width: float, height: float,
                 towns: list[tuple[np.ndarray, float]], rivers: list[tuple[np.ndarray, np.ndarray]]):
        cols, rows = int(width // self.SPACING) + 1, int(height // self.SPACING) + 1
        self.ids = np.zeros((rows, cols), dtype=np.int64)  # 0 = no node (inside a town)
        centres = np.array([c for c, _ in towns])
        radii = np.array([r for _, r in towns])
        for r in range(rows):
            for c in range(cols):
                p = np.array([c * self.SPACING, r * self.SPACING]) + rng.normal(0, 700, 2)
                if not (np.hypot(*(centres - p).T) < radii + 500).any():
                    self.ids[r, c] = b.node(float(p[0]), float(p[1]))
        self.b = b
        tags = {"highway": "tertiary", "maxspeed": "70"}
        for r in range(rows):
            for c in range(cols):
                for r2, c2 in ((r, c + 1), (r + 1, c)):
                    if r2 >= rows or c2 >= cols or not self.ids[r, c] or not self.ids[r2, c2]:
                        continue
                    p, q = (np.array(b.xy[self.ids[x, y] - 1]) for x, y in ((r, c), (r2, c2)))
                    crossing = any(_crossing(p, q, r0, r1) is not None for r0, r1 in rivers)
                    if crossing and rng.random() < 0.7:
                        continue
                    if not crossing and rng.random() < 0.08:
                        continue
                    name = f"rural road {r}-{c}" + ("/h" if r2 == r else "/v")
                    b.road([int(self.ids[r, c]), int(self.ids[r2, c2])],
                           {**tags, "name": name, **({"bridge": "yes"} if crossing else {})}, oneway=False)

    def nearest(self, p: np.ndarray) -> int:
        """The rural node nearest to point p (metres) among the 3 x 3 grid cells around it; 0 if none."""
        r0, c0 = round(p[1] / self.SPACING), round(p[0] / self.SPACING)
        best, best_d = 0, np.inf
        for r in range(max(r0 - 1, 0), min(r0 + 2, self.ids.shape[0])):
            for c in range(max(c0 - 1, 0), min(c0 + 2, self.ids.shape[1])):
                if self.ids[r, c]:
                    d = float(np.hypot(*(np.array(self.b.xy[self.ids[r, c] - 1]) - p)))
                    if d < best_d:
                        best, best_d = int(self.ids[r, c]), d
        return best

    def connect(self, node: int, *, oneway_in: bool = False, oneway_out: bool = False) -> None:
        """A local road from ``node`` to the nearest rural node (two-way, or ramps one way each)."""
        rural = self.nearest(np.array(self.b.xy[node - 1]))
        if not rural:
            return
        tags = {"highway": "motorway_link" if oneway_in or oneway_out else "tertiary", "maxspeed": "70"}
        if oneway_out:
            self.b.road([node, rural], tags, oneway=True)
        if oneway_in:
            self.b.road([rural, node], tags, oneway=True)
        if not (oneway_in or oneway_out):
            self.b.road([node, rural], tags, oneway=False)


def _crossing(p: np.ndarray, q: np.ndarray, r0: np.ndarray, r1: np.ndarray) -> float | None:
    """Parameter t in [0, 1] where segment p->q crosses segment r0->r1, or None."""
    d, e = q - p, r1 - r0
    den = d[0] * e[1] - d[1] * e[0]
    if abs(den) < 1e-9:
        return None
    t = ((r0[0] - p[0]) * e[1] - (r0[1] - p[1]) * e[0]) / den
    s = ((r0[0] - p[0]) * d[1] - (r0[1] - p[1]) * d[0]) / den
    return t if 0 < t < 1 and 0 <= s <= 1 else None


def _chain(b: _Builder, rng: np.random.Generator, start: np.ndarray, end: np.ndarray, offset: np.ndarray,
           rivers: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[int, bool]]:
    """Nodes every ~3 km from start to end (shifted by ``offset`` metres), with a 200 m bridge
    pair of nodes wherever a river is crossed; returns (node, next edge is a bridge)."""
    length = float(np.hypot(*(end - start)))
    steps = max(2, int(length / 3000))
    ts = [i / steps for i in range(steps + 1)]
    half = 100.0 / max(length, 1.0)
    bridges = sorted(t for r0, r1 in rivers if (t := _crossing(start, end, r0, r1)) is not None
                     and half < t < 1 - half)
    points = sorted([(t, False) for t in ts if all(abs(t - c) > 2 * half for c in bridges)]
                    + [(c - half, True) for c in bridges] + [(c + half, False) for c in bridges])
    out = []
    for t, bridge in points:
        jitter = rng.normal(0, 150, 2) if 0 < t < 1 and not bridge else np.zeros(2)
        x, y = start + (end - start) * t + offset + jitter
        out.append((b.node(float(x), float(y)), bridge))
    return out


def _highway(b: _Builder, rng: np.random.Generator, a: int, c: int, pa: np.ndarray, pc: np.ndarray, tags: dict,
             dual: bool, rivers: list, rural: _Rural) -> None:
    """A highway from town node a (at pa) to town node c (at pc); ``dual``: two one-way carriageways
    with an interchange to the rural roads every third node, else every node joins the rural grid."""
    direction = (pc - pa) / max(float(np.hypot(*(pc - pa))), 1.0)
    normal = np.array([-direction[1], direction[0]])
    for sign, (s, e, sn, en) in ([(1, (pa, pc, a, c)), (-1, (pc, pa, c, a))] if dual else [(0, (pa, pc, a, c))]):
        chain = _chain(b, rng, s + direction * 200 * (1 if sign >= 0 else -1), e, normal * 15 * sign, rivers)
        link = {"highway": f"{tags['highway']}_link" if dual else tags["highway"], "name": tags["name"]}
        b.road([sn, chain[0][0]], link, oneway=dual)
        way = b.way()
        for (n0, bridge), (n1, _) in itertools.pairwise(chain):
            if bridge:
                b.road([n0, n1], {**tags, "bridge": "yes"}, oneway=dual)
            else:
                b.road([n0, n1], tags, oneway=dual, way=way)
        b.road([chain[-1][0], en], link, oneway=dual)
        for position, (node, bridge) in enumerate(chain[1:-1], start=1):
            if bridge or chain[position - 1][1]:
                continue
            if not dual:
                rural.connect(node)
            elif position % 3 == 0:
                rural.connect(node, oneway_in=True, oneway_out=True)


def synthetic_graph(*, n_towns: int = 420, width_km: float = 900.0, height_km: float = 600.0, seed: int = 7,
                    enrich: bool = True) -> nx.MultiDiGraph:
    """The synthetic national road graph (deterministic for given arguments).

    ``G.graph["towns"]`` lists (name, centre node id, grid side) for every town, largest first.
    Smaller graphs for tests: e.g. ``n_towns=12, width_km=80, height_km=60``.
    """
    rng = np.random.default_rng(seed)
    b = _Builder()
    width, height = width_km * 1000, height_km * 1000
    min_gap = 0.5 * math.sqrt(width * height / n_towns)
    centres: list[np.ndarray] = []
    while len(centres) < n_towns:
        p = rng.uniform([0, 0], [width, height])
        if all(np.hypot(*(p - q)) > min_gap for q in centres):
            centres.append(p)
    sides = np.clip((rng.pareto(1.6, n_towns) + 1) * 7, 6, 60).astype(int)
    rivers = [(rng.uniform([0, 0], [width, 0]), rng.uniform([0, height], [width, height])) for _ in range(3)]
    rivers += [(rng.uniform([0, 0], [0, height]), rng.uniform([width, 0], [width, height])) for _ in range(2)]
    spacing = [float(rng.uniform(120, 200)) for _ in range(n_towns)]
    rural = _Rural(b, rng, width, height, [(centres[i], sides[i] * spacing[i] / 2 * 1.5) for i in range(n_towns)],
                   rivers)
    grids = [_town(b, rng, *centres[i], int(sides[i]), spacing[i], f"T{i}") for i in range(n_towns)]
    for grid in grids:
        side = grid.shape[0]
        for node in (grid[0, side // 2], grid[-1, side // 2], grid[side // 2, 0], grid[side // 2, -1]):
            rural.connect(int(node))
    pts = np.array(centres)

    def gate(i: int, toward: np.ndarray) -> tuple[int, np.ndarray]:
        """The node of town i's grid nearest to the point ``toward``."""
        ids = grids[i].ravel()
        xy = np.array([b.xy[k - 1] for k in ids])
        best = int(np.argmin(np.hypot(*(xy - toward).T)))
        return int(ids[best]), xy[best]

    tri = Delaunay(pts)
    pairs = {tuple(sorted((int(s[x]), int(s[y])))) for s in tri.simplices for x, y in ((0, 1), (1, 2), (0, 2))}
    pairs_list = sorted(pairs)
    dist = np.array([np.hypot(*(pts[i] - pts[j])) for i, j in pairs_list])
    mst = minimum_spanning_tree(coo_matrix((dist, ([p[0] for p in pairs_list], [p[1] for p in pairs_list])),
                                           shape=(n_towns, n_towns))).tocoo()
    motorway = {tuple(sorted((int(i), int(j)))) for i, j in zip(mst.row, mst.col)}
    cutoff = float(np.quantile(dist, 0.8))
    for number, ((i, j), d) in enumerate(zip(pairs_list, dist), start=1):
        if (i, j) not in motorway and d > cutoff:
            continue
        a, pa = gate(i, pts[j])
        c, pc = gate(j, pts[i])
        dual = (i, j) in motorway
        tags = {"highway": "motorway" if dual else "primary", "name": f"T{i}-T{j} road",
                "ref": f"{'M' if dual else 'R'}{number}"}
        _highway(b, rng, a, c, pa, pc, tags, dual, rivers, rural)

    G = nx.MultiDiGraph(crs="epsg:4326", source=f"synthetic:seed={seed}", synthetic=True, schematic=False,
                        data_notice=NOTICE)
    lat_scale = 1 / M_PER_DEG_LAT
    lon_scale = 1 / (M_PER_DEG_LAT * math.cos(math.radians(LAT0)))
    G.add_nodes_from((k, {"x": LON0 + x * lon_scale, "y": LAT0 + y * lat_scale})
                     for k, (x, y) in enumerate(b.xy, start=1))
    G.add_edges_from(b.edges)
    order = np.argsort(-sides, kind="stable")
    G.graph["towns"] = [(f"T{i}", int(grids[i][sides[i] // 2, sides[i] // 2]), int(sides[i])) for i in order]
    return load_network(G) if enrich else G


if __name__ == "__main__":
    import time

    t0 = time.perf_counter()
    G = synthetic_graph()
    print(f"{NOTICE}: {G.number_of_nodes():,} nodes, {G.number_of_edges():,} edges, "
          f"{sum(1 for *_, d in G.edges(data=True) if d.get('bridge') == 'yes'):,} bridge edges, "
          f"built in {time.perf_counter() - t0:.1f} s")
