"""Small functions: outside tests/, no function or method is longer than 60 lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 60


def project_sources() -> list[Path]:
    """Every .py file of the project outside tests/ and hidden or virtual-environment folders."""
    return [path for path in sorted(ROOT.rglob("*.py"))
            if not any(part in ("tests", "venv", "node_modules") or part.startswith(".")
                       for part in path.relative_to(ROOT).parts[:-1])]


def long_functions(source: str, limit: int = MAX_LINES) -> list[tuple[str, int, int]]:
    """(name, first line, lines) of each function in `source` longer than `limit` lines, decorators
    left out, nested functions counted within the function that holds them."""
    functions = [node for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    return [(f.name, f.lineno, f.end_lineno - f.lineno + 1) for f in functions
            if f.end_lineno - f.lineno + 1 > limit]


def test_the_check_finds_a_long_function() -> None:
    def body(lines: int) -> str:
        return "\n".join(f"    x{i} = {i}" for i in range(lines))

    assert long_functions(f"def short():\n{body(MAX_LINES - 1)}\n") == []
    assert long_functions(f"@cache\nasync def long():\n{body(MAX_LINES)}\n") == [("long", 2, MAX_LINES + 1)]


def test_no_function_is_longer_than_60_lines() -> None:
    sources = project_sources()
    assert ROOT / "demo.py" in sources and ROOT / "serving" / "predictor.py" in sources
    assert not any("tests" in p.relative_to(ROOT).parts for p in sources)
    found = [f"{path.relative_to(ROOT)}:{line} {name}() has {lines} lines"
             for path in sources for name, line, lines in long_functions(path.read_text())]
    assert not found, "split these (at most 60 lines a function):\n" + "\n".join(found)
