"""The CI workflows are valid GitHub Actions and pass a security audit, offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def test_workflows_match_githubs_schema():
    result = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                             "vendor.github-workflows", *map(str, WORKFLOWS)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_pass_zizmor_audit():
    github = ROOT / ".github"
    result = subprocess.run([str(BIN / "zizmor"), "--offline", "--config",
                             str(github / "zizmor.yml"), str(github / "workflows")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_least_privilege_and_no_pull_request_target():
    for path in WORKFLOWS:
        flow = yaml.safe_load(path.read_text())
        triggers = flow.get(True, flow.get("on"))  # YAML reads the key `on` as True
        assert "pull_request_target" not in (triggers or {}), path.name
        assert flow["permissions"] == {"contents": "read"}, path.name
        for name, job in flow["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name} has no permissions"
            perms = job["permissions"]
            if perms.get("pages") == "write" or perms.get("id-token") == "write":
                assert name == "deploy", f"{path.name}: {name} must not get pages/id-token"
            for step in job.get("steps", []):
                uses = step.get("uses", "")
                if uses:
                    assert "@" in uses, f"{path.name}: {uses} is not pinned"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "make test" in (ROOT / "README.md").read_text()
    book = (ROOT / ".github" / "workflows" / "book.yml").read_text()
    assert "bash .ci/run" in book and "set -eo pipefail" in book


def test_every_job_has_a_timeout():
    for path in WORKFLOWS:
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            if "steps" in job or "uses" not in job:
                assert "timeout-minutes" in job, f"{path.name}: job {name} has no timeout"


def test_unit_tests_run_on_every_supported_python():
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    pythons = flow["jobs"]["unit"]["strategy"]["matrix"]["python"]
    assert pythons == ["3.11", "3.12", "3.13"]


def test_claims_are_rebuilt_weekly_under_a_fresh_seed_offset():
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "seeds.yml").read_text())
    triggers = flow.get(True, flow.get("on"))
    assert "schedule" in triggers
    run = " ".join(s.get("run", "") for s in flow["jobs"]["build"]["steps"])
    assert "BOOK_SEED_OFFSET" in run and "make book" in run


def test_torch_comes_from_the_cpu_index_everywhere():
    """make book, CI and Binder take torch's CPU build from one index, not the CUDA default."""
    import re

    make = re.search(r"^TORCH_INDEX \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert make, "the Makefile has no TORCH_INDEX default"
    cpu = make.group(1)
    assert cpu.endswith("/whl/cpu")
    for workflow in WORKFLOWS:
        env = yaml.safe_load(workflow.read_text()).get("env", {})
        if "PIP_EXTRA_INDEX_URL" in env:
            assert env["PIP_EXTRA_INDEX_URL"] == cpu, workflow.name
    assert f"--extra-index-url {cpu}" in (ROOT / "binder" / "requirements.txt").read_text()
    dry = subprocess.run(["make", "-n", "-B", ".venv/.installed"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60).stdout
    first = dry.index(f"--index-url {cpu}")
    assert first < dry.index("-r requirements.txt"), "torch must be installed before the rest"
