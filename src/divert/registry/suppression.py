"""Complementary suppression that no published margin undoes.

Cells are counts of people; `equations` are the linear relations an attacker can write from what
is published (a row's parts add up to its total, quadrants add up to `all`, one table's total is
another's). A hidden cell is *recoverable* when the published cells and the equations pin it to one
value: its minimum and maximum over every non-negative solution (two linear programmes, scipy's
HiGHS) are equal. While a hidden cell is recoverable, the smallest non-zero published cell that
shares an equation with it is hidden too (a zero is hidden only when nothing else is left: a
hidden zero protects nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy.optimize import linprog

Equation = Sequence[tuple[str, int]]  # sum(coef * cell) == 0


def interval(cells: Mapping[str, int], equations: Sequence[Equation], hidden: Iterable[str],
             cell: str) -> tuple[float, float]:
    """The least and greatest value `cell` (hidden) can take given the published cells."""
    names = sorted(set(hidden))
    index = {n: i for i, n in enumerate(names)}
    rows, rhs = [], []
    for eq in equations:
        row = np.zeros(len(names))
        b = 0.0
        for name, coef in eq:
            if name in index:
                row[index[name]] += coef
            else:
                b -= coef * cells[name]
        if row.any():
            rows.append(row)
            rhs.append(b)
    top = float(sum(cells.values())) or 1.0
    bounds = [(0.0, top)] * len(names)
    c = np.zeros(len(names))
    c[index[cell]] = 1.0
    a_eq = np.array(rows) if rows else None
    b_eq = np.array(rhs) if rows else None
    low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if not (low.success and high.success):
        return 0.0, top
    return float(low.fun), float(-high.fun)


def recoverable(cells: Mapping[str, int], equations: Sequence[Equation], hidden: set[str]
                ) -> str | None:
    """The first hidden cell the published ones pin to one value (None: every one is safe)."""
    for cell in sorted(hidden):
        lo, hi = interval(cells, equations, hidden, cell)
        if hi - lo < 0.5:
            return cell
    return None


def protect(cells: Mapping[str, int], equations: Sequence[Equation], hidden: Iterable[str]
            ) -> set[str]:
    """`hidden` with the complementary cells that keep every hidden cell unrecoverable."""
    out = {h for h in hidden if h in cells}
    while (weak := recoverable(cells, equations, out)) is not None:
        near = {n for eq in equations if any(n2 == weak for n2, _ in eq) for n, _ in eq} - out
        if not near:  # pinned through other hidden cells: widen to any equation holding a hidden one
            near = {n for eq in equations if any(n2 in out for n2, _ in eq) for n, _ in eq} - out
        if not near:
            break  # everything is hidden already
        nonzero = [n for n in near if cells[n] > 0]
        pick = min(nonzero or near, key=lambda n: (cells[n], n))
        out.add(pick)
    return out
