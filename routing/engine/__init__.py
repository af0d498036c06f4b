"""Engine: a road graph compiled once into arrays for one vehicle (:class:`Network`), expanded
where turn restrictions and access apply (:mod:`routing.engine.turns`), numba shortest-path
kernels, and OD matrices (full, or incremental after damage)."""

from .network import WEIGHTS, NearestTree, Network, PathTree
from .od import ODMatrix, RepairContext, ReverseIndex, od_change, od_matrix
from .turns import RoutingGraph

__all__ = ["WEIGHTS", "NearestTree", "Network", "ODMatrix", "PathTree", "RepairContext", "ReverseIndex",
           "RoutingGraph", "od_change", "od_matrix"]
