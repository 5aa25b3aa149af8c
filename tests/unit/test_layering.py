"""Services moved onto the storage port (services/ports.py) stay there: none of them imports the
DynamoDB adapter (its models, keys or repository). The list only grows, one module per move."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = "chalicelib.adapters.dynamodb"

MOVED = (
    "addresses",
    "address_corrections",
    "campaign_close",
    "cancellations",
    "capture",
    "catalogue",
    "complaints",
    "customer_payments",
    "dashboard",
    "deadlines",
    "escalations",
    "exceptions",
    "exports",
    "holds",
    "inbound",
    "metrics",
    "notify",
    "order_payments",
    "orders",
    "packing",
    "payments",
    "refunds",
    "search",
    "shipment_records",
    "shipments",
    "stages",
    "supplier_portal",
    "supplier_workflow",
    "tracking",
    "webhooks",
)


def imports_of(source: str) -> set[str]:
    """Every module a services/ file imports, anywhere in it (inside functions and TYPE_CHECKING blocks
    too), relative imports resolved against the services package; `from X import y` counts X and X.y."""
    package = ["chalicelib", "services"]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, *([node.module] if node.module else [])])
            found.add(name)
            found |= {f"{name}.{alias.name}" for alias in node.names}
    return found


def adapter_imports(source: str) -> list[str]:
    return sorted(m for m in imports_of(source) if m == FORBIDDEN or m.startswith(FORBIDDEN + "."))


@pytest.mark.parametrize("module", MOVED)
def test_a_moved_service_does_not_import_the_dynamodb_adapter(module):
    offending = adapter_imports((ROOT / "chalicelib" / "services" / f"{module}.py").read_text())
    assert offending == [], f"services/{module}.py is on the port but imports {offending}"


def test_the_unit_of_work_imports_the_dynamodb_adapter_only_to_build_the_default_store():
    offending = adapter_imports((ROOT / "chalicelib" / "services" / "uow.py").read_text())
    assert offending == ["chalicelib.adapters.dynamodb.store", "chalicelib.adapters.dynamodb.store.DynamoStore"]


@pytest.mark.parametrize(
    "line",
    [
        "from ..adapters.dynamodb import keys",
        "from ..adapters.dynamodb.models import Item",
        "from ..adapters import dynamodb",
        "import chalicelib.adapters.dynamodb.repository as repo",
        "from chalicelib.adapters.dynamodb import repository",
        "def f():\n    from ..adapters.dynamodb import keys",
    ],
)
def test_the_check_sees_an_adapter_import_however_it_is_spelled(line):
    assert adapter_imports(line) != []


@pytest.mark.parametrize("line", ["from ..adapters import memory, export_files", "from . import uow", "from .ports import Save"])
def test_the_check_lets_other_imports_pass(line):
    assert adapter_imports(line) == []
