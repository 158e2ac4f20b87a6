"""The checks of what a template computes: operators, calls and filters, each refused *before*
it builds a value over the budgets of :mod:`calltmpl.budget` (``"x" * 10**9`` is never built,
``10**(10**10)`` never computed), and its result measured after.

The sandboxed environment (:mod:`calltmpl.environment`) calls these from its hooks:
``call_binop`` for the operators of :data:`INTERCEPTED`, ``call`` for every call, and the
filters of :data:`FILTER_CHECKS` wrapped by :func:`guard_filter`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, ValuesView
from types import BuiltinMethodType, FunctionType, MethodType
from typing import Any

from jinja2.utils import generate_lorem_ipsum

from calltmpl.budget import (
    MAX_INT_BITS,
    MAX_RANGE,
    MAX_SIZE,
    BudgetExceeded,
    check_result,
    check_size,
    size,
    tick,
)

INTERCEPTED = frozenset({"*", "**", "+", "%"})
"""The binary operators the environment routes through :func:`check_binop`."""


# --- operators and calls -----------------------------------------------------------------------


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``left operator right`` when its result would be over budget."""
    if operator == "**":
        if _integer(left) and _integer(right) and right > 0 and abs(left) > 1:
            _bits(left.bit_length() * right, "**")
    elif operator == "*":
        if _integer(left) and _integer(right):
            _bits(left.bit_length() + right.bit_length(), "*")
        elif _integer(right) and isinstance(left, str | list | tuple | bytes):
            _items(len(left) * right, "*")
        elif _integer(left) and isinstance(right, str | list | tuple | bytes):
            _items(len(right) * left, "*")
    elif operator == "+":
        if isinstance(left, str | list | tuple | bytes) and isinstance(right, str | list | tuple):
            _items(len(left) + len(right), "+")
    elif operator == "%" and isinstance(left, str):
        values = right.values() if isinstance(right, Mapping) else right
        check_format(left, values if isinstance(values, tuple | ValuesView) else (values,), "%")


def _integer(value: Any) -> bool:
    return isinstance(value, int)


def _bits(bits: int, operator: str) -> None:
    if bits > MAX_INT_BITS:
        raise BudgetExceeded(
            f"{operator} would make a number of about {bits:,} bits, over {MAX_INT_BITS:,}"
        )


def _items(count: int, operator: str) -> None:
    if count > MAX_SIZE:
        raise BudgetExceeded(
            f"{operator} would make a value of {count:,} characters or items, over {MAX_SIZE:,}"
        )


_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FIELD = re.compile(r"\{[^{}]*\}")
_NESTED = re.compile(r"\{[^{}]*\{")


def check_format(template: str, values: Iterable[Any], style: str) -> None:
    """Refuse ``template % values`` (``style`` "%") or ``template.format(*values)`` ("{")
    when the text could be over budget: a width over :data:`MAX_SIZE`, or its fields times
    the largest value."""
    values = list(values)
    if style == "%":
        widths = [n for spec in _PRINTF.findall(template) for n in spec if n and n != "*"]
        nested = "*" in template
    else:
        widths = [n for field in _FIELD.findall(template) for n in re.findall(r"\d+", field)]
        nested = _NESTED.search(template) is not None
    if any(len(n) > 7 or int(n) > MAX_SIZE for n in widths) or (
        nested and any(_integer(v) and v > MAX_SIZE for v in values)
    ):
        raise BudgetExceeded(f"a format width is over {MAX_SIZE:,} characters")
    largest = max((size(v) for v in values), default=0)
    if len(template) + template.count(style) * largest > MAX_SIZE:
        raise BudgetExceeded(f"the formatted text would be over {MAX_SIZE:,} characters")


def safe_range(*args: int) -> range:
    """``range()`` for templates: at most :data:`MAX_RANGE` items."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise BudgetExceeded(
            f"range() of {len(numbers):,} items is over the {MAX_RANGE:,} a template may loop over"
        )
    return numbers


def _width_method(name: str) -> Callable[[str, tuple[Any, ...]], tuple[Any, ...]]:
    def check(text: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        if any(_integer(a) and a > MAX_SIZE for a in args):
            raise BudgetExceeded(f"str.{name}() width over {MAX_SIZE:,}")
        return args

    return check


def _expandtabs(text: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if args and _integer(args[0]):
        _items(len(text) + text.count("\t") * args[0], "expandtabs()")
    return args


def _join_method(text: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(args) != 1:
        return args
    items = list(args[0])
    _items(len(text) * len(items), "join()")
    _items(size(items) + len(text) * len(items), "join()")
    return (items,)


def _replace_method(text: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(args) >= 2:
        _check_replace(text, args[0], args[1], args[2] if len(args) > 2 else -1)
    return args


_STRING_METHODS: dict[str, Callable[[str, tuple[Any, ...]], tuple[Any, ...]]] = {
    **{name: _width_method(name) for name in ("center", "ljust", "rjust", "zfill")},
    "expandtabs": _expandtabs,
    "join": _join_method,
    "replace": _replace_method,
}
"""Checks of the string methods that can build a string larger than their arguments."""


def check_call(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Refuse a call from a template whose result would be over budget; the arguments to
    call it with (an iterable to join is read once, here, into a list). Dispatches on the
    type first: looking up an attribute a callable lacks costs an exception each time."""
    tick()
    kind = type(function)
    if kind is BuiltinMethodType or kind is MethodType:
        owner = function.__self__
        if isinstance(owner, str):
            check = _STRING_METHODS.get(function.__name__)
            return args if check is None else check(owner, args)
    elif kind is FunctionType:
        if function is generate_lorem_ipsum:
            if any(_integer(a) and a > 1000 for a in (*args, *kwargs.values())):
                raise BudgetExceeded("lipsum() of more than 1,000 paragraphs or words")
            return args
        wrapped = function.__dict__.get("__wrapped__")  # the sandbox's str.format, format_map
        if type(wrapped) is BuiltinMethodType and isinstance(wrapped.__self__, str):
            values = [*args, *kwargs.values()]
            if wrapped.__name__ == "format_map" and args and isinstance(args[0], Mapping):
                values = list(args[0].values())
            if wrapped.__name__ in ("format", "format_map"):
                check_format(wrapped.__self__, values, "{")
    return args


def _check_replace(text: Any, old: Any, new: Any, count: Any) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    found = len(text) + 1 if old == "" else text.count(old)
    if _integer(count) and count >= 0:
        found = min(found, count)
    _items(len(text) + found * max(len(new) - len(old), 0), "replace()")


# --- filters ---------------------------------------------------------------------------------

Check = Callable[[list[Any], dict[str, Any]], None]


def _argument(args: list[Any], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def _join(args: list[Any], kwargs: dict[str, Any]) -> None:
    items = list(args[0])
    args[0] = items
    separator = len(str(_argument(args, kwargs, 1, "d") or ""))
    _items(separator * len(items), "join")
    _items(size(items) + separator * len(items), "join")


def _format(args: list[Any], kwargs: dict[str, Any]) -> None:
    check_format(str(args[0]), [*args[1:], *kwargs.values()], "%")


def _width(index: int, name: str) -> Check:
    def check(args: list[Any], kwargs: dict[str, Any]) -> None:
        width = _argument(args, kwargs, index, name)
        if _integer(width) and width > MAX_SIZE:
            raise BudgetExceeded(f"a {name} of {width:,} is over {MAX_SIZE:,}")

    return check


def _indent(args: list[Any], kwargs: dict[str, Any]) -> None:
    _width(1, "width")(args, kwargs)
    width = _argument(args, kwargs, 1, "width")
    text = str(args[0])
    step = width if _integer(width) else len(str(width or ""))
    _items(len(text) + (text.count("\n") + 1) * max(step, 0), "indent")


def _wordwrap(args: list[Any], kwargs: dict[str, Any]) -> None:
    text = str(args[0])
    width = _argument(args, kwargs, 1, "width") or 79
    wrap = _argument(args, kwargs, 3, "wrapstring") or "\n"
    lines = len(text) // max(width if _integer(width) else 1, 1) + 1
    _items(len(text) + lines * len(str(wrap)), "wordwrap")


def _replace(args: list[Any], kwargs: dict[str, Any]) -> None:
    if len(args) >= 3:
        _check_replace(args[0], args[1], args[2], _argument(args, kwargs, 3, "count"))


def _sum(args: list[Any], kwargs: dict[str, Any]) -> None:
    start = _argument(args, kwargs, 2, "start")
    if isinstance(start, str | list | tuple):
        items = list(args[0])
        args[0] = items
        _items(len(start) + sum(size(item) for item in items), "sum")


def _printed(args: list[Any], kwargs: dict[str, Any]) -> None:
    check_size(args[0], "the value")


FILTER_CHECKS: dict[str, Check] = {
    "join": _join,
    "format": _format,
    "center": _width(1, "width"),
    "indent": _indent,
    "wordwrap": _wordwrap,
    "replace": _replace,
    "batch": _width(1, "linecount"),
    "slice": _width(1, "slices"),
    "sum": _sum,
    **{name: _printed for name in ("string", "pprint", "urlencode", "xmlattr", "escape", "e")},
    "forceescape": _printed,
    "urlize": _printed,
}
"""Checks run before the filters that can build a value larger than their input: they see its
arguments after any context Jinja passes first (and may replace an iterable with the list it
was read into). The other filters are left as they are: they cannot grow a value, and
``tojson`` is checked by the environment's ``json.dumps``."""


def check_json(value: Any, options: Mapping[str, Any]) -> None:
    """Refuse ``tojson`` of a value that would print over budget, or with a huge indent."""
    indent = options.get("indent")
    if isinstance(indent, int) and indent > 64:
        raise BudgetExceeded(f"a tojson indent of {indent:,} is over 64")
    if not isinstance(value, str | int | float | None):
        check_size(value, "the value")


def guard_filter(
    name: str, function: Callable[..., Any], passes_context: bool
) -> Callable[..., Any]:
    """``function`` with its budget checks before and the size of its result after."""
    check = FILTER_CHECKS.get(name)
    skip = 1 if passes_context else 0

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        tick()
        if check is not None and len(args) > skip:
            rest = list(args[skip:])
            check(rest, kwargs)
            args = (*args[:skip], *rest)
        return check_result(function(*args, **kwargs))

    return guarded
