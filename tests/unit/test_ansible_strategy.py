"""dcctl runs Ansible under Mitogen unless told otherwise (issue 17).

Mitogen keeps one Python interpreter per host for the whole play, where Ansible's own
strategy starts a Python per task: so two tasks' shells share their parent process
under Mitogen and do not under the linear strategy. That is what the test looks at,
through dcctl's runner, against this machine (a local connection).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dcctl.engines.ansible.runner import STRATEGY_ENV, run_playbook

PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.shell: echo $PPID
      register: first
      changed_when: false
    - ansible.builtin.shell: echo $PPID
      register: second
      changed_when: false
    - ansible.builtin.copy:
        content: "{{ first.stdout }} {{ second.stdout }}\\n"
        dest: "{{ out }}"
        mode: "0600"
"""

INVENTORY = {
    "_meta": {"hostvars": {"here": {"ansible_connection": "local"}}},
    "all": {"hosts": ["here"]},
}


def _parents(tmp_path: Path) -> list[str]:
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    out = tmp_path / "ppids"
    res = run_playbook(play, INVENTORY, extravars={"out": str(out)}, known_hosts=None)
    assert res.rc == 0 and res.hosts["here"].failed == 0, res
    return out.read_text().split()


def test_tasks_share_one_interpreter_under_mitogen_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STRATEGY_ENV, raising=False)
    first, second = _parents(tmp_path)
    assert first == second


def test_the_linear_strategy_starts_a_python_per_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STRATEGY_ENV, "linear")
    first, second = _parents(tmp_path)
    assert first != second
