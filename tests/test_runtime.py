from dataclasses import dataclass

import numpy as np
import pytest
import torch
from dlscience import runtime
from dlscience.runtime import Scaled, get_device, get_scale, set_seed


@dataclass(frozen=True)
class Sizes:
    n: int


def test_scale_defaults_to_ci(monkeypatch):
    monkeypatch.delenv("BOOK_SCALE", raising=False)
    assert get_scale() == "ci"
    monkeypatch.setenv("BOOK_SCALE", "")
    assert get_scale() == "ci"


def test_scale_reads_paper(monkeypatch):
    monkeypatch.setenv("BOOK_SCALE", "paper")
    assert get_scale() == "paper"
    monkeypatch.setenv("BOOK_SCALE", " PAPER ")
    assert get_scale() == "paper"


def test_wrong_scale_names_variable_and_allowed_values(monkeypatch):
    monkeypatch.setenv("BOOK_SCALE", "huge")
    with pytest.raises(ValueError) as err:
        get_scale()
    message = str(err.value)
    assert "BOOK_SCALE" in message and "'huge'" in message
    assert "'ci'" in message and "'paper'" in message


def test_scaled_picks_the_current_scale(monkeypatch):
    sizes = Scaled(ci=Sizes(n=10), paper=Sizes(n=10_000))
    monkeypatch.setenv("BOOK_SCALE", "ci")
    assert sizes.pick() == Sizes(n=10)
    monkeypatch.setenv("BOOK_SCALE", "paper")
    assert sizes.pick() == Sizes(n=10_000)
    assert sizes.pick("ci") == Sizes(n=10)
    with pytest.raises(ValueError, match="scale must be one of"):
        sizes.pick("medium")  # type: ignore[arg-type]


def test_scaled_rejects_records_of_different_types():
    @dataclass(frozen=True)
    class Other:
        n: int

    with pytest.raises(TypeError, match="same type"):
        Scaled(ci=Sizes(n=1), paper=Other(n=2))


def test_device_is_cpu_at_ci_even_with_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device("ci") == torch.device("cpu")
    assert get_device("paper") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_device("paper") == torch.device("cpu")


def test_device_follows_environment(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("BOOK_SCALE", "paper")
    assert get_device() == torch.device("cuda")
    monkeypatch.setenv("BOOK_SCALE", "ci")
    assert get_device() == torch.device("cpu")


def test_set_seed_is_deterministic():
    rng = set_seed(3)
    a = (rng.normal(size=3), torch.randn(3), np.random.rand())
    rng = set_seed(3)
    b = (rng.normal(size=3), torch.randn(3), np.random.rand())
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1])
    assert a[2] == b[2]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_set_seed_rejects_bad_seed(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        set_seed(bad)


def test_describe_scale_mentions_the_scale():
    assert "ci scale" in runtime.describe_scale("ci")
    assert "paper scale" in runtime.describe_scale("paper")


def test_glue_converts_numpy_and_torch_scalars(capsys):
    assert type(runtime.glue("a", np.float64(0.5))) is float
    assert type(runtime.glue("b", torch.tensor(3))) is int
    with pytest.raises(ValueError, match="must be a scalar"):
        runtime.glue("c", torch.zeros(2))


def _threads_after(code: str, scale: str) -> str:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"BOOK_SCALE": scale, "PATH": "", "OMP_NUM_THREADS": "2"},
                         check=True)
    return out.stdout.strip()


def test_import_changes_nothing_and_set_seed_pins_one_thread_at_ci():
    code = ("import sys, dlscience.runtime as r; print('torch' in sys.modules); import torch; "
            "print(torch.get_num_threads()); r.set_seed(0); print(torch.get_num_threads())")
    assert _threads_after(code, "ci").split() == ["False", "2", "1"]
    assert _threads_after(code, "paper").split() == ["False", "2", "2"]


def test_seed_offset_shifts_every_seed(monkeypatch):
    monkeypatch.delenv("BOOK_SEED_OFFSET", raising=False)
    assert runtime.get_seed_offset() == 0 and runtime.seeded(7) == 7
    monkeypatch.setenv("BOOK_SEED_OFFSET", "3")
    assert runtime.get_seed_offset() == 3 and runtime.seeded(7) == 3007
    # set_seed takes the seed as given: the offset enters once, through seeded().
    a = set_seed(runtime.seeded(7)).normal()
    monkeypatch.setenv("BOOK_SEED_OFFSET", "0")
    assert a == set_seed(3007).normal() != set_seed(runtime.seeded(7)).normal()
    assert "BOOK_SEED_OFFSET" not in runtime.describe_scale("ci")


@pytest.mark.parametrize("bad", ["-1", "x", "1.5"])
def test_bad_seed_offset_names_the_variable(monkeypatch, bad):
    monkeypatch.setenv("BOOK_SEED_OFFSET", bad)
    with pytest.raises(ValueError, match="BOOK_SEED_OFFSET.*non-negative integer"):
        runtime.seeded(0)


def test_glue_keeps_values_without_a_kernel():
    runtime.glue("kept", np.float32(0.25))
    assert runtime.GLUED["kept"] == 0.25


# --- exact messages, boundaries and the torch/BLAS/kernel side effects ---------------------------


@pytest.fixture
def restore_torch_state():
    """Restore the global thread counts and deterministic-algorithm flags a test changes."""
    from threadpoolctl import ThreadpoolController

    controllers = ThreadpoolController().lib_controllers
    blas = [c.num_threads for c in controllers]
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    for controller, n in zip(controllers, blas, strict=True):
        controller.set_num_threads(n)


def test_wrong_scale_message_is_exact(monkeypatch):
    """The whole message of a bad BOOK_SCALE, as written in get_scale."""
    monkeypatch.setenv("BOOK_SCALE", "huge")
    expected = ("BOOK_SCALE='huge' is not a scale of this book; expected one of 'ci', 'paper' "
                "(unset means 'ci').")
    with pytest.raises(ValueError) as err:
        get_scale()
    assert str(err.value) == expected


def test_bad_seed_offset_message_is_exact(monkeypatch):
    """The whole message of a bad BOOK_SEED_OFFSET."""
    monkeypatch.setenv("BOOK_SEED_OFFSET", "-2")
    expected = ("BOOK_SEED_OFFSET='-2' is not a seed offset; expected a non-negative integer such "
                "as 0, 1 or 2 (unset means 0).")
    with pytest.raises(ValueError) as err:
        runtime.get_seed_offset()
    assert str(err.value) == expected


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_seeded_rejects_bad_base(monkeypatch, bad):
    """seeded() takes non-negative integers only: negatives, floats, bools and strings fail."""
    monkeypatch.delenv("BOOK_SEED_OFFSET", raising=False)
    with pytest.raises(ValueError) as err:
        runtime.seeded(bad)
    assert str(err.value) == f"seeded(base): base must be a non-negative integer, got {bad!r}."


def test_seeded_accepts_zero_and_numpy_integers(monkeypatch):
    """0 is the smallest seed; NumPy integers count as integers and come back as int."""
    monkeypatch.setenv("BOOK_SEED_OFFSET", "2")
    assert runtime.seeded(0) == 2000
    out = runtime.seeded(np.int64(5))
    assert out == 2005 and type(out) is int


def test_scaled_type_mismatch_message_is_exact():
    """The TypeError names both record types, ci first."""
    with pytest.raises(TypeError) as err:
        Scaled(ci=Sizes(n=1), paper=(2,))
    assert str(err.value) == ("Scaled(ci=..., paper=...) expects two records of the same type, "
                              "got ci: Sizes and paper: tuple.")


@pytest.mark.parametrize(("scale", "threads"), [("ci", 1), ("paper", 2)])
def test_set_seed_pins_threads_only_at_ci(monkeypatch, restore_torch_state, scale, threads):
    """At ci, set_seed pins torch and every BLAS pool to one thread; at paper it leaves them."""
    from threadpoolctl import ThreadpoolController

    monkeypatch.setenv("BOOK_SCALE", scale)
    torch.set_num_threads(2)
    controllers = ThreadpoolController().lib_controllers
    for controller in controllers:
        controller.set_num_threads(2)
    set_seed(0)
    assert torch.get_num_threads() == threads
    assert [c.num_threads for c in ThreadpoolController().lib_controllers] == [threads] * len(
        controllers)


def test_set_seed_turns_on_deterministic_algorithms_warn_only(restore_torch_state):
    """set_seed enables torch's deterministic algorithms in warn-only mode."""
    torch.use_deterministic_algorithms(False)
    set_seed(1)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled()


def test_set_seed_seeds_python_numpy_and_torch_like_their_own_seeders(restore_torch_state):
    """Each generator matches one seeded directly; NumPy's legacy seed is the seed mod 2**32."""
    import random

    seed = 2**32 + 5
    rng = set_seed(seed)
    got = (random.random(), np.random.rand(), torch.rand(1).item(), rng.random())
    want_numpy = np.random.RandomState(5).rand()
    want_torch = torch.Generator().manual_seed(seed)
    expected = (random.Random(seed).random(), want_numpy,
                torch.rand(1, generator=want_torch).item(), np.random.default_rng(seed).random())
    assert got == expected


def test_describe_scale_sentences_are_exact(monkeypatch):
    """The glued sentence per scale; the default is the current scale; an offset is appended."""
    ci = ("This page was built at the ci scale (a laptop CPU, under a minute); set "
          "BOOK_SCALE=paper to rerun it at the scale of the original papers.")
    paper = "This page was built at the paper scale, the sizes of the original papers."
    monkeypatch.delenv("BOOK_SCALE", raising=False)
    monkeypatch.delenv("BOOK_SEED_OFFSET", raising=False)
    assert runtime.describe_scale() == ci
    assert runtime.describe_scale("ci") == ci
    assert runtime.describe_scale("paper") == paper
    monkeypatch.setenv("BOOK_SCALE", "paper")
    assert runtime.describe_scale() == paper
    monkeypatch.setenv("BOOK_SEED_OFFSET", "2")
    assert runtime.describe_scale("ci") == ci + " Its seeds are shifted by BOOK_SEED_OFFSET=2."


class _Shell:
    def __init__(self, kernel: object) -> None:
        self.kernel = kernel


def _record_myst_glue(monkeypatch, shell: object) -> list[tuple]:
    """Make IPython report ``shell`` and record the calls to myst_nb.glue."""
    import IPython
    import myst_nb

    calls: list[tuple] = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    monkeypatch.setattr(myst_nb, "glue", lambda *args, **kw: calls.append((args, kw)))
    return calls


def test_glue_embeds_in_a_kernel_without_display(monkeypatch):
    """In a kernel, glue hands the converted value to myst_nb.glue with display=False."""
    calls = _record_myst_glue(monkeypatch, _Shell(kernel=object()))
    assert runtime.glue("x", np.float64(0.5)) == 0.5
    assert calls == [(("x", 0.5), {"display": False})]


@pytest.mark.parametrize("shell", [None, _Shell(kernel=None), object()])
def test_glue_outside_a_kernel_only_keeps_the_value(monkeypatch, shell):
    """No shell, a shell without a kernel (e.g. a terminal IPython): nothing is embedded."""
    calls = _record_myst_glue(monkeypatch, shell)
    assert runtime.glue("y", 3) == 3
    assert calls == [] and runtime.GLUED["y"] == 3


def test_glue_without_ipython_only_keeps_the_value(monkeypatch):
    """Where IPython cannot be imported, glue never tries to embed."""
    import sys

    import myst_nb

    calls: list[tuple] = []
    monkeypatch.setattr(myst_nb, "glue", lambda *args, **kw: calls.append((args, kw)))
    monkeypatch.setitem(sys.modules, "IPython", None)
    assert runtime.glue("z", 4) == 4
    assert calls == []


def test_glue_keeps_a_torch_size_as_is():
    """Only tensors (detach and numel) are reduced to scalars: a torch.Size, which has numel()
    but no detach(), is kept unchanged."""
    shape = torch.Size([2, 3])
    assert runtime.glue("shape", shape) is shape and runtime.GLUED["shape"] == (2, 3)
