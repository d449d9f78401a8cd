"""Which input columns a ``ColumnTransformer`` step selects (shared by the model description and
the explainers)."""

from __future__ import annotations

from typing import Any

import numpy as np


def selected_columns(selection: Any, columns: list[str]) -> list[str]:
    """The names ``selection`` (a name, names, indices or a boolean mask) picks from ``columns``;
    none for a callable selector, which only a fitted model could answer."""
    if isinstance(selection, str):
        return [selection]
    if callable(selection):
        return []
    items = list(np.asarray(selection).reshape(-1))
    if items and isinstance(items[0], (bool, np.bool_)):
        return [c for c, keep in zip(columns, items, strict=False) if keep]
    if items and isinstance(items[0], (int, np.integer)):
        return [columns[int(i)] for i in items]
    return [str(i) for i in items]
