"""Ansible logs in only to hosts whose SSH key the target pinned (issue 15).

The impostor is a real SSH server (asyncssh) at a VM's address, recording every
login attempt. Ansible runs a play that would copy a WireGuard private key to
it, through dcctl's runner with the target's known_hosts. With the host key
unknown or changed, OpenSSH must refuse before authenticating: the server sees
no user, no key and no password, and the failure names the device. With the
right key pinned (the control), the same run gets as far as authenticating,
so the test can tell a refusal from a server that is simply broken.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dcctl.engines.ansible.runner import PlaybookResult, run_playbook
from dcctl.ssh.knownhosts import KnownHosts, fingerprint, openssh_refusal
from tests.sshserver import Impostor

asyncssh = pytest.importorskip("asyncssh")

SECRET = "wg-private-key-must-never-leave"
HOST = "office-dinkes-pkm-kertek"


@pytest.fixture
def impostor() -> Iterator[Impostor]:
    server = Impostor(asyncssh.generate_private_key("ssh-ed25519"))
    yield server
    server.stop()


@pytest.fixture
def login_key(tmp_path: Path) -> Path:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def _run(
    server: Impostor, known: Path, key: Path, tmp_path: Path
) -> tuple[PlaybookResult, list[dict[str, Any]]]:
    book = tmp_path / "p.yml"
    book.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.ping:\n"
        "    - ansible.builtin.copy:\n"
        "        content: '{{ wg_private_key }}'\n        dest: /etc/wireguard/wg0.key\n"
        "      no_log: true\n"
    )
    inventory = {
        "_meta": {
            "hostvars": {
                HOST: {
                    "ansible_host": "127.0.0.1",
                    "ansible_port": server.port,
                    "ansible_user": "dcctl",
                }
            }
        },
        "offices": {"hosts": [HOST]},
    }
    events: list[dict[str, Any]] = []
    res = run_playbook(
        book,
        inventory,
        extravars={"wg_private_key": SECRET},
        ssh_key=key,
        on_event=events.append,
        known_hosts=known,
    )
    return res, events


def _unreachable_text(events: list[dict[str, Any]]) -> str:
    for e in events:
        if e.get("event") == "runner_on_unreachable":
            return str((e["event_data"].get("res") or {}).get("msg", ""))
    raise AssertionError("no unreachable event")


def test_changed_key_refused_before_any_login(
    impostor: Impostor, login_key: Path, tmp_path: Path
) -> None:
    known = KnownHosts(tmp_path / "known_hosts")
    real = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    known.record(HOST, "127.0.0.1", impostor.port, real)
    res, events = _run(impostor, known.path, login_key, tmp_path)
    assert res.hosts[HOST].unreachable == 1
    assert impostor.auth_begun == [] and impostor.public_keys == [] and impostor.passwords == []
    why = openssh_refusal(HOST, _unreachable_text(events), known.path)
    assert why is not None and why.startswith(f"{HOST}: HOST KEY CHANGED"), why
    assert fingerprint(real) in why and "--replace" in why
    assert SECRET not in json.dumps(events)


def test_unknown_key_refused_before_any_login(
    impostor: Impostor, login_key: Path, tmp_path: Path
) -> None:
    known = KnownHosts(tmp_path / "known_hosts")
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    known.record("another-vm", "127.0.0.2", 22, other)  # the file exists, this host is not in it
    res, events = _run(impostor, known.path, login_key, tmp_path)
    assert res.hosts[HOST].unreachable == 1
    assert impostor.auth_begun == [] and impostor.public_keys == []
    why = openssh_refusal(HOST, _unreachable_text(events), known.path)
    assert why is not None and f"{HOST}: no pinned SSH host key" in why
    assert f"dcctl hostkeys trust {HOST}" in why


def test_control_pinned_key_gets_as_far_as_the_login(
    impostor: Impostor, login_key: Path, tmp_path: Path
) -> None:
    known = KnownHosts(tmp_path / "known_hosts")
    known.record(HOST, "127.0.0.1", impostor.port, impostor.keyline)
    res, events = _run(impostor, known.path, login_key, tmp_path)
    assert res.hosts[HOST].unreachable == 1  # the impostor refuses every login
    assert impostor.auth_begun and impostor.auth_begun[0] == "dcctl"
    assert impostor.public_keys, "the client offered its key: the host key was accepted"
    assert openssh_refusal(HOST, _unreachable_text(events), known.path) is None


def test_the_hosts_layer_checks_against_the_targets_file(
    spec_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every play of `dcctl apply`'s hosts layer runs with the target's known_hosts."""
    from dcctl import targets
    from dcctl.engines.ansible import runner
    from dcctl.engines.ansible.layer import run_hosts
    from dcctl.spec import load_spec
    from tests.helpers import camera_env_vars

    monkeypatch.setenv("DCCTL_PASSPHRASE", "a passphrase for the test keystore")
    spec = load_spec(spec_repo)
    for name in camera_env_vars(spec):
        monkeypatch.setenv(name, "camera-password")
    seen: list[dict[str, Any]] = []

    def fake(path: Path, inventory: Any, **kw: Any) -> PlaybookResult:
        seen.append(kw)
        return PlaybookResult("successful", 0)

    monkeypatch.setattr(runner, "run_playbook", fake)
    run_hosts(spec, "prod", None)
    assert seen, "no play ran"
    expected = targets.get("prod").known_hosts(spec)
    assert {kw["known_hosts"] for kw in seen} == {expected}
    assert len({kw["control_dir"] for kw in seen}) == 1


def test_strict_ssh_arguments() -> None:
    from dcctl.engines.ansible.runner import ssh_trust

    args = " ".join(ssh_trust(Path("/x y/known_hosts")))
    assert "StrictHostKeyChecking=yes" in args
    assert "UserKnownHostsFile='/x y/known_hosts'" in args
    assert "GlobalKnownHostsFile=/dev/null" in args
    assert ssh_trust(None) == []


def test_a_no_log_tasks_censored_failure_still_names_a_missing_pin(tmp_path: Path) -> None:
    censored = "the output has been hidden due to the fact that 'no_log: true' was specified"
    known = KnownHosts(tmp_path / "known_hosts")
    why = openssh_refusal(HOST, censored, known.path)
    assert why is not None and f"{HOST}: no pinned SSH host key" in why
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    known.record(HOST, "127.0.0.1", 22, key)
    assert openssh_refusal(HOST, censored, known.path) is None  # pinned: cause unknown
    assert openssh_refusal(HOST, "Connection refused", known.path) is None


def test_hostkeys_covers_vms_and_office_routers_by_their_inventory_names(spec_repo: Path) -> None:
    """`dcctl hostkeys trust` pins production VMs and Linux office routers too (issue 15)."""
    from dcctl.engines.ansible.layer import inventory_for
    from dcctl.engines.ansible.vars import RoleVars
    from dcctl.spec import load_spec
    from dcctl.ssh.cli import devices
    from dcctl.vpn.ansible import office_host

    spec = load_spec(spec_repo)
    found = devices(spec)
    vms = inventory_for(spec, None, RoleVars(public={}, secret={}))["_meta"]["hostvars"]
    for name, hv in vms.items():  # the name Ansible uses, at the address it connects to
        assert found[name] == (hv["ansible_host"], 22), name
    linux = [(c, o) for c, opd in spec.opds.items() for o in opd.offices if o.router == "linux"]
    assert linux
    for code, office in linux:  # named as the VPN role's inventory names them, at the WAN
        assert found[office_host(f"{code}/{office.name}")] == (str(office.wan_address), 22)
    assert {sw.name for sw in spec.site.switches} <= set(found)
