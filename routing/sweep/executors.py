"""Executors: run one pure function over many items, in this process or on a Dask cluster.

Every executor computes ``fn(shared, item)`` for each item and returns the results in item order::

    with DaskExecutor() as ex:                         # LocalCluster, one worker process per core
        results = ex.map(evaluate, items, network)     # network shipped to each worker once

* ``shared`` (a graph, a :class:`~routing.engine.Network`, precomputed arrays) is pickled once,
  sent to every worker once per :meth:`~_BaseExecutor.map` (``client.scatter(..., broadcast=True)``)
  and unpickled once per worker; every task gets the same future. Only the items travel per task,
  so they should be small (integer arrays). ``fn`` should be importable (a module-level function):
  it is pickled with each task.
* :meth:`~_BaseExecutor.map_fn` fits analyses that take ``map_fn(fn, items)`` (criticality):
  ``fn``, typically ``functools.partial(work, context)``, is itself the shared object.
* A :class:`Journal` (JSON lines) records each finished result as soon as it arrives, written
  and flushed line by line; a later run with the same journal and fingerprint skips those items.
* Tasks lost with a dying worker are re-run by Dask (up to ``distributed.scheduler.allowed-failures``
  times); tasks that still fail are reported together in :class:`IncompleteRun` once every other
  task has finished, so completed results are never lost.

:class:`SerialExecutor` runs the same code path in this process (the reference for tests).
:class:`AutoExecutor` runs serially unless the tasks are long enough for Dask to pay.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import pickle
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import cloudpickle
from tqdm.auto import tqdm

from ..errors import RoutingError
from ..files import atomic_path
from ..settings import DASK_MIN_SERIAL_S, DASK_SAMPLE_S

log = logging.getLogger(__name__)
S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")
BATCHES_PER_WORKER = 16  # automatic batch size: about this many batches per worker (load balance vs overhead)


class IncompleteRun(RoutingError):
    """Some tasks failed for good. ``results`` holds the completed ones (item index -> result),
    ``failures`` the others (item index -> error text); the journal, if any, keeps the former."""

    def __init__(self, failures: dict[int, str], results: dict[int, Any], total: int, journal: Path | None):
        self.failures, self.results, self.total, self.journal = failures, results, total, journal
        first = next(iter(failures.values())).strip().splitlines()
        kept = f"; completed results kept in {journal} (run again to finish the rest)" if journal else ""
        super().__init__(f"{len(failures)} of {total} tasks failed (items {_index_ranges(sorted(failures))}), "
                         f"first error: {first[-1] if first else '?'}{kept}")


class Journal:
    """Append-only JSON-lines record of finished tasks, for partial results and resuming.

    Line 1: ``{"fingerprint": ...}`` (the hash of the sweep's configuration); then one
    ``{"config": <fingerprint[:16]>, "item": index, "result": ..., "sha256": ...}`` per finished
    task, where ``sha256`` covers the fingerprint, the item and the result. Results must be
    JSON-serialisable (floats round-trip exactly). An existing file with the same fingerprint is
    resumed (``done``); with another fingerprint it is started afresh. A line that is torn (the
    writer was killed mid-line), not JSON, of another configuration or whose checksum does not
    match (edited by hand, damaged on disk) is dropped with one warning, and its task recomputed.
    """

    def __init__(self, path: str | Path, fingerprint: str):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.done, good, dropped = self._read()
        if good is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8")
            self._write_lines([{"fingerprint": fingerprint}])
            return
        if dropped:
            log.warning("%s: dropped %d damaged or foreign line(s) (line %s); their tasks are computed again",
                        self.path, len(dropped), _index_ranges(dropped))
            with atomic_path(self.path) as tmp:  # keep only the intact lines
                tmp.write_bytes(b"".join(good))
        self._fh = self.path.open("a", encoding="utf-8")
        if self.done:
            log.info("resuming: %d finished tasks read from %s", len(self.done), self.path)

    def record(self, item: int, result: Any) -> dict[str, Any]:
        """The journal line of one finished task (with its checksum)."""
        return {"config": self.fingerprint[:16], "item": item, "result": result,
                "sha256": self._checksum(item, result)}

    def _checksum(self, item: int, result: Any) -> str:
        body = json.dumps({"fingerprint": self.fingerprint, "item": item, "result": result}, sort_keys=True,
                          allow_nan=False)
        return hashlib.sha256(body.encode()).hexdigest()

    def _read(self) -> tuple[dict[int, Any], list[bytes] | None, list[int]]:
        """Results recorded under this fingerprint, the intact lines (None when the file is
        missing, unreadable or of another fingerprint: start afresh) and the line numbers dropped."""
        done: dict[int, Any] = {}
        try:
            with self.path.open("rb") as fh:
                lines = fh.readlines()
        except OSError:
            return {}, None, []
        try:
            header = json.loads(lines[0]) if lines and lines[0].endswith(b"\n") else None
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("fingerprint") != self.fingerprint:
            if lines:
                log.warning("%s belongs to another sweep configuration or is damaged; starting afresh", self.path)
            return {}, None, []
        good, dropped = [lines[0]], []
        for number, line in enumerate(lines[1:], start=2):
            try:
                rec = json.loads(line) if line.endswith(b"\n") else None
                ok = (isinstance(rec, dict) and set(rec) == {"config", "item", "result", "sha256"}
                      and isinstance(rec["item"], int) and not isinstance(rec["item"], bool) and rec["item"] >= 0
                      and rec["config"] == self.fingerprint[:16]
                      and rec["sha256"] == self._checksum(rec["item"], rec["result"]))
            except (ValueError, RecursionError):
                ok = False
            if ok and isinstance(rec, dict):
                done[rec["item"]] = rec["result"]
                good.append(line)
            else:
                dropped.append(number)
        return done, good, dropped

    def _write_lines(self, records: list[dict[str, Any]]) -> None:
        self._fh.write("".join(json.dumps(r, allow_nan=False) + "\n" for r in records))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, results: list[tuple[int, Any]]) -> None:
        """Record finished tasks (item index, result): one line each, flushed to disk."""
        self._write_lines([self.record(i, r) for i, r in results])

    def close(self) -> None:
        self._fh.close()


class Executor(Protocol):
    """Something that maps ``fn(shared, item)`` over items and returns results in item order."""

    @property
    def n_workers(self) -> int: ...

    def map(self, fn: Callable[[S, T], R], items: Sequence[T], shared: S, *, journal: Journal | None = None,
            desc: str = "tasks") -> list[R]: ...

    def map_fn(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]: ...

    def close(self) -> None: ...


def _apply(fn: Callable[[T], R], item: T) -> R:
    """``fn(item)``: the task function of :meth:`_BaseExecutor.map_fn` (``fn`` is the shared object)."""
    return fn(item)


def _run_batch(fn: Callable[[S, T], R], shared: S, batch: list[tuple[int, T]]) -> list[tuple[int, bool, Any]]:
    """Run one batch: (item index, ok, result or error text) per item; one failing item spoils no other."""
    out: list[tuple[int, bool, Any]] = []
    for i, item in batch:
        try:
            out.append((i, True, fn(shared, item)))
        except Exception:
            out.append((i, False, traceback.format_exc()))
    return out


_WORKER_SHARED: dict[str, Any] = {}  # on a Dask worker: token -> the unpickled shared object of a map
_WORKER_LOCK = threading.Lock()


def _run_batch_on_worker(fn: Callable[[S, T], R], token: str, blob: bytes, batch: list[tuple[int, T]]
                         ) -> list[tuple[int, bool, Any]]:
    """:func:`_run_batch` on a Dask worker. The shared object arrives pickled (``blob``, scattered
    once) and is unpickled once per worker process, on its first task. Numba kernels run
    single-threaded there: the parallelism comes from the workers (one thread per core)."""
    with _WORKER_LOCK:
        if token not in _WORKER_SHARED:
            _WORKER_SHARED[token] = pickle.loads(blob)
        shared = _WORKER_SHARED[token]
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.set_num_threads(1)
    return _run_batch(fn, shared, batch)


def _forget_shared(token: str) -> None:
    """Drop a finished map's shared object from this worker."""
    with _WORKER_LOCK:
        _WORKER_SHARED.pop(token, None)


def _index_ranges(indices: list[int]) -> str:
    """'0-3, 7, 9-10' for [0, 1, 2, 3, 7, 9, 10] (at most 10 ranges shown)."""
    ranges: list[list[int]] = []
    for i in indices:
        if ranges and i == ranges[-1][1] + 1:
            ranges[-1][1] = i
        else:
            ranges.append([i, i])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ranges[:10])
    return text + (", ..." if len(ranges) > 10 else "")


class _BaseExecutor:
    """Shared logic: skip journalled items, batch, progress bar, journal, collect, report failures."""

    @property
    def n_workers(self) -> int:
        """Workers the tasks run on."""
        return 1

    progress: bool = True

    def _batches(self, fn: Callable, shared: Any, batches: list[list[tuple[int, Any]]]
                 ) -> Iterator[list[tuple[int, bool, Any]]]:
        raise NotImplementedError

    def _batch_size(self, pending: int) -> int:
        return 1

    def map(self, fn: Callable[[S, T], R], items: Sequence[T], shared: S, *, journal: Journal | None = None,
            desc: str = "tasks") -> list[R]:
        """``[fn(shared, item) for item in items]``; raises :class:`IncompleteRun` (after all other
        tasks finished) if some failed. Items recorded in ``journal`` are not run again."""
        results: dict[int, Any] = dict(journal.done) if journal else {}
        pending = [(i, item) for i, item in enumerate(items) if i not in results]
        size = self._batch_size(len(pending))
        batches = [pending[a:a + size] for a in range(0, len(pending), size)]
        failures: dict[int, str] = {}
        with tqdm(total=len(items), initial=len(items) - len(pending), desc=desc, unit="task",
                  disable=not self.progress, leave=False) as bar:
            for done in self._batches(fn, shared, batches):
                ok = [(i, r) for i, good, r in done if good]
                if journal and ok:
                    journal.append(ok)
                results.update(ok)
                failures.update((i, r) for i, good, r in done if not good)
                bar.update(len(done))
        if failures:
            raise IncompleteRun(failures, results, len(items), journal.path if journal else None)
        return [results[i] for i in range(len(items))]

    def map_fn(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``[fn(item) for item in items]`` on this executor, for analyses taking a ``map_fn``
        argument (e.g. :func:`routing.analysis.criticality.criticality`). ``fn`` itself (typically
        ``functools.partial(work, big_context)``) is the shared object: sent to each worker once."""
        return self.map(_apply, list(items), fn, desc=getattr(getattr(fn, "func", fn), "__name__", "tasks"))

    def close(self) -> None:
        """Release the executor's resources."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(_BaseExecutor):
    """Runs every task in this process, in item order (the reference the Dask results must equal)."""

    def __init__(self, *, progress: bool = True):
        self.progress = progress

    def _batches(self, fn: Callable, shared: Any, batches: list[list[tuple[int, Any]]]
                 ) -> Iterator[list[tuple[int, bool, Any]]]:
        for batch in batches:
            yield _run_batch(fn, shared, batch)


class DaskExecutor(_BaseExecutor):
    """Runs tasks on ``dask.distributed``: an existing cluster (``scheduler`` address, e.g.
    ``tcp://10.0.0.5:8786``) or a new LocalCluster of ``n_workers`` single-threaded worker
    processes (default: one per core).

    ``batch_size`` items go in one task (default: about BATCHES_PER_WORKER tasks per worker).
    ``cluster_kwargs`` go to ``LocalCluster``. Shared data is scattered to every worker once per
    :meth:`map` and released after it.
    """

    def __init__(self, scheduler: str | None = None, n_workers: int | None = None, *, progress: bool = True,
                 batch_size: int | None = None, **cluster_kwargs: Any):
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise RoutingError('Dask is not installed: pip install "dask[distributed]"') from exc
        if n_workers is not None and n_workers < 1:
            raise RoutingError(f"--workers {n_workers}: expected at least 1")
        self.progress, self.batch_size = progress, batch_size
        self.cluster = None
        if scheduler:
            if n_workers is not None:
                raise RoutingError("give either a scheduler address or a number of local workers, not both")
            try:
                self.client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise RoutingError(f"--scheduler {scheduler!r}: cannot connect: {exc}") from exc
        else:
            opts = {"n_workers": n_workers or os.cpu_count() or 1, "threads_per_worker": 1, "processes": True,
                    "dashboard_address": ":0", **cluster_kwargs}  # any free port: clusters never collide
            # Dask sets MALLOC_TRIM_THRESHOLD_ in workers, which also freezes glibc's mmap threshold:
            # every large temporary array (one per edge, per task) is then mmapped and page-faulted
            # anew; measured ~20 % more CPU per sweep task. Keep glibc's adaptive default instead.
            environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()
                       if k != "MALLOC_TRIM_THRESHOLD_"}
            with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
                self.cluster = LocalCluster(**opts)
            self.client = Client(self.cluster)

    @property
    def n_workers(self) -> int:
        """Workers currently connected to the scheduler."""
        return max(1, len(self.client.scheduler_info(n_workers=-1)["workers"]))

    def _batch_size(self, pending: int) -> int:
        return self.batch_size or max(1, math.ceil(pending / (BATCHES_PER_WORKER * self.n_workers)))

    def _batches(self, fn: Callable, shared: Any, batches: list[list[tuple[int, Any]]]
                 ) -> Iterator[list[tuple[int, bool, Any]]]:
        from distributed import as_completed

        if not batches:
            return
        # Pickled here once and scattered as bytes: dask would otherwise pickle and unpickle a big
        # object again for every worker it replicates to (measured 6 s instead of 2 s for 50 MB).
        token = uuid.uuid4().hex
        remote = self.client.scatter(cloudpickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL),
                                     broadcast=True, hash=False)
        futures = {self.client.submit(_run_batch_on_worker, fn, token, remote, batch, pure=False): batch
                   for batch in batches}
        try:
            for fut in as_completed(futures):
                batch = futures.pop(fut)
                try:
                    yield fut.result()
                except Exception as exc:
                    text = f"{type(exc).__name__}: {exc}"
                    yield [(i, False, text) for i, _ in batch]
                fut.release()
        finally:
            if futures:  # only left if the caller stopped early
                self.client.cancel(list(futures))
            remote.release()
            self.client.run(_forget_shared, token, on_error="ignore")

    def close(self) -> None:
        """Close the client, and the LocalCluster if this executor started it."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


class AutoExecutor(_BaseExecutor):
    """Serial unless the tasks are long enough for Dask to pay (the CLI default).

    Each :meth:`map` runs its first tasks in this process (at least one) for ``sample_s`` seconds
    (default ``settings.DASK_SAMPLE_S``); if the remaining tasks would then take more than
    ``threshold_s`` seconds serially (default ``settings.DASK_MIN_SERIAL_S``) at the pace of the
    sampled ones after the first (which pays the warm-up), the :class:`DaskExecutor` made by
    ``make_dask`` runs them (and every later map), else they go on serially. ``on_choice`` is
    called with a one-line reason whenever the choice is made.
    """

    def __init__(self, make_dask: Callable[[], _BaseExecutor], *, threshold_s: float | None = None,
                 sample_s: float | None = None, progress: bool = True,
                 on_choice: Callable[[str], None] | None = None):
        self.make_dask, self.progress, self.on_choice = make_dask, progress, on_choice
        self.threshold_s = DASK_MIN_SERIAL_S if threshold_s is None else threshold_s  # seconds of serial work
        self.sample_s = DASK_SAMPLE_S if sample_s is None else sample_s  # seconds
        self.dask: _BaseExecutor | None = None
        self.choice: str | None = None  # "serial" or "dask", once a map has decided

    @property
    def n_workers(self) -> int:
        """Workers the tasks run on: 1 until Dask is chosen."""
        return self.dask.n_workers if self.dask is not None else 1

    def _batches(self, fn: Callable, shared: Any, batches: list[list[tuple[int, Any]]]
                 ) -> Iterator[list[tuple[int, bool, Any]]]:
        items = [item for batch in batches for item in batch]
        done, t0, t1 = 0, time.perf_counter(), 0.0
        while self.dask is None and done < len(items) and (done == 0 or time.perf_counter() - t0 < self.sample_s):
            yield _run_batch(fn, shared, [items[done]])
            done += 1
            if done == 1:
                t1 = time.perf_counter()
        rest = items[done:]
        if not rest:
            if done:
                self._choose("serial", f"all {done} tasks ran within the {self.sample_s:g} s sample")
            return
        if self.dask is None:
            pace = (time.perf_counter() - t1) / (done - 1) if done > 1 else t1 - t0
            estimate = pace * len(rest)
            if estimate <= self.threshold_s:
                self._choose("serial", f"the {len(rest)} remaining tasks take about {estimate:.1f} s serially, "
                             f"not more than the {self.threshold_s:g} s for which Dask pays")
                for item in rest:
                    yield _run_batch(fn, shared, [item])
                return
            self._choose("dask", f"the {len(rest)} remaining tasks would take about {estimate:.1f} s serially, "
                         f"more than the {self.threshold_s:g} s for which Dask pays")
            self.dask = self.make_dask()
        # batched as the Dask executor's own map batches (a sibling class of this module)
        size = self.dask._batch_size(len(rest))  # noqa: SLF001
        yield from self.dask._batches(fn, shared, [rest[a:a + size] for a in range(0, len(rest), size)])  # noqa: SLF001

    def _choose(self, choice: str, why: str) -> None:
        self.choice = choice
        if self.on_choice is not None:
            self.on_choice(f"{'Dask' if choice == 'dask' else 'serial'}: {why}")

    def close(self) -> None:
        """Close the Dask executor, if one was started."""
        if self.dask is not None:
            self.dask.close()
