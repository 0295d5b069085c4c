"""The rule language: compile a condition once, evaluate it on one case (with a trace) or on arrays.

A condition is a safe subset of Python expression syntax over the case vocabulary and a pack's
parameters. Compilation checks names and types, so mistakes surface when a pack loads. Evaluation
works on a *batch*: a mapping from vocabulary name to a NumPy array, one element per person; one case
is a batch of length 1, so a single case and a million synthetic people take the same code path.

Logic is three-valued (Kleene): a truth array holds 0 (false), 1 (unknown) or 2 (true), so that
`and` is the minimum, `or` the maximum and `not` is 2 - x. Missing facts are NaN for numbers, -1 for
categories and 1 (unknown) for booleans; sets are bit masks and a missing set is empty.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from divert.errors import PackError
from divert.law.vocabulary import FIELDS, Field

FALSE, UNKNOWN, TRUE = np.int8(0), np.int8(1), np.int8(2)

Kind = Literal["number", "truth", "category", "set", "string", "list", "table"]
Batch = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Type:
    """Static type of an expression; `field` names the enumeration of categories, sets and tables."""

    kind: Kind
    field: Field | None = None
    values: tuple[Any, ...] = ()  # literal values of a list constant

    def describe(self) -> str:
        if self.kind in ("category", "set", "table") and self.field is not None:
            return f"{self.kind} of {self.field.name}"
        return self.kind


NUMBER, TRUTH, STRING = Type("number"), Type("truth"), Type("string")


@dataclass(frozen=True)
class ParamSpec:
    """What the compiler needs to know of a parameter: its name, kind and, for tables, key field."""

    name: str
    kind: Literal["number", "truth", "table"]
    keys: Field | None = None


@dataclass
class Context:
    """Evaluation inputs: the batch of facts, the parameters resolved at a date, the batch size."""

    batch: Batch
    params: Mapping[str, Any]
    size: int
    record: dict[str, Any] | None = None  # filled with observed values when tracing one case


class Node:
    """A compiled expression node."""

    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def names(self) -> list[str]:
        return []


def _truth(mask: np.ndarray, known: np.ndarray) -> np.ndarray:
    out = mask.astype(np.int8)
    out *= TRUE  # true 2, false 0
    if not known.all():
        out[~known] = UNKNOWN
    return out


@dataclass
class Const(Node):
    value: Any
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        if self.type.kind == "truth":
            return np.full(ctx.size, TRUE if self.value else FALSE, dtype=np.int8)
        if self.type.kind == "number":
            return np.full(ctx.size, float(self.value))
        raise TypeError("string constants are compared, not evaluated")


@dataclass
class FieldRef(Node):
    field: Field
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        try:
            arr = ctx.batch[self.field.name]
        except KeyError:
            arr = missing_array(self.field, ctx.size)
        if self.field.fallback is not None and self.field.fallback in ctx.batch:
            arr = np.where(np.isnan(arr), ctx.batch[self.field.fallback], arr)
        if ctx.record is not None:
            ctx.record[self.field.name] = decode_value(self.field, arr[0])
        return arr

    def names(self) -> list[str]:
        return [self.field.name]


@dataclass
class ParamRef(Node):
    spec: ParamSpec
    type: Type
    text: str

    def value(self, ctx: Context) -> Any:
        return ctx.params.get(self.spec.name)

    def eval(self, ctx: Context) -> np.ndarray:
        value = self.value(ctx)
        if ctx.record is not None:
            ctx.record[self.spec.name] = value
        if self.type.kind == "truth":
            code = UNKNOWN if value is None else (TRUE if value else FALSE)
            return np.full(ctx.size, code, dtype=np.int8)
        return np.full(ctx.size, math.nan if value is None else float(value))

    def names(self) -> list[str]:
        return [self.spec.name]


@dataclass
class Lookup(Node):
    table: ParamSpec
    key: Node
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        table = ctx.params.get(self.table.name)
        assert self.table.keys is not None
        n_keys = len(self.table.keys.values)
        if isinstance(self.key, StrConst):
            codes = np.full(ctx.size, self.table.keys.code(self.key.value), dtype=np.int64)
        else:
            codes = self.key.eval(ctx).astype(np.int64)
        if table is None:
            out = np.full(ctx.size, math.nan)
        else:
            vector = table_vector(table, self.table.keys)
            out = np.where(codes >= 0, vector[np.minimum(np.maximum(codes, 0), n_keys - 1)],
                           math.nan)
        if ctx.record is not None:
            ctx.record[self.text] = None if math.isnan(out[0]) else float(out[0])
        return out

    def names(self) -> list[str]:
        return [self.table.name, *self.key.names()]


@dataclass
class StrConst(Node):
    value: str
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        raise TypeError("string constants are compared, not evaluated")


@dataclass
class ListConst(Node):
    values: tuple[Any, ...]
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        raise TypeError("list constants are used with 'in', not evaluated")


_ARITH: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
}
_CMP: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Eq: np.equal, ast.NotEq: np.not_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
    ast.Gt: np.greater, ast.GtE: np.greater_equal,
}


@dataclass
class Arith(Node):
    op: Callable[[np.ndarray, np.ndarray], np.ndarray]
    left: Node
    right: Node
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.op(self.left.eval(ctx), self.right.eval(ctx)).astype(np.float64)

    def names(self) -> list[str]:
        return [*self.left.names(), *self.right.names()]


@dataclass
class Neg(Node):
    operand: Node
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        return -self.operand.eval(ctx)

    def names(self) -> list[str]:
        return self.operand.names()


@dataclass
class NumCompare(Node):
    op: Callable[[np.ndarray, np.ndarray], np.ndarray]
    left: Node
    right: Node
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        a, b = self.left.eval(ctx), self.right.eval(ctx)
        known = ~(np.isnan(a) | np.isnan(b))
        with np.errstate(invalid="ignore"):
            return _truth(self.op(a, b), known)

    def names(self) -> list[str]:
        return [*self.left.names(), *self.right.names()]


@dataclass
class CodeCompare(Node):
    """Category (or truth) against a constant code or another same-typed expression."""

    equal: bool
    left: Node
    right: Node | int
    type: Type
    text: str
    missing: int = -1

    def eval(self, ctx: Context) -> np.ndarray:
        a = self.left.eval(ctx)
        b = np.full(ctx.size, self.right) if isinstance(self.right, int) else self.right.eval(ctx)
        known = (a != self.missing) & (b != self.missing)
        same = a == b
        return _truth(same if self.equal else ~same, known)

    def names(self) -> list[str]:
        right = [] if isinstance(self.right, int) else self.right.names()
        return [*self.left.names(), *right]


@dataclass
class Member(Node):
    """A category or number in a list of constants; or a constant member in a set field."""

    element: Node
    container: Node
    negate: bool
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        if self.container.type.kind == "set":
            assert isinstance(self.element, StrConst) and self.container.type.field is not None
            bits = self.container.eval(ctx)
            bit = np.uint32(1) << np.uint32(self.container.type.field.code(self.element.value))
            result = _truth((bits & bit) != 0, np.ones(ctx.size, dtype=bool))
        else:
            assert isinstance(self.container, ListConst)
            values = self.element.eval(ctx)
            if self.element.type.kind == "category":
                lookup = self._lookup
                codes = values.astype(np.int64)
                slot = np.minimum(np.maximum(codes + 1, 0), lookup.shape[0] - 1)
                result = _truth(lookup[slot], codes >= 0)
            else:
                result = _truth(np.isin(values, np.array(self.container.values, dtype=float)),
                                ~np.isnan(values))
        return (TRUE - result).astype(np.int8) if self.negate else result

    @cached_property
    def _lookup(self) -> np.ndarray:
        """Per category code + 1 (slot 0: missing), whether it is in the list."""
        assert isinstance(self.container, ListConst)
        field_ = self.element.type.field
        assert field_ is not None
        lookup = np.zeros(len(field_.values) + 1, dtype=bool)
        for v in self.container.values:
            lookup[field_.code(v) + 1] = True
        return lookup

    def names(self) -> list[str]:
        return [*self.element.names(), *self.container.names()]


@dataclass
class Logic(Node):
    op: Literal["and", "or"]
    operands: list[Node]
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        values = [o.eval(ctx) for o in self.operands]
        reduce = np.minimum if self.op == "and" else np.maximum
        out = values[0]
        for v in values[1:]:
            out = reduce(out, v)
        return out.astype(np.int8)

    def names(self) -> list[str]:
        return [n for o in self.operands for n in o.names()]


@dataclass
class Not(Node):
    operand: Node
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        return (TRUE - self.operand.eval(ctx)).astype(np.int8)

    def names(self) -> list[str]:
        return self.operand.names()


@dataclass
class SetTest(Node):
    """has_any / has_all of a set field against a list of its members."""

    all_: bool
    subject: Node
    mask: int
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        bits = self.subject.eval(ctx).astype(np.uint32)
        mask = np.uint32(self.mask)
        hit = (bits & mask) == mask if self.all_ else (bits & mask) != 0
        return _truth(hit, np.ones(ctx.size, dtype=bool))

    def names(self) -> list[str]:
        return self.subject.names()


@dataclass
class NumFunc(Node):
    func: str
    args: list[Node]
    type: Type
    text: str

    def eval(self, ctx: Context) -> np.ndarray:
        values = [a.eval(ctx) for a in self.args]
        if self.func == "count":
            bits = values[0].astype(np.uint32)
            counted: np.ndarray = np.bitwise_count(bits).astype(np.float64)
            return counted
        if self.func == "abs":
            absolute: np.ndarray = np.abs(values[0])
            return absolute
        reduce = np.fmin if self.func == "min" else np.fmax
        out = values[0]
        for v in values[1:]:
            out = reduce(out, v)
        # fmin/fmax ignore NaN; an unknown argument makes the result unknown
        unknown = np.any(np.isnan(np.stack(values)), axis=0)
        return np.where(unknown, math.nan, out)

    def names(self) -> list[str]:
        return [n for a in self.args for n in a.names()]


def missing_array(field_: Field, size: int) -> np.ndarray:
    """An array of `size` missing values for a vocabulary field, in its array encoding."""
    if field_.type == "number":
        return np.full(size, math.nan)
    if field_.type == "bool":
        return np.full(size, UNKNOWN, dtype=np.int8)
    if field_.type == "category":
        return np.full(size, -1, dtype=np.int16)
    return np.zeros(size, dtype=np.uint32)


def encode_value(field_: Field, value: Any) -> Any:
    """A plain Python value as the scalar stored in arrays for this field."""
    if field_.type == "number":
        return math.nan if value is None else float(value)
    if field_.type == "bool":
        return UNKNOWN if value is None else (TRUE if value else FALSE)
    if field_.type == "category":
        return -1 if value is None else field_.code(value)
    bits = 0
    for member in value or ():
        bits |= 1 << field_.code(member)
    return bits


def decode_value(field_: Field, value: Any) -> Any:
    """The plain Python value of one array element (None for missing)."""
    if field_.type == "number":
        return None if math.isnan(value) else float(value)
    if field_.type == "bool":
        return None if value == UNKNOWN else bool(value == TRUE)
    if field_.type == "category":
        return None if value < 0 else field_.values[int(value)]
    return [m for i, m in enumerate(field_.values) if int(value) >> i & 1]


_DTYPES = {"number": np.float64, "bool": np.int8, "category": np.int16, "set": np.uint32}


def encode_batch(rows: list[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Flat fact mappings (vocabulary name -> plain value) as a batch of arrays."""
    batch: dict[str, np.ndarray] = {}
    for name, field_ in FIELDS.items():
        batch[name] = np.array([encode_value(field_, r.get(name)) for r in rows],
                               dtype=_DTYPES[field_.type])
    return batch


def table_vector(table: Mapping[str, float], keys: Field) -> np.ndarray:
    """A lookup table as a vector indexed by the key field's codes (NaN where a key is absent)."""
    return np.array([float(table.get(k, math.nan)) for k in keys.values])


def truth_value(code: int) -> bool | None:
    """A truth code as True, False or None (unknown)."""
    return None if code == UNKNOWN else bool(code == TRUE)


# --- compiler -------------------------------------------------------------------------------------

_FUNCS = ("has_any", "has_all", "count", "min", "max", "abs")


class _CompileError(Exception):
    pass


@dataclass
class Compiler:
    """Turns the text of one condition into a typed node tree, or raises PackError."""

    params: Mapping[str, ParamSpec]
    source: str = ""

    def compile(self, text: str, where: str) -> Node:
        self.source = text
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise PackError(f"syntax error in rule {text!r}: {exc.msg}", where=where) from None
        try:
            node = self._node(tree.body)
            if node.type.kind != "truth":
                raise _CompileError(
                    f"a condition must be true or false, but {node.text!r} is a "
                    f"{node.type.describe()}")
        except _CompileError as exc:
            raise PackError(f"{exc} (in rule {text.strip()!r})", where=where) from None
        return node

    def _text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source.strip(), node) or ast.unparse(node)

    def _dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            base = self._dotted(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def _name(self, name: str, text: str) -> Node:
        if name in ("true", "True", "false", "False"):
            return Const(name in ("true", "True"), TRUTH, text)
        if name in FIELDS:
            f = FIELDS[name]
            kind: Kind = "truth" if f.type == "bool" else f.type
            return FieldRef(f, Type(kind, f), text)
        if name in self.params:
            spec = self.params[name]
            return ParamRef(spec, Type(spec.kind, spec.keys), text)
        choices = [*FIELDS, *self.params]
        close = difflib.get_close_matches(name, choices, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise _CompileError(
            f"unknown name {name!r}: a rule may use the case vocabulary and the pack's "
            f"parameters{hint}")

    def _node(self, node: ast.AST) -> Node:
        text = self._text(node)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return Const(node.value, TRUTH, text)
            if isinstance(node.value, int | float):
                return Const(node.value, NUMBER, text)
            if isinstance(node.value, str):
                return StrConst(node.value, STRING, text)
            raise _CompileError(f"constant {text} is not allowed")
        if isinstance(node, ast.Name | ast.Attribute):
            dotted = self._dotted(node)
            if dotted is None:
                raise _CompileError(f"{text!r} is not a name of the vocabulary")
            return self._name(dotted, text)
        if isinstance(node, ast.List | ast.Tuple):
            values = []
            for elt in node.elts:
                if not isinstance(elt, ast.Constant) or isinstance(elt.value, bool):
                    raise _CompileError(f"a list may hold only strings or numbers: {text}")
                values.append(elt.value)
            kinds = {type(v) is str for v in values}
            if len(kinds) > 1:
                raise _CompileError(f"a list may not mix strings and numbers: {text}")
            return ListConst(tuple(values), Type("list", values=tuple(values)), text)
        if isinstance(node, ast.BoolOp):
            operands = [self._truth(v) for v in node.values]
            return Logic("and" if isinstance(node.op, ast.And) else "or", operands, TRUTH, text)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return Not(self._truth(node.operand), TRUTH, text)
            if isinstance(node.op, ast.USub):
                return Neg(self._number(node.operand), NUMBER, text)
            raise _CompileError(f"operator in {text!r} is not allowed")
        if isinstance(node, ast.BinOp):
            op = _ARITH.get(type(node.op))
            if op is None:
                raise _CompileError(f"operator in {text!r} is not allowed; allowed: + - * /")
            return Arith(op, self._number(node.left), self._number(node.right), NUMBER, text)
        if isinstance(node, ast.Compare):
            parts = []
            left = node.left
            for cmp, right in zip(node.ops, node.comparators, strict=True):
                parts.append(self._compare(cmp, left, right, text))
                left = right
            return parts[0] if len(parts) == 1 else Logic("and", parts, TRUTH, text)
        if isinstance(node, ast.Subscript):
            return self._lookup(node, text)
        if isinstance(node, ast.Call):
            return self._call(node, text)
        raise _CompileError(f"{text!r} is not allowed in a rule")

    def _truth(self, node: ast.AST) -> Node:
        out = self._node(node)
        if out.type.kind != "truth":
            raise _CompileError(f"{out.text!r} is a {out.type.describe()}, not true or false")
        return out

    def _number(self, node: ast.AST) -> Node:
        out = self._node(node)
        if out.type.kind != "number":
            raise _CompileError(f"{out.text!r} is a {out.type.describe()}, not a number")
        return out

    def _category_literal(self, f: Field, value: Any, text: str) -> int:
        if not isinstance(value, str) or value not in f.values:
            raise _CompileError(
                f"{value!r} is not a value of {f.name}; allowed: {', '.join(f.values)}")
        return f.code(value)

    def _compare(self, op: ast.cmpop, left_ast: ast.AST, right_ast: ast.AST, text: str) -> Node:
        left, right = self._node(left_ast), self._node(right_ast)
        if isinstance(op, ast.In | ast.NotIn):
            negate = isinstance(op, ast.NotIn)
            if right.type.kind == "set":
                assert right.type.field is not None
                if not isinstance(left, StrConst):
                    raise _CompileError(f"only a quoted value may be tested in a set: {text!r}")
                self._category_literal(right.type.field, left.value, text)
                return Member(left, right, negate, TRUTH, text)
            if not isinstance(right, ListConst):
                raise _CompileError(f"'in' needs a list of values or a set field: {text!r}")
            if left.type.kind == "category":
                assert left.type.field is not None
                for v in right.values:
                    self._category_literal(left.type.field, v, text)
                return Member(left, right, negate, TRUTH, text)
            if left.type.kind == "number":
                if any(isinstance(v, str) for v in right.values):
                    raise _CompileError(f"a number is tested against strings: {text!r}")
                return Member(left, right, negate, TRUTH, text)
            raise _CompileError(f"'in' is not defined for a {left.type.describe()}: {text!r}")
        cmp = _CMP.get(type(op))
        if cmp is None:
            raise _CompileError(f"comparison in {text!r} is not allowed")
        equality = isinstance(op, ast.Eq | ast.NotEq)
        if isinstance(left, StrConst) and right.type.kind == "category":
            left, right = right, left
        if left.type.kind == "category":
            assert left.type.field is not None
            if not equality:
                raise _CompileError(f"categories can only be compared with == or !=: {text!r}")
            if isinstance(right, StrConst):
                code = self._category_literal(left.type.field, right.value, text)
                return CodeCompare(isinstance(op, ast.Eq), left, code, TRUTH, text)
            if right.type.kind == "category" and right.type.field == left.type.field:
                return CodeCompare(isinstance(op, ast.Eq), left, right, TRUTH, text)
            raise _CompileError(
                f"{left.text!r} ({left.type.describe()}) cannot be compared with "
                f"{right.text!r} ({right.type.describe()})")
        if left.type.kind == "truth" and right.type.kind == "truth" and equality:
            return CodeCompare(isinstance(op, ast.Eq), left, right, TRUTH, text,
                               missing=int(UNKNOWN))
        if left.type.kind == "number" and right.type.kind == "number":
            return NumCompare(cmp, left, right, TRUTH, text)
        raise _CompileError(
            f"{left.text!r} ({left.type.describe()}) cannot be compared with "
            f"{right.text!r} ({right.type.describe()})")

    def _lookup(self, node: ast.Subscript, text: str) -> Node:
        table = self._node(node.value)
        if table.type.kind != "table" or not isinstance(table, ParamRef):
            raise _CompileError(f"{table.text!r} is not a lookup table")
        keys = table.spec.keys
        assert keys is not None
        key = self._node(node.slice)
        if isinstance(key, StrConst):
            self._category_literal(keys, key.value, text)
        elif key.type.kind != "category" or key.type.field != keys:
            raise _CompileError(f"table {table.text!r} is indexed by {keys.name}, "
                                f"not by {key.text!r}")
        return Lookup(table.spec, key, NUMBER, text)

    def _call(self, node: ast.Call, text: str) -> Node:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in _FUNCS or node.keywords:
            raise _CompileError(
                f"function in {text!r} is not allowed; allowed: {', '.join(_FUNCS)}")
        args = [self._node(a) for a in node.args]
        if name in ("has_any", "has_all"):
            if len(args) != 2 or args[0].type.kind != "set" or not isinstance(args[1], ListConst):
                raise _CompileError(f"{name} takes a set field and a list of its values: {text!r}")
            f = args[0].type.field
            assert f is not None
            mask = 0
            for v in args[1].values:
                mask |= 1 << self._category_literal(f, v, text)
            return SetTest(name == "has_all", args[0], mask, TRUTH, text)
        if name == "count":
            if len(args) != 1 or args[0].type.kind != "set":
                raise _CompileError(f"count takes one set field: {text!r}")
            return NumFunc(name, args, NUMBER, text)
        if name == "abs" and len(args) != 1 or name in ("min", "max") and len(args) < 2:
            raise _CompileError(f"wrong number of arguments in {text!r}")
        for a in args:
            if a.type.kind != "number":
                raise _CompileError(f"{a.text!r} is a {a.type.describe()}, not a number")
        return NumFunc(name, args, NUMBER, text)


# --- conditions and traces -------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A compiled condition with its source text, optional plain-language label and place."""

    text: str
    node: Node
    label: str | None = None
    where: str = ""

    def evaluate(self, batch: Batch, params: Mapping[str, Any], size: int) -> np.ndarray:
        """Truth codes (0/1/2) for every element of the batch."""
        return self.node.eval(Context(batch, params, size))

    def trace(self, batch: Batch, params: Mapping[str, Any]) -> TraceStep:
        """Evaluate on a batch of one case and record the values the condition looked at."""
        record: dict[str, Any] = {}
        code = int(self.node.eval(Context(batch, params, 1, record))[0])
        return TraceStep(self.text, self.label, truth_value(code), record)


@dataclass
class TraceStep:
    """One condition on one case: its text, whether it held (None: unknown), the values seen."""

    condition: str
    label: str | None
    holds: bool | None
    values: dict[str, Any] = field(default_factory=dict)

    def missing(self) -> list[str]:
        return [k for k, v in self.values.items() if v is None]

    def to_json(self) -> dict[str, Any]:
        return {"condition": self.condition, "label": self.label, "holds": self.holds,
                "values": self.values}


def compile_condition(text: str, params: Mapping[str, ParamSpec], *, where: str,
                      label: str | None = None) -> Condition:
    """Compile one condition against the vocabulary and a pack's parameters."""
    if not isinstance(text, str) or not text.strip():
        raise PackError("a condition must be a non-empty expression", where=where)
    node = Compiler(params).compile(text, where)
    return Condition(text.strip(), node, label, where)
