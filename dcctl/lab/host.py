"""Host kernel settings the lab needs: set by `lab up`, reported, and undone by `lab down`.

Why a module of its own: the lab must work on a fresh machine, whose settings
are the kernel's defaults, and must leave a machine as it found it. Each
setting the lab raises is recorded with the host's original value and the labs
(or test hosts) that hold it, in one file under the lab state root; the last
holder to let go restores the original, unless someone changed the value since.
`dcctl doctor` lists the same table with the host's current values.

What the lab does *not* need from the host is listed too (``INDEPENDENT``), so
doctor can say so: each lab namespace and lab machine sets its own forwarding,
whatever the host's `net.ipv4.ip_forward` is.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dcctl.i18n import N_, _

#: Where the kernel's settings live (a test points it at a scratch tree).
PROC_SYS = Path("/proc/sys")

__all__ = [
    "INDEPENDENT",
    "NEEDED",
    "HostSetting",
    "acquire",
    "current",
    "held",
    "holders",
    "release",
    "report",
    "write",
]


@dataclass(frozen=True)
class HostSetting:
    """A sysctl the lab needs at least `minimum` of, and why."""

    key: str
    minimum: int
    why: str


NEEDED: tuple[HostSetting, ...] = (
    HostSetting(
        "fs.inotify.max_user_instances",
        1024,
        N_(
            "every systemd lab machine and wireguard-go holds inotify instances; "
            "the default 128 runs out with a dozen lab machines"
        ),
    ),
)

#: Host settings the lab does not depend on (shown by doctor, never changed).
INDEPENDENT: dict[str, str] = {
    "net.ipv4.ip_forward": N_("each lab namespace and lab machine sets its own forwarding"),
}


def current(key: str) -> str | None:
    """The host's value of sysctl `key` (None if the kernel has no such setting)."""
    try:
        return (PROC_SYS / key.replace(".", "/")).read_text().strip()
    except OSError:
        return None


def write(key: str, value: str) -> None:
    """Set the host's sysctl `key` (root only)."""
    (PROC_SYS / key.replace(".", "/")).write_text(f"{value}\n")


def holders() -> dict[str, list[str]]:
    """Setting -> the labs (or test hosts) that currently hold it raised."""
    try:
        data = json.loads(_record_path().read_text())
    except (OSError, ValueError):
        return {}
    return {
        k: list(v["holders"])
        for k, v in data.items()
        if isinstance(v, dict) and isinstance(v.get("holders"), list) and v["holders"]
    }


def held() -> set[str]:
    """Settings some lab (or test host) currently holds raised."""
    return set(holders())


def _record_path() -> Path:
    from dcctl.lab.topology import state_root

    return state_root() / "host-settings.json"


@contextlib.contextmanager
def _record() -> Iterator[dict[str, dict[str, object]]]:
    """The record, read and written under an exclusive lock (labs start in parallel)."""
    path = _record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError):
            data = {}
        yield data
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)


def acquire(holder: str) -> list[str]:
    """Raise every NEEDED setting to its minimum for `holder`; returns what changed.

    A setting already high enough is left alone and not recorded (nothing to undo).
    """
    changed: list[str] = []
    with _record() as data:
        for s in NEEDED:
            entry = data.get(s.key)
            value = current(s.key)
            if value is None:
                continue
            if entry is None and int(value) >= s.minimum:
                continue
            if entry is None:
                write(s.key, str(s.minimum))
                entry = {"original": value, "set": str(s.minimum), "holders": []}
                data[s.key] = entry
                changed.append(f"{s.key} {value} -> {s.minimum}")
            elif int(value) < s.minimum:  # lowered behind our back: raise it again
                write(s.key, str(s.minimum))
                changed.append(f"{s.key} {value} -> {s.minimum}")
            holders = entry["holders"]
            assert isinstance(holders, list)
            if holder not in holders:
                holders.append(holder)
    return changed


def release(holder: str) -> list[str]:
    """Let go of `holder`'s settings; the last holder restores the host's originals."""
    restored: list[str] = []
    with _record() as data:
        for key in list(data):
            entry = data[key]
            holders = entry.get("holders")
            if not isinstance(holders, list) or holder not in holders:
                continue
            holders.remove(holder)
            if holders:
                continue
            del data[key]
            if current(key) == entry.get("set"):  # nobody changed it since: undo ours
                write(key, str(entry["original"]))
                restored.append(_("{key} back to {value}").format(key=key, value=entry["original"]))
    return restored


def report() -> list[dict[str, str]]:
    """Rows for doctor: each setting, the host's value, what the lab needs, and status."""
    rows = []
    for s in NEEDED:
        value = current(s.key)
        ok = value is not None and int(value) >= s.minimum
        rows.append(
            {
                "setting": s.key,
                "value": value or "?",
                "lab needs": _(">= {minimum} (lab up sets it, lab down restores it)").format(
                    minimum=s.minimum
                ),
                "status": "ok" if ok else "lab up will raise it",
                "why": _(s.why),
            }
        )
    for key, why in INDEPENDENT.items():
        rows.append(
            {
                "setting": key,
                "value": current(key) or "?",
                "lab needs": _("any value"),
                "status": "ok",
                "why": _(why),
            }
        )
    return rows
