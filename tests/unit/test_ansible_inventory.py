"""The Ansible inventory joins spec, Pulumi outputs and the domains' hosts; ansible accepts it.

The inventory script must print the inventory the hosts layer runs site.yml with,
office routers included: a script that printed only the VMs would let plain
``ansible-playbook -i inventory/dcctl_inventory.py`` skip every Linux office router.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from dcctl import targets
from dcctl.engines.ansible.inventory import build_inventory
from dcctl.engines.ansible.layer import inventory_for
from dcctl.engines.ansible.vars import collect
from dcctl.engines.ansible.vars import prepare as vars_prepare
from dcctl.plan.desired import desired_state
from dcctl.spec.loader import Spec, load_spec
from dcctl.vpn.ansible import OFFICE_GROUP, office_host
from dcctl.vpn.keystore import KeyStore, keystore_path
from tests.helpers import camera_env_vars
from tests.specs import total

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "inventory" / "dcctl_inventory.py"
EXAMPLE = ROOT / "examples" / "wonosobo"


@pytest.fixture(scope="module")
def spec():  # type: ignore[no-untyped-def]
    return load_spec(EXAMPLE)


#: What the providers need for production (the script's target): the secrets
#: passphrase of the VPN keystore and the example's camera credential.
PROD_SECRETS = ("DCCTL_PASSPHRASE", *camera_env_vars(load_spec(ROOT / "examples" / "wonosobo")))


@pytest.fixture
def script_spec(spec_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Spec:
    """A private copy of the example (with the VPN keystore an apply made), with
    random production secrets set here and inherited by the script, so the test
    computes the expected inventory with the same keys the script reads."""
    monkeypatch.setenv("DCCTL_SPEC", str(spec_repo))
    for name in PROD_SECRETS:
        monkeypatch.setenv(name, "t-" + secrets.token_urlsafe(16))
    for name in ("DCCTL_TARGET", "DCCTL_OUTPUTS"):
        monkeypatch.delenv(name, raising=False)
    spec = load_spec(spec_repo)
    # The keys an apply creates (the script and the providers only read them).
    vars_prepare(spec, spec.state_dir, "prod")
    return spec


def _script(*args: str) -> str:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], check=True, capture_output=True, text=True
    ).stdout


def _hosts_layer_inventory(spec: Spec) -> dict:  # type: ignore[type-arg]
    """What the hosts layer runs site.yml with on production, before Pulumi outputs."""
    known = targets.get("prod").known_hosts(spec)
    return inventory_for(spec, None, collect(spec, spec.state_dir, "prod"), known_hosts=known)


def _assert_vms_and_office_routers(inv: dict, spec: Spec) -> None:  # type: ignore[type-arg]
    """Every VM and every Linux office router, the routers in the office group."""
    offices = {
        office_host(key): o
        for key, o in desired_state(spec)["vpn"].items()
        if o["router"] == "linux"
    }
    assert offices, "the example has Linux office routers"
    hostvars = inv["_meta"]["hostvars"]
    assert set(hostvars) == set(build_inventory(spec, None)["_meta"]["hostvars"]) | set(offices)
    assert sorted(inv[OFFICE_GROUP]["hosts"]) == sorted(offices)
    for host, office in offices.items():
        assert hostvars[host]["ansible_host"] == office["wan_address"]
        assert hostvars[host]["vpn_office_address"] == f"{office['tunnel_address']}/32"


def test_hosts_groups_and_addresses(spec) -> None:  # type: ignore[no-untyped-def]
    inv = build_inventory(spec, None)
    vms = desired_state(spec)["vms"]
    hostvars = inv["_meta"]["hostvars"]
    # one host per VM the spec lists, counted from the OPDs rather than desired_state
    assert len(hostvars) == total(spec, "vms") == len(vms) > 0
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


def test_script_creates_no_keystore(
    spec_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inventory only reads: before any apply it writes no key and no passphrase."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DCCTL_SPEC", str(spec_repo))
    monkeypatch.setenv("HOME", str(home))
    for name in PROD_SECRETS[1:]:  # the cameras' credentials, not the passphrase
        monkeypatch.setenv(name, "t-" + secrets.token_urlsafe(16))
    for name in ("DCCTL_PASSPHRASE", "DCCTL_PASSPHRASE_FILE", "DCCTL_TARGET", "DCCTL_OUTPUTS"):
        monkeypatch.delenv(name, raising=False)
    listed = json.loads(_script("--list"))
    assert listed[OFFICE_GROUP]["hosts"]
    assert not (spec_repo / "state").exists() and list(home.iterdir()) == []


def test_script_list_and_host(script_spec: Spec) -> None:
    """The script prints the hosts layer's inventory, office routers included, no secret."""
    listed = json.loads(out := _script("--list"))
    assert listed == _hosts_layer_inventory(script_spec)
    _assert_vms_and_office_routers(listed, script_spec)
    # Plain ansible-playbook checks host keys strictly against production's pinned keys.
    known = targets.get("prod").known_hosts(script_spec)
    for hv in listed["_meta"]["hostvars"].values():
        assert "StrictHostKeyChecking=yes" in hv["ansible_ssh_common_args"]
        assert f"UserKnownHostsFile={known}" in hv["ansible_ssh_common_args"]
    assert json.loads(_script("--host", "dinkes-simpus"))["opd"] == "dinkes"
    office = sorted(listed[OFFICE_GROUP]["hosts"])[0]
    assert json.loads(_script("--host", office)) == listed["_meta"]["hostvars"][office]
    store = KeyStore(keystore_path(script_spec.state_dir, "prod"))
    hidden = [os.environ[n] for n in PROD_SECRETS] + [store.pair(n).private for n in store.names()]
    assert len(hidden) > len(PROD_SECRETS)
    assert [h for h in hidden if h in out] == []


def test_ansible_inventory_accepts_script(script_spec: Spec) -> None:
    exe = Path(sys.executable).parent / "ansible-inventory"
    if not exe.exists():
        pytest.skip("ansible-inventory not installed")
    env = {**os.environ, "PATH": f"{exe.parent}:{os.environ.get('PATH', '')}"}
    out = subprocess.run(
        [str(exe), "-i", str(SCRIPT), "--list"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    seen = json.loads(out)
    _assert_vms_and_office_routers(seen, script_spec)
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
    res = run_playbook(
        book, inv, extravars={"marker": str(marker)}, on_event=events.append, known_hosts=None
    )
    assert res.hosts["dead"].unreachable == 1
    assert res.hosts["local"].failed == 0 and res.hosts["local"].changed == 1
    assert (tmp_path / "m-local").exists() and events
