"""Declarative property schemas.

CloudFormation passes every scalar as a string, so a schema coerces "3" to 3 and
"true" to True by the declared type. Parsing collects every problem (path and what
was expected, never the value) and raises one InvalidProperties.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidProperties, Problem

_MISSING: Any = object()
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def describe(value: Any) -> str:
    """The JSON type of a value, for messages (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    if name.lower() in lowered:
        return f" (did you mean {lowered[name.lower()]}?)"
    import difflib

    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


class Invalid(Exception):
    """Raised by a type's parse for one problem at the current path."""


@dataclass(frozen=True)
class Field:
    """A property: its type, whether it is required, its default, and secrecy."""

    type: Type
    required: bool = False
    default: Any = _MISSING
    #: Secret values are registered with the log redactor and never logged.
    secret: bool = False
    description: str = ""

    def has_default(self) -> bool:
        return self.default is not _MISSING


class Type:
    """A property type. parse() returns the coerced value or raises Invalid."""

    @property
    def expected(self) -> str:
        return "a value"

    def parse(self, value: Any, path: str, problems: list[Problem]) -> Any:
        raise Invalid(f"expected {self.expected}, got {describe(value)}")


@dataclass(frozen=True)
class String(Type):
    choices: Sequence[str] = ()
    pattern: str | None = None
    min_length: int = 0
    max_length: int | None = None

    @property
    def expected(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.pattern:
            return f"a string matching {self.pattern}"
        if self.min_length:
            return "a non-empty string"
        return "a string"

    def parse(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise Invalid(f"expected {self.expected}, got {describe(value)}")
        text = str(value)
        if self.choices and text not in self.choices:
            raise Invalid(f"expected {self.expected}{did_you_mean(text, self.choices)}")
        if self.pattern and not re.fullmatch(self.pattern, text):
            raise Invalid(f"expected {self.expected}")
        if len(text) < self.min_length:
            raise Invalid(f"expected {self.expected}")
        if self.max_length is not None and len(text) > self.max_length:
            raise Invalid(f"expected a string of at most {self.max_length} characters, got {len(text)}")
        return text


def _bounded(kind: str, minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{kind} of at least {minimum}"
    if maximum is not None:
        return f"{kind} of at most {maximum}"
    return kind


def _outside(number: float, minimum: float | None, maximum: float | None) -> bool:
    return (minimum is not None and number < minimum) or (maximum is not None and number > maximum)


@dataclass(frozen=True)
class Integer(Type):
    minimum: int | None = None
    maximum: int | None = None

    @property
    def expected(self) -> str:
        return _bounded("an integer", self.minimum, self.maximum)

    def parse(self, value: Any, path: str, problems: list[Problem]) -> Any:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,100}\s*", value):
            # At most 100 digits: int() refuses over 4300 (a ValueError, not a problem).
            number = int(value)
        if number is None:
            raise Invalid(f"expected {self.expected}, got {describe(value)}")
        if _outside(number, self.minimum, self.maximum):
            raise Invalid(f"expected {self.expected}, got a number out of range")
        return number


@dataclass(frozen=True)
class Number(Type):
    minimum: float | None = None
    maximum: float | None = None

    @property
    def expected(self) -> str:
        return "a number"

    def parse(self, value: Any, path: str, problems: list[Problem]) -> Any:
        number = math.nan
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            try:
                number = float(value)
            except (ValueError, OverflowError):  # not a number, or an int beyond float
                number = math.nan
        if not math.isfinite(number):
            got = "a number out of range" if isinstance(value, int | float) else describe(value)
            raise Invalid(f"expected {self.expected}, got {got}")
        if _outside(number, self.minimum, self.maximum):
            raise Invalid(f"expected {_bounded('a number', self.minimum, self.maximum)}, got one out of range")
        return number


@dataclass(frozen=True)
class Boolean(Type):
    @property
    def expected(self) -> str:
        return "a boolean (true or false)"

    def parse(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise Invalid(f"expected {self.expected}, got {describe(value)}")


@dataclass(frozen=True)
class List(Type):
    item: Type
    min_items: int = 0
    max_items: int | None = None

    @property
    def expected(self) -> str:
        return f"a list of {self.item.expected}"

    def parse(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if not isinstance(value, list | tuple):
            raise Invalid(f"expected {self.expected}, got {describe(value)}")
        if len(value) < self.min_items:
            raise Invalid(f"expected at least {self.min_items} item(s), got {len(value)}")
        if self.max_items is not None and len(value) > self.max_items:
            raise Invalid(f"expected at most {self.max_items} item(s), got {len(value)}")
        out = []
        for index, item in enumerate(value):
            out.append(parse_at(self.item, item, f"{path}[{index}]", problems))
        return out


@dataclass(frozen=True)
class Map(Type):
    """An object with free-form keys and values of one type."""

    value: Type

    @property
    def expected(self) -> str:
        return f"an object of {self.value.expected}"

    def parse(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if not isinstance(value, Mapping):
            raise Invalid(f"expected {self.expected}, got {describe(value)}")
        return {k: parse_at(self.value, v, _join(path, str(k)), problems) for k, v in value.items()}


@dataclass(frozen=True)
class Json(Type):
    """Any JSON value, passed through unchanged (validated elsewhere)."""

    @property
    def expected(self) -> str:
        return "a JSON value"

    def parse(self, value: Any, path: str, problems: list[Problem]) -> Any:
        return value


@dataclass(frozen=True)
class Object(Type):
    """An object with declared fields; unknown keys are rejected with a did-you-mean."""

    fields: Mapping[str, Field]
    #: Checks across fields (e.g. "not both"); each returns problems.
    checks: Sequence[Callable[[Mapping[str, Any]], Iterable[Problem]]] = field(default=())

    @property
    def expected(self) -> str:
        return "an object"

    def parse(self, value: Any, path: str, problems: list[Problem]) -> Any:
        if not isinstance(value, Mapping):
            raise Invalid(f"expected {self.expected}, got {describe(value)}")
        out: dict[str, Any] = {}
        for key in value:
            if key not in self.fields:
                problems.append(
                    Problem(_join(path, str(key)), "unknown property" + did_you_mean(str(key), self.fields))
                )
        for name, spec in self.fields.items():
            sub = _join(path, name)
            if name not in value or value[name] is None:
                if spec.required:
                    # A pass-through Json field has no type to name; its description says what is expected.
                    expected = (
                        spec.description if isinstance(spec.type, Json) and spec.description else (spec.type.expected)
                    )
                    problems.append(Problem(sub, f"required; expected {expected}"))
                elif spec.has_default():
                    out[name] = spec.default
                continue
            if spec.secret:
                _register_secret(value[name])
            out[name] = parse_at(spec.type, value[name], sub, problems)
        for check in self.checks:
            for problem in check(value):
                problems.append(Problem(_join(path, problem.path), problem.message))
        return out


def _register_secret(value: Any) -> None:
    from .logs import redactor

    redactor.add_value(value)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path and name else path or name


def parse_at(kind: Type, value: Any, path: str, problems: list[Problem]) -> Any:
    """kind.parse(value), with its problem recorded at path (and None returned) instead of raised."""
    try:
        return kind.parse(value, path, problems)
    except Invalid as exc:
        problems.append(Problem(path, str(exc)))
        return None


class Schema:
    """The properties a provider accepts.

    Schema(Cluster=Field(String(min_length=1), required=True), Count=Field(Integer(1, 10), default=1))
    """

    def __init__(
        self,
        checks: Sequence[Callable[[Mapping[str, Any]], Iterable[Problem]]] = (),
        **fields: Field,
    ) -> None:
        self.root = Object(fields=fields, checks=tuple(checks))

    @property
    def fields(self) -> Mapping[str, Field]:
        return self.root.fields

    def parse(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        """Coerced properties with defaults filled in, or InvalidProperties."""
        problems: list[Problem] = []
        out = self.root.parse(properties, "", problems)
        if problems:
            raise InvalidProperties(problems)
        result: dict[str, Any] = out
        return result

    def parse_lenient(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        """Best effort for Delete and old properties: invalid fields fall back to defaults."""
        out: dict[str, Any] = {}
        for name, spec in self.fields.items():
            problems: list[Problem] = []
            if name in properties and properties[name] is not None:
                if spec.secret:
                    _register_secret(properties[name])
                value = parse_at(spec.type, properties[name], name, problems)
                if not problems:
                    out[name] = value
                    continue
            if spec.has_default():
                out[name] = spec.default
        return out


def not_both(first: str, second: str) -> Callable[[Mapping[str, Any]], Iterable[Problem]]:
    """A check: at most one of two properties may be given."""

    def check(value: Mapping[str, Any]) -> Iterable[Problem]:
        if value.get(first) is not None and value.get(second) is not None:
            yield Problem("", f"give {first} or {second}, not both")

    return check
