"""Engine: a road graph compiled once into arrays (:class:`Network`), numba shortest-path
kernels, and OD matrices (full, or incremental after damage)."""

from .network import NO_PRED, WEIGHTS, NearestTree, Network, PathTree
from .od import ODMatrix, RepairContext, ReverseIndex, od_change, od_matrix

__all__ = ["NO_PRED", "WEIGHTS", "NearestTree", "Network", "ODMatrix", "PathTree", "RepairContext", "ReverseIndex",
           "od_change",
           "od_matrix"]
