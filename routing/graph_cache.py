"""Persistent cache of built road graphs, so a second load of the same extract takes seconds.

A cached graph is keyed by the SHA-256 of the input file's bytes, the build options (road
classes, clip, simplify...), the builder's code version and the networkx/shapely versions that
pickled it; any change gives a new key, so a stale graph is never returned. Files are written
with :func:`routing.atomic.atomic_path` (temporary file + rename), so a crash or a full disk
never leaves a half-written cache entry; an unreadable entry is rebuilt and replaced.

Entries are pickles (protocol 5) in ``settings.cache_dir() / "graphs"``. Only load caches
you wrote yourself: unpickling runs code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import shapely

from .atomic import atomic_path
from .settings import cache_dir

log = logging.getLogger(__name__)
_CHUNK = 8 * 1024 * 1024  # bytes read at a time while hashing


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's contents, read in 8 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(file_hash: str, options: dict[str, object], code_version: str) -> str:
    """Hex SHA-256 over the input hash, the options (JSON, sorted keys) and the code/library versions."""
    doc = {"file_sha256": file_hash, "options": options, "code_version": code_version,
           "networkx": nx.__version__, "shapely": shapely.__version__, "python": sys.version_info[:2]}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def cache_path(source: str | Path, key: str, folder: str | Path | None = None) -> Path:
    """Where the graph of ``source`` with ``key`` is cached: ``<folder>/<file name>.<key[:20]>.pickle``."""
    folder = Path(folder) if folder is not None else cache_dir() / "graphs"
    return folder / f"{Path(source).name}.{key[:20]}.pickle"


def cached_graph(source: str | Path, options: dict[str, object], build: Callable[[], nx.MultiDiGraph], *,
                 code_version: str, folder: str | Path | None = None) -> nx.MultiDiGraph:
    """The graph ``build()`` makes from ``source`` with ``options``, from the cache when present.

    On a miss the graph is built and stored atomically; a failure to store (read-only or full
    disk) is logged and the built graph still returned. ``G.graph["cache"]`` tells whether the
    graph came from the cache (``"hit"``) and where the entry lives.
    """
    key = cache_key(file_sha256(source), options, code_version)
    path = cache_path(source, key, folder)
    if path.exists():
        try:
            with open(path, "rb") as fh:
                graph = pickle.load(fh)
            if not isinstance(graph, nx.MultiDiGraph):
                raise TypeError(f"holds a {type(graph).__name__}, not a MultiDiGraph")
        except Exception as exc:  # any unpickling failure means a damaged entry: rebuild it
            log.warning("graph cache entry %s is unreadable (%s); rebuilding it", path, exc)
        else:
            graph.graph["cache"] = {"hit": True, "path": str(path)}
            return graph
    graph = build()
    graph.graph["cache"] = {"hit": False, "path": str(path)}
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            pickle.dump(graph, fh, protocol=5)
    except OSError as exc:
        log.warning("could not write graph cache entry %s (%s); continuing without cache", path, exc)
    return graph
