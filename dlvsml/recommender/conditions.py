"""Rule conditions: a small, safe expression language evaluated by ``simpleeval`` (never ``eval``).

A condition reads facts and thresholds by name, e.g.
``modality == 'tabular' and n_samples < dl_min_samples_tabular``. Allowed: comparisons, ``and``,
``or``, ``not``, arithmetic, ``in`` over a literal tuple or list, and the functions ``abs``,
``min`` and ``max``; no attributes, subscripts, comprehensions or other calls. Conditions are
checked when the rules are loaded, so a typo fails at once, not on the one dataset that reaches it.

Unknown facts follow three-valued (Kleene) logic: a comparison with an unknown fact is
``UNKNOWN``; ``False and UNKNOWN`` is ``False``; ``True or UNKNOWN`` is ``True``. A rule whose
condition is ``UNKNOWN`` does not fire and is reported as unknown, so an image dataset with no
skewness does not list every tabular-only rule as unknown.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from simpleeval import EvalWithCompoundTypes, InvalidExpression


class _Unknown:
    """The value of a condition, or part of one, that depends on an unknown fact."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()

FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max}
_ALLOWED_NODES = (
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Tuple,
    ast.List,
    ast.Call,
    ast.IfExp,
)


class ConditionError(ValueError):
    """A condition that is not valid in the rule language (the loader names the rule and file)."""


@dataclass(frozen=True)
class Condition:
    """A parsed condition and the names it reads."""

    text: str
    tree: ast.AST
    names: frozenset[str]

    def evaluate(self, values: Mapping[str, Any]) -> bool | _Unknown:
        """``True``, ``False`` or ``UNKNOWN``; ``values`` maps every name to a value or ``None``."""
        evaluator = _KleeneEval({k: UNKNOWN if v is None else v for k, v in values.items()})
        try:
            result = evaluator.eval(self.text, previously_parsed=self.tree)
        except (InvalidExpression, TypeError, ArithmeticError, ValueError) as exc:
            raise ConditionError(f"condition {self.text!r} cannot be evaluated: {exc}") from None
        if result is UNKNOWN:
            return UNKNOWN
        if not isinstance(result, bool):
            raise ConditionError(
                f"condition {self.text!r} gives {result!r}, not true or false; "
                "compare with a threshold, e.g. 'n_samples < small_data'"
            )
        return result


def parse_condition(text: Any, known_names: Iterable[str]) -> Condition:
    """Parse and check ``text``; raises `ConditionError` saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError(f"'when' must be a non-empty expression, got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConditionError(f"syntax error in {text!r}: {exc.msg}") from None
    known = set(known_names)
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ConditionError(f"{type(node).__name__} is not allowed in a condition: {text!r}")
        if isinstance(node, ast.Call):
            _check_call(node, text)
        elif isinstance(node, ast.Name) and node.id not in FUNCTIONS:
            if node.id not in known:
                raise ConditionError(
                    f"unknown name {node.id!r} in {text!r}; "
                    f"names are the facts and thresholds: {', '.join(sorted(known))}"
                )
            names.add(node.id)
    return Condition(text=text.strip(), tree=tree, names=frozenset(names))


def _check_call(node: ast.Call, text: str) -> None:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        raise ConditionError(f"only {', '.join(FUNCTIONS)} may be called in a condition: {text!r}")
    if node.keywords:
        raise ConditionError(f"keyword arguments are not allowed in a condition: {text!r}")


class _KleeneEval(EvalWithCompoundTypes):
    """simpleeval with ``UNKNOWN`` propagated through three-valued logic."""

    def __init__(self, names: dict[str, Any]) -> None:
        super().__init__(functions=dict(FUNCTIONS), names=names)
        for node_type, handler in {
            ast.BoolOp: self._kleene_boolop,
            ast.Compare: self._kleene_compare,
            ast.UnaryOp: self._strict(self._eval_unaryop, lambda n: [n.operand]),
            ast.BinOp: self._strict(self._eval_binop, lambda n: [n.left, n.right]),
            ast.Call: self._strict(self._eval_call, lambda n: n.args),
            ast.IfExp: self._strict(self._eval_ifexp, lambda n: [n.test]),
        }.items():
            self.nodes[node_type] = handler

    def _strict(self, handler: Callable, operands: Callable) -> Callable:
        """Wrap ``handler``: UNKNOWN if any operand is UNKNOWN (``not UNKNOWN`` is UNKNOWN)."""

        def evaluate(node: ast.AST) -> Any:
            if any(self._eval(part) is UNKNOWN for part in operands(node)):
                return UNKNOWN
            return handler(node)

        return evaluate

    def _kleene_boolop(self, node: ast.BoolOp) -> Any:
        decisive = isinstance(node.op, ast.Or)  # True decides an 'or', False an 'and'
        unknown = False
        for part in node.values:
            value = self._eval(part)
            if value is UNKNOWN:
                unknown = True
            elif bool(value) is decisive:
                return decisive
        return UNKNOWN if unknown else not decisive

    def _kleene_compare(self, node: ast.Compare) -> Any:
        left = self._eval(node.left)
        unknown = False
        for operation, comparator in zip(node.ops, node.comparators, strict=True):
            right = self._eval(comparator)
            if left is UNKNOWN or right is UNKNOWN:
                unknown = True
            elif not self.operators[type(operation)](left, right):
                return False
            left = right
        return UNKNOWN if unknown else True
