"""Two rules of the map in docs/architecture.md, checked on the import statements of ``sync/``.

* Only ``sync/gateway`` talks to Zendesk through zenpy (its errors are translated there, once).
* ``sync/inbound`` does not import the web server: the hint it stores lives in ``sync/hints.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SYNC = Path(__file__).resolve().parent.parent / "sync"
SOURCES = sorted(p for p in SYNC.rglob("*.py") if "sandbox" not in p.relative_to(SYNC).parts)


def _imported(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.append(node.module)
    return names


def _room(path: Path) -> str:
    return path.relative_to(SYNC).parts[0].removesuffix(".py")


def test_there_are_sources_in_every_room() -> None:
    assert {"gateway", "inbound", "outbound", "web", "store"} <= {_room(p) for p in SOURCES}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SYNC)))
def test_only_the_gateway_imports_zenpy(path: Path) -> None:
    zenpy = [n for n in _imported(path) if n == "zenpy" or n.startswith("zenpy.")]
    assert zenpy == [] or _room(path) == "gateway", f"{path.name} imports {zenpy}"


@pytest.mark.parametrize("path", [p for p in SOURCES if _room(p) == "inbound"], ids=lambda p: p.name)
def test_the_inbound_side_does_not_import_the_web_server(path: Path) -> None:
    web = [n for n in _imported(path) if n == "sync.web" or n.startswith("sync.web.")]
    assert web == [], f"{path.name} imports {web}"
