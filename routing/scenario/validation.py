"""The strict schema's building blocks, and the one place pydantic's errors become our one line
``file: field = value: problem``.

Every table of a scenario, sweep or catalogue file is a :class:`Strict` model: unknown keys are
errors (with a did-you-mean), NaN and ±inf are refused, booleans are not numbers, integers are
not floats-with-a-fraction, lists are lists. A new table is one more ``Strict`` model and one
more field on its parent; :func:`validate` translates whatever goes wrong in it.

Checks pydantic has no word for raise :func:`problem` from a validator; its message is used
as written, and it may name a sub-field and value (``problem("only for degrade",
field="speed_factor", value=1.5)``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from ..errors import InputError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
MAX_NESTING = 32  # tables and lists inside one selector
NO_VALUE: Any = object()  # "no value to show" (a missing field, a whole table)


class Strict(BaseModel):
    """A table of a user file: unknown keys refused, numbers finite, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True,
                              populate_by_name=True)


def problem(text: str, *, field: str | int | None = None, value: Any = NO_VALUE) -> PydanticCustomError:
    """An error to raise in a validator: ``text`` is the problem as the user reads it; ``field``
    (a key or index below the validated value) and ``value`` name the culprit more precisely."""
    return PydanticCustomError("routing", "{problem}", {"problem": text, "field": field, "value": value})


# ------------------------------------------------------------------ value types shared by the models

def _non_blank(value: str) -> str:
    if not value.strip():
        raise problem("expected a non-empty string")
    return value


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()  # a TOML datetime counts as its date: events are dated by day
    if isinstance(value, dt.date):
        return value
    raise problem("expected a TOML date such as 2024-12-06 (no quotes)")


def in_range(low: float, high: float, *, low_open: bool = True, high_open: bool = False) -> AfterValidator:
    """A validator keeping a number in (low, high] (brackets as given); the message shows the interval."""
    def check(value: float) -> float:
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if too_low or too_high:
            if high == math.inf:
                raise problem(f"expected a number {'>' if low_open else '>='} {low:g}")
            raise problem(f"out of range {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}")
        return value
    return AfterValidator(check)


Text = Annotated[str, AfterValidator(_non_blank)]
Date = Annotated[dt.date, BeforeValidator(_date)]
Positive = Annotated[float, in_range(0, math.inf, high_open=True)]
Factor = Annotated[float, in_range(0, 1)]  # multiplies speed or capacity: (0, 1]
Probability = Annotated[float, in_range(0, 1, low_open=False)]
Latitude = Annotated[float, in_range(-90, 90, low_open=False)]
Longitude = Annotated[float, in_range(-180, 180, low_open=False)]


def _bbox(value: list[float]) -> list[float]:
    west, south, east, north = value
    for i, (c, low, high) in enumerate(zip(value, (-180, -90, -180, -90), (180, 90, 180, 90))):
        if not low <= c <= high:
            raise problem(f"{('west', 'south', 'east', 'north')[i]} out of range [{low}, {high}]", field=i, value=c)
    if not (west < east and south < north):
        raise problem("expected [west, south, east, north] in degrees with west < east and south < north")
    return value


def _length(n: int) -> AfterValidator:
    def check(value: list) -> list:
        if len(value) != n:
            raise problem(f"expected {n} numbers, got {len(value)}")
        return value
    return AfterValidator(check)


BBox = Annotated[list[float], _length(4), AfterValidator(_bbox)]


def _lon_lat(value: list[float]) -> list[float]:
    lon, lat = value
    if not -180 <= lon <= 180:
        raise problem("longitude out of range [-180, 180] (points are [lon, lat])")
    if not -90 <= lat <= 90:
        raise problem("latitude out of range [-90, 90] (points are [lon, lat])")
    return value


LonLat = Annotated[list[float], _length(2), AfterValidator(_lon_lat)]


def nesting_depth(value: Any) -> int:
    """How deep tables and lists nest in ``value`` (a scalar: 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_NESTING:
            break
        stack.extend((c, depth + 1) for c in children)
    return deepest


def shallow(value: Any) -> Any:
    """Refuse tables and lists nested more than MAX_NESTING deep (a before-validator)."""
    if nesting_depth(value) > MAX_NESTING:
        raise problem(f"nested more than {MAX_NESTING} levels deep")
    return value


def unique_names(names: list[tuple[str | int, str]], what: str) -> None:
    """Refuse two names that differ only in case (lookups are case-insensitive); ``names`` holds
    (key or index, name) pairs, the key naming the field in the message."""
    seen: dict[str, str] = {}
    for key, name in names:
        folded = name.casefold()
        if folded in seen:
            raise problem(f"duplicate {what} (names are compared ignoring case): {seen[folded]!r} and {name!r}",
                          field=key, value=name)
        seen[folded] = name


# ------------------------------------------------------------------ one translation of every error

def validate(schema: type[M], doc: Any, *, file: str | Path | None, error: type[InputError],
             at: str | None = None) -> M:
    """``schema`` (a model) validated from ``doc``; the first problem raises ``error`` as
    ``file: field = value: problem`` (``at``: the field path of ``doc`` itself, if not the file's root)."""
    try:
        return schema.model_validate(doc)
    except ValidationError as exc:
        raise input_error(exc, schema, file=file, error=error, at=at) from None


def validate_value(adapter: TypeAdapter[T], value: Any, *, file: str | Path | None, error: type[InputError],
                   at: str) -> T:
    """``value`` validated by ``adapter`` (a type that is not a table); errors as :func:`validate`'s."""
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise input_error(exc, None, file=file, error=error, at=at) from None


def input_error(exc: ValidationError, model: type[BaseModel] | None, *, file: str | Path | None,
                error: type[InputError], at: str | None = None) -> InputError:
    """The first error of ``exc`` (raised validating ``model``; None for a plain type) as an ``error``."""
    err = exc.errors(include_url=False)[0]
    loc = [part for part in err["loc"] if not (isinstance(part, str) and part.startswith("@"))]
    ctx = err.get("ctx") or {}
    value: Any = err.get("input", NO_VALUE)
    if loc and loc[-1] == "[key]":  # a bad key of a table: the key is the value
        loc = loc[:-1]
        value = loc[-1] if loc else value
    kind = err["type"]
    if kind == "routing":
        if ctx.get("field") is not None:
            loc.append(ctx["field"])
        if ctx.get("value", NO_VALUE) is not NO_VALUE:
            value = ctx["value"]
        elif isinstance(value, dict) and ctx.get("field") is None:
            value = NO_VALUE  # a problem of a whole table: the table itself says nothing more
    if kind == "missing":
        value = NO_VALUE
    text = _problem(kind, err, ctx, loc, model, top=not at)
    field = field_path([at, *loc] if at else loc)
    if kind == "missing" and not at and len(loc) == 1 and model is not None and _is_table(model, str(loc[0])):
        text, field = "missing required table", f"[{loc[0]}]"
    return error(text, file=file, field=field or None, value=None if value is NO_VALUE else value,
                 has_value=value is not NO_VALUE and bool(field))


def field_path(loc: list[Any]) -> str:
    """``("events", 0, "speed_factor")`` -> ``"events[0].speed_factor"``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_TYPE_PROBLEMS = {
    "float_type": "expected a number",
    "int_type": "expected an integer",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "date_type": "expected a TOML date such as 2024-12-06 (no quotes)",
    "finite_number": "expected a finite number (nan and inf are not allowed)",
    "missing": "missing required field",
    "union_tag_not_found": "expected one of the forms described in the documentation",
}


def _problem(kind: str, err: Any, ctx: dict[str, Any], loc: list[Any], model: type[BaseModel] | None, *,
             top: bool) -> str:
    if kind == "routing":
        return str(ctx["problem"])
    if kind == "extra_forbidden":
        known = _field_names(_model_at(model, loc[:-1]))
        key = str(loc[-1]) if loc else ""
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
        where = "top-level key" if len(loc) == 1 and top else "field"
        hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(known)}" if known else ""
        return f"unknown {where}{hint}"
    if kind == "literal_error":
        name = str(loc[-1]) if loc and isinstance(loc[-1], str) else "value"
        return f"unknown {name}; use one of {ctx.get('expected', '')}"
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        return f"expected {'at least' if kind == 'too_short' else 'at most'} {bound} item(s)"
    if kind in ("union_tag_invalid", "union_tag_not_found") and ctx.get("expected_tags"):
        return f"expected one of {ctx['expected_tags']}"
    return _TYPE_PROBLEMS.get(kind, str(err.get("msg", kind)))


def _field_names(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _is_table(model: type[BaseModel], key: str) -> bool:
    return _model_at(model, [key]) is not None


def _model_at(model: type[BaseModel] | None, loc: list[Any]) -> type[BaseModel] | None:
    """The model that validates the table at ``loc`` below ``model`` (None if not a model)."""
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        info = next((i for n, i in model.model_fields.items() if part in (n, i.alias)), None)
        if info is None:  # a key of a dict[str, Model]
            continue
        model = _model_in(info.annotation)
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class inside an annotation such as ``list[X]``, ``X | None``, ``dict[str, X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or getattr(annotation, "__metadata__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    origin = getattr(annotation, "__origin__", None)
    return _model_in(origin) if origin is not None and origin is not annotation else None
