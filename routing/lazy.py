"""Lazy package exports: a package's public names are imported on first use (module
``__getattr__``, PEP 562), so importing a package costs nothing until one of its names is used
(``import routing`` does not import numba, osmnx, pandas or matplotlib)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, modules: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose public names live in submodules:
    ``modules`` maps each module (absolute, or relative to ``package``) to its names, separated
    by spaces."""
    exports = {name: module for module, names in modules.items() for name in names.split()}

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # the next lookup does not come here
        return value

    def dir_() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return getattr_, dir_
