"""Host settings the lab raises are recorded, shared by labs, and restored by the last one."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcctl.lab import host

KEY = "fs.inotify.max_user_instances"


@pytest.fixture
def proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proc-sys"
    (root / "fs" / "inotify").mkdir(parents=True)
    (root / "net" / "ipv4").mkdir(parents=True)
    (root / "fs" / "inotify" / "max_user_instances").write_text("128\n")
    (root / "net" / "ipv4" / "ip_forward").write_text("0\n")
    monkeypatch.setattr(host, "PROC_SYS", root)
    monkeypatch.setattr(host, "_record_path", lambda: tmp_path / "state" / "host-settings.json")
    return root


def test_fresh_host_is_raised_reported_and_restored_by_the_last_lab(proc: Path) -> None:
    assert host.report()[0]["status"] == "lab up will raise it"
    assert host.acquire("won") == [f"{KEY} 128 -> 1024"]
    assert host.current(KEY) == "1024" and host.held() == {KEY}
    assert host.acquire("t01") == []  # already raised: a second holder, nothing to change
    assert host.release("won") == []  # t01 still needs it
    assert host.current(KEY) == "1024"
    assert host.release("t01") == [f"{KEY} back to 128"]
    assert host.current(KEY) == "128" and host.held() == set()
    assert host.current("net.ipv4.ip_forward") == "0"  # never touched


def test_a_host_already_high_enough_is_left_alone(proc: Path) -> None:
    host.write(KEY, "8192")
    assert host.acquire("won") == [] and host.held() == set()
    assert host.release("won") == []
    assert host.current(KEY) == "8192"


def test_a_value_changed_since_is_not_undone(proc: Path) -> None:
    host.acquire("won")
    host.write(KEY, "4096")  # an engineer raised it further meanwhile
    assert host.release("won") == []
    assert host.current(KEY) == "4096"


def test_doctor_lists_what_the_lab_needs_and_what_it_does_not(proc: Path) -> None:
    rows = {r["setting"]: r for r in host.report()}
    assert rows[KEY]["value"] == "128" and ">= 1024" in rows[KEY]["lab needs"]
    assert rows["net.ipv4.ip_forward"]["status"] == "ok"  # the lab does not depend on it
