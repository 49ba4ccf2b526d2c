"""AG Grid's filter and sort models, turned into SQL with bound parameters.

The browser sends `filterModel` and `sortModel` as JSON, and anyone can send
any JSON: column names are looked up in the table's definition, operators in
the maps below, and every value reaches the database as a bound parameter.
Filtering, sorting and paging run in the database, so a table of millions of
rows never comes into memory.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import (
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from netsift.console.tables import Browsable, UnknownColumn, kind_of

# Anything larger is not a query an analyst meant; it bounds the server's work.
MAX_CONDITIONS = 32
MAX_VALUE_CHARS = 2_000
# A number beyond a BIGINT matches nothing a table holds; PostgreSQL would
# refuse the parameter ("bigint out of range") rather than compare it.
MAX_NUMBER = 2**63 - 1


class FilterError(ValueError):
    """A filter or sort the console cannot apply; its message is for the analyst."""


def text_form(column, dialect: str) -> ColumnElement:
    """How a value reads as text: what text filters match and what CSV holds.
    Lists read `a, b` on both databases, booleans `true` / `false`."""
    kind = kind_of(column)
    if kind == "bool":
        return case((column.is_(True), "true"), (column.is_(False), "false"))
    if kind == "list":
        if dialect == "postgresql":
            return func.array_to_string(column, ", ")
        each = func.json_each(column).table_valued("value")
        return select(func.group_concat(each.c.value, ", ")).scalar_subquery()
    if kind == "text" and isinstance(column.type, String):
        return column
    return cast(column, String)


# Typed at the start of a text box, as in Dash's DataTable: `icontains wp`
# for any case, `= /` and `!= /` for whole values. A bare value is `contains`.
_TYPED_TEXT = re.compile(r"^(icontains|contains|=|!=)\s+(.*)$", re.DOTALL)
_TYPED_TEXT_OPS = {"icontains": "icontains", "contains": "contains", "=": "equals", "!=": "notEqual"}


def _text_condition(expr, op: str, value, dialect: str, any_case: bool = False) -> ColumnElement:
    """Case-sensitive, as Dash's DataTable and grep are: `wp` finds
    /wp-login.php, not /WPbEddoyH-T.jpg; `icontains` ignores case."""
    if op == "blank":
        return or_(expr.is_(None), expr == "")
    if op == "notBlank":
        return and_(expr.is_not(None), expr != "")
    value = _value(value)
    typed = _TYPED_TEXT.match(value) if op == "contains" else None
    if typed:
        op, value = _TYPED_TEXT_OPS[typed.group(1)], typed.group(2)
    if any_case or op == "icontains":
        expr, value = func.lower(expr), value.lower()
        op = "contains" if op == "icontains" else op
    if op == "equals":
        return expr == value
    if op == "notEqual":
        return or_(expr.is_(None), expr != value)
    if op in ("contains", "notContains", "startsWith", "endsWith"):
        matched = _matches(expr, value, op, dialect)
        return or_(expr.is_(None), not_(matched)) if op == "notContains" else matched
    raise FilterError(f"unknown text filter {str(op)[:40]!r}")


def _matches(expr, value: str, op: str, dialect: str) -> ColumnElement:
    """A case-sensitive substring match. SQLite's LIKE ignores ASCII case, so
    SQLite gets GLOB with its wildcards bracketed; PostgreSQL gets LIKE with
    its wildcards escaped."""
    if dialect == "sqlite":
        literal = re.sub(r"([*?\[])", r"[\1]", value)
        pattern = {"startsWith": f"{literal}*", "endsWith": f"*{literal}"}.get(op, f"*{literal}*")
        return expr.op("GLOB")(pattern)
    if op == "startsWith":
        return expr.startswith(value, autoescape=True)
    if op == "endsWith":
        return expr.endswith(value, autoescape=True)
    return expr.contains(value, autoescape=True)


def _value(value) -> str:
    if value is None or isinstance(value, (dict, list)):
        raise FilterError("a text filter needs a value")
    value = str(value)
    if len(value) > MAX_VALUE_CHARS:
        raise FilterError(f"a filter value is limited to {MAX_VALUE_CHARS} characters")
    if "\x00" in value:
        raise FilterError("a filter value cannot hold a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FilterError("a filter value must be valid Unicode (a lone surrogate is not)") from None
    return value


def valid_unicode(*models) -> None:
    """The grid's models come back to the page (the export link): text that
    cannot be UTF-8 (a lone surrogate, anywhere), or an integer that Dash's
    JSON encoder cannot write (beyond 64 bits, even in a field the filter
    ignores), is refused up front."""
    try:
        json.dumps(models, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise FilterError("the request is not valid Unicode (a lone surrogate)") from None
    except (TypeError, ValueError, RecursionError):
        raise FilterError("the request is malformed") from None
    if any(abs(number) > MAX_NUMBER for number in _integers(models)):
        raise FilterError(f"numbers are limited to ±{MAX_NUMBER:,}")


def _integers(value):
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _integers(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _integers(item)


def _number(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FilterError(f"{str(value)[:40]!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise FilterError("a number filter needs a finite number")
    if abs(number) > MAX_NUMBER:
        raise FilterError(f"a number filter is limited to ±{MAX_NUMBER:,}")
    return int(number) if number.is_integer() else number


def _number_condition(column, condition: dict) -> ColumnElement:
    op = condition.get("type")
    if op == "blank":
        return column.is_(None)
    if op == "notBlank":
        return column.is_not(None)
    value = _number(condition.get("filter"))
    if op == "inRange":
        return column.between(value, _number(condition.get("filterTo")))
    comparisons = {
        "equals": column.__eq__,
        "notEqual": lambda v: or_(column.is_(None), column != v),
        "greaterThan": column.__gt__,
        "greaterThanOrEqual": column.__ge__,
        "lessThan": column.__lt__,
        "lessThanOrEqual": column.__le__,
    }
    if op not in comparisons:
        raise FilterError(f"unknown number filter {str(op)[:40]!r}")
    return comparisons[op](value)


# What an analyst types in a number column's box, as in Dash's DataTable:
# `400`, `> 400`, `<= 1024`, `!= 200`.
_COMPARISON = re.compile(r"^\s*(>=|<=|!=|<>|=|>|<)?\s*(-?\d+(?:\.\d+)?)\s*$")
_TYPED = {None: "equals", "=": "equals", "!=": "notEqual", "<>": "notEqual", ">": "greaterThan",
          ">=": "greaterThanOrEqual", "<": "lessThan", "<=": "lessThanOrEqual"}  # fmt: skip


def _typed_number_condition(column, condition: dict, dialect: str) -> ColumnElement:
    """A number column's text box: a comparison when the value reads as one
    (under `contains`, `equals` or `notEqual`), else a match on the digits."""
    op, value = condition.get("type"), condition.get("filter")
    match = _COMPARISON.match(str(value)) if op in ("contains", "equals", "notEqual") and value is not None else None
    if match is None:
        return _text_condition(text_form(column, dialect), op, value, dialect)
    typed = _TYPED[match.group(1)]
    if op == "notEqual":
        typed = {"equals": "notEqual", "notEqual": "equals"}.get(typed, typed)
    return _number_condition(column, {"type": typed, "filter": match.group(2)})


def _moment(value) -> datetime:
    """AG Grid sends `YYYY-MM-DD HH:MM:SS`; times are UTC, like the tables."""
    try:
        moment = datetime.fromisoformat(str(value)[:MAX_VALUE_CHARS])
    except ValueError:
        raise FilterError(f"{str(value)[:40]!r} is not a date") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    # A day's end must exist (9999-12-31 has none), and UTC must reach it.
    if not FIRST_DAY <= moment.replace(tzinfo=None) < LAST_DAY:
        raise FilterError("dates run from 0001-01-02 to 9999-12-30")
    return moment


FIRST_DAY, LAST_DAY = datetime(1, 1, 2), datetime(9999, 12, 31)


def _date_condition(column, condition: dict) -> ColumnElement:
    """A date names its whole day; a range runs from its start up to (not
    including) its end, which the console's own links give to the second."""
    op = condition.get("type")
    if op == "blank":
        return column.is_(None)
    if op == "notBlank":
        return column.is_not(None)
    start = _moment(condition.get("dateFrom"))
    day_end = start + timedelta(days=1)
    if op == "equals":
        return and_(column >= start, column < day_end)
    if op == "notEqual":
        return or_(column < start, column >= day_end)
    if op == "greaterThan":
        return column >= day_end
    if op == "lessThan":
        return column < start
    if op == "inRange":
        return and_(column >= start, column < _moment(condition.get("dateTo")))
    raise FilterError(f"unknown date filter {str(op)[:40]!r}")


def _condition(view: Browsable, name: str, condition: dict, dialect: str, nested: bool = False) -> ColumnElement:
    column = view.column(name)
    if not isinstance(condition, dict):
        raise FilterError(f"the filter on {name} is malformed")
    if "conditions" in condition:
        # AG Grid joins conditions one level deep; deeper is not a grid's request.
        parts = condition["conditions"]
        if nested or not isinstance(parts, list) or not 1 <= len(parts) <= MAX_CONDITIONS:
            raise FilterError(f"the filter on {name} is malformed")
        joined = [_condition(view, name, part, dialect, nested=True) for part in parts]
        operator = condition.get("operator", "AND")
        if operator not in ("AND", "OR"):
            raise FilterError(f"unknown operator {str(operator)[:10]!r}")
        return and_(*joined) if operator == "AND" else or_(*joined)
    kind = kind_of(column)
    if kind == "number":
        if condition.get("filterType") == "number":
            return _number_condition(column, condition)
        return _typed_number_condition(column, condition, dialect)
    if kind == "date" and condition.get("filterType") == "date":
        return _date_condition(column, condition)
    # Booleans read `true` / `false`; `TRUE` means the same.
    return _text_condition(text_form(column, dialect), condition.get("type"), condition.get("filter"), dialect,
                           any_case=kind == "bool")  # fmt: skip


def where_clause(view: Browsable, filter_model: dict | None, dialect: str) -> ColumnElement:
    """All column filters, ANDed, as AG Grid means them."""
    if not filter_model:
        return true()
    if not isinstance(filter_model, dict) or len(filter_model) > MAX_CONDITIONS:
        raise FilterError("the filter is malformed")
    try:
        return and_(*(_condition(view, name, cond, dialect) for name, cond in filter_model.items()))
    except UnknownColumn as error:
        raise FilterError(str(error)) from None


def order_clauses(view: Browsable, sort_model: list | None) -> list:
    """The analyst's sort, then the default (newest first), then the table's
    key, so that every page boundary falls in the same place twice."""
    clauses, used = [], set()
    if sort_model is not None and not isinstance(sort_model, list):
        raise FilterError("the sort is malformed: a list of {colId, sort}")
    if len(sort_model or []) > MAX_CONDITIONS:
        raise FilterError(f"a sort has at most {MAX_CONDITIONS} columns")
    for item in sort_model or []:
        if not isinstance(item, dict) or item.get("sort") not in ("asc", "desc"):
            raise FilterError("the sort is malformed")
        try:
            column = view.column(item.get("colId"))
        except UnknownColumn as error:
            raise FilterError(str(error)) from None
        if column.name in used:
            continue
        used.add(column.name)
        clauses.append(_ordered(column, item["sort"]))
    time_column = view.time_column
    if not clauses and view.default_sort:
        for name, direction in view.default_sort:
            used.add(name)
            clauses.append(_ordered(view.table.c[name], direction))
    elif not clauses and time_column:
        clauses.append(_ordered(view.table.c[time_column], "desc"))
        used.add(time_column)
    clauses.extend(view.table.c[k].asc() for k in view.order_key if k not in used)
    return clauses


def _ordered(column, direction: str):
    """Empty values last either way. A column that cannot be NULL gets the
    database's own order instead, which a plain index serves in both
    directions (PostgreSQL will not use an ascending index for DESC NULLS LAST)."""
    ordered = column.asc() if direction == "asc" else column.desc()
    return ordered.nulls_last() if column.nullable else ordered


def chosen_columns(view: Browsable, columns) -> list:
    """The named columns, each once, in the order asked; all when none is named."""
    if not columns:
        return list(view.table.c)
    if not isinstance(columns, (list, tuple)) or len(columns) > 4 * len(view.table.c):
        raise FilterError(f"{view.name} has {len(view.table.c)} columns; name each at most once")
    try:
        return [view.column(c) for c in dict.fromkeys(columns)]
    except UnknownColumn as error:
        raise FilterError(str(error)) from None


def filtered(view: Browsable, filter_model, dialect: str, columns=None) -> Select:
    chosen = chosen_columns(view, columns)
    return select(*chosen).where(where_clause(view, filter_model, dialect))


def page_query(view: Browsable, filter_model, sort_model, start: int, end: int, dialect: str) -> Select:
    """One page (rows `start` to `end`, end excluded) of the filtered, sorted view."""
    try:
        start, end = int(start), int(end)
    except (TypeError, ValueError, OverflowError):
        raise FilterError("a page is 1 to 1,000 rows") from None
    if start < 0 or end <= start or end - start > 1_000:
        raise FilterError("a page is 1 to 1,000 rows")
    query = filtered(view, filter_model, dialect).order_by(*order_clauses(view, sort_model))
    return query.offset(start).limit(end - start)


def count_query(view: Browsable, filter_model, dialect: str, cap: int) -> Select:
    """Matching rows, counted up to `cap`: an exact count of millions costs a
    full scan the analyst did not ask for."""
    capped = select(literal_column("1")).select_from(view.table)
    capped = capped.where(where_clause(view, filter_model, dialect)).limit(cap + 1).subquery()
    return select(func.count()).select_from(capped)
