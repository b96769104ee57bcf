"""The book's figure style: one :func:`set_style` and a few helpers every chapter shares.

The palette is the colour-blind-safe qualitative scheme of Paul Tol ("bright"). Theory is drawn
as a dashed line (:func:`theory`) over measured points (:func:`measured`).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes

#: Paul Tol's colour-blind-safe "bright" palette.
PALETTE: tuple[str, ...] = (
    "#4477AA",  # blue
    "#EE6677",  # red
    "#228833",  # green
    "#CCBB44",  # yellow
    "#66CCEE",  # cyan
    "#AA3377",  # purple
    "#BBBBBB",  # grey
)


def set_style() -> None:
    """Apply the book's matplotlib style (fonts, palette, grid, figure size, inline format)."""
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
            "axes.titlesize": 10,
            "legend.frameon": False,
            "lines.linewidth": 1.8,
            "lines.markersize": 5,
            "image.cmap": "viridis",
            "svg.hashsalt": "dlscience",
        }
    )


def theory(ax: Axes, x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
           label: str = "theory", color: str = "black", **kwargs: object) -> None:
    """Draw a theoretical prediction as a dashed line."""
    ax.plot(x, y, linestyle="--", color=color, label=label, linewidth=1.4, **kwargs)  # type: ignore[arg-type]


def measured(ax: Axes, x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
             label: str = "measured", **kwargs: object) -> None:
    """Draw measured values as markers joined by a thin line."""
    ax.plot(x, y, marker="o", linewidth=1.0, label=label, **kwargs)  # type: ignore[arg-type]
