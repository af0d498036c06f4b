"""Criticality equals the naive recompute (remove the candidate, route every OD pair again), on
seeded random multigraphs, a small synthetic road graph with chains and bridges, and the real
Homs graph; chain merging, multi-link groups, executors, outputs."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from routing.analysis.criticality import TABLE_COLUMNS, Groups, chain_classes, criticality, edge_groups, selector_groups
from routing.engine import Network, od_matrix
from routing.network import load_network
from routing.outputs.criticality import criticality_map, write_criticality

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from synthetic_graph import synthetic_graph
from test_engine import random_graph


def naive_networkx(G: nx.MultiDiGraph, eng: Network, groups: Groups, nodes: list[int]) -> dict[str, tuple[float, int]]:
    """Per group: remove its edges from a copy, networkx Dijkstra from every origin."""
    base = {o: nx.single_source_dijkstra_path_length(G, o, weight="travel_time") for o in nodes}
    out = {}
    for g, label in enumerate(groups.labels):
        H = G.copy()
        H.remove_edges_from([eng.edges[e] for e in groups.members(g)])
        delta, cut = 0.0, 0
        for o in nodes:
            new = nx.single_source_dijkstra_path_length(H, o, weight="travel_time")
            for d in nodes:
                if d == o or d not in base[o]:
                    continue
                if d in new:
                    delta += new[d] - base[o][d]
                else:
                    cut += 1
        out[label] = (delta, cut)
    return out


def naive_engine(eng: Network, groups: Groups, nodes: list[int]) -> dict[str, tuple[float, int]]:
    """Per group: full OD recompute on the engine with the group's weights set to inf (no
    pruning, no chains, no repair search; the OD itself is checked against networkx)."""
    base = od_matrix(eng, nodes).time_s
    ok = np.isfinite(base) & ~np.eye(len(nodes), dtype=bool)
    out = {}
    for g, label in enumerate(groups.labels):
        w = eng.weights("travel_time")
        w[groups.members(g)] = np.inf
        new = od_matrix(eng, nodes, w=w).time_s
        still = ok & np.isfinite(new)
        out[label] = (float((new[still] - base[still]).sum()), int((ok & ~np.isfinite(new)).sum()))
    return out


def assert_equal(result, reference: dict[str, tuple[float, int]]) -> None:
    table = result.table.set_index("group")
    assert len(table) == len(reference)
    for label, (delta, cut) in reference.items():
        row = table.loc[label]
        assert row.delta_total_time_s == pytest.approx(delta, rel=1e-9, abs=1e-6), label
        assert row.pairs_cut_off == cut, label


@pytest.mark.parametrize("by", ["segment", "edge", "osmid"])
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_networkx_on_random_graphs(seed: int, by: str) -> None:
    G = random_graph(seed, n=35, m=90)
    eng = Network(G)
    nodes = list(range(0, 41, 4))
    result = criticality(eng, nodes, groups=by, progress=False)
    assert_equal(result, naive_networkx(G, eng, result.groups, nodes))


def test_equals_naive_on_synthetic_roads_with_chains() -> None:
    G = synthetic_graph(n_towns=5, width_km=30, height_km=20, seed=3)
    eng = Network(G)
    scc = max(nx.strongly_connected_components(G), key=len)
    rng = np.random.default_rng(0)
    nodes = [n for _, n, _ in G.graph["towns"] if n in scc]
    nodes += [int(x) for x in rng.choice(sorted(scc), 6, replace=False)]
    for by in ("segment", "edge"):
        result = criticality(eng, nodes, groups=by, progress=False)
        assert result.summary["candidates_evaluated"] < result.summary["candidates_on_routes"]  # chains merged
        on_route = result.table[result.table.pairs_affected > 0]
        groups = Groups.from_mapping({r.group: eng.edge_ids(list(r.edges)) for r in on_route.itertuples()})
        reference = naive_engine(eng, groups, nodes)
        assert_equal(type(result)(on_route, result.baseline, groups, result.summary), reference)
        off = result.table[result.table.pairs_affected == 0]
        assert (off.delta_total_time_s == 0).all() and (off.pairs_cut_off == 0).all()


def test_equals_networkx_on_real_homs_graph(homs_graph: nx.MultiDiGraph) -> None:
    eng = Network(homs_graph)
    nodes = list(homs_graph.nodes)[::2]
    result = criticality(eng, nodes, progress=False)
    assert_equal(result, naive_networkx(homs_graph, eng, result.groups, nodes))
    assert (result.table.pairs_cut_off > 0).any() and (result.table.delta_total_time_s > 0).any()


def test_multi_link_groups_bridges_in_an_area() -> None:
    G = synthetic_graph(n_towns=6, width_km=40, height_km=30, seed=5)
    eng = Network(G)
    scc = max(nx.strongly_connected_components(G), key=len)
    nodes = [n for _, n, _ in G.graph["towns"] if n in scc]
    xs = [d["x"] for _, d in G.nodes(data=True)]
    ys = [d["y"] for _, d in G.nodes(data=True)]
    mid = (min(xs) + max(xs)) / 2
    west = [min(xs) - 0.01, min(ys) - 0.01, mid, max(ys) + 0.01]
    east = [mid, min(ys) - 0.01, max(xs) + 0.01, max(ys) + 0.01]
    selectors = {f"bridges {side}": {"all": [{"within": {"bbox": box}}, {"tags": {"bridge": "yes"}}]}
                 for side, box in (("west", west), ("east", east))}
    groups = selector_groups(eng, selectors, allow_empty=True)
    assert groups.labels and all(G.edges[eng.edges[e]].get("bridge") == "yes" for e in groups.edges)
    result = criticality(eng, nodes, groups=groups, progress=False)
    assert_equal(result, naive_engine(eng, groups, nodes))


def test_chain_classes() -> None:
    """a - b - c - d - e two-way, plus a one-way f -> g -> h, joined at a and e."""
    G = nx.MultiDiGraph()
    coords = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4, "f": 5, "g": 6, "h": 7}
    for _name, i in coords.items():
        G.add_node(i, x=float(i), y=0.0)
    for u, v in ("ab", "bc", "cd", "de"):
        for x, y in ((u, v), (v, u)):
            G.add_edge(coords[x], coords[y], length=1.0, travel_time=1.0, osmid=ord(u))
    for u, v in ("af", "fg", "gh", "he"):
        G.add_edge(coords[u], coords[v], length=1.0, travel_time=1.0, osmid=100 + ord(u))
    eng = Network(G)
    groups = edge_groups(eng, "segment")
    label = {frozenset(eng.edges[e][:2] for e in groups.members(g)): g for g in range(len(groups))}

    def seg(u: str, v: str) -> int:
        a, b = coords[u], coords[v]
        return label.get(frozenset({(a, b), (b, a)}), label.get(frozenset({(a, b)})))

    rep = chain_classes(eng, groups, keep=[coords["a"], coords["e"]])
    assert len({rep[seg(u, v)] for u, v in ("ab", "bc", "cd", "de")}) == 1
    assert len({rep[seg(u, v)] for u, v in ("af", "fg", "gh", "he")}) == 1
    assert rep[seg("a", "b")] != rep[seg("a", "f")]
    rep = chain_classes(eng, groups, keep=[coords["a"], coords["c"], coords["e"]])  # a place in the middle
    assert rep[seg("a", "b")] == rep[seg("b", "c")] != rep[seg("c", "d")] == rep[seg("d", "e")]
    edge_rep = chain_classes(eng, edge_groups(eng, "edge"), keep=[coords["a"], coords["e"]])
    ids = {eng.edges[i][:2]: i for i in range(len(eng.edges))}
    forward = [ids[(coords[u], coords[v])] for u, v in ("ab", "bc", "cd", "de")]
    backward = [ids[(coords[v], coords[u])] for u, v in ("ab", "bc", "cd", "de")]
    assert len({edge_rep[i] for i in forward}) == 1 and len({edge_rep[i] for i in backward}) == 1
    assert edge_rep[forward[0]] != edge_rep[backward[0]]


def test_table_ranking_map_fn_and_outputs(tmp_path: Path, homs_graph: nx.MultiDiGraph) -> None:
    eng = Network(homs_graph)
    nodes = list(homs_graph.nodes)[::3]
    serial = criticality(eng, nodes, progress=False)
    with ThreadPoolExecutor(2) as pool:
        threaded = criticality(eng, nodes, progress=False, map_fn=pool.map)
    table = serial.table
    assert list(table.columns) == [*TABLE_COLUMNS, "edges"]
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    keys = list(zip(table.pairs_cut_off, table.delta_total_time_s))  # disconnections rank first
    assert keys == sorted(keys, reverse=True)
    assert np.allclose(threaded.table.delta_total_time_s, table.delta_total_time_s)
    assert threaded.table.pairs_cut_off.tolist() == table.pairs_cut_off.tolist()
    assert (table.length_m > 0).all() and (table.n_edges >= 1).all()

    places = {f"P{i}": n for i, n in enumerate(nodes)}
    out = tmp_path / "crit"
    result = criticality(eng, list(dict.fromkeys(places.values())), progress=False)
    write_criticality(result, out, graph=homs_graph, places=places, top=5)
    assert {p.name for p in out.iterdir()} >= {"criticality.csv", "criticality.md", "criticality.png"}
    text = (out / "criticality.md").read_text(encoding="utf-8")
    assert "Single-link criticality" in text and text.count("\n| ") >= 6
    assert (out / "criticality.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(result.table) == len(table)
    png = criticality_map(homs_graph, result.table, tmp_path / "map.png", top=3, places=places)
    assert png.stat().st_size > 10_000


def test_cli_criticality_by_asset_on_the_demo_scenario(tmp_path, capsys):
    from conftest import DEMO_SCENARIO

    from routing.cli import main

    out = tmp_path / "crit"
    assert main(["-q", "criticality", str(DEMO_SCENARIO), "--groups", "assets", "--serial", "--out", str(out)]) == 0
    table = pd.read_csv(out / "criticality.csv")
    assert table.loc[0, "group"] == "m5_highway" and table.loc[0, "pairs_cut_off"] > 0
    bridge = table.set_index("group").loc["rastan_bridge"]
    assert bridge.delta_total_time_s > 0 and bridge.n_edges == 2  # both carriageways fail together
    assert "SCHEMATIC" in (out / "criticality.md").read_text("utf-8")
    assert (out / "criticality.png").stat().st_size > 10_000
    assert "schematic demo network" in capsys.readouterr().out


def test_osmid_candidates_that_remove_the_same_edges_are_one_row():
    """Helsinki: 725 OSM ways but fewer distinct edge sets (ways merged into one edge): one row
    per edge set, equal to the edge sets computed straight from the graph's osmid attributes."""
    from conftest import helsinki_pbf

    G = load_network(helsinki_pbf())
    net = Network(G)
    groups = edge_groups(net, "osmid")
    sets = [tuple(sorted(groups.members(g))) for g in range(len(groups))]
    by_way: dict[int, set[int]] = {}
    for u, v, k, osmid in G.edges(keys=True, data="osmid"):
        for way in osmid if isinstance(osmid, list) else [osmid]:
            by_way.setdefault(way, set()).add(net.edge_index[(u, v, k)])
    assert len(sets) == len(set(sets)) < len(by_way)
    assert set(sets) == {tuple(sorted(s)) for s in by_way.values()}
    ways = sum(len(label.split(", ")) for label in groups.labels)
    assert ways == len(by_way) > 700  # every way is still named, in the row of its edge set
    merged = [label for label in groups.labels if label.startswith("ways ")]
    assert merged and all(len(label.split(", ")) >= 2 for label in merged)


def test_table_names_candidates_and_counts_pairs_one_way(demo_graph, tmp_path):
    from routing.analysis.assets import resolve_assets
    from routing.analysis.places import main_component_nodes, snap_places
    from routing.outputs.criticality import write_criticality
    from routing.scenario import load_catalogue

    net = Network(demo_graph)
    catalogue = load_catalogue()
    snapped = snap_places(net, [catalogue.place(n) for n in ("Hama", "Homs", "Baalbek", "Tartus")],
                          main_component_nodes(net))
    places = {name: int(node) for name, node in zip(snapped["name"], snapped["node"])}
    result = criticality(net, list(places.values()), assets=resolve_assets(demo_graph, catalogue), progress=False)
    t = result.table
    assert (t.pairs_affected == t.pairs_cut_off + t.pairs_rerouted).all()
    assert (t.pairs_rerouted >= 0).all()
    bridge = t[t.assets.str.contains("rastan_bridge")]
    assert len(bridge) and bridge.iloc[0].road.startswith("M5") and bridge.iloc[0].osmid
    write_criticality(result, tmp_path / "c", graph=demo_graph, places=places, top=10)
    md = (tmp_path / "c" / "criticality.md").read_text(encoding="utf-8")
    assert "| pairs cut off | pairs rerouted | pairs affected |" in md and "way ids (schematic, not OSM)" in md
    csv = pd.read_csv(tmp_path / "c" / "criticality.csv")
    assert {"road", "osmid", "assets", "pairs_cut_off", "pairs_rerouted", "pairs_affected"} <= set(csv.columns)
    first = t.iloc[0]
    row = next(line for line in md.splitlines() if line.startswith("| 1 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-3:] == [str(first.pairs_cut_off), str(first.pairs_rerouted), str(first.pairs_affected)]
