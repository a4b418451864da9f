"""Change many switches safely: per switch backup, delta push, verify, save, rollback.

Modelled on Nornir's threaded runner: one task per switch in a bounded pool,
and a failure is a per-switch result, never an exception that stops the rest.
Retries apply to connection setup only; a config push is never blindly
repeated, it is verified and rolled back instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from dcctl import plugins
from dcctl.engines import interrupt
from dcctl.engines.switches.masking import generic_mask, mask_text
from dcctl.engines.switches.secrets import DeviceSecret
from dcctl.files import atomic_write
from dcctl.i18n import N_, _
from dcctl.ssh.knownhosts import (
    HostKeyError,
    KnownHosts,
    fingerprint,
    host_key_changed,
    hostspec,
)


class Driver(Protocol):
    """What the engine needs from a vendor; all device syntax lives behind it."""

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
    def mask(self, line: str) -> str:
        """`line` with every secret value masked (:mod:`.masking`): how lines are shown."""
        ...


def driver_for(vendor: str) -> Driver:
    """The vendor's driver (``dcctl/vendors/<vendor>/driver.py``, found by the registry)."""
    return cast(Driver, plugins.vendor_driver(vendor))


def masker(vendor: str | None) -> Callable[[str], str]:
    """How `vendor`'s config lines are shown: its driver's ``mask``.

    A driver without one (or a vendor that cannot be loaded) gets the generic
    masker, which hides more rather than less: results are shown everywhere.
    """
    try:
        mask = getattr(driver_for(str(vendor)), "mask", None)
    except Exception:
        mask = None
    return mask if callable(mask) else generic_mask


@dataclass
class SwitchResult:
    """Outcome of one switch; `lines` are the remediation (planned or pushed)."""

    name: str
    status: str  # unchanged | changed | planned | failed | rolled_back | backed_up | skipped
    lines: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    backup: str | None = None  # file holding the config as it was before this run

    @property
    def ok(self) -> bool:
        return self.status in ("unchanged", "changed", "planned", "backed_up")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "lines": self.lines,
            "digest": lines_digest(self.lines),
            "error": self.error,
            "seconds": round(self.seconds, 2),
            "backup": self.backup,
        }


@dataclass
class SwitchTarget:
    """Where and as whom to reach one switch; the password never shows in a repr."""

    name: str
    intent: dict[str, Any]
    host: str
    username: str
    password: str = field(repr=False)
    port: int = 22
    #: The enable secret when the switch has its own (the spec's
    #: `enable_credential`); None means the login password is also the secret.
    enable_secret: str | None = field(default=None, repr=False)
    #: The target's pinned host keys: the connection is refused unless this
    #: switch's key is pinned there. Every layer-built target has one; None is
    #: only for a test or benchmark talking to a daemon it started itself.
    known_hosts: Path | None = None
    #: A radio's or AP's keys and passphrases, resolved by the layer (issue 20):
    #: reference -> DeviceSecret. Only the lines pushed carry the values.
    secrets: dict[str, DeviceSecret] = field(default_factory=dict, repr=False)


Connector = Callable[[SwitchTarget, Driver], Any]


def lines_digest(lines: list[str]) -> str:
    """A digest of a switch's delta as shown (secret values masked): what a saved plan
    compares with the delta read at apply time."""
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


#: Why a switch was left alone: a signal asked the run to stop before it was changed.
STOPPED = N_("not started: the run was interrupted (no line was pushed)")
#: Why a saved plan's switch was left alone: its delta is not the one reviewed.
MOVED = N_("live config moved since the saved plan, nothing pushed")

#: Switches changed at once. The work is waiting on devices, not CPU, so the pool
#: covers a regency's whole switch estate and a change window lasts about as long
#: as its slowest switch (48 lab switches: wall 1.0x the slowest with 64, 2.7x
#: with 16); the bound only keeps a very large estate from opening hundreds of
#: sessions at once.
DEFAULT_WORKERS = 64


def netmiko_params(t: SwitchTarget, device_type: str, timeout: float = 20) -> dict[str, Any]:
    """ConnectHandler arguments for one switch (shared with the benchmark's baselines).

    fast_cli stays on (netmiko's default): every read is bounded by read_timeout
    and waits for the prompt, so it is not less safe; turning it off adds ~0.4 s
    of fixed sleeps to every `show` (measured on the lab daemons: 3x slower per switch).
    """
    return {
        "device_type": device_type,
        "host": t.host,
        "port": t.port,
        "username": t.username,
        "password": t.password,
        "secret": t.enable_secret if t.enable_secret is not None else t.password,
        "conn_timeout": timeout,
        "auth_timeout": timeout,
        "banner_timeout": timeout,
        "timeout": timeout,
        "fast_cli": True,
        # Host key pinned (paramiko's RejectPolicy, the target's known_hosts only):
        # the password is never sent to a device whose key is unknown or changed.
        **(
            {
                "ssh_strict": True,
                "system_host_keys": False,
                "alt_host_keys": True,
                "alt_key_file": str(t.known_hosts),
            }
            if t.known_hosts is not None
            else {}
        ),
    }


def netmiko_connect(t: SwitchTarget, drv: Driver, timeout: float = 20) -> Any:
    """A netmiko session; a host key that is not the pinned one raises HostKeyError."""
    import paramiko
    from netmiko import ConnectHandler

    try:
        return ConnectHandler(**netmiko_params(t, drv.device_type, timeout))
    except Exception as exc:
        # netmiko re-raises paramiko's verdict as a timeout; the cause is in the chain.
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, paramiko.BadHostKeyException):
                pinned = KnownHosts(t.known_hosts).get(t.name) if t.known_hosts else None
                offered = fingerprint(f"{cause.key.get_name()} {cause.key.get_base64()}")
                raise HostKeyError(
                    host_key_changed(
                        t.name,
                        pinned.fingerprint if pinned else "?",
                        offered,
                        hostspec(t.host, t.port),
                        who=_("switch {name}").format(name=t.name),
                    )
                ) from None
            if "not found in known_hosts" in str(cause):
                raise HostKeyError(
                    _(
                        "switch {name}: no pinned host key for {address}; "
                        "check the fingerprint and pin it with `dcctl hostkeys trust`"
                    ).format(name=t.name, address=hostspec(t.host, t.port))
                ) from None
            cause = cause.__cause__ or cause.__context__
        raise


def _connect(t: SwitchTarget, drv: Driver, connect: Connector, retries: int) -> Any:
    delay = 1.0
    for attempt in range(retries + 1):
        try:
            conn = connect(t, drv)
            if hasattr(conn, "enable"):
                conn.enable()
            prepare = getattr(drv, "prepare", None)  # optional: a vendor's session fix-ups
            if prepare is not None:
                prepare(conn)
            return conn
        except Exception as exc:
            if attempt == retries or isinstance(exc, HostKeyError):
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
    expected: str | None = None,
) -> SwitchResult:
    """Bring one switch to its intent; never raises, the outcome is the result.

    ``expected`` is the :func:`lines_digest` of the lines a saved plan showed for
    this switch: if the delta read now differs (the live config moved since the
    plan), nothing is pushed.

    The intended config is rendered before connecting, so an unsafe value in the
    intent fails the switch without a session ever being opened. A rollback is
    only attempted once a push has started: until then the device is untouched.
    """
    start = time.monotonic()

    saved: list[str] = []

    hide = masker(t.intent.get("vendor"))

    def result(status: str, lines: list[str], error: str | None = None) -> SwitchResult:
        # Shown in plans, JSON, the audit log: secret values masked here, once.
        took = time.monotonic() - start
        shown = [hide(line) for line in lines]
        error = mask_text(error, hide) if error else None
        return SwitchResult(t.name, status, shown, error, took, saved[0] if saved else None)

    if interrupt.requested():  # a safe point: this switch was never touched
        return result("skipped", [], _(STOPPED))
    try:
        drv = driver_for(t.intent["vendor"])
        intended = render_intended(drv, t)
    except Exception as exc:
        return result("failed", [], f"render: {_short(exc)}")
    full = t.intent.get("managed") == "full"
    try:
        conn = _connect(t, drv, connect, retries)
    except Exception as exc:
        return result("failed", [], _("connect: {problem}").format(problem=_short(exc)))
    backup = ""
    lines: list[str] = []
    pushing = False
    try:
        backup = drv.read_running(conn)
        lines = drv.remediation(backup, intended, managed_vlans, full)
        lines += stale_keys(drv, conn, intended)
        if dry_run or not lines:
            return result("planned" if (dry_run and lines) else "unchanged", lines)
        if expected is not None and lines_digest([hide(line) for line in lines]) != expected:
            why = _("{moved}: its {count} lines now are not the reviewed ones; plan again")
            return result("failed", lines, why.format(moved=_(MOVED), count=len(lines)))
        if interrupt.requested():  # the last safe point before the device changes
            return result("skipped", lines, _(STOPPED))
        if backup_dir is not None:
            saved.append(str(write_backup(backup_dir, t.name, backup)))
        pushing = True
        drv.push(conn, lines)
        problems = verify_whole(drv, conn, t.intent, intended, managed_vlans, full)
        if problems:
            raise VerifyError("; ".join(problems))
        drv.save(conn)
        return result("changed", lines)
    except Exception as exc:
        error = _short(exc)
        _close(conn)
        if not pushing:
            return result("failed", lines, error)
        try:
            conn = _connect(t, drv, connect, retries)
            undo = drv.restore(drv.read_running(conn), backup)
            if undo:
                drv.push(conn, undo)
            left = drv.restore(drv.read_running(conn), backup)
            if left:
                raise RollbackError(
                    _("{count} lines still differ from the backup: {lines}").format(
                        count=len(left), lines=left[:3]
                    )
                )
            return result("rolled_back", lines, error)
        except Exception as exc2:
            why = _("{error}; rollback failed: {problem}")
            return result("failed", lines, why.format(error=error, problem=_short(exc2)))
    finally:
        _close(conn)


def render_intended(drv: Driver, t: SwitchTarget) -> str:
    """The intended config of `t`; a device with keys (a radio, an AP) gets them too.

    Only a driver of a vendor with radios takes ``secrets`` (RouterOS); a wired
    switch's intent names none, so every driver keeps the two-argument contract.
    """
    if t.secrets:
        return cast(Any, drv).intended(t.name, t.intent, t.secrets)  # type: ignore[no-any-return]
    return drv.intended(t.name, t.intent)


def verify_whole(
    drv: Driver,
    conn: Any,
    intent: dict[str, Any],
    intended: str,
    managed_vlans: set[int],
    full: bool,
) -> list[str]:
    """Mismatches between the device and the intent after a push; [] if none.

    Two views: the whole managed config read back must need no remediation
    (every line dcctl owns: hostname, VLANs, descriptions, trunk lists, not a
    hand-picked subset), and the vendor's operational check (parsed `show`
    output) must agree, so a line the device took but did not act on is caught.
    """
    left = drv.remediation(drv.read_running(conn), intended, managed_vlans, full)
    left += stale_keys(drv, conn, intended)
    differs = _("config still differs ({count} lines): {lines}")
    problems = [differs.format(count=len(left), lines=left[:5])] if left else []
    return problems + drv.verify(conn, intent)


def stale_keys(drv: Driver, conn: Any, intended: str) -> list[str]:
    """The driver's lines re-setting keys changed by hand ([] for a driver without keys).

    Only a vendor with radios and Wi-Fi (RouterOS) has keys a running config hides; its
    driver reads them apart, in memory, so backups and plans never hold one.
    """
    check = getattr(drv, "stale_keys", None)
    return list(check(conn, intended)) if check is not None else []


def write_backup(backup_dir: Path, name: str, text: str) -> Path:
    """`backup_dir/<name>.cfg`, 0600 in a 0700 directory, replaced atomically.

    Why private: a running config holds the enable secret and user hashes, SNMP
    communities and RouterOS users; on a shared machine a 0644 backup hands them to
    every local user. The directory is made (or tightened to) 0700 and backups an
    older dcctl wrote 0644 are tightened too. The temp file has a unique name and
    is created 0600 (``mkstemp``), so a crash never leaves half a file and two runs
    never share a temp file.
    """
    backup_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_dir(backup_dir)
    path = backup_dir / f"{name}.cfg"
    atomic_write(path, text, mode=0o600)
    return path


def private_dir(directory: Path) -> None:
    """Make `directory` 0700 and every backup in it 0600 (backups older runs left 0644)."""
    os.chmod(directory, 0o700)
    for cfg in directory.glob("*.cfg"):
        if cfg.is_file() and not cfg.is_symlink() and cfg.stat().st_mode & 0o077:
            os.chmod(cfg, 0o600)


class RollbackError(RuntimeError):
    """The device still differs from the backup after the rollback was pushed."""


class VerifyError(RuntimeError):
    """The device accepted the change but does not show the intended state."""


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def backup_switch(
    t: SwitchTarget,
    backup_dir: Path,
    connect: Connector = netmiko_connect,
    retries: int = 2,
) -> SwitchResult:
    """Save the running config to `backup_dir/<name>.cfg` without changing anything."""
    start = time.monotonic()
    try:
        drv = driver_for(t.intent["vendor"])
        conn = _connect(t, drv, connect, retries)
    except Exception as exc:
        return SwitchResult(
            t.name, "failed", error=_("connect: {problem}").format(problem=_short(exc))
        )
    try:
        path = write_backup(backup_dir, t.name, drv.read_running(conn))
        return SwitchResult(t.name, "backed_up", seconds=time.monotonic() - start, backup=str(path))
    except Exception as exc:
        error = mask_text(_short(exc), masker(t.intent.get("vendor")))
        return SwitchResult(t.name, "failed", error=error, seconds=time.monotonic() - start)
    finally:
        _close(conn)


def run_all(
    targets: list[SwitchTarget],
    task: Callable[[SwitchTarget], SwitchResult],
    workers: int = DEFAULT_WORKERS,
    on_done: Callable[[SwitchResult], None] | None = None,
) -> list[SwitchResult]:
    """Run `task` for every target in a bounded pool; results sorted by name.

    `on_done` is called from the calling thread as each switch finishes, so a
    progress bar needs no locking. A task that raises anyway (a bug) becomes a
    failed result instead of hiding the other switches' outcomes.
    """
    results: list[SwitchResult] = []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets) or 1))) as pool:
        futs = {pool.submit(task, t): t for t in targets}
        for fut in as_completed(futs):
            try:
                res = fut.result()
            except Exception as exc:
                res = SwitchResult(futs[fut].name, "failed", error=f"internal: {_short(exc)}")
            results.append(res)
            if on_done:
                on_done(res)
    return sorted(results, key=lambda r: r.name)


def change_all(
    targets: list[SwitchTarget],
    managed_vlans: set[int],
    backup_dir: Path | None,
    dry_run: bool = False,
    workers: int = DEFAULT_WORKERS,
    on_done: Callable[[SwitchResult], None] | None = None,
    connect: Connector = netmiko_connect,
    retries: int = 2,
    expected: dict[str, str] | None = None,
) -> list[SwitchResult]:
    """`change_switch` on every target, at most `workers` at a time.

    ``expected``: a saved plan's line digests per switch (see :func:`change_switch`).
    """
    want = expected or {}
    return run_all(
        targets,
        lambda t: change_switch(
            t, managed_vlans, backup_dir, dry_run, connect, retries, want.get(t.name)
        ),
        workers,
        on_done,
    )
