"""Every package the server's code imports is installed by its runtime dependencies, not
only by the development ones: the image installs `--no-dev` (a missing one stopped the
container at start-up while every test passed)."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)

SOURCE = Path(__file__).resolve().parent.parent / "src" / "connecthub"


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def runtime_closure() -> set[str]:
    """connecthub's distributions and theirs, without extras, markers evaluated."""
    seen: set[str] = set()
    pending = ["connecthub"]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requirements:
            spec, _, marker = requirement.partition(";")
            # An extra's requirements count only for uvicorn[standard], the project's one extra.
            if "extra ==" in marker and not (name == "uvicorn" and "standard" in marker):
                continue
            pending.append(_name(spec))
    return seen


def _type_checking_only(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> set[str]:
    """Top-level modules imported at run time (not under `if TYPE_CHECKING:`)."""
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom):
        return {node.module.split(".")[0]} if node.level == 0 and node.module else set()
    found: set[str] = set()
    for child in ast.iter_child_nodes(node):
        if _type_checking_only(child):
            assert isinstance(child, ast.If)
            for other in child.orelse:
                found |= _imports(other)
        else:
            found |= _imports(child)
    return found


def imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        modules |= _imports(ast.parse(path.read_text()))
    return modules - {"connecthub"} - set(sys.stdlib_module_names)


@pytest.mark.slow
def test_every_imported_package_is_a_runtime_dependency() -> None:
    providers = metadata.packages_distributions()
    closure = runtime_closure()
    missing = {}
    for module in sorted(imported_top_level_modules()):
        distributions = {_name(d) for d in providers.get(module, [])}
        assert distributions, f"{module}: imported but installed by no distribution"
        if not distributions & closure:
            missing[module] = sorted(distributions)
    assert not missing, f"imported but only installed for development: {missing}"
