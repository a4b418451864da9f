"""Shared fixtures: a writable copy of the example regency and a CLI runner."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="module")
def wireless_intents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The switch intents of tests/specs.py's wireless spec (a radio link, a legacy
    `cAP ac` and an 802.11ax `cAP ax` AP), built once per module that renders them."""
    from dcctl.plan.desired import desired_state
    from dcctl.spec import load_spec
    from tests.specs import OpdSpec, build_spec

    root = build_spec(
        tmp_path_factory.mktemp("w"),
        switches=["cisco_ios", "cisco_ios"],
        opds=[OpdSpec("dinkes", lan_ports=1, switch=1), OpdSpec("dishub", lan_ports=1, switch=1)],
        wireless=True,
    )
    return desired_state(load_spec(root))["switches"]
