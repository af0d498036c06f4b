"""The project's exception types. Messages name the file, the field and the value."""

from __future__ import annotations

from pathlib import Path


class RoutingError(Exception):
    """Base class: every error the toolkit raises on bad input."""


class InputError(RoutingError):
    """Bad user input: a file, a field in it, and the offending value.

    ``str(err)`` reads ``<file>: <field> = <value!r>: <problem>``.
    """

    def __init__(self, problem: str, *, file: str | Path | None = None, field: str | None = None,
                 value: object = None, has_value: bool | None = None):
        self.file = str(file) if file is not None else None
        self.field = field
        self.value = value
        self.problem = problem
        where = []
        if self.file:
            where.append(self.file)
        if field:
            shown = f"{field} = {value!r}" if (has_value if has_value is not None else value is not None) else field
            where.append(shown)
        super().__init__(one_line(": ".join([*where, problem])))


def one_line(text: str) -> str:
    """``text`` with line breaks and other unprintable characters escaped (``\\n``), so a
    message stays one line whatever keys or values a file holds."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class NetworkLoadError(InputError):
    """A network source cannot be read (missing, corrupt, truncated, empty, unknown format)."""


class ScenarioError(InputError):
    """A scenario file is invalid."""


class SelectorError(InputError):
    """A selector is malformed or matches nothing."""


class CatalogueError(InputError):
    """The places/assets catalogue is invalid or lacks a name."""


class LayerError(InputError):
    """An analyst's layer (population raster or file, facilities, areas) is invalid."""
