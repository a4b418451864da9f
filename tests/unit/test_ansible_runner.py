"""The playbook runner's outcome comes from the kernel's wait status, never a guess.

Real ansible-playbook against the local host (connection local): a clean run,
a failing host, a playbook that cannot run, and ansible-playbook itself killed
mid-run. Events must arrive while the playbook runs (progress), and the play
recap must match what Ansible counted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from dcctl.engines.ansible.runner import run_playbook

LOCAL: dict[str, Any] = {
    "_meta": {
        "hostvars": {
            "local": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        }
    },
    "g": {"hosts": ["local"]},
}


def _book(tmp_path: Path, tasks: str) -> Path:
    book = tmp_path / "p.yml"
    book.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n" + tasks)
    return book


def test_clean_run_is_successful_with_its_recap_and_live_events(tmp_path: Path) -> None:
    seen: list[tuple[float, str]] = []
    book = _book(
        tmp_path,
        "    - ansible.builtin.command: 'true'\n      changed_when: false\n"
        "    - ansible.builtin.command: sleep 1.5\n      changed_when: false\n"
        "    - ansible.builtin.command: 'true'\n",
    )
    start = time.monotonic()
    res = run_playbook(
        book,
        LOCAL,
        on_event=lambda e: seen.append((time.monotonic(), e["event"])),
        known_hosts=None,
    )
    end = time.monotonic()
    assert (res.status, res.rc, res.errors) == ("successful", 0, [])
    h = res.hosts["local"]
    assert (h.ok, h.changed, h.failed, h.unreachable) == (3, 1, 0, 0)
    oks = [t for t, name in seen if name == "runner_on_ok"]
    assert len(oks) == 3
    # The first task's event was handled while the playbook was still sleeping.
    assert oks[0] < end - 1.0, (oks[0] - start, end - start)
    assert any(name == "playbook_on_stats" for _, name in seen)


def test_failing_host_is_blamed_not_a_crash(tmp_path: Path) -> None:
    res = run_playbook(
        _book(tmp_path, "    - ansible.builtin.command: 'false'\n"), LOCAL, known_hosts=None
    )
    assert res.status == "failed" and res.rc == 2
    assert res.hosts["local"].failed == 1
    assert res.errors == []  # the host is blamed; nothing else went wrong


def test_playbook_that_cannot_run_says_why(tmp_path: Path) -> None:
    res = run_playbook(_book(tmp_path, "    - no.such.module_here: {}\n"), LOCAL, known_hosts=None)
    assert res.status == "failed" and res.rc not in (0, -1)
    assert res.errors and any("no.such.module_here" in e for e in res.errors), res.errors


def test_killed_ansible_playbook_is_reported_as_a_crash_naming_the_signal(tmp_path: Path) -> None:
    # The pipe lookup runs in an Ansible worker (a fork of ansible-playbook): its
    # shell's grandparent is ansible-playbook itself, killed outright mid-run.
    kill = "kill -KILL $(ps -o ppid= -p $PPID)"
    book = _book(
        tmp_path,
        "    - ansible.builtin.debug:\n"
        f"        msg: \"{{{{ lookup('ansible.builtin.pipe', '{kill}') }}}}\"\n",
    )
    res = run_playbook(book, LOCAL, known_hosts=None)
    assert res.status == "failed" and res.rc == -9
    assert res.errors == ["ansible-playbook was killed by SIGKILL"]


#: A process that runs a playbook as the hosts layer does, under dcctl's signal
#: handling (dcctl.engines.interrupt), and prints what the runner reported.
_UNDER_SIGNALS = """
import json, sys
from dcctl.engines import interrupt
from dcctl.engines.ansible.runner import run_playbook
LOCAL = json.loads(sys.argv[2])
with interrupt.safe_stop():
    res = run_playbook(sys.argv[1], LOCAL, known_hosts=None)
print(json.dumps({"status": res.status, "errors": res.errors, "stopped": interrupt.requested()}))
"""


def test_sigterm_stops_the_running_playbook_cleanly(tmp_path: Path) -> None:
    """SIGTERM to dcctl reaches Ansible (in its own session) as a SIGINT: it stops, no orphan.

    Before, dcctl died at once and the playbook ran on to its end on its own.
    """
    import json
    import os
    import signal
    import subprocess

    from tests.helpers import REPO, wait_for

    started, after = tmp_path / "started", tmp_path / "after"
    book = _book(
        tmp_path,
        f"    - ansible.builtin.command: touch {started}\n"
        "    - ansible.builtin.command: sleep 60\n"
        f"    - ansible.builtin.command: touch {after}\n",
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", _UNDER_SIGNALS, str(book), json.dumps(LOCAL)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        wait_for(
            "the playbook's first task",
            lambda: started.exists() or proc.poll() is not None,
            60,
            interval=0.1,
        )
        assert proc.poll() is None, proc.communicate()
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=45)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    report = json.loads(out.splitlines()[-1])
    assert report["stopped"] and report["status"] == "failed"
    assert any("interrupted (SIGTERM)" in e for e in report["errors"]), report
    assert time.monotonic() - t0 < 30, "the playbook was not stopped, it ran its sleep out"
    time.sleep(1)
    assert not after.exists(), "the playbook went on after the stop"
