"""Persistent cache of built road graphs, so a second load of the same extract takes seconds.

An entry is keyed by the SHA-256 of the input file's bytes, the build options (road classes,
clip, simplify...), the builder's code version and the Python/numpy versions that pickled it;
any change gives a new key, so a stale entry is never returned. Entries are written with
:func:`routing.files.atomic_path` (temporary file + rename): a crash or a full disk never
leaves a half-written entry, and an unreadable entry is rebuilt and replaced.

Entries are pickles (protocol 5) in ``settings.cache_dir() / "graphs"``. Only read caches you
wrote yourself: unpickling can run code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..files import atomic_path
from ..settings import cache_dir

log = logging.getLogger(__name__)
T = TypeVar("T")
_CHUNK = 8 * 1024 * 1024  # bytes read at a time while hashing


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's contents, read in 8 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(file_hash: str, options: dict[str, object], code_version: str) -> str:
    """Hex SHA-256 over the input's hash, the options (JSON, sorted keys) and the code/library versions."""
    doc = {"file_sha256": file_hash, "options": options, "code_version": code_version,
           "numpy": np.__version__, "python": list(sys.version_info[:2])}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def cache_path(source: str | Path, key: str, folder: str | Path | None = None) -> Path:
    """Where the entry for ``source`` and ``key`` lives: ``<folder>/<file name>.<key[:20]>.pickle``."""
    folder = Path(folder) if folder is not None else cache_dir() / "graphs"
    return folder / f"{Path(source).name}.{key[:20]}.pickle"


def cached(source: str | Path, options: dict[str, object], build: Callable[[], T], *, code_version: str,
           folder: str | Path | None = None) -> tuple[T, dict[str, object]]:
    """``build()``'s result for ``source`` with ``options``, read from the cache when present.

    On a miss the result is built and stored atomically; a failure to store (read-only or full
    disk, unpicklable result) is logged, leaves no entry behind and the result is still returned.
    The second value describes the entry: ``{"hit": bool, "path": str, "key": str}``.
    """
    key = cache_key(file_sha256(source), options, code_version)
    path = cache_path(source, key, folder)
    if path.exists():
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh), {"hit": True, "path": str(path), "key": key}
        except Exception as exc:  # any unpickling failure means a damaged entry: rebuild it
            log.warning("cache entry %s is unreadable (%s); rebuilding it", path, exc)
    value = build()
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=5)
            fh.flush()
            os.fsync(fh.fileno())  # on disk before the rename publishes it
    except Exception as exc:  # the cache is an optimisation: a failed write must not lose the result
        log.warning("could not write cache entry %s (%s); continuing without cache", path, exc)
    return value, {"hit": False, "path": str(path), "key": key}
