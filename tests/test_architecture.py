"""The dependency direction of docs/architecture.md, checked on every import in the code (lazy ones too).

Each package may import only the packages listed for it; an import that runs the other way fails here
with the file, line and arrow. Tools (tests, benchmarks, evaluation) may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> the packages of ours it may import (besides itself). Bottom first.
_BELOW_CAMPAIGNS = {"core", "inference", "jobs", "audit", "access", "catalog", "customers", "recommendations"}
ALLOWED: dict[str, set[str]] = {
    "core": set(),  # the shared kernel: Django and DRF only
    "inference": set(),  # the model runtime: torch and transformers only, no Django models
    "jobs": {"core"},
    "audit": {"core"},  # the audit log: every app above may record an act
    "access": {"core", "audit"},  # API tokens (hashed, scoped), permission-change and lockout audit
    "catalog": {"core", "inference", "jobs", "audit"},
    "customers": {"core", "inference", "jobs", "audit", "catalog"},
    "recommendations": {"core", "inference", "jobs", "audit", "catalog", "customers"},
    "campaigns": _BELOW_CAMPAIGNS,
    # the customer-service assistant reads catalog, customers and insight; campaigns never need it
    "assistant": _BELOW_CAMPAIGNS,
    "ingest": {"core", "jobs", "audit", "catalog", "customers", "assistant"},
    # export and erasure of a customer's personal data: reads and clears every table that holds the person
    "privacy": _BELOW_CAMPAIGNS | {"campaigns", "assistant"},
    # the roof: settings, urls, the API router (every app's viewsets), the Celery app, wsgi
    "ecommarketing": _BELOW_CAMPAIGNS | {"campaigns", "assistant", "ingest", "privacy"},
    # the demo shop and `make demo`'s launcher, which starts everything
    "demo": _BELOW_CAMPAIGNS | {"campaigns", "assistant", "ingest", "ecommarketing", "privacy"},
    # the admin home's dashboard: reads the figures of every app, nothing imports it
    "dashboard": _BELOW_CAMPAIGNS | {"campaigns"},
}
OURS = set(ALLOWED) | {"tests", "benchmarks", "evaluation", "loadtest"}


def imported_packages(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in the tree, wherever it stands."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def upward_imports(root: Path = ROOT) -> list[str]:
    problems = []
    for package, allowed in ALLOWED.items():
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, target in imported_packages(tree):
                if target in OURS and target != package and target not in allowed:
                    problems.append(f"{path.relative_to(root)}:{line}: {package} -> {target}")
    return problems


def test_every_import_points_downward() -> None:
    problems = upward_imports()
    assert not problems, "imports against the documented direction (docs/architecture.md):\n" + "\n".join(problems)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "insights.py").write_text(
        "def late():\n    from customers.models import Customer\n    return Customer\n"
    )
    assert upward_imports(tmp_path) == ["catalog/insights.py:2: catalog -> customers"]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_every_package_is_mapped(package: str) -> None:
    assert (ROOT / package / "__init__.py").exists(), f"{package} is listed but is no package"


def test_no_unmapped_package() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages <= OURS, f"packages without a place in the dependency order: {sorted(packages - OURS)}"
