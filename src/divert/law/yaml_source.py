"""YAML with line numbers: reading pack files and validating them with file:line errors.

Every file divert reads (pack files, cases, overlays, targets) goes through `read_yaml`, so a
syntax error names the file and line; `validate_model` checks parsed data against a pydantic model
and names the file, the line and the field of the first error, with what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from divert.errors import DivertError, InputError, PackError

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file keeping line information; syntax errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", where=str(path)) from None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(f"malformed YAML: {exc.problem or exc.context}",
                         where=f"{path}{line}") from None
    except YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", where=str(path)) from None


def line_of(data: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the item at `loc` (a pydantic error location) inside ruamel data."""
    line: int | None = None
    node = data
    for key in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, Mapping) and key in node:
                if lc is not None:
                    line = lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                if lc is not None:
                    line = lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        except (KeyError, TypeError, IndexError):  # entries added after loading have no line
            break
    if line is None and getattr(data, "lc", None) is not None:
        line = data.lc.line + 1
    return line


def loc_text(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a dotted field path, e.g. measures[2].legal_basis."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part) not in ("function-after", "function-before", "list", "str", "dict"):
            out += f".{part}" if out else str(part)
    return out


def error_message(err: Mapping[str, Any]) -> str:
    """One pydantic error as a short sentence that says what is allowed."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        allowed = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{got} is not allowed; allowed: {allowed}"
    return f"{err['msg']} (got {got!r})" if not isinstance(got, Mapping | list) else err["msg"]


def validate_model(model: type[M], data: Any, path: Path | str, prefix: tuple[Any, ...] = (),
                   error: type[DivertError] = PackError) -> M:
    """Validate `data` against a pydantic model; the first error names file, line and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = line_of(data, loc)
        where = f"{path}:{line}" if line else str(path)
        fld = loc_text(prefix + loc)
        raise error(f"{fld}: {error_message(err)}" if fld else error_message(err),
                    where=where) from None
