"""Settings files in YAML, read strictly: a declared schema (pydantic), no key given twice, no
key the schema does not know, and every problem named by its dotted key and its line.

YAML loaders keep the last of two equal keys without a word, and a misspelt key is a key like
any other: either would let a default stand where the file meant to set a value. So the file is
composed into nodes first (to find each key's line and any key given twice), then validated as
a whole, and every problem is reported at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class SettingsFileError(Exception):
    """A settings file that cannot be used as written; lists every problem at once."""

    def __init__(self, file: str, problems: list[str], what: str = "settings"):
        self.file = file
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{file}: {len(problems)} problem(s) in the {what}:\n{listing}")


class StrictSettings(BaseModel):
    """A block of a settings file: unknown keys refused, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _TextDatesLoader(yaml.SafeLoader):
    """Leaves dates as text, so that a bad one is reported like any other wrong value."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

Lines = dict[tuple, int]


def read_yaml(text: str, file: str, error: type[SettingsFileError] = SettingsFileError):
    """The file's values and the line of every key (and list item) by its path. Raises `error`
    for text that is not YAML and for a key given twice in one mapping."""
    try:
        root = yaml.compose(text, Loader=_TextDatesLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise error(file, [f"not valid YAML{where}"]) from exc
    lines: Lines = {}
    repeated: list[str] = []

    def walk(node: yaml.Node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key, line = key_node.value, key_node.start_mark.line + 1
                if key in seen:
                    dotted = ".".join(str(p) for p in (*path, key))
                    repeated.append(f"{dotted}: given twice (lines {seen[key]} and {line})")
                    continue
                seen[key] = lines[(*path, key)] = line
                walk(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    if repeated:
        raise error(file, repeated)
    return yaml.load(text, Loader=_TextDatesLoader), lines


def validate(
    schema: type[BaseModel],
    values: Any,
    lines: Lines,
    describe: Callable[[tuple, dict], str | None] = lambda path, error: None,
) -> tuple[BaseModel | None, list[str]]:
    """`values` as `schema`, or the problems found: `dotted.key: problem (line N)`.
    `describe(path, error)` may word a problem its own way (None: the default wording)."""
    try:
        return schema.model_validate(values), []
    except ValidationError as exc:
        return None, [p for e in exc.errors() for p in _problems(e, lines, describe)]


def _problems(error: dict, lines: Lines, describe) -> list[str]:
    path = tuple(error["loc"])
    kind, value = error["type"], error.get("input")
    context = error.get("ctx") or {}
    if kind == "value_error" and not path:
        # A check across settings words its problems itself, each starting with its key.
        messages = str(context.get("error", error["msg"])).split("\n")
        return [f"{m}{at_line(lines, (m.split(':', 1)[0],))}" for m in messages]
    dotted = ".".join(str(p) for p in path)
    problem = describe(path, error)
    if problem is None:
        if kind in ("missing", "string_too_short", "too_short"):
            problem = "missing"
        elif kind == "extra_forbidden":
            problem = "not a setting this file has (misspelt, or in the wrong block?)"
        elif kind == "literal_error":
            problem = f"{value!r} is not one of {context.get('expected', '')}"
        elif kind == "value_error":
            problem = str(context.get("error", error["msg"]))
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            problem = f"{value!r} is not a whole number"
        elif kind in ("float_type", "float_parsing"):
            problem = f"{value!r} is not a number"
        elif kind in ("greater_than_equal", "greater_than"):
            problem = f"{value!r} is below {context.get('ge', context.get('gt'))}"
        elif kind in ("model_type", "dict_type"):
            problem = f"{value!r} is not a mapping"
        elif kind in ("tuple_type", "list_type"):
            problem = f"{value!r} is not a list"
        else:
            problem = error["msg"]
    return [f"{dotted}: {problem}{at_line(lines, path)}"]


def at_line(lines: Lines, path: tuple) -> str:
    line = lines.get(path)
    return f" (line {line})" if line else ""
