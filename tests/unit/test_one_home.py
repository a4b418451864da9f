"""One home each for the safe-text rule, VLAN lists, the admin user, the repo root and playbooks.

Each test checks behaviour through every former copy's caller, and a scan of
``dcctl/`` keeps a new copy from creeping back in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

import dcctl.lab.switchd.state as switchd_state
import dcctl.vendors.cisco_ios.lab as ios_emulator
import dcctl.vendors.mikrotik_routeros.driver as ros_engine
import dcctl.vendors.mikrotik_routeros.lab as ros_emulator
from dcctl.engines.ansible.runner import PLAYBOOKS
from dcctl.monitoring.targets import UnsafeValue as MonitoringUnsafe
from dcctl.monitoring.targets import text as monitoring_text
from dcctl.paths import playbooks_dir, repo_root
from dcctl.render.switch import UnsafeValue, _check, vlan_ranges
from dcctl.spec import vlanlist
from dcctl.spec.site import ADMIN_USER
from dcctl.spec.types import SAFE_TEXT_CHARS, Text, is_safe_text
from dcctl.vendors.cisco_ios.driver import _expand

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "dcctl"
_TEXT = TypeAdapter(Text)


def _sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}


# ---------------------------------------------------------------- safe text


@pytest.mark.parametrize(
    "value", ["Jl. Raya Kertek Km 3", "Dinkes (gedung B) lt.2", "a/b & c's +62:x@y-z", ""]
)
def test_safe_text_accepted_by_every_consumer(value: str) -> None:
    assert is_safe_text(value)
    assert _TEXT.validate_python(value) == value
    _check(value, "description")
    assert monitoring_text(value, "summary") == value


@pytest.mark.parametrize(
    "value", ["a;b", "$x", "[find]", 'say "hi"', "{{ x }}", "50%", "why?", "!", "#c", "a\nb", "\\"]
)
def test_unsafe_text_refused_by_every_consumer(value: str) -> None:
    assert not is_safe_text(value)
    with pytest.raises(ValidationError):
        _TEXT.validate_python(value)
    with pytest.raises(UnsafeValue):
        _check(value, "description")
    with pytest.raises(MonitoringUnsafe):
        monitoring_text(value, "summary")


def test_monitoring_keeps_its_length_cap() -> None:
    monitoring_text("a" * 240, "summary")
    with pytest.raises(MonitoringUnsafe):
        monitoring_text("a" * 241, "summary")


def test_safe_text_character_class_written_once() -> None:
    """Only spec/types.py spells the class; tickets/edit.py's YAML plain-scalar check
    is a deliberately independent second line of defence (its own first-character rule)."""
    spelled = [p for p, src in _sources().items() if SAFE_TEXT_CHARS[2:] in src]
    assert sorted(p.relative_to(PACKAGE).as_posix() for p in spelled) == [
        "spec/types.py",
        "tickets/edit.py",
    ]


# ---------------------------------------------------------------- VLAN lists


@given(st.sets(st.integers(1, 4094), min_size=1, max_size=40), st.sampled_from([None, 2, 3]))
def test_vlan_list_round_trip(ids: set[int], min_range: int | None) -> None:
    text = vlanlist.format_vlan_list(ids, min_range=min_range)
    assert vlanlist.is_vlan_list(text)
    assert vlanlist.parse_vlan_list(text) == ids


def test_vlan_list_printing_per_dialect() -> None:
    ids = {10, 11, 20, 21, 22, 30}
    assert vlan_ranges(sorted(ids)) == "10,11,20-22,30"  # IOS running-config
    assert vlanlist.format_vlan_list(ids, min_range=2) == "10-11,20-22,30"  # RouterOS print
    assert vlanlist.format_vlan_list(ids, min_range=None) == "10,11,20,21,22,30"


@pytest.mark.parametrize("bad", ["", "10,", ",10", "a", "10-", "5-1", "0", "4095", "10 ,20"])
def test_vlan_list_parse_is_strict(bad: str) -> None:
    with pytest.raises(ValueError):
        vlanlist.parse_vlan_list(bad)


def test_ios_engine_reads_trunk_lists_with_the_shared_parser() -> None:
    assert _expand(["10,20-22", "30"]) == {10, 20, 21, 22, 30}
    assert _expand("ALL") == set(range(1, 4095))
    assert _expand("NONE") == set()
    with pytest.raises(ValueError):
        _expand("10-x")


def test_engines_and_emulator_use_the_one_vlan_list() -> None:
    """The emulator is an oracle for switch behaviour, not for list notation: it shares it."""
    for module in (ros_engine, ios_emulator, ros_emulator, switchd_state):
        for name in ("parse_vlan_list", "format_vlan_list"):
            if hasattr(module, name):
                assert getattr(module, name) is getattr(vlanlist, name), (module, name)
    defs = re.compile(r"^def (parse_vlan\w*|format_vlan\w*|_expand_vlans?)\(", re.M)
    homes = [p.relative_to(PACKAGE).as_posix() for p, src in _sources().items() if defs.search(src)]
    assert homes == ["spec/vlanlist.py"]


# ---------------------------------------------------------------- admin user


def test_admin_user_has_one_home() -> None:
    import dcctl.engines.ansible.inventory as inventory
    import dcctl.engines.pulumi.program as program
    import dcctl.vpn.ansible as vpn_ansible

    assert ADMIN_USER == "dcctl"
    assert program.ADMIN_USER is ADMIN_USER
    assert vpn_ansible.ADMIN_USER is ADMIN_USER
    assert inventory.ADMIN_USER is ADMIN_USER
    spelled = [
        p.relative_to(PACKAGE).as_posix()
        for p, src in _sources().items()
        if re.search(r'^ADMIN_USER\s*=\s*"', src, re.M)
    ]
    assert spelled == ["spec/site.py"]


# ---------------------------------------------------------------- repo root, playbooks


def test_playbooks_found_through_the_package() -> None:
    assert playbooks_dir() == ROOT / "playbooks"
    assert playbooks_dir() == PLAYBOOKS
    assert (playbooks_dir() / "site.yml").is_file()
    assert repo_root() == ROOT
    assert (PACKAGE / "playbooks").resolve() == ROOT / "playbooks"


def _tracked_playbooks() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "playbooks"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_wheel_ships_the_playbooks_and_finds_them(tmp_path: Path) -> None:
    """Build the real wheel (from a copy, so the checkout gets no build/), install it
    without the checkout on sys.path, and ask it where its playbooks are."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PACKAGE, src / "dcctl", symlinks=True, ignore=ignore)
    shutil.copytree(ROOT / "playbooks", src / "playbooks", ignore=ignore)
    wheels = tmp_path / "whl"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(src), "-w", str(wheels)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("dcctl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = _tracked_playbooks()
    assert "playbooks/site.yml" in tracked
    missing = [p for p in tracked if (src / p).exists() and f"dcctl/{p}" not in names]
    assert missing == []

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(site)
    out = subprocess.run(
        [
            sys.executable,
            "-S",  # no site-packages: the editable checkout install must not answer
            "-c",
            "import dcctl.paths as p; print(p.__file__); print(p.playbooks_dir())",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    module, playbooks = out.stdout.split()
    assert Path(module).is_relative_to(site)
    assert Path(playbooks) == (site / "dcctl" / "playbooks").resolve()
    assert (Path(playbooks) / "site.yml").is_file()
    assert (Path(playbooks) / "roles").is_dir()
