"""Shared fixtures: the tiny embedded TIMIT corpus taken through the recipe's stages 0-2 once per
test session (synthesis, data preparation, features), for the tests that train models."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)   # the environment running the tests (tools/test.sh: the project's .venv)


def run(cmd: list[str], cwd: Path, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output when it fails."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


@pytest.fixture(scope="module")
def one_thread():
    """Tiny matrices: one intra-op torch thread is fastest and immune to busy neighbours on the CPU.
    A test module opts in with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tiny_timit(tmp_path_factory) -> Path:
    """A recipe work dir after `recipes/timit/run.sh --corpus-size tiny --stop-stage 2`, made once per test
    session and shared by the pytest-xdist workers (a file lock). Read-only: tests that run stages in a
    work dir take `timit_work`."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent                  # the session's dir, above each worker's own
    work = shared / "timit_tiny"
    with FileLock(f"{work}.lock"):
        if not (work / ".complete").is_file():
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            run([str(ROOT / "recipes" / "timit" / "run.sh"), "--corpus-size", "tiny", "--stop-stage", "2"], cwd=work)
            (work / ".complete").touch()
    return work


@pytest.fixture
def timit_work(tiny_timit, tmp_path) -> Path:
    """A recipe work dir of the test's own after stages 0-2 (data/ and dump/ copied from `tiny_timit`;
    their files name the shared corpus and archives by absolute path)."""
    work = tmp_path / "work"
    work.mkdir()
    for name in ("data", "dump"):
        shutil.copytree(tiny_timit / name, work / name, symlinks=True)
    return work
