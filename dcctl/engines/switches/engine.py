"""Change many switches safely: per switch backup, delta push, verify, save, rollback.

Modelled on Nornir's threaded runner: one task per switch in a bounded pool,
and a failure is a per-switch result, never an exception that stops the rest.
Retries apply to connection setup only; a config push is never blindly
repeated, it is verified and rolled back instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dcctl.engines.switches.ios import IosDriver


class Driver(Protocol):
    device_type: str

    def intended(self, name: str, intent: dict[str, Any]) -> str: ...
    def read_running(self, conn: Any) -> str: ...
    def remediation(
        self, running: str, intended: str, managed_vlans: set[int], full: bool
    ) -> list[str]: ...
    def restore(self, running: str, backup: str) -> list[str]: ...
    def push(self, conn: Any, lines: list[str]) -> str: ...
    def verify(self, conn: Any, intent: dict[str, Any]) -> list[str]: ...
    def save(self, conn: Any) -> None: ...


DRIVERS: dict[str, Driver] = {"cisco_ios": IosDriver()}


@dataclass
class SwitchResult:
    name: str
    status: str  # unchanged | changed | planned | failed | rolled_back
    lines: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("unchanged", "changed", "planned")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "lines": self.lines,
            "error": self.error,
            "seconds": round(self.seconds, 2),
        }


@dataclass
class SwitchTarget:
    name: str
    intent: dict[str, Any]
    host: str
    username: str
    password: str
    port: int = 22


Connector = Callable[[SwitchTarget, Driver], Any]


def netmiko_connect(t: SwitchTarget, drv: Driver, timeout: float = 20) -> Any:
    from netmiko import ConnectHandler

    return ConnectHandler(
        device_type=drv.device_type,
        host=t.host,
        port=t.port,
        username=t.username,
        password=t.password,
        secret=t.password,
        conn_timeout=timeout,
        auth_timeout=timeout,
        banner_timeout=timeout,
        timeout=timeout,
        fast_cli=False,
    )


def _connect(t: SwitchTarget, drv: Driver, connect: Connector, retries: int) -> Any:
    delay = 1.0
    for attempt in range(retries + 1):
        try:
            conn = connect(t, drv)
            if hasattr(conn, "enable"):
                conn.enable()
            return conn
        except Exception:
            if attempt == retries:
                raise
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):  # the session may already be gone
        conn.disconnect()


def change_switch(
    t: SwitchTarget,
    managed_vlans: set[int],
    backup_dir: Path | None,
    dry_run: bool = False,
    connect: Connector = netmiko_connect,
    retries: int = 2,
) -> SwitchResult:
    start = time.monotonic()
    drv = DRIVERS[t.intent["vendor"]]
    full = t.intent.get("managed") == "full"
    try:
        conn = _connect(t, drv, connect, retries)
    except Exception as exc:
        return SwitchResult(
            t.name, "failed", error=f"connect: {_short(exc)}", seconds=time.monotonic() - start
        )
    backup = ""
    lines: list[str] = []
    try:
        backup = drv.read_running(conn)
        lines = drv.remediation(backup, drv.intended(t.name, t.intent), managed_vlans, full)
        if dry_run or not lines:
            status = "planned" if (dry_run and lines) else "unchanged"
            return SwitchResult(t.name, status, lines, seconds=time.monotonic() - start)
        if backup_dir is not None:
            backup_dir.mkdir(parents=True, exist_ok=True)
            (backup_dir / f"{t.name}.cfg").write_text(backup)
        drv.push(conn, lines)
        problems = drv.verify(conn, t.intent)
        if problems:
            raise VerifyError("; ".join(problems))
        drv.save(conn)
        return SwitchResult(t.name, "changed", lines, seconds=time.monotonic() - start)
    except Exception as exc:
        error = _short(exc)
        _close(conn)
        if not backup or dry_run:
            return SwitchResult(t.name, "failed", lines, error, time.monotonic() - start)
        try:
            conn = _connect(t, drv, connect, retries)
            undo = drv.restore(drv.read_running(conn), backup)
            if undo:
                drv.push(conn, undo)
            return SwitchResult(t.name, "rolled_back", lines, error, time.monotonic() - start)
        except Exception as exc2:
            return SwitchResult(
                t.name,
                "failed",
                lines,
                f"{error}; rollback failed: {_short(exc2)}",
                time.monotonic() - start,
            )
    finally:
        _close(conn)


class VerifyError(RuntimeError):
    """The device accepted the change but does not show the intended state."""


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def change_all(
    targets: list[SwitchTarget],
    managed_vlans: set[int],
    backup_dir: Path | None,
    dry_run: bool = False,
    workers: int = 16,
    on_done: Callable[[SwitchResult], None] | None = None,
    connect: Connector = netmiko_connect,
) -> list[SwitchResult]:
    results: list[SwitchResult] = []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets) or 1))) as pool:
        futs = {
            pool.submit(change_switch, t, managed_vlans, backup_dir, dry_run, connect): t
            for t in targets
        }
        for fut in as_completed(futs):
            res = fut.result()
            results.append(res)
            if on_done:
                on_done(res)
    return sorted(results, key=lambda r: r.name)
