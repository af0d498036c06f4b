"""Where events are applied: a scenario's events -> a :class:`Damage` mask over the baseline graph.

A damaged network is never a copied graph: it is the baseline plus a :class:`Damage`
(removed edges, per-edge speed and capacity factors). The engine turns it into arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from ..network.geometry import EdgeKey
from .catalogue import Catalogue
from .schema import Event, Scenario
from .selectors import Selection, select


@dataclass(frozen=True)
class Restriction:
    """What may still pass a damaged road: vehicles up to ``max_weight_t`` tonnes and
    ``max_height_m`` metres, of the profiles in ``vehicles`` (None: no such limit)."""

    max_weight_t: float | None = None
    max_height_m: float | None = None
    vehicles: frozenset[str] | None = None

    def admits(self, profile: str, weight_t: float, height_m: float) -> bool:
        """Whether a vehicle of ``profile``, ``weight_t`` tonnes and ``height_m`` metres may pass."""
        return ((self.vehicles is None or profile in self.vehicles)
                and (self.max_weight_t is None or weight_t <= self.max_weight_t)
                and (self.max_height_m is None or height_m <= self.max_height_m))

    def text(self) -> str:
        """``"up to 10 t, up to 3.5 m high, car only"``: what may still pass."""
        parts = [f"up to {self.max_weight_t:g} t" if self.max_weight_t is not None else "",
                 f"up to {self.max_height_m:g} m high" if self.max_height_m is not None else "",
                 f"{', '.join(sorted(self.vehicles))} only" if self.vehicles is not None else ""]
        return ", ".join(p for p in parts if p) or "no limit"

    def combined(self, other: Restriction) -> Restriction:
        """Both restrictions at once (the tighter limit of each kind)."""
        def tighter(a: float | None, b: float | None) -> float | None:
            return b if a is None else a if b is None else min(a, b)

        vehicles = self.vehicles if other.vehicles is None else other.vehicles if self.vehicles is None \
            else self.vehicles & other.vehicles
        return Restriction(tighter(self.max_weight_t, other.max_weight_t),
                           tighter(self.max_height_m, other.max_height_m), vehicles)


@dataclass
class Damage:
    """Edges removed, degraded and restricted by a scenario's events.

    ``speed_factor`` multiplies an edge's speed (0 < f <= 1; travel time is divided by it);
    ``capacity_factor`` multiplies its capacity (vehicles/hour); ``restricted`` says which
    vehicles may still use an edge (a damaged bridge reopened to light vehicles). ``cause``
    names, per edge, the event label that hit it; ``removed_nodes`` are nodes closed or destroyed
    (all their edges are in ``removed_edges``).
    """

    removed_edges: set[EdgeKey] = field(default_factory=set)
    removed_nodes: set[int] = field(default_factory=set)
    speed_factor: dict[EdgeKey, float] = field(default_factory=dict)
    capacity_factor: dict[EdgeKey, float] = field(default_factory=dict)
    cause: dict[EdgeKey, str] = field(default_factory=dict)
    restricted: dict[EdgeKey, Restriction] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """True when nothing is removed, degraded or restricted."""
        return not (self.removed_edges or self.speed_factor or self.capacity_factor or self.restricted)

    def remove_edges(self, edges: set[EdgeKey], label: str) -> None:
        """Remove ``edges`` (first cause wins in ``cause``)."""
        for e in edges:
            self.removed_edges.add(e)
            self.cause.setdefault(e, label)

    def remove_nodes(self, G: nx.MultiDiGraph, nodes: set[int], label: str) -> None:
        """Close ``nodes``: every edge into or out of them is removed."""
        self.removed_nodes |= nodes
        self.remove_edges(incident_edges(G, nodes), label)

    def degrade(self, edges: set[EdgeKey], speed: float, capacity: float, label: str) -> None:
        """Multiply speed and capacity of ``edges`` by the factors (cumulative over events)."""
        for e in edges:
            self.speed_factor[e] = self.speed_factor.get(e, 1.0) * speed
            self.capacity_factor[e] = self.capacity_factor.get(e, 1.0) * capacity
            self.cause.setdefault(e, label)

    def restrict(self, edges: set[EdgeKey], restriction: Restriction, label: str) -> None:
        """Let only the vehicles ``restriction`` admits use ``edges`` (cumulative over events)."""
        for e in edges:
            found = self.restricted.get(e)
            self.restricted[e] = restriction if found is None else found.combined(restriction)
            self.cause.setdefault(e, label)

    def merged(self, other: Damage) -> Damage:
        """A new Damage holding both this one and ``other`` (for sweeps combining events)."""
        out = Damage(set(self.removed_edges), set(self.removed_nodes), dict(self.speed_factor),
                     dict(self.capacity_factor), dict(self.cause), dict(self.restricted))
        for e, r in other.restricted.items():
            out.restricted[e] = r if e not in out.restricted else out.restricted[e].combined(r)
        out.removed_edges |= other.removed_edges
        out.removed_nodes |= other.removed_nodes
        for e, f in other.speed_factor.items():
            out.speed_factor[e] = out.speed_factor.get(e, 1.0) * f
        for e, f in other.capacity_factor.items():
            out.capacity_factor[e] = out.capacity_factor.get(e, 1.0) * f
        for e, c in other.cause.items():
            out.cause.setdefault(e, c)
        return out


def incident_edges(G: nx.MultiDiGraph, nodes: set[int]) -> set[EdgeKey]:
    """Every edge into or out of ``nodes``."""
    return ({(u, v, k) for n in nodes for u, v, k in G.in_edges(n, keys=True)}
            | {(u, v, k) for n in nodes for u, v, k in G.out_edges(n, keys=True)})


@dataclass
class EventOutcome:
    """What one event matched on the network, and what it alone did (``damage``; empty when not applied)."""

    event: Event
    edges: int
    nodes: int
    applied: bool  # False when the event is dated after the scenario's as_of date
    damage: Damage = field(default_factory=Damage)


def resolve_event(G: nx.MultiDiGraph, ev: Event, catalogue: Catalogue, file: Path | None) -> Selection:
    """The edges and nodes an event acts on; an empty match is an error naming the event."""
    return select(G, ev.selector, catalogue=catalogue, file=file, field=f"events[{ev.index}]")


def apply_events(G: nx.MultiDiGraph, scenario: Scenario, catalogue: Catalogue | None = None
                 ) -> tuple[Damage, list[EventOutcome]]:
    """Apply the events dated on or before ``scenario.as_of`` (all when unset) to ``G`` as a mask.

    ``destroy``, ``close`` and ``deny_area`` remove the matched edges and every edge of the
    matched nodes; ``degrade`` multiplies their speed and capacity; ``restrict`` lets only the
    vehicles within its weight and height limits, of its profiles, pass. ``G`` is not modified.
    """
    catalogue = catalogue or scenario.catalogue()
    damage = Damage()
    outcomes = []
    for ev in scenario.events:
        applied = scenario.as_of is None or ev.date is None or ev.date <= scenario.as_of
        sel = resolve_event(G, ev, catalogue, scenario.path)
        outcome = EventOutcome(ev, len(sel.edges), len(sel.nodes), applied)
        outcomes.append(outcome)
        if not applied:
            continue
        tag = f"{ev.action}: {ev.label}"
        for target in (damage, outcome.damage):
            if ev.action in ("destroy", "close", "deny_area"):
                target.remove_edges(sel.edges, tag)
                target.remove_nodes(G, sel.nodes, tag)
            elif ev.action == "restrict":
                vehicles = frozenset(ev.vehicles) if ev.vehicles is not None else None
                target.restrict(set(sel.edges) | incident_edges(G, sel.nodes),
                                Restriction(ev.max_weight_t, ev.max_height_m, vehicles), tag)
            else:
                target.degrade(set(sel.edges) | incident_edges(G, sel.nodes), ev.speed_factor, ev.capacity_factor,
                               tag)
    return damage, outcomes
