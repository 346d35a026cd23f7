"""Imports run one way, cosim -> agents -> grids (docs/architecture.md): grids/ imports
nothing from cosim/ or agents/, agents/ nothing from cosim/. Every import statement counts,
those inside functions too."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"grids": {"cosim", "agents"}, "agents": {"cosim"}}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in *path*."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


def _upward(package: str) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line}: imports {top}"
            for path in sorted((ROOT / package).rglob("*.py"))
            for line, top in _imports(path) if top in FORBIDDEN[package]]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_only_run_downward(package):
    assert _upward(package) == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The check itself: a module of grids/ importing cosim inside a function is caught."""
    (tmp_path / "grids").mkdir()
    (tmp_path / "grids" / "bad.py").write_text("def f():\n    from cosim.errors import InputError\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert _upward("grids") == ["grids/bad.py:2: imports cosim"]


def test_ruff_is_clean_on_the_whole_tree():
    """The style gate (pyproject's [tool.ruff]): no finding anywhere in the repository."""
    import shutil
    import subprocess

    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install '.[test]')")
    proc = subprocess.run([ruff, "check", "--no-cache", str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
