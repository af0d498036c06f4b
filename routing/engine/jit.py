"""Small work runs the kernels' Python code instead of compiling them.

A numba kernel costs a compile on its first call after an install (0.2-2.5 s CPU each) and, in
every later process, numba's start-up and loading it from the cache (0.1 s for the first kernel,
about 5 ms for each other one), while the demo network's searches take microseconds compiled.
:func:`for_work` hands out an interpreted copy of a kernel (:func:`interpreted`: the same code,
so the same results) while the work it has run interpreted in this process stays within
:data:`INTERPRET_MAX_WORK`; past it, or once the kernel is compiled (or loaded) in this process
anyway, the compiled kernel runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import FunctionType
from typing import Any

import numpy as np
from numba.core.dispatcher import Dispatcher
from numba.cpython.unsafe.numbers import leading_zeros

# Work (searches x routing-graph edges, as the call sites count it) each kernel may run interpreted in
# a process. benchmarks/bench_jit.py (2-core machine, load 1-4, CPU seconds): interpreted, the kernels
# take 1.1-2.7 us per unit of work (trees, OD, repair; 0.1-1.8 us the others) on the demo and on a
# 6.6k-edge synthetic graph; compiling one took 0.22-2.5 s; a process finding them in numba's cache
# paid 0.11 s for the first one (numba's start-up) and 3-7 ms for each other one. 40,000 units at
# 2.7 us are that 0.1 s: a process with a warm cache loses at most about that much per kernel, one
# whose cache is empty saves the compiles. The demo's `routing run` (18k units of trees, all calls)
# and `routing criticality` (29k units of repairs) stay below it; an OD matrix on Malta (39k edges)
# does not, nor do the demo sweep's 64 OD matrices (94k units: it compiles the OD kernel).
INTERPRET_MAX_WORK = 40_000


def _leading_zeros(x: np.integer) -> int:
    """Python form of numba's ``leading_zeros`` intrinsic, for a numpy integer scalar."""
    return x.dtype.itemsize * 8 - int(x).bit_length()


_PYTHON_FORM: dict[int, Callable[..., Any]] = {id(leading_zeros): _leading_zeros}  # by id: intrinsics
_namespaces: dict[str, dict[str, Any]] = {}  # by module name
_copies: dict[Dispatcher, FunctionType] = {}
_interpreted_work: dict[Dispatcher, int] = {}
_lock = threading.RLock()  # a namespace is filled once, by one thread


def _fill_namespace(module_globals: dict[str, Any]) -> None:
    """A copy of a module's globals where every kernel is its interpreted copy (and every numba
    intrinsic its Python form)."""
    ns = _namespaces[module_globals["__name__"]] = dict(module_globals)  # first: kernels call each other
    for name, value in module_globals.items():
        if isinstance(value, Dispatcher):
            ns[name] = interpreted(value)
        elif id(value) in _PYTHON_FORM:
            ns[name] = _PYTHON_FORM[id(value)]


def interpreted(kernel: Dispatcher) -> FunctionType:
    """The kernel's Python function, run by the interpreter, calling the interpreted copies of the
    kernels it calls (``prange`` is ``range`` outside numba)."""
    with _lock:
        if kernel not in _copies:
            f = kernel.py_func
            module = f.__globals__["__name__"]
            if module not in _namespaces:
                _fill_namespace(f.__globals__)  # copies the module's kernels (this one too, if it is global)
            if kernel not in _copies:
                _copies[kernel] = FunctionType(f.__code__, _namespaces[module], f.__name__, f.__defaults__,
                                               f.__closure__)
        return _copies[kernel]


def for_work(kernel: Dispatcher, work: int) -> Callable[..., Any]:
    """``kernel``, or its interpreted copy while the work (about edge relaxations) it has run
    interpreted in this process, ``work`` included, stays within :data:`INTERPRET_MAX_WORK` and it
    is not compiled (or loaded from numba's cache) in this process yet."""
    done = _interpreted_work.get(kernel, 0) + work
    if kernel.overloads or done > INTERPRET_MAX_WORK:
        return kernel
    _interpreted_work[kernel] = done
    return interpreted(kernel)
