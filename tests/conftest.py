"""Shared fixtures: a writable copy of the example regency and a CLI runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wonosobo"


@pytest.fixture
def spec_repo(tmp_path: Path) -> Path:
    """A private copy of the example spec repo that a test may edit."""
    dest = tmp_path / "spec"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("state"))
    return dest


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()
