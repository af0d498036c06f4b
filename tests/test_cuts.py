""""Cut by": the events whose damage cuts a destination off, checked against a brute-force
recomputation with networkx on random graphs and random events, and on the demo."""

from __future__ import annotations

import tomllib

import networkx as nx
from conftest import DEMO_SCENARIO, line_graph
from hypothesis import given, settings
from hypothesis import strategies as st

from routing import run_scenario
from routing.analysis.cuts import cut_causes
from routing.engine import Network
from routing.scenario import Damage, Scenario


@st.composite
def scenarios(draw):
    """A random small directed graph, an origin, and 1-4 events each removing random edges."""
    n = draw(st.integers(4, 9))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
                          min_size=n, max_size=3 * n, unique=True))
    G = line_graph([(u, v, {}) for u, v in pairs], {i: (36.0 + 0.01 * i, 34.0 + 0.003 * (i % 3)) for i in range(n)})
    edges = sorted(G.edges(keys=True))
    events = {}
    for i in range(draw(st.integers(1, 4))):
        hit = draw(st.lists(st.sampled_from(edges), min_size=0, max_size=4, unique=True))
        d = Damage()
        d.remove_edges(set(hit), f"event {i}")
        events[f"event {i}"] = d
    origin = draw(st.integers(0, n - 1))
    return G, origin, events


def reachable(G: nx.MultiDiGraph, origin: int, target: int, events: dict[str, Damage], applied) -> bool:
    H = G.copy()
    H.remove_edges_from({e for name in applied for e in events[name].removed_edges})
    return nx.has_path(H, origin, target)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_cut_by_equals_brute_force_recomputation(case):
    G, origin, events = case
    targets = [v for v in G.nodes if v != origin]
    causes = cut_causes(Network(G), origin, targets, events)
    names = list(events)
    for target, cause in zip(targets, causes):
        before = nx.has_path(G, origin, target)
        after = reachable(G, origin, target, events, names)
        if not before or after:
            assert not cause.alone and not cause.jointly and cause.text() == ""
            continue
        alone = [n for n in names if reachable(G, origin, target, events, [m for m in names if m != n])]
        assert list(cause.alone) == alone
        if alone:
            assert not cause.jointly
            continue
        # jointly: taking away exactly these events reconnects, and every one of them is needed
        restored = set(cause.jointly)
        assert len(restored) >= 2
        assert reachable(G, origin, target, events, [n for n in names if n not in restored])
        for name in restored:
            assert not reachable(G, origin, target, events, [n for n in names if n not in restored - {name}])


def test_demo_cut_by_names_only_the_closed_crossing():
    """Closing Jousiyeh and degrading the M5 (Rastan bridge untouched): the issue's case."""
    text = DEMO_SCENARIO.read_text(encoding="utf-8")
    text = text.replace('action = "destroy"\nasset = "rastan_bridge"', 'action = "degrade"\nasset = "m5_highway"\n'
                        'speed_factor = 0.5')
    assert text != DEMO_SCENARIO.read_text(encoding="utf-8")
    sc = Scenario.from_dict(tomllib.loads(text), path=DEMO_SCENARIO)
    result = run_scenario(sc)
    ev = result.evacuation.set_index("destination")
    assert ev.loc["Jousiyeh crossing", "cut_by"] == "Jousiyeh border crossing (Syria–Lebanon, Qusayr–Qaa road)"
    assert ev.loc["Arida crossing", "cut_by"] == "Arida border crossing (Syria–Lebanon, coastal road)"
    for dest in ("Tartus", "Latakia", "Dabbousieh crossing"):
        assert ev.loc[dest, "cut_by"] == ""
    cut = result.od[result.od["status"] == "cut off"]
    assert len(cut) and set(cut["cut_by"]) == {"Jousiyeh border crossing (Syria–Lebanon, Qusayr–Qaa road)"}
    assert (result.od.loc[result.od["status"] != "cut off", "cut_by"] == "").all()
