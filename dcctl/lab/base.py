"""What every lab command shares: the operator error, the result, the state dir's small
files (pid files, fault markers) and the record one `lab up` keeps of what it changed.

Why a module of its own: `up`'s steps live in one module per concern (preflight,
reconcile, processes, offices) and `status`/faults/`down` read the same pid files
and fault markers; keeping these here lets each of those modules import them
without importing each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dcctl.files import atomic_write
from dcctl.lab import net
from dcctl.lab.plan import CameraPlan, LabPlan, OfficePlan, SwitchPlan

LAB_JSON = "lab.json"
FAULTS_DIR = "faults"
DAEMON_PID = "daemon.pid"
SWITCHD_PID = "switchd.pid"


class LabError(Exception):
    """A problem the operator can fix; `hint` says how. Rendered without traceback."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class Reporter(Protocol):
    def step(self, text: str) -> None: ...


class Quiet:
    def step(self, text: str) -> None:
        pass


@dataclass
class Result:
    action: str
    lab_id: str
    elapsed: float = 0.0
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    switchd: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["elapsed"] = round(self.elapsed, 2)
        return d


@dataclass
class UpRun:
    """What one `lab up` has changed so far; its steps read it to decide what to restart."""

    plan: LabPlan
    res: Result
    created_ifs: set[str] = field(default_factory=set)
    new_bridges: set[str] = field(default_factory=set)
    new_ports: set[str] = field(default_factory=set)
    changed_configs: set[str] = field(default_factory=set)
    started: list[tuple[str, str]] = field(default_factory=list)  # ("switch"|"camera", name)
    counts: dict[str, int] = field(default_factory=dict)

    def change(self, what: str, n: int = 1) -> None:
        """Count a change; the result lists "N what" per kind, in order of first use."""
        if n <= 0:
            return
        self.counts[what] = self.counts.get(what, 0) + n
        self.res.changes = [f"{c} {w}" for w, c in self.counts.items()]

    def warn(self, text: str) -> None:
        self.res.warnings.append(text)


# --------------------------------------------------------------------------
# State-dir files


def write_if_changed(path: Path, text: str, mode: int | None = None) -> bool:
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text, mode=mode)
    return True


def _fault_path(state_dir: Path, kind: str, key: str) -> Path:
    return state_dir / FAULTS_DIR / f"{kind}-{key.replace('/', '-')}"


def fault(state_dir: Path, kind: str, key: str) -> str | None:
    """The fault someone injected on purpose (a marker file), so `up` does not heal it."""
    try:
        return _fault_path(state_dir, kind, key).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def set_fault(state_dir: Path, kind: str, key: str, value: str | None) -> None:
    path = _fault_path(state_dir, kind, key)
    if value is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n", encoding="utf-8")


def wan_up(plan: LabPlan, office: OfficePlan) -> bool:
    return fault(plan.state_dir, "wan", office.key) != "down"


def switch_pid(plan: LabPlan, sw: SwitchPlan) -> int | None:
    return net.read_pid(
        plan.switch_dir(sw.name) / DAEMON_PID, marker=str(plan.switchd_config_path(sw.name))
    )


def camera_pid(plan: LabPlan, cam: CameraPlan) -> int | None:
    return net.read_pid(plan.camera_pid_path(cam), marker=str(plan.camera_pid_path(cam)))


def parallel(fn: Callable[[Any], Any], items: Iterable[Any], workers: int = 8) -> list[Any]:
    items = list(items)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))
