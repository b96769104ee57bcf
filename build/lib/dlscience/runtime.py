"""Seeds, the two scales of the book, and the device.

Every experiment in the book runs at one of two *scales*:

``ci``
    the default: what the book is built with, every page under a minute on a laptop CPU;
``paper``
    the scale of the original paper (more seeds, wider nets, full data sets), for a reader who
    wants the figure as published. It may take hours on a CPU and uses CUDA when available.

The scale is read from one place, the environment variable ``BOOK_SCALE``, by :func:`get_scale`.
A page declares its sizes once per experiment as a :class:`Scaled` record holding both scales and
takes the current one with :meth:`Scaled.pick`::

    SIZES = Scaled(ci=ChainSizes(depth=50, seeds=10), paper=ChainSizes(depth=200, seeds=100))
    size = SIZES.pick()

Seeds are the reader's second knob: ``BOOK_SEED_OFFSET=k`` shifts every seed a page sets
(through :func:`seeded`), so that a reader can check that a claim holds for other seeds
than the printed ones. Both variables are read here and nowhere else.

At the ``ci`` scale, :func:`set_seed` (which every page calls before it computes) also pins
PyTorch and BLAS to one CPU thread (:func:`use_one_thread`) and turns on PyTorch's deterministic
algorithms: the small tensors of the book gain nothing from more threads (they lose badly when
the cores are shared, e.g. by two pages executed in parallel), and the order of floating-point
reductions, hence every digit of the book's numbers, then no longer depends on the machine's
core count. Importing this module changes nothing and does not import PyTorch.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, TypeVar, cast

import numpy as np

if TYPE_CHECKING:
    import torch

ScaleName = Literal["ci", "paper"]
SCALES: tuple[ScaleName, ...] = ("ci", "paper")
SCALE_ENV = "BOOK_SCALE"
SEED_OFFSET_ENV = "BOOK_SEED_OFFSET"
#: ``BOOK_SEED_OFFSET=k`` turns every seed ``s`` a page sets into ``s + SEED_STRIDE * k``.
SEED_STRIDE = 1000

T = TypeVar("T")


def get_scale() -> ScaleName:
    """Return the scale the book runs at, read from the ``BOOK_SCALE`` environment variable.

    Unset or empty means ``"ci"``.

    Raises:
        ValueError: if ``BOOK_SCALE`` holds anything other than ``"ci"`` or ``"paper"``.
    """
    value = os.environ.get(SCALE_ENV, "").strip().lower() or "ci"
    if value not in SCALES:
        raise ValueError(
            f"{SCALE_ENV}={os.environ.get(SCALE_ENV)!r} is not a scale of this book; "
            f"expected one of {', '.join(repr(s) for s in SCALES)} (unset means 'ci')."
        )
    return cast(ScaleName, value)


def get_seed_offset() -> int:
    """Return the seed offset, read from the ``BOOK_SEED_OFFSET`` environment variable.

    Unset or empty means ``0``: the seeds printed on the pages. A reader who sets
    ``BOOK_SEED_OFFSET=3`` reruns every experiment of the book with other seeds (each seed ``s``
    becomes ``s + 1000 * 3``, see :func:`seeded`); every claim of the book must still hold.

    Raises:
        ValueError: if the variable is not a non-negative integer.
    """
    raw = os.environ.get(SEED_OFFSET_ENV, "").strip() or "0"
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{SEED_OFFSET_ENV}={os.environ.get(SEED_OFFSET_ENV)!r} is not a seed "
                         "offset; expected a non-negative integer such as 0, 1 or 2 (unset "
                         "means 0).")
    return value


def seeded(base: int) -> int:
    """The seed a page uses for its seed number ``base``: ``base + 1000 * BOOK_SEED_OFFSET``.

    A page passes every seed it chooses through this function once, where it chooses it
    (``rng = set_seed(seeded(0))``, ``for s in range(n): run(seed=seeded(s))``), so that the
    seed offset reaches every random draw of the page. With no offset it returns ``base``.
    """
    if isinstance(base, bool) or not isinstance(base, (int, np.integer)) or base < 0:
        raise ValueError(f"seeded(base): base must be a non-negative integer, got {base!r}.")
    return int(base) + SEED_STRIDE * get_seed_offset()


@dataclass(frozen=True)
class Scaled(Generic[T]):
    """The sizes of one experiment at both scales of the book.

    Attributes:
        ci: the sizes the book is built with (fast, CPU).
        paper: the sizes of the original paper.
    """

    ci: T
    paper: T

    def __post_init__(self) -> None:
        if type(self.ci) is not type(self.paper):
            raise TypeError(
                "Scaled(ci=..., paper=...) expects two records of the same type, got "
                f"ci: {type(self.ci).__name__} and paper: {type(self.paper).__name__}."
            )

    def pick(self, scale: ScaleName | None = None) -> T:
        """Return the record for ``scale`` (default: the current :func:`get_scale`)."""
        if scale is None:
            scale = get_scale()
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}.")
        return self.ci if scale == "ci" else self.paper


def use_one_thread() -> None:
    """Make PyTorch and the BLAS behind NumPy/SciPy compute on one CPU thread.

    Called by :func:`set_seed` at the ``ci`` scale.
    """
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def get_device(scale: ScaleName | None = None) -> torch.device:
    """Return the device experiments run on: CUDA at ``paper`` scale when available, else CPU.

    At ``ci`` scale the answer is always the CPU, so that the book's numbers are identical on
    every machine.
    """
    import torch

    if scale is None:
        scale = get_scale()
    if scale == "paper" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and PyTorch, make PyTorch deterministic, and return a NumPy generator.

    At the ``ci`` scale it also pins PyTorch and BLAS to one thread (:func:`use_one_thread`).
    The seed is used as given: a page passes ``set_seed(seeded(k))`` so that the seed offset
    applies (see :func:`seeded`).

    Args:
        seed: a non-negative integer.

    Returns:
        ``np.random.default_rng(seed)``, the generator pages should draw NumPy randomness from.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    import torch

    if get_scale() == "ci":
        use_one_thread()
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return np.random.default_rng(seed)


def describe_scale(scale: ScaleName | None = None) -> str:
    """One sentence saying which scale a page was built at, for the page to glue."""
    if scale is None:
        scale = get_scale()
    offset = get_seed_offset()
    seeds = "" if offset == 0 else f" Its seeds are shifted by BOOK_SEED_OFFSET={offset}."
    if scale == "ci":
        return (
            "This page was built at the ci scale (a laptop CPU, under a minute); set "
            "BOOK_SCALE=paper to rerun it at the scale of the original papers." + seeds
        )
    return "This page was built at the paper scale, the sizes of the original papers." + seeds


#: Every value glued in this process, by name (what a reader running a page as a plain notebook
#: or script, without a book build, can inspect).
GLUED: dict[str, object] = {}


def glue(name: str, value: object) -> object:
    """Glue ``value`` into the executed page under ``name`` without displaying it.

    NumPy and PyTorch scalars are converted to plain Python numbers first, so that the page can
    format them with a format spec such as ``:.3f``. Returns the converted value, and keeps it
    in :data:`GLUED`.

    ``myst_nb`` (part of the book build) is only needed to embed the value in the page: where it
    is not installed, as on Colab after ``pip install dlscience``, or outside a notebook kernel,
    the value is only kept in :data:`GLUED`. The package therefore does not depend on the book's
    build tools, which would pull Sphinx into every reader's environment.
    """
    if hasattr(value, "detach") and hasattr(value, "numel"):  # a torch.Tensor
        if value.numel() != 1:
            raise ValueError(f"glue({name!r}, value): value must be a scalar, got shape "
                             f"{tuple(value.shape)}.")
        value = value.item()
    elif isinstance(value, np.generic):
        value = value.item()
    GLUED[name] = value
    if _in_kernel():
        try:
            from myst_nb import glue as myst_glue
        except ImportError:
            return value
        myst_glue(name, value, display=False)
    return value


def _in_kernel() -> bool:
    """Whether this code runs in an IPython kernel (where a glued value can be embedded)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None

