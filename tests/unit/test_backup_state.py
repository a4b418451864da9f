"""Backup records (issue 18): what backups and drills recorded, read back as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dcctl.backup.state import (
    BackupRun,
    DrillRun,
    load,
    parse_time,
    record_backup,
    record_drill,
    records_path,
)
from dcctl.spec import load_spec
from dcctl.spec.source import DataFileError


def test_records_round_trip_and_keep_each_repository(tmp_path: Path) -> None:
    path = tmp_path / "backup" / "records.json"
    assert load(path) == {}  # nothing recorded yet
    first = BackupRun(time="2026-12-07T03:00:05Z", snapshot="4f2a9c1e", files=3, bytes=10)
    record_backup(path, "dinkes/simpus-db", "primary", first)
    record_backup(path, "dinkes/simpus-db", "offsite", BackupRun("2026-12-07T03:05:00Z", "77aa"))
    drill = DrillRun("2026-12-07T03:10:00Z", True, 12.4, "4f2a9c1e", 3, "restic check")
    record_drill(path, "dinkes/simpus-db", drill)
    newer = BackupRun(time="2026-12-07T04:00:05Z", snapshot="5b3b")
    record_backup(path, "dinkes/simpus-db", "primary", newer)
    rec = load(path)["dinkes/simpus-db"]
    assert rec.backups == {"primary": newer, "offsite": BackupRun("2026-12-07T03:05:00Z", "77aa")}
    assert rec.drill == drill
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["format"] == 1


def test_a_file_not_of_this_format_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text('{"format": 1, "vms": {"a/b": {"backups": {"primary": {"when": 1}}}}}')
    with pytest.raises(DataFileError, match=r"records\.json"):
        load(path)
    path.write_text("[1, 2]")
    with pytest.raises(DataFileError, match="not a backup record file"):
        load(path)


def test_each_target_keeps_its_own_records(spec_repo: Path) -> None:
    spec = load_spec(spec_repo)
    assert records_path(spec, "prod") == spec.state_dir / "backup" / "records.json"
    assert records_path(spec, "lab") == spec.state_dir / "backup" / "lab" / "records.json"


def test_times_are_utc() -> None:
    assert parse_time("2026-12-07T10:00:00+07:00") == parse_time("2026-12-07T03:00:00Z")
    with pytest.raises(ValueError, match="offset"):
        parse_time("2026-12-07T03:00:00")
