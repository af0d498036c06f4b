"""Engine: a road graph compiled once into arrays for one vehicle (:class:`Network`), expanded
where turn restrictions and access apply (:mod:`routing.engine.turns`), numba shortest-path
kernels, and OD matrices (full, or incremental after damage)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_EXPORTS = {
    ".network": "WEIGHTS NearestTree Network PathTree",
    ".od": "ODMatrix RepairContext ReverseIndex od_change od_matrix",
    ".turns": "RoutingGraph",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["WEIGHTS", "NearestTree", "Network", "ODMatrix", "PathTree", "RepairContext", "ReverseIndex",
           "RoutingGraph", "od_change", "od_matrix"]

if TYPE_CHECKING:
    from .network import WEIGHTS, NearestTree, Network, PathTree
    from .od import ODMatrix, RepairContext, ReverseIndex, od_change, od_matrix
    from .turns import RoutingGraph
