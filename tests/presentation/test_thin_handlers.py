"""Handlers stay thin: what a step needs arrives ready, in a few parameters, and the reply
language is settled by what hands it over (`handlers.arguments`), never by a handler."""

import ast
from pathlib import Path

import pytest

HANDLERS = Path(__file__).parents[2] / "presentation" / "telegram" / "handlers"
MODULES = sorted(path for path in HANDLERS.glob("*.py") if path.name != "arguments.py")
MOST_PARAMETERS = 5


def _functions(path: Path) -> list[ast.AsyncFunctionDef | ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node for node in ast.walk(tree) if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
    ]


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_no_handler_takes_more_than_five_parameters(path: Path) -> None:
    wide = [
        f"{function.name}: {count}"
        for function in _functions(path)
        if (count := len(function.args.args) + len(function.args.kwonlyargs)) > MOST_PARAMETERS
    ]

    assert wide == []


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_no_handler_settles_the_language_itself(path: Path) -> None:
    calls = [
        f"line {node.lineno}: {node.func.attr}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"settle", "speak", "forget_choice"}
    ]

    assert calls == []
