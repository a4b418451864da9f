"""The Ansible inventory joins spec and Pulumi outputs; ansible itself must accept it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dcctl.engines.ansible.inventory import build_inventory
from dcctl.plan.desired import desired_state
from dcctl.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "inventory" / "dcctl_inventory.py"
EXAMPLE = ROOT / "examples" / "wonosobo"


@pytest.fixture(scope="module")
def spec():  # type: ignore[no-untyped-def]
    return load_spec(EXAMPLE)


def _env() -> dict[str, str]:
    return {**os.environ, "DCCTL_SPEC": str(EXAMPLE)}


def test_hosts_groups_and_addresses(spec) -> None:  # type: ignore[no-untyped-def]
    inv = build_inventory(spec, None)
    vms = desired_state(spec)["vms"]
    hostvars = inv["_meta"]["hostvars"]
    assert len(hostvars) == 19 == len(vms)
    for key, vm in vms.items():
        hv = hostvars[key.replace("/", "-")]
        assert hv["ansible_host"] == vm["address"].split("/")[0]
        assert hv["ansible_user"] == "dcctl"
        for group in (
            f"opd_{vm['opd']}",
            f"sector_{vm['sector']}",
            f"class_{vm['classification']}",
            f"role_{vm['role'].replace('-', '_')}",
        ):
            assert key.replace("/", "-") in inv[group]["hosts"]
    assert "dinkes-simpus" in inv["opd_dinkes"]["hosts"]
    assert "dinkes-simpus" in inv["class_rahasia"]["hosts"]
    assert "sector_health" in inv and "role_app" in inv
    for group in inv:
        assert group == "_meta" or group.replace("_", "a").isalnum(), group


def test_outputs_override_addresses(spec) -> None:  # type: ignore[no-untyped-def]
    inv = build_inventory(spec, {"dinkes/simpus": {"address": "198.18.77.5", "vlan": 7}})
    hv = inv["_meta"]["hostvars"]["dinkes-simpus"]
    assert hv["ansible_host"] == "198.18.77.5" and hv["vlan"] == 7


def test_script_list_and_host(spec) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--list"],
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(out) == build_inventory(spec, None)
    host = subprocess.run(
        [sys.executable, str(SCRIPT), "--host", "dinkes-simpus"],
        env=_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(host)["opd"] == "dinkes"


def test_ansible_inventory_accepts_script(spec) -> None:  # type: ignore[no-untyped-def]
    exe = Path(sys.executable).parent / "ansible-inventory"
    if not exe.exists():
        pytest.skip("ansible-inventory not installed")
    env = {**_env(), "PATH": f"{exe.parent}:{os.environ.get('PATH', '')}"}
    out = subprocess.run(
        [str(exe), "-i", str(SCRIPT), "--list"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    seen = json.loads(out)
    assert set(seen["_meta"]["hostvars"]) == set(build_inventory(spec, None)["_meta"]["hostvars"])
    assert "dinkes-simpus" in seen["class_rahasia"]["hosts"]


def test_runner_reports_unreachable_without_stopping_others(tmp_path: Path) -> None:
    """One dead host is data in the result; the local host still completes."""
    from dcctl.engines.ansible.runner import run_playbook

    book = tmp_path / "p.yml"
    book.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.file:\n        path: '{{ marker }}-{{ inventory_hostname }}'\n"
        "        state: touch\n"
    )
    marker = tmp_path / "m"
    inv = {
        "_meta": {
            "hostvars": {
                "local": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                },
                "dead": {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_user": "x"},
            }
        },
        "g": {"hosts": ["local", "dead"]},
    }
    events: list[dict] = []
    res = run_playbook(book, inv, extravars={"marker": str(marker)}, on_event=events.append)
    assert res.hosts["dead"].unreachable == 1
    assert res.hosts["local"].failed == 0 and res.hosts["local"].changed == 1
    assert (tmp_path / "m-local").exists() and events
