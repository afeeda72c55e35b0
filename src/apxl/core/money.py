"""Money in whole pence, and apportioning a total across parts so the parts sum back exactly."""
from __future__ import annotations

import numpy as np


def to_pence(pounds) -> np.ndarray:
    """Pounds (floats) to whole pence, rounding half away from zero as finance systems do."""
    arr = np.asarray(pounds, dtype="float64")
    return (np.sign(arr) * np.floor(np.abs(arr) * 100 + 0.5 + 1e-9)).astype("int64")


def apportion(total_pence: int, weights) -> np.ndarray:
    """Split ``total_pence`` in proportion to ``weights`` by the largest-remainder method.

    The parts are whole pence and always sum to the total exactly; ties go to the earlier part so
    the result is deterministic. All-zero weights put everything in the first part.
    """
    w = np.asarray(weights, dtype="float64")
    if w.size == 0:
        return np.zeros(0, dtype="int64")
    if (w < 0).any():
        raise ValueError("weights must not be negative")
    total = int(total_pence)
    if w.sum() == 0:
        out = np.zeros(w.size, dtype="int64")
        out[0] = total
        return out
    sign = -1 if total < 0 else 1
    exact = abs(total) * w / w.sum()
    base = np.floor(exact).astype("int64")
    short = abs(total) - int(base.sum())
    if short:
        order = np.lexsort((np.arange(w.size), -(exact - base)))
        base[order[:short]] += 1
    return sign * base
