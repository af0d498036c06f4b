"""Persistent cache of built road graphs, so a second load of the same extract takes seconds.

An entry is keyed by the SHA-256 of the input file's bytes, the build options (road classes,
clip, simplify...), the builder's code version, the numpy/Python versions and the cache format
version; any change gives a new key, so a stale entry is never returned.

**Nothing in an entry can run code when read.** An entry is a folder
``settings.cache_dir() / "graphs" / "<file name>.<key[:20]>"`` holding a dataclass (such as
:class:`~routing.network.build.GraphTables`) field by field:

* one ``<field>.npy`` per numpy array field (``numpy.save``; read with ``allow_pickle=False``,
  so an object array, which would need pickle, is refused);
* ``values.json``: every other field (strings, numbers, lists, tables; tuples and tables with
  integer keys are tagged so they come back as they went in);
* ``manifest.json``: format version, the full key, the class name, and each array's file,
  shape and dtype.

New fields of the dataclass are stored without code changes. On load the manifest must match
the key, the format version and the class's fields, and every array its recorded shape and
dtype; anything else (a damaged, foreign or planted entry) is ignored with one warning and
rebuilt, and so is an entry whose dataclass has a ``check()`` method that raises ``ValueError``
(indices out of range...). Arrays are read whole, or memory-mapped with ``mmap_mode="r"``.

Entries are written into a temporary folder beside the entry and renamed into place (files
fsynced first), so a crash or a full disk never leaves a half-written entry; a failed write is
logged and the built value is still returned. Temporary folders left by killed runs are removed
by the next write once older than an hour.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..files import fsync_folder
from ..settings import cache_dir

log = logging.getLogger(__name__)
T = TypeVar("T")
FORMAT = "corridor-routing-cache"
FORMAT_VERSION = 1
STALE_AFTER_S = 3600.0  # a temporary folder this old belongs to a killed run
_CHUNK = 8 * 1024 * 1024  # bytes read at a time while hashing
_MANIFEST, _VALUES = "manifest.json", "values.json"


class BadEntry(Exception):
    """A cache entry that must not be used (missing, damaged, foreign or of another format)."""


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's contents, read in 8 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(file_hash: str, options: dict[str, object], code_version: str) -> str:
    """Hex SHA-256 over the input's hash, the options (JSON, sorted keys), the code and library
    versions and the cache format version."""
    doc = {"file_sha256": file_hash, "options": options, "code_version": code_version,
           "numpy": np.__version__, "python": list(sys.version_info[:2]), "format": FORMAT_VERSION}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def cache_path(source: str | Path, key: str, folder: str | Path | None = None) -> Path:
    """Where the entry for ``source`` and ``key`` lives: ``<folder>/<file name>.<key[:20]>``."""
    folder = Path(folder) if folder is not None else cache_dir() / "graphs"
    return folder / f"{Path(source).name}.{key[:20]}"


def cached(source: str | Path, options: dict[str, object], build: Callable[[], T], *, kind: type[T],
           code_version: str, folder: str | Path | None = None, mmap_mode: str | None = None,
           file_hash: str | None = None) -> tuple[T, dict[str, object]]:
    """``build()``'s result (a ``kind`` dataclass) for ``source`` with ``options``, read from
    the cache when a valid entry is there (arrays memory-mapped with ``mmap_mode="r"``).

    On a miss the result is built and stored atomically; a failure to store is logged and the
    result still returned. The second value describes the entry: ``{"hit", "path", "key"}``.
    ``file_hash``: the source's :func:`file_sha256`, when already known.
    """
    key = cache_key(file_hash or file_sha256(source), options, code_version)
    path = cache_path(source, key, folder)
    if path.exists() or path.is_symlink():
        try:
            return (load_entry(path, kind, key=key, mmap_mode=mmap_mode),
                    {"hit": True, "path": str(path), "key": key})
        except BadEntry as exc:
            log.warning("cache entry %s is unusable (%s); rebuilding it", path, exc)
    value = build()
    try:
        store_entry(value, path, key=key)
    except Exception as exc:  # the cache is an optimisation: a failed write must not lose the result
        log.warning("could not write cache entry %s (%s); continuing without cache", path, exc)
    return value, {"hit": False, "path": str(path), "key": key}


# ------------------------------------------------------------------ values.json: JSON with tags

def _encode(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"__items__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in the cache")


def _decode_table(table: dict[str, Any]) -> Any:
    """``json.loads`` object hook: undo :func:`_encode`'s tags (inner tables come first)."""
    if len(table) == 1 and "__tuple__" in table:
        return tuple(table["__tuple__"])
    if len(table) == 1 and "__items__" in table:
        return {tuple(k) if isinstance(k, list) else k: v for k, v in table["__items__"]}
    return table


# ------------------------------------------------------------------ store and load

def store_entry(value: Any, path: Path, *, key: str) -> None:
    """Write the dataclass ``value`` as the entry ``path`` (temporary folder, then one rename)."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        raise TypeError(f"only dataclasses are cached, not {type(value).__name__}")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        arrays: dict[str, dict[str, Any]] = {}
        values: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if isinstance(item, np.ndarray):
                if item.dtype.hasobject:
                    raise TypeError(f"field {f.name} is an object array (would need pickle)")
                _write(tmp / f"{f.name}.npy", partial(_save_array, array=item))
                arrays[f.name] = {"file": f"{f.name}.npy", "shape": list(item.shape), "dtype": item.dtype.str}
            else:
                values[f.name] = _encode(item)
        _write(tmp / _VALUES, lambda fh: fh.write(json.dumps(values, allow_nan=False).encode()))
        manifest = {"format": FORMAT, "version": FORMAT_VERSION, "key": key, "class": type(value).__name__,
                    "arrays": arrays, "values": sorted(values)}
        _write(tmp / _MANIFEST, lambda fh: fh.write(json.dumps(manifest, indent=1).encode()))
        os.chmod(tmp, 0o755)
        if path.exists() or path.is_symlink():  # a damaged entry: move it away, then publish ours
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "entry")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, path)
        except OSError:
            if not path.is_dir():  # else another process published the same entry first: keep theirs
                raise
        fsync_folder(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_entry(path: Path, kind: type[T], *, key: str, mmap_mode: str | None = None) -> T:
    """The ``kind`` dataclass stored in entry ``path`` under ``key``; :class:`BadEntry` if the
    entry is missing, damaged, of another key, format or class, or not what its manifest says."""
    try:
        if path.is_symlink() or not path.is_dir():
            raise BadEntry("not a cache folder")
        manifest = json.loads((path / _MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise BadEntry("manifest is not a table")
        expected = {"format": FORMAT, "version": FORMAT_VERSION, "key": key, "class": kind.__name__}
        for name, want in expected.items():
            if manifest.get(name) != want:
                raise BadEntry(f"manifest {name} is {manifest.get(name)!r}, expected {want!r}")
        names = {f.name for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
        arrays, value_names = manifest.get("arrays"), manifest.get("values")
        if not isinstance(arrays, dict) or not isinstance(value_names, list) or set(arrays) | set(value_names) != names:
            raise BadEntry("the stored fields are not the fields of " + kind.__name__)
        fields = json.loads((path / _VALUES).read_text(encoding="utf-8"), object_hook=_decode_table)
        if not isinstance(fields, dict) or set(fields) != set(value_names):
            raise BadEntry("values.json does not hold the fields the manifest lists")
        for name, meta in arrays.items():
            fields[name] = _load_array(path, name, meta, mmap_mode)
        value = kind(**fields)
        check = getattr(value, "check", None)
        if callable(check):
            check()  # the dataclass's own consistency checks (indices in range...): ValueError if broken
        return value
    except BadEntry:
        raise
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise BadEntry(f"{type(exc).__name__}: {exc}") from exc


def _load_array(folder: Path, name: str, meta: Any, mmap_mode: str | None) -> np.ndarray:
    if not isinstance(meta, dict) or meta.get("file") != f"{name}.npy":
        raise BadEntry(f"array {name}: unexpected manifest entry {meta!r}")
    array = np.load(folder / meta["file"], allow_pickle=False, mmap_mode=mmap_mode)  # type: ignore[arg-type]
    if list(array.shape) != meta.get("shape") or array.dtype.str != meta.get("dtype"):
        raise BadEntry(f"array {name}: shape {array.shape} dtype {array.dtype.str}, manifest says "
                       f"{meta.get('shape')} {meta.get('dtype')}")
    return array


def _save_array(fh: Any, *, array: np.ndarray) -> None:
    np.save(fh, array, allow_pickle=False)


def _write(path: Path, write: Callable[[Any], Any]) -> None:
    with open(path, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())


def remove_stale_temporaries(folder: Path, *, older_than_s: float = STALE_AFTER_S) -> None:
    """Delete ``.*.part`` and ``.*.old`` folders in ``folder`` left by killed runs (older than
    ``older_than_s`` seconds, so a write in progress elsewhere is never touched)."""
    now = time.time()
    for tmp in [*folder.glob(".*.part"), *folder.glob(".*.old")]:
        try:
            if tmp.is_dir() and not tmp.is_symlink() and now - tmp.stat().st_mtime > older_than_s:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass
