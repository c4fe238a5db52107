"""What a job kind accepts, checked when the job is created rather than when a worker runs it.

A kind's parameters are read from its function's signature (names, type hints, defaults; `**kw:
Unpack[SomeTypedDict]` names more), so every registered kind is checked without restating it: an unknown
name, a missing required one or a value of the wrong JSON type is refused. `checks` (per parameter) and
`validate` (the whole dict) add what types cannot say: a path under the uploads folder, a version name that
can be a folder, a number in range. Any `ValueError` they raise becomes a `JobParamsError` naming the field.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

ParamCheck = Callable[[Any], object]  # raises ValueError with the reason; the return value is ignored
ParamsCheck = Callable[[dict[str, Any]], object]

_ANY_KEY = object()  # marks `**kw: Any`: any further name is accepted (then `validate` must check them)


class JobParamsError(ValueError):
    """A job's parameters are wrong: `field` names the parameter ("params" for the whole), `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def between(low: float, high: float) -> ParamCheck:
    """A number check: None passes (the function's default applies), else `low <= value <= high`."""

    def check(value: Any) -> None:
        if value is not None and not low <= value <= high:
            raise ValueError(f"must be from {low:g} to {high:g}, not {value!r}")

    return check


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def type_problem(value: Any, annotation: Any) -> str | None:
    """Why `value` (decoded JSON) does not fit `annotation`, or None when it does. Unknown annotations pass."""
    if annotation is Any or annotation is inspect.Parameter.empty:
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_problem(value, args[0])
    if origin in (Union, types.UnionType):
        problems = [type_problem(value, arg) for arg in args]
        if any(p is None for p in problems):
            return None
        names = " or ".join("null" if a is type(None) else _type_name(typing.get_origin(a) or a) for a in args)
        return f"must be {names}, not {_json_name(value)}"
    if origin is Literal:
        return None if value in args else f"must be one of {', '.join(map(repr, args))}, not {value!r}"
    if annotation is type(None):
        return None if value is None else f"must be null, not {_json_name(value)}"
    if annotation is bool:
        return None if isinstance(value, bool) else f"must be true or false, not {_json_name(value)}"
    if annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"must be an integer, not {_json_name(value)}"
    if annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else f"must be a number, not {_json_name(value)}"
    if annotation is str:
        return None if isinstance(value, str) else f"must be a string, not {_json_name(value)}"
    if origin in (list, tuple, Sequence) or annotation in (list, tuple):
        if not isinstance(value, list):
            return f"must be a list, not {_json_name(value)}"
        for index, item in enumerate(value):
            problem = type_problem(item, args[0]) if args else None
            if problem:
                return f"item {index} {problem}"
        return None
    if origin in (dict, Mapping) or annotation is dict:
        if not isinstance(value, dict):
            return f"must be an object, not {_json_name(value)}"
        if len(args) == 2:
            for key, item in value.items():
                problem = type_problem(item, args[1])
                if problem:
                    return f"key {key!r} {problem}"
        return None
    return None


def _json_name(value: Any) -> str:
    if value is None:
        return "null"
    names = {
        bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"
    }
    return f"{names.get(type(value), type(value).__name__)} ({_short(value)})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class ParamSpec:
    """The parameters of one job kind: name -> (annotation, required), and the extra checks."""

    fields: Mapping[str, tuple[Any, bool]]
    open: bool  # `**kw: Any`: names beyond `fields` are accepted (and left to `validate`)
    checks: Mapping[str, ParamCheck]
    validate: ParamsCheck | None

    @classmethod
    def from_function(
        cls, func: Callable[..., Any], checks: Mapping[str, ParamCheck] | None = None,
        validate: ParamsCheck | None = None,
    ) -> ParamSpec:
        signature = inspect.signature(func)
        try:
            hints = typing.get_type_hints(func, include_extras=True)
        except Exception:  # an annotation that cannot be resolved: check names only
            hints = {}
        fields: dict[str, tuple[Any, bool]] = {}
        open_ = False
        for position, (name, parameter) in enumerate(signature.parameters.items()):
            if position == 0:
                continue  # the JobContext
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                extra = _unpacked(hints.get(name))
                if extra is None:
                    open_ = True
                else:
                    fields.update({key: (hint, False) for key, hint in extra.items()})
            elif parameter.kind is not inspect.Parameter.VAR_POSITIONAL:
                required = parameter.default is inspect.Parameter.empty
                fields[name] = (hints.get(name, Any), required)
        unknown_checks = set(checks or {}) - set(fields)
        if unknown_checks and not open_:
            raise TypeError(f"{func.__name__}: checks for unknown parameter(s) {', '.join(sorted(unknown_checks))}")
        return cls(fields, open_, dict(checks or {}), validate)

    def check(self, params: Any) -> dict[str, Any]:
        """`params` as given when valid; else raise JobParamsError for the first problem found."""
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise JobParamsError("params", f"must be an object, not {_json_name(params)}")
        unknown = sorted(set(params) - set(self.fields))
        if unknown and not self.open:
            known = ", ".join(self.fields) or "none"
            raise JobParamsError(unknown[0], f"unknown parameter; this job takes: {known}")
        for name, (annotation, required) in self.fields.items():
            if name not in params:
                if required:
                    raise JobParamsError(name, "required")
                continue
            problem = type_problem(params[name], annotation)
            if problem:
                raise JobParamsError(name, problem)
        for name, check in self.checks.items():
            if name in params:
                try:
                    check(params[name])
                except ValueError as exc:
                    raise JobParamsError(name, str(exc)) from exc
        if self.validate is not None:
            try:
                self.validate(params)
            except JobParamsError:
                raise
            except ValueError as exc:
                raise JobParamsError("params", str(exc)) from exc
        return params


def _unpacked(hint: Any) -> dict[str, Any] | None:
    """The keys of `**kw: Unpack[SomeTypedDict]`, or None for any other `**kw`."""
    if hint is None or typing.get_origin(hint) is not typing.Unpack:
        return None
    (typed_dict,) = typing.get_args(hint)
    return typing.get_type_hints(typed_dict, include_extras=True)
