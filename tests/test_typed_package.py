"""A console backend's own ``mypy --strict`` sees casesync's types (PEP 561: both packages ship ``py.typed``).

The packages are laid out as an installation puts them — copied into the ``site-packages`` of a fresh virtual
environment, whose other packages (pydantic, …) come from this one through a ``.pth`` line — and mypy checks a
consumer's module against that interpreter, from a directory outside the checkout, so it can only find
casesync the way a consumer's mypy does.  Without ``py.typed`` mypy refuses to use an installed package's
annotations (``import-untyped``) and the deliberate mistakes below would pass unnoticed.
"""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sync", "mappings")

CONSUMER = """\
from sync import CaseStatus, SupportCases

def open_cases(support: SupportCases, account: str) -> list[int]:
    return [case.id for case in support.list(account, status=CaseStatus.OPEN)]

def wrong_number(support: SupportCases) -> None:
    support.get("acme", "17")

def wrong_subject(support: SupportCases) -> int:
    return support.get("acme", 17).subject
"""


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_carries_the_pep_561_marker(package: str) -> None:
    assert (ROOT / package / "py.typed").is_file()


@pytest.fixture(scope="module")
def consumer_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment where casesync is installed as plain package directories, with ``py.typed``."""
    env = tmp_path_factory.mktemp("consumer-env")
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    for package in PACKAGES:
        shutil.copytree(ROOT / package, purelib / package, ignore=shutil.ignore_patterns("__pycache__"))
    # casesync's own dependencies, from the environment running the tests (not casesync itself: its editable
    # install here is an import hook, which the .pth line does not bring along).
    ours = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    (purelib / "casesync-deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    return python


def test_a_consumers_strict_mypy_sees_casesyncs_types(consumer_python: Path, tmp_path: Path) -> None:
    (tmp_path / "console_backend.py").write_text(CONSUMER)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--python-executable",
            str(consumer_python),
            "console_backend.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=240,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert not any("import-untyped" in line or "import-not-found" in line for line in errors), result.stdout
    assert len(errors) == 2, result.stdout
    assert 'Argument 2 to "get" of "SupportCases" has incompatible type "str"; expected "int"' in errors[0]
    assert 'Incompatible return value type (got "str", expected "int")' in errors[1]
