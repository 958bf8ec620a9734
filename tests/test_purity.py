"""``mappings`` stays pure (docs/design.md §5): its modules import only pure standard-library modules and pydantic,
and importing it loads no HTTP client, Zendesk client or database driver.

``sync.sandbox`` stays an independent peer of the code it emulates Zendesk for: it imports nothing else of
casesync, neither in its import statements nor when it is loaded.

``sync.testing``, the test kit shipped in the package, imports neither the tests nor the benchmarks (an
installed casesync has neither), and of the product only the demo imports it.

Two rules of the map in docs/architecture.md hold for the rest of ``sync/``: only ``sync/gateway`` imports
zenpy (its errors are translated there, once), and ``sync/inbound`` does not import the web server (the hint
it stores lives in ``sync/hints.py``)."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import mappings
import sync.sandbox

ALLOWED = {
    "__future__",
    "abc",
    "base64",
    "binascii",
    "collections",
    "collections.abc",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "enum",
    "functools",
    "hashlib",
    "itertools",
    "math",
    "operator",
    "re",
    "string",
    "types",
    "typing",
    "unicodedata",
    "urllib.parse",
    "uuid",
    "pydantic",
    # A pure HTML sanitizer (no I/O): mappings.html sanitizes comment HTML with it.
    "nh3",
}
FORBIDDEN_LOADED = ["zenpy", "requests", "urllib3", "http.client", "sqlite3", "psycopg", "sqlalchemy"]

PACKAGE_DIR = Path(mappings.__file__).parent
SOURCES = sorted(PACKAGE_DIR.rglob("*.py"))
# The prefix makes subpackages (``mappings.inbound``) walk as themselves, not as same-named packages elsewhere.
MODULES = ["mappings", *(m.name for m in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="mappings."))]


def _imports(path: Path, package: str) -> list[str]:
    """The modules one source imports; a relative import counts as ``package`` (it stays inside it)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.append(package)
            elif node.module:
                names.append(node.module)
    return names


def _allowed(name: str) -> bool:
    return name in ALLOWED or name == "mappings" or name.startswith("mappings.") or name.startswith("pydantic.")


def test_the_package_has_modules_to_check() -> None:
    assert len(SOURCES) >= 10
    assert "mappings.inbound" in MODULES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_each_module_imports_only_pure_modules(path: Path) -> None:
    refused = [name for name in _imports(path, "mappings") if not _allowed(name)]
    assert refused == [], f"{path.name} imports {refused}"


def _loaded_after_importing(modules: list[str]) -> set[str]:
    """Every module in ``sys.modules`` after a fresh interpreter imports ``modules`` (from the project root)."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PACKAGE_DIR.parent, capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_importing_mappings_loads_no_io_library() -> None:
    assert [m for m in FORBIDDEN_LOADED if m in _loaded_after_importing(MODULES)] == []

SANDBOX_DIR = Path(sync.sandbox.__file__).parent
SANDBOX_SOURCES = sorted(SANDBOX_DIR.rglob("*.py"))
SANDBOX_MODULES = [
    "sync.sandbox",
    *(f"sync.sandbox.{m.name}" for m in pkgutil.walk_packages([str(SANDBOX_DIR)])),
]


def _casesync_imports(path: Path) -> list[str]:
    """The imports of casesync's own packages (and of its tests and benchmarks) in one sandbox source."""
    return [n for n in _imports(path, "sync.sandbox") if n.split(".")[0] in {"sync", "mappings", "benchmarks", "tests"}]


def test_the_sandbox_has_modules_to_check() -> None:
    assert len(SANDBOX_SOURCES) >= 10
    assert "sync.sandbox.server" in SANDBOX_MODULES


@pytest.mark.parametrize("path", SANDBOX_SOURCES, ids=lambda p: p.name)
def test_each_sandbox_module_imports_only_the_sandbox(path: Path) -> None:
    refused = [n for n in _casesync_imports(path) if n != "sync.sandbox" and not n.startswith("sync.sandbox.")]
    assert refused == [], f"{path.name} imports {refused}"


def test_loading_the_sandbox_loads_nothing_else_of_casesync() -> None:
    casesync = {m for m in _loaded_after_importing(SANDBOX_MODULES) if m.split(".")[0] in {"sync", "mappings"}}
    assert sorted(m for m in casesync if m != "sync" and not m.startswith("sync.sandbox")) == []


SYNC_DIR = SANDBOX_DIR.parent
SYNC_SOURCES = sorted(p for p in SYNC_DIR.rglob("*.py") if "sandbox" not in p.relative_to(SYNC_DIR).parts)


def _room(path: Path) -> str:
    return path.relative_to(SYNC_DIR).parts[0].removesuffix(".py")


def test_there_are_sources_in_every_room() -> None:
    assert {"gateway", "inbound", "outbound", "web", "store"} <= {_room(p) for p in SYNC_SOURCES}


@pytest.mark.parametrize("path", SYNC_SOURCES, ids=lambda p: str(p.relative_to(SYNC_DIR)))
def test_only_the_gateway_imports_zenpy(path: Path) -> None:
    zenpy = [n for n in _imports(path, f"sync.{_room(path)}") if n == "zenpy" or n.startswith("zenpy.")]
    assert zenpy == [] or _room(path) == "gateway", f"{path.name} imports {zenpy}"


@pytest.mark.parametrize("path", [p for p in SYNC_SOURCES if _room(p) == "inbound"], ids=lambda p: p.name)
def test_the_inbound_side_does_not_import_the_web_server(path: Path) -> None:
    web = [n for n in _imports(path, "sync.inbound") if n == "sync.web" or n.startswith("sync.web.")]
    assert web == [], f"{path.name} imports {web}"


TESTING_SOURCES = sorted((SYNC_DIR / "testing").rglob("*.py"))


def test_the_test_kit_has_modules_to_check() -> None:
    assert {"world.py", "processes.py", "checker.py"} <= {p.name for p in TESTING_SOURCES}


@pytest.mark.parametrize("path", TESTING_SOURCES, ids=lambda p: str(p.relative_to(SYNC_DIR)))
def test_the_test_kit_imports_neither_tests_nor_benchmarks(path: Path) -> None:
    outside = [n for n in _imports(path, "sync.testing") if n.split(".")[0] in {"tests", "benchmarks"}]
    assert outside == [], f"{path.name} imports {outside}"


@pytest.mark.parametrize("path", [p for p in SYNC_SOURCES if _room(p) != "testing"],
                         ids=lambda p: str(p.relative_to(SYNC_DIR)))
def test_only_the_demo_imports_the_test_kit(path: Path) -> None:
    kit = [n for n in _imports(path, f"sync.{_room(path)}") if n == "sync.testing" or n.startswith("sync.testing.")]
    assert kit == [] or path.relative_to(SYNC_DIR).parts == ("demo.py",), f"{path.name} imports {kit}"
