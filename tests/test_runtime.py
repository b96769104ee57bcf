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
