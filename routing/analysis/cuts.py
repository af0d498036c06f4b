"""Which damage events cut a destination off, found by recomputation (never by the route's assets).

A destination reachable before the damage and unreachable after is *cut by* each applied event
whose damage, alone taken away (every other event still applied), makes it reachable again. When
no single event does (say two roads to it were cut by two events), it is cut *jointly* by a minimal
set of events whose removal together reconnects it (events dropped one at a time while the
destination stays reachable). Events that only degrade roads never cut anything; a ``restrict``
event cuts only when it bars the network's vehicle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np

from ..engine import Network
from ..scenario import Damage


@dataclass(frozen=True)
class CutCause:
    """Why a destination is cut off: events that ``alone`` reconnect it when taken away, else a
    minimal set that reconnects it ``jointly``; both empty when it is not cut off by the events."""

    alone: tuple[str, ...] = ()
    jointly: tuple[str, ...] = ()

    def text(self) -> str:
        """``"A; B"`` (each alone), ``"A + B (together)"``, or ``""``."""
        if self.alone:
            return "; ".join(self.alone)
        return " + ".join(self.jointly) + " (together)" if self.jointly else ""


def _combined(damages: Sequence[Damage]) -> Damage:
    return reduce(lambda a, b: a.merged(b), damages, Damage())


def cut_causes(network: Network, origin_node: int, target_nodes: Sequence[int],
               events: Mapping[str, Damage]) -> list[CutCause]:
    """For each of ``target_nodes`` (graph node ids), the events (name -> what that event alone
    did) that cut it off from ``origin_node``; an empty :class:`CutCause` where the target is
    reachable after all the events, or was not reachable before them."""
    source = [network.node_index[origin_node]]
    targets = network.node_ids(target_nodes)
    removing = [name for name, d in events.items() if d.removed_edges or network.barred(d)]

    def reachable(applied: Sequence[str]) -> np.ndarray:
        w = network.weights("travel_time", _combined([events[n] for n in applied]))
        return np.isfinite(network.tree(source, w).node_dist()[0][targets])

    causes = [CutCause()] * len(targets)
    cut = reachable([]) & ~reachable(removing)
    if not cut.any():
        return causes
    alone: dict[int, list[str]] = {int(i): [] for i in np.flatnonzero(cut)}
    for name in removing:
        back = reachable([n for n in removing if n != name])
        for i in alone:
            if back[i]:
                alone[i].append(name)
    for i, names in alone.items():
        if names:
            causes[i] = CutCause(alone=tuple(names))
            continue
        restored = list(removing)  # restoring every removing event reconnects (reachable before)
        for name in list(restored):
            trial = [n for n in restored if n != name]
            if reachable([n for n in removing if n not in trial])[i]:
                restored = trial
        causes[i] = CutCause(jointly=tuple(restored))
    return causes
