"""Bindings of the two custom scalars, Date and IntOrString.

Date parses Int literals itself: 13-digit epoch milliseconds do not fit
GraphQL's 32-bit Int, but the AST keeps every integer literal as text.
"""

from __future__ import annotations

import math
from typing import Any

from ariadne import ScalarType
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode

from videoinsights.query.dates import format_date, from_epoch_number, parse_date, parse_date_string


def finite(value: float | None) -> float | None:
    """A Float output, or None when it is NaN or infinite.

    GraphQL's Float cannot represent those and would fail the whole field
    with 1012; one stored out-of-range value (or a sum that overflows) must
    not break a report, so such a value is reported as null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def int32(value: int | None) -> int | None:
    """An Int output, or None when GraphQL's 32-bit Int cannot represent it (same reason as `finite`)."""
    if isinstance(value, int) and not -(2**31) <= value < 2**31:
        return None
    return value


date_scalar = ScalarType("Date")
int_or_string_scalar = ScalarType("IntOrString")


@date_scalar.serializer
def serialize_date(value: Any) -> str:
    if isinstance(value, str):
        return value
    return format_date(int(value))


@date_scalar.value_parser
def parse_date_value(value: Any) -> int:
    return parse_date(value)


@date_scalar.literal_parser
def parse_date_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> int:
    if isinstance(node, IntValueNode):
        return from_epoch_number(int(node.value))
    if isinstance(node, StringValueNode):
        return parse_date_string(node.value)
    if isinstance(node, FloatValueNode):
        return parse_date(float(node.value))
    raise ValueError("Date must be a string or an integer.")


@int_or_string_scalar.serializer
def serialize_int_or_string(value: Any) -> str | int:
    return value if isinstance(value, int) else str(value)


@int_or_string_scalar.value_parser
def parse_int_or_string_value(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("IntOrString must be an integer or a string.")
    return value


@int_or_string_scalar.literal_parser
def parse_int_or_string_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> int | str:
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, StringValueNode):
        return node.value
    raise ValueError("IntOrString must be an integer or a string.")


BINDABLES = (date_scalar, int_or_string_scalar)
