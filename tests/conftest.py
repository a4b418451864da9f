"""Shared fixtures: a writable copy of the example regency and a CLI runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wonosobo"


@pytest.fixture(autouse=True)
def _language(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts in the C locale's language (English messages, Indonesian HTML).

    Why: dcctl follows LANG/LC_* (issue 19); a developer with LANG=id_ID.UTF-8 or a
    test that chose a language must not change what the next test reads.
    """
    from dcctl import i18n

    for var in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    i18n.set_language(None)


@pytest.fixture
def spec_repo(tmp_path: Path) -> Path:
    """A private copy of the example spec repo that a test may edit."""
    dest = tmp_path / "spec"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("state"))
    return dest


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()
