"""A road graph as the arrays the routing engine compiles (:class:`NetworkArrays`), without networkx.

The loader makes them straight from its tables (:meth:`routing.network.build.GraphTables.
network_arrays`) and the graph cache stores them (memory-mapped on load), so an engine for a
whole country is built without a pass over millions of networkx edge dicts; :func:`graph_arrays`
makes the same arrays from any graph. Nodes are in the graph's order, edges in the order
``G.edges(keys=True)`` lists them, so an engine built either way is the same engine.

Each edge points at a *road record*: its attributes that decide access, vehicle limits, speed
and capacity (``ROUTING_KEYS``), stored once per distinct record (a country has a few thousand).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from ..errors import NetworkLoadError
from ..settings import ROUTING_TAGS

SIGNALS = "traffic_signals"  # edge attribute: traffic signals a vehicle passes on the edge (absent: none)
# Edge attributes the engine reads through a road record: the routing tags and the ``oneway``
# flag (capacity per direction). The access, vehicle-limit, speed and capacity rules read nothing else.
ROUTING_KEYS: tuple[str, ...] = (*ROUTING_TAGS, "oneway")
ARRAYS_VERSION = "arrays-2"  # bump when NetworkArrays or how it is made changes: cached arrays are rebuilt


@dataclass
class NetworkArrays:
    """Nodes ``node_id`` (OSM ids; ``node_x``/``node_y`` lon/lat degrees) in the graph's order;
    edge ``i`` runs from node index ``edge_src[i]`` to ``edge_dst[i]`` with networkx key
    ``edge_key[i]``, ``length`` (m), ``travel_time`` (s) and ``capacity`` (vehicles/hour) (NaN
    where the graph has none), ``signals``: traffic signals passed on it (its interior nodes and its
    head, in its direction) and road record ``records[edge_record[i]]``. ``restrictions``:
    the resolved turn restrictions (``G.graph["turn_restrictions"]``)."""

    source: str
    node_id: np.ndarray
    node_x: np.ndarray
    node_y: np.ndarray
    edge_src: np.ndarray
    edge_dst: np.ndarray
    edge_key: np.ndarray
    length: np.ndarray
    travel_time: np.ndarray
    capacity: np.ndarray
    signals: np.ndarray
    edge_record: np.ndarray
    records: list[dict[str, Any]]
    restrictions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_edges(self) -> int:
        return len(self.edge_src)

    def check(self) -> None:
        """ValueError unless the arrays fit together: one value per node and per edge, node
        indices and road records in range, lengths finite and >= 0 (a damaged cache entry must
        never reach the routing kernels)."""
        n, m = len(self.node_id), len(self.edge_src)
        shapes = {"node_x": (self.node_x, n), "node_y": (self.node_y, n), "edge_dst": (self.edge_dst, m),
                  "edge_key": (self.edge_key, m), "length": (self.length, m), "travel_time": (self.travel_time, m),
                  "capacity": (self.capacity, m), "signals": (self.signals, m), "edge_record": (self.edge_record, m)}
        for name, (array, size) in shapes.items():
            if array.shape != (size,):
                raise ValueError(f"{name} has shape {array.shape}, expected ({size},)")
        for name, array, bound in (("edge_src", self.edge_src, n), ("edge_dst", self.edge_dst, n),
                                   ("edge_record", self.edge_record, len(self.records))):
            if m and (int(array.min()) < 0 or int(array.max()) >= bound):
                raise ValueError(f"{name} out of range [0, {bound})")
        if m and not (np.isfinite(self.length).all() and float(self.length.min()) >= 0):
            raise ValueError("length must be finite and >= 0")
        if m and int(self.signals.min()) < 0:
            raise ValueError("signals must be >= 0")
        if not all(isinstance(r, dict) for r in self.records):
            raise ValueError("records must be tables")


def road_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ROUTING_KEYS`` of one edge's data."""
    return {k: data[k] for k in ROUTING_KEYS if k in data}


def _frozen(value: Any) -> Any:
    """A hashable stand-in for an attribute value (lists of merged edges become tuples)."""
    if isinstance(value, list):
        return ("__list__", *(_frozen(v) for v in value))
    try:
        hash(value)
    except TypeError:
        return ("__repr__", repr(value))
    return value


class RecordTable:
    """Distinct road records, numbered in order of first appearance."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self._ids: dict[tuple, int] = {}

    def id(self, record: Mapping[str, Any]) -> int:
        """The number of ``record`` (a ``ROUTING_KEYS`` mapping), added if new."""
        key = tuple(_frozen(record.get(k, _MISSING)) for k in ROUTING_KEYS)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self.records)
            self.records.append(road_record(record))
        return found


_MISSING = ("__missing__",)


def graph_arrays(G: nx.MultiDiGraph) -> NetworkArrays:
    """The :class:`NetworkArrays` of a graph (integer node ids), read in one pass over its edges."""
    try:
        node_id = np.fromiter(G, dtype=np.int64, count=len(G))
    except (TypeError, ValueError, OverflowError) as exc:
        raise NetworkLoadError(f"graph node ids must be integers (OSM ids): {exc}",
                               file=G.graph.get("source")) from exc
    nodes = G.nodes
    xs = np.fromiter((float(nodes[n].get("x", np.nan)) for n in G), dtype=float, count=len(node_id))
    ys = np.fromiter((float(nodes[n].get("y", np.nan)) for n in G), dtype=float, count=len(node_id))
    m = G.number_of_edges()
    u, v, k = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    values = np.empty((4, m))
    rec = np.empty(m, dtype=np.int64)
    table = RecordTable()
    try:
        for i, (a, b, key, d) in enumerate(G.edges(keys=True, data=True)):
            u[i], v[i], k[i] = a, b, key
            values[0, i] = float(d.get("length", np.nan))
            values[1, i] = float(d.get("travel_time", np.nan))
            values[2, i] = float(d.get("capacity", np.nan))
            values[3, i] = float(d.get(SIGNALS, 0))
            rec[i] = table.id(d)
    except (TypeError, ValueError, OverflowError) as exc:
        raise NetworkLoadError(f"edge keys must be integers and length, travel_time, capacity, {SIGNALS} "
                               f"numbers: {exc}",
                               file=G.graph.get("source")) from exc
    if m and not (np.isfinite(values[3]).all() and values[3].min() >= 0):
        raise NetworkLoadError(f"edge attribute {SIGNALS} must be a count >= 0", file=G.graph.get("source"))
    order = np.argsort(node_id, kind="stable")
    src, dst = order[np.searchsorted(node_id[order], u)], order[np.searchsorted(node_id[order], v)]
    return NetworkArrays(str(G.graph.get("source", "")), node_id, xs, ys, src, dst, k, values[0].copy(),
                         values[1].copy(), values[2].copy(), values[3].astype(np.int64), rec, table.records,
                         list(G.graph.get("turn_restrictions") or []))
