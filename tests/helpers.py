"""Helpers shared by unit and lab tests: a poller, a free port, lab switch daemons.

Why one module: these were copied into three or four test files each, and the
copies had started to differ (which exceptions a poll retries, how long a daemon
gets to listen, whether a dead daemon's stderr is shown). Plain functions, not
fixtures, because the callers use them inside their own fixtures and classes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent

T = TypeVar("T")


def wait_for(
    what: str,
    probe: Callable[[], T],
    timeout: float,
    *,
    interval: float = 1.0,
    ok: Callable[[T], object] = bool,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Poll ``probe()`` until ``ok(result)`` holds and return that result.

    An exception in ``retry_on`` (a service still starting) counts as a miss; any
    other propagates at once. On timeout the test fails with ``what`` and the last
    result or exception, which is what one needs to see to tell slow from broken.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = probe()
        except retry_on as exc:
            last = exc
        else:
            if ok(value):
                return value
            last = value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}; last: {last!r}"
            )
        time.sleep(interval)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel's pick for an ephemeral bind)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def write_switchd_config(
    path: Path,
    *,
    name: str,
    vendor: str,
    bridge: str,
    ports: Mapping[str, str],
    listen: str,
    port: int,
    password_file: Path,
    state_dir: Path,
    enable_password_file: Path | None = None,
) -> Path:
    """The JSON config of one ``python -m dcctl.lab.switchd`` (user ``admin``)."""
    cfg = {
        "name": name,
        "vendor": vendor,
        "bridge": bridge,
        "ports": dict(ports),
        "listen": listen,
        "port": port,
        "username": "admin",
        "password_file": str(password_file),
        "state_dir": str(state_dir),
        "host_key": str(state_dir / "ssh_host_ed25519_key"),
    }
    if enable_password_file is not None:
        cfg["enable_password_file"] = str(enable_password_file)
    path.write_text(json.dumps(cfg, indent=1))
    return path


def start_switchd(
    name: str,
    config: Path,
    state_dir: Path,
    host: str,
    port: int,
    *,
    netns: str | None = None,
    no_ovs: bool = False,
    timeout: float = 30,
) -> subprocess.Popen[bytes]:
    """Start a lab switch daemon and return once it accepts TCP connections on host:port.

    The daemon runs in ``netns`` when given (lab tests) and in its own session,
    with stdout/stderr appended to ``state_dir/stderr.txt``; a daemon that exits
    or never listens raises RuntimeError with the tail of that file.
    """
    (state_dir / "switchd.pid").unlink(missing_ok=True)
    argv = [sys.executable, "-m", "dcctl.lab.switchd", "--config", str(config)]
    if no_ovs:
        argv.append("--no-ovs")
    if netns is not None:
        argv = ["ip", "netns", "exec", netns, *argv]
    errors = state_dir / "stderr.txt"
    with open(errors, "ab") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=out,
            cwd=REPO,
            start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {errors.read_text()[-2000:]}")
        if (state_dir / "switchd.pid").exists():
            with contextlib.suppress(OSError), socket.create_connection((host, port), 1):
                return proc
        time.sleep(0.05)
    stop_process(proc)
    raise RuntimeError(f"{name} did not listen on {host}:{port}: {errors.read_text()[-2000:]}")


def stop_process(proc: subprocess.Popen[Any] | None, sig: signal.Signals = signal.SIGTERM) -> None:
    """Send ``sig``, give the process 10 s, then kill it; a finished process is left alone."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def domain_vars(provider: Callable[..., Any], spec: Any, state_dir: Path | str, target: str) -> Any:
    """One domain's RoleVars as a run would get them: the spec's desired state, the target.

    Why a helper: a provider receives the run's desired state and the target
    object (:data:`dcctl.engines.ansible.vars.Provider`); a test that looks at
    one domain computes both the way the hosts layer does.
    """
    from dcctl import targets
    from dcctl.plan.desired import desired_state

    return provider(spec, desired_state(spec), Path(state_dir), targets.get(target))


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` (argument list, no shell); its stdout, or CalledProcessError."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def git_init_commit(repo: Path, message: str = "spec") -> Path:
    """Make `repo` a Git repo on `main` with an infra-team identity and commit all of it."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Infra Kominfo")
    git(repo, "config", "user.email", "aptika@wonosobokab.go.id")
    git(repo, "config", "commit.gpgsign", "false")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return repo


def edit_file(repo: Path, file: str, old: str, new: str) -> Path:
    """Replace the first ``old`` in ``repo/file`` with ``new`` (a stale ``old`` fails the test)."""
    path = repo / file
    text = path.read_text()
    assert old in text, f"test case stale: {old!r} not in {file}"
    path.write_text(text.replace(old, new, 1))
    return path


def spec_error(repo: Path, fragment: str) -> Any:
    """The first error of loading ``repo`` whose message or hint has ``fragment``.

    The spec must be refused, and by an error saying ``fragment``: a spec refused
    for another reason does not pass for the rule under test.
    """
    import pytest

    from dcctl.spec import SpecErrors, load_spec

    with pytest.raises(SpecErrors) as exc:
        load_spec(repo)
    hits = [e for e in exc.value.errors if fragment in e.message + (e.hint or "")]
    assert hits, f"no error mentions {fragment!r}: {exc.value}"
    return hits[0]


def camera_env_vars(spec: Any) -> list[str]:
    """The environment variables the cameras of ``spec`` take their passwords from.

    Each OPD has its own (an OPD's references carry its code), so a test that sets
    "the camera password" sets every one of them.
    """
    refs = {c.credential for opd in spec.opds.values() for c in opd.cameras}
    return sorted(ref.partition(":")[2] for ref in refs if ref.startswith("env:"))


def assert_edit_refused(
    repo: Path, file: str, old: str, new: str, field: str, fragment: str
) -> Any:
    """Edit ``repo/file`` (``old`` -> ``new``); the spec must be refused at ``file``,
    at a line, at a field path starting with ``field``, by an error saying ``fragment``."""
    edit_file(repo, file, old, new)
    err = spec_error(repo, fragment)
    assert err.file == file and err.line is not None, err
    assert err.path.startswith(field), (err.path, field)
    return err


def stop_hosts_after_first_play(monkeypatch: Any) -> list[str]:
    """Stand in for ansible-playbook so a SIGINT lands during the first play of a hosts
    run (no roles, no SSH key); returns the plays started, filled as the run goes."""
    from dcctl.engines import interrupt
    from dcctl.engines.ansible import layer as hosts_layer
    from dcctl.engines.ansible import runner
    from dcctl.engines.ansible.vars import RoleVars

    started: list[str] = []

    def play(path: Path, inventory: Any, **kw: Any) -> runner.PlaybookResult:
        started.append(Path(path).name)
        interrupt._received.append(int(signal.SIGINT))  # the signal lands during this play
        return runner.PlaybookResult("successful", 0)

    monkeypatch.setattr(interrupt, "_received", [])
    monkeypatch.setattr(runner, "run_playbook", play)
    monkeypatch.setattr(hosts_layer, "collect", lambda *a, **k: RoleVars())
    monkeypatch.setattr(hosts_layer, "ssh_key", lambda *a, **k: None)
    return started
