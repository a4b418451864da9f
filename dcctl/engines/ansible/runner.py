"""Run a playbook through ansible-runner and summarise the result per host.

Why ansible-runner rather than shelling out to ansible-playbook: it gives
structured events (per-host progress for the CLI) and final ``stats`` without
parsing text, and isolates each run in its own private data dir. A host
failing or being unreachable is *data* in the result, never an exception, so
one dead VM does not hide what happened on the other eighteen.
"""

from __future__ import annotations

import codecs
import contextlib
import importlib.util
import os
import selectors
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner
import ansible_runner.interface
from ansible_runner.utils import OutputEventFilter

from dcctl.engines import interrupt
from dcctl.i18n import _
from dcctl.paths import playbooks_dir

__all__ = [
    "HostResult",
    "PlaybookResult",
    "run_playbook",
    "ssh_trust",
    "static_inventory",
    "strategy",
]

PLAYBOOKS = playbooks_dir()

_STATS = ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")


@dataclass
class HostResult:
    """Task counts for one host, as Ansible's play recap reports them."""

    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0


@dataclass
class PlaybookResult:
    """The outcome of one run: runner status/rc and a :class:`HostResult` per host."""

    status: str
    rc: int
    hosts: dict[str, HostResult] = field(default_factory=dict)
    #: Why the playbook did not run at all (empty when it ran).
    errors: list[str] = field(default_factory=list)


def static_inventory(inventory: Mapping[str, Any]) -> dict[str, Any]:
    """Script-shape (``--list``) inventory -> the YAML/JSON *file* shape ansible-runner writes.

    Why: ansible-runner dumps a dict inventory to a file read by the ``yaml``
    inventory plugin, which wants ``{"all": {"children": {g: {"hosts": {h: vars}}}}}``
    rather than the ``_meta.hostvars`` shape a script prints.
    """
    hostvars = inventory.get("_meta", {}).get("hostvars", {})
    children: dict[str, Any] = {}
    for group, body in inventory.items():
        if group in ("_meta", "all", "ungrouped") or not isinstance(body, Mapping):
            continue
        children[group] = {"hosts": {h: None for h in body.get("hosts", [])}}
    return {"all": {"hosts": {h: dict(v) for h, v in hostvars.items()}, "children": children}}


def _summarise(stats: Mapping[str, Any] | None, hosts: list[str]) -> dict[str, HostResult]:
    result = {h: HostResult() for h in hosts}
    for key, per_host in (stats or {}).items():
        if key not in _STATS or not isinstance(per_host, Mapping):
            continue
        attr = {"failures": "failed", "dark": "unreachable"}.get(key, key)
        if attr not in ("ok", "changed", "failed", "unreachable", "skipped"):
            continue
        for host, count in per_host.items():
            setattr(result.setdefault(host, HostResult()), attr, int(count))
    return result


def run_playbook(
    playbook: str | Path,
    inventory: Mapping[str, Any],
    *,
    extravars: Mapping[str, Any] | None = None,
    check: bool = False,
    ssh_key: str | Path | None = None,
    limit: str | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    known_hosts: Path | None,
    control_dir: Path | None = None,
) -> PlaybookResult:
    """Run ``playbook`` (relative names resolve under ``playbooks/``) against ``inventory``.

    ``check`` runs with ``--check --diff`` (plan mode). The SSH key comes from
    ``ssh_key`` or ``ANSIBLE_PRIVATE_KEY_FILE``. Never raises on host failures.

    ``known_hosts`` is the target's pinned host keys: every SSH login is checked
    strictly against that file only, so a host whose key is unknown or changed is
    unreachable before any key, password or secret variable leaves this machine.
    It has no default on purpose: ``None`` (no check) is for a test's throwaway
    machines, and a caller has to say so. ``control_dir`` keeps the SSH
    multiplexing sockets of one run together (default: a directory of this call), so a
    session opened under another known_hosts file is never reused.
    """
    path = Path(playbook)
    if not path.is_absolute():
        path = PLAYBOOKS / path
    cmdline = ["--check", "--diff"] if check else []
    key = ssh_key or os.environ.get("ANSIBLE_PRIVATE_KEY_FILE")
    if key:
        cmdline += ["--private-key", str(key)]
    # The venv's ansible-playbook even when the venv is not on PATH (pytest, cron).
    venv_bin = Path(sys.executable).parent
    envvars = {
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_HOST_KEY_CHECKING": str(known_hosts is not None),
        # The playbook's own roles first, then dcctl's (a one-play file in a temp dir).
        "ANSIBLE_ROLES_PATH": os.pathsep.join(
            dict.fromkeys([str(path.parent / "roles"), str(PLAYBOOKS / "roles")])
        ),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        # Speed: every host at once (the estate is tens of hosts, not thousands), one
        # SSH round trip per task, and no interpreter discovery on Debian hosts.
        "ANSIBLE_FORKS": str(max(8, len(inventory.get("_meta", {}).get("hostvars", {})))),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        **strategy(),
        "ANSIBLE_SSH_ARGS": " ".join(
            [
                "-o ControlMaster=auto -o ControlPersist=120s -o ServerAliveInterval=10",
                *ssh_trust(known_hosts),
            ]
        ),
    }

    def handler(event: dict[str, Any]) -> bool:
        # A progress callback must never abort the run it reports on.
        if on_event is not None:
            try:
                on_event(event)
            except Exception as exc:
                failed = _("dcctl: progress callback failed: {problem}")
                print(failed.format(problem=repr(exc)), file=sys.stderr)
        return True

    hosts = sorted(inventory.get("_meta", {}).get("hostvars", {}))
    with tempfile.TemporaryDirectory(prefix="dcctl-ansible-") as tmp:
        envvars["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(control_dir or Path(tmp) / "cp")
        runner = ansible_runner.interface.init_runner(
            private_data_dir=tmp,
            playbook=str(path),
            inventory=static_inventory(inventory),
            extravars=dict(extravars or {}),
            envvars=envvars,
            cmdline=" ".join(cmdline) or None,
            limit=limit,
            quiet=True,
            event_handler=handler,
            # Given, so ansible-runner installs no SIGINT/SIGTERM handler of its own:
            # that one silently replaced dcctl's safe stop (dcctl.engines.interrupt).
            cancel_callback=interrupt.requested,
        )
        rc, crash = _execute(runner)
        summary = _summarise(runner.stats, hosts)
        blamed = any(h.failed or h.unreachable for h in summary.values())
        status = "successful" if rc == 0 else "failed"
        errors: list[str] = []
        if crash:
            errors = [crash]
        elif status != "successful" and not blamed:
            # Failed with no host to blame (syntax error, missing role): Ansible's own
            # error lines say why. no_log tasks print nothing secret.
            text = _read(Path(runner.config.artifact_dir) / "stdout")
            marks = ("ERROR", "fatal:", "FAILED!", "Traceback", "exception")
            errors = [ln.strip() for ln in text.splitlines() if any(m in ln for m in marks)][:5]
            errors = errors or [
                _("ansible-playbook exited {rc} with no host to blame").format(rc=rc)
            ]
        return PlaybookResult(status=status, rc=rc, hosts=summary, errors=errors)


#: Set to ``linear`` to run Ansible's own strategy over plain SSH (with pipelining).
STRATEGY_ENV = "DCCTL_ANSIBLE_STRATEGY"


def strategy() -> dict[str, str]:
    """Ansible's settings for dcctl's strategy: Mitogen's linear one, unless the
    operator asks for Ansible's own (``DCCTL_ANSIBLE_STRATEGY=linear``).

    Why Mitogen: it keeps one Python interpreter per host for the whole play and
    ships modules once, where plain SSH starts a Python and sends each module per
    task; the example lab's first apply took 342.0 s under it against 761.4 s on
    one machine in one sitting (benchmarks/bench_lab_apply.py). It logs in with the
    same ``ssh`` and the same arguments (:func:`ssh_trust`), so the pinned host keys
    are checked the same way.
    """
    if os.environ.get(STRATEGY_ENV, "mitogen") == "linear":
        return {"ANSIBLE_STRATEGY": "linear"}
    found = importlib.util.find_spec("ansible_mitogen")  # a dependency: found, not imported
    if found is None or not found.submodule_search_locations:
        raise RuntimeError(_("Mitogen for Ansible is not installed; run scripts/setup"))
    plugins = Path(found.submodule_search_locations[0]) / "plugins" / "strategy"
    return {"ANSIBLE_STRATEGY_PLUGINS": str(plugins), "ANSIBLE_STRATEGY": "mitogen_linear"}


def ssh_trust(known_hosts: Path | None) -> list[str]:
    """Ansible's host key settings: strict against the target's pinned keys only.

    ``StrictHostKeyChecking=yes`` makes OpenSSH refuse an unknown key (never
    "accept the first one") and a changed key; ``UserKnownHostsFile`` is the
    target's file and ``GlobalKnownHostsFile=/dev/null`` keeps the operator's own
    files out of it, so only what dcctl pinned (``dcctl hostkeys trust``, or the lab
    at creation) is trusted. ``UpdateHostKeys=no``: the file is dcctl's, reviewed.
    """
    if known_hosts is None:
        return []
    return [
        "-o StrictHostKeyChecking=yes",
        f"-o UserKnownHostsFile={shlex.quote(str(known_hosts))}",
        "-o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no",
    ]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _execute(runner: Any) -> tuple[int, str | None]:
    """Run the prepared ansible-playbook as a plain child; (exit code, crash or None).

    Why not ``Runner.run()``: its default (pexpect) mode runs the playbook on a pty
    and takes the exit code from pexpect's wait status, which is None whenever the
    child's end is not a plain exit (a signal), and its events from the pty
    stream. Here the child is a ``subprocess.Popen`` with a pipe: the event stream
    is the same (ansible-runner's callback plugin writes it to stdout, its
    ``OutputEventFilter`` decodes it live into ``job_events/`` and our handler), and
    the exit code is the kernel's wait status, read by the one process that owns
    the child. A signal is reported as a crash naming it. The child gets its own
    session (no terminal, nothing to prompt on), as under ansible-runner; Ctrl-C
    here is passed on to it and waited for, so Ansible stops cleanly.
    """
    cfg = runner.config
    artifacts = Path(cfg.artifact_dir)
    (artifacts / "job_events").mkdir(parents=True, exist_ok=True)
    runner.status_callback("starting")
    with (artifacts / "stdout").open("w", encoding="utf-8") as raw:
        stream = OutputEventFilter(raw, runner.event_callback, suppress_ansible_output=True)
        try:
            proc = subprocess.Popen(
                list(cfg.command),
                cwd=cfg.cwd,
                env={k: str(v) for k, v in cfg.env.items()},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            runner.status_callback("failed")
            return 127, _("ansible-playbook did not start: {problem}").format(problem=exc)
        runner.status_callback("running")
        assert proc.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            # A stop asked by a signal (dcctl.engines.interrupt) reaches the playbook in
            # its own session as the SIGINT a terminal would send: Ansible ends cleanly.
            # The wait for output wakes up twice a second: a signal may land on another
            # thread, and only the main thread's Python code runs the handler.
            with (
                interrupt.on_stop(lambda: interrupt.interrupt_group(proc.pid)),
                selectors.DefaultSelector() as sel,
            ):
                sel.register(proc.stdout, selectors.EVENT_READ)
                while True:
                    if not sel.select(timeout=0.5):
                        continue
                    chunk = proc.stdout.read1(65536)
                    if not chunk:
                        break
                    stream.write(decoder.decode(chunk))
                stream.write(decoder.decode(b"", final=True))
                rc = proc.wait()
        except BaseException:
            # Interrupted: let Ansible stop its workers and print its recap, then go on.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            raise
        finally:
            stream.close()
            proc.stdout.close()
    runner.rc = rc
    runner.status_callback("successful" if rc == 0 else "failed")
    if rc != 0 and interrupt.requested():
        stopped = _("ansible-playbook stopped: the run was interrupted ({signal})")
        return rc, stopped.format(signal=interrupt.signal_name())
    if rc < 0:
        return rc, _("ansible-playbook was killed by {signal}").format(
            signal=signal.Signals(-rc).name
        )
    return rc, None
