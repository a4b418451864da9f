"""What dcctl knows of backups and restore drills: one JSON record per target (issue 18).

Why a record in the state: ``dcctl backup status`` and the consolidation report answer
"when was this VM last backed up, into which repositories, and was a restore of it last
proven" offline, from the spec repo, the same way for the lab and production. Whoever
learns a fact writes it here (an apply or ``dcctl backup drill`` reading restic's
snapshot list records the last backup per repository; a drill records its result and
measured duration); everything else only reads.

The file (``state/backup/records.json``, the lab's ``state/backup/lab/records.json``)::

    {"format": 1,
     "vms": {"dinkes/simpus-db": {
         "backups": {"primary": {"time": "2026-12-07T03:00:05Z", "snapshot": "4f2a9c1e",
                                 "files": 120, "bytes": 5242880},
                     "offsite": {...}},
         "drill": {"time": "2026-12-07T03:10:00Z", "ok": true, "duration_s": 12.4,
                   "snapshot": "4f2a9c1e", "files": 120, "detail": "..."}}}}

Times are UTC ISO 8601 with ``Z``. No secret goes in (no key, no password, no file
content): snapshot IDs, counts, sizes and times only. Writes replace the file atomically
under a flock on its directory, so a drill and an apply recording at once both land.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dcctl import targets
from dcctl.files import atomic_write, locked
from dcctl.i18n import _
from dcctl.spec.loader import Spec
from dcctl.spec.source import DataFileError, load_data

__all__ = [
    "FILE_NAME",
    "BackupRun",
    "DrillRun",
    "Records",
    "VmRecord",
    "load",
    "parse_time",
    "record_backup",
    "record_drill",
    "records_path",
    "utc_now",
]

FILE_NAME = "records.json"
FORMAT = 1


def records_path(spec: Spec, target: targets.Target | str) -> Path:
    """``state/backup/records.json`` for production; the lab keeps its own."""
    return targets.get(target).state_path(spec.state_dir / "backup") / FILE_NAME


def utc_now() -> str:
    """Now, as the records write times (``2026-12-07T03:00:05Z``)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> dt.datetime:
    """A record's time as an aware UTC datetime (``Z`` or an explicit offset)."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(
            _("{value!r}: a record time carries its offset (Z for UTC)").format(value=value)
        )
    return parsed.astimezone(dt.UTC)


@dataclass(frozen=True)
class BackupRun:
    """The last successful backup of a VM into one repository."""

    time: str
    snapshot: str
    files: int | None = None
    bytes: int | None = None


@dataclass(frozen=True)
class DrillRun:
    """The last restore drill of a VM: restored, checked, and how long it took."""

    time: str
    ok: bool
    duration_s: float
    snapshot: str
    files: int | None = None
    detail: str = ""


@dataclass
class VmRecord:
    """What is recorded of one VM: the last backup per repository, the last drill."""

    backups: dict[str, BackupRun] = field(default_factory=dict)
    drill: DrillRun | None = None


Records = dict[str, VmRecord]


def _vm_record(key: str, raw: Any) -> VmRecord:
    if not isinstance(raw, dict):
        raise ValueError(_("{where}: expected a mapping").format(where=key))
    backups = raw.get("backups") or {}
    if not isinstance(backups, dict):
        raise ValueError(_("{where}: expected a mapping").format(where=f"{key}.backups"))
    drill = raw.get("drill")
    return VmRecord(
        backups={str(repo): BackupRun(**run) for repo, run in backups.items()},
        drill=DrillRun(**drill) if drill is not None else None,
    )


def load(path: Path) -> Records:
    """Every VM's record in ``path``; none yet (no file) is an empty mapping.

    Raises :class:`~dcctl.spec.source.DataFileError` naming the file for one that is
    not a record file of this format (hand-edited, truncated, hostile).
    """
    try:
        data = load_data(path)
    except FileNotFoundError:
        return {}
    try:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(_("not a backup record file of format {format}").format(format=FORMAT))
        vms = data.get("vms") or {}
        if not isinstance(vms, dict):
            raise ValueError(_("{where}: expected a mapping").format(where="vms"))
        return {str(k): _vm_record(str(k), v) for k, v in vms.items()}
    except (TypeError, ValueError) as exc:
        raise DataFileError(f"{path}: {exc}") from None


def _dump(records: Records) -> str:
    vms = {
        key: {
            "backups": {repo: asdict(run) for repo, run in sorted(rec.backups.items())},
            "drill": asdict(rec.drill) if rec.drill is not None else None,
        }
        for key, rec in sorted(records.items())
    }
    return json.dumps({"format": FORMAT, "vms": vms}, indent=2, sort_keys=True) + "\n"


def _update(path: Path, key: str, change: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.parent):
        records = load(path)
        change(records.setdefault(key, VmRecord()))
        atomic_write(path, _dump(records), mode=0o600)


def record_backup(path: Path, key: str, repository: str, run: BackupRun) -> None:
    """Record ``run`` as VM ``key``'s last backup into ``repository`` (primary, offsite)."""

    def change(rec: VmRecord) -> None:
        rec.backups[repository] = run

    _update(path, key, change)


def record_drill(path: Path, key: str, run: DrillRun) -> None:
    """Record ``run`` as VM ``key``'s last restore drill (a failed one too)."""

    def change(rec: VmRecord) -> None:
        rec.drill = run

    _update(path, key, change)
