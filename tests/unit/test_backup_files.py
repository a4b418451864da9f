"""Switch backups hold secrets (enable secret, user hashes, SNMP communities): 0600 in 0700.

Issue 15: backups were written 0644, readable by every local user of the
machine that runs dcctl. These tests check the modes of new backups, that older
backups (and their directory) are tightened on the next write, and that a
failed write leaves no temp file behind.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dcctl.engines.switches.engine import write_backup

CONFIG = "hostname sw1\nenable secret 9 $9$abc$def\nsnmp-server community s3cret RO\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_backup_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: without care files would be 0644
    try:
        path = write_backup(tmp_path / "state" / "switches", "sw1", CONFIG)
    finally:
        os.umask(old)
    assert path.read_text() == CONFIG
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["sw1.cfg"], "no temp file left"


def test_older_backups_and_their_directory_are_tightened(tmp_path: Path) -> None:
    d = tmp_path / "switches"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    old = d / "sw-old.cfg"
    old.write_text(CONFIG)
    os.chmod(old, 0o644)
    write_backup(d, "sw1", CONFIG)
    assert mode(d) == 0o700
    assert mode(old) == 0o600
    # A replaced backup keeps 0600 (the temp file is created private, then renamed).
    os.chmod(d / "sw1.cfg", 0o644)
    write_backup(d, "sw1", CONFIG + "!\n")
    assert mode(d / "sw1.cfg") == 0o600


def test_a_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    d = tmp_path / "switches"
    with pytest.raises(TypeError):
        write_backup(d, "sw1", None)  # type: ignore[arg-type]
    assert list(d.iterdir()) == []
