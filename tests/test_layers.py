"""The package's layers point one way (DESIGN.md): a module imports only its own package and lower layers,
training and decoding never import each other, and no import cycle exists between modules."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "toolkit"

# Lower rank = lower layer. Packages of equal rank may not import each other.
RANKS = {"utils": 0, "scoring": 1, "data": 2, "corpora": 3, "features": 4, "synth": 4, "models": 5,
         "training": 6, "decoding": 6, "bin": 7}


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Toolkit modules a file imports (anywhere in it: function-level imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("toolkit.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("toolkit."):
            found.add(node.module)
    return found


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANKS) else None


NOT_CODE = {"conf"}  # toolkit/conf: the Hydra configs shipped as package data


def test_every_subpackage_has_a_rank():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()} - NOT_CODE
    assert packages <= set(RANKS), f"add {sorted(packages - set(RANKS))} to RANKS (and DESIGN's layer picture)"


@pytest.mark.parametrize("module", sorted(_modules()))
def test_imports_point_down(module):
    own = _package(module)
    if own is None:
        return
    upward = [m for m in _imports(_modules()[module])
              if (other := _package(m)) is not None and other != own and RANKS[other] >= RANKS[own]]
    assert not upward, f"{module} ({own}, rank {RANKS[own]}) imports {upward}: move the shared code down a layer"


def test_no_import_cycles():
    modules = _modules()
    graph = {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = stack[stack.index(n):] + [n] if n in stack else [m, n]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n, stack + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_the_check_catches_an_upward_import(tmp_path):
    """The checker itself can fail: a features module importing training is flagged."""
    bad = tmp_path / "bad.py"
    bad.write_text("from toolkit.training.trainer import Trainer\n")
    upward = [m for m in _imports(bad) if RANKS[_package(m)] >= RANKS["features"]]
    assert upward == ["toolkit.training.trainer"]
