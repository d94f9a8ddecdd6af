"""Generate the schema section of docs/api.md from the SDL.

    python -m videoinsights.query.docs          # rewrite the section in place
    python -m videoinsights.query.docs --check  # exit 1 when it is out of date

The section lies between the BEGIN/END markers; the rest of the file is
written by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    TypeDefinitionNode,
    parse,
)

from videoinsights.query.schema import build_schema, load_sdl

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BEGIN = "<!-- BEGIN GENERATED SCHEMA (python -m videoinsights.query.docs) -->"
END = "<!-- END GENERATED SCHEMA -->"


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _deprecated(item: GraphQLField | GraphQLArgument) -> str:
    reason = item.deprecation_reason
    return f" **Deprecated:** {_cell(reason)}" if reason else ""


def _field_row(name: str, field: GraphQLField) -> str:
    args = ""
    if field.args:
        args = "(" + ", ".join(f"{a}: {arg.type}" for a, arg in field.args.items()) + ")"
    row = f"| `{name}{args}` | `{field.type}` | {_cell(field.description)}{_deprecated(field)} |"
    details = [f"`{a}`: {_cell(arg.description)}{_deprecated(arg)}" for a, arg in field.args.items()]
    if details:
        row = row[:-2] + "<br>" + "<br>".join(details) + " |"
    return row


def render_schema() -> str:
    schema = build_schema()
    order = [d.name.value for d in parse(load_sdl()).definitions if isinstance(d, TypeDefinitionNode)]
    out: list[str] = []
    for name in order:
        type_ = schema.type_map[name]
        if isinstance(type_, GraphQLScalarType):
            kind = "scalar"
        elif isinstance(type_, GraphQLEnumType):
            kind = "enum"
        elif isinstance(type_, GraphQLInterfaceType):
            kind = "interface"
        else:
            kind = "type"
        out += [f"### {kind} `{name}`", "", " ".join((type_.description or "").split()), ""]
        if isinstance(type_, GraphQLObjectType) and type_.interfaces:
            out += ["Implements " + ", ".join(f"`{i.name}`" for i in type_.interfaces) + ".", ""]
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            out += ["| Field | Type | Description |", "| --- | --- | --- |"]
            out += [_field_row(f, field) for f, field in type_.fields.items()]
            out.append("")
        elif isinstance(type_, GraphQLEnumType):
            if all(v.description for v in type_.values.values()):
                out += ["| Value | Description |", "| --- | --- |"]
                out += [f"| `{v}` | {_cell(value.description)}"
                        f"{' **Deprecated:** ' + _cell(value.deprecation_reason) if value.deprecation_reason else ''} |"
                        for v, value in type_.values.items()]
            else:
                out.append(" ".join(f"`{v}`" for v in type_.values))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def updated(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{render_schema()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    text = API_DOC.read_text()
    new = updated(text)
    if "--check" in argv:
        if new != text:
            print(f"{API_DOC} is out of date: run python -m videoinsights.query.docs", file=sys.stderr)
            return 1
        return 0
    API_DOC.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
