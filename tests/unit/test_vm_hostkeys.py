"""Production VMs' SSH host keys are made by dcctl and known before first contact (issue 15).

`dcctl.ssh.vmkeys.ensure` (the vms layer runs it before Pulumi on production) makes an
Ed25519 key for every VM without a pinned key, seals it in state/ssh/hostkeys.enc and
pins the public half in state/ssh/known_hosts; the Proxmox program (under Pulumi's
mocks, inputs checked against the SDK's typed args) hands the key in through a
cloud-init user-data snippet whose data is a Pulumi secret, so no private key shows in
plain inputs or outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime import rpc

from dcctl.engines.ansible.inventory import host_name
from dcctl.engines.pulumi.program import site_inputs
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from dcctl.ssh import vmkeys
from dcctl.ssh.knownhosts import KnownHosts
from dcctl.targets import get
from tests.specs import OpdSpec, VmSpec, build_spec
from tests.unit.test_proxmox_program import SNIPPET, VM, deploy

PASSPHRASE = "hostkeys-test-passphrase"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DCCTL_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("WSB_PVE_API_TOKEN", raising=False)
    return build_spec(tmp_path, opds=[OpdSpec("dinkes", vms=[VmSpec("simpus"), VmSpec("web")])])


def _secret(value: Any) -> Any:
    assert isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig, (
        f"not a secret: {str(value)[:80]}"
    )
    return value["value"]


def test_new_vms_get_keys_pinned_before_first_contact(repo: Path) -> None:
    spec = load_spec(repo)
    state = desired_state(spec)
    prod = get("prod")
    assert vmkeys.planned(spec, state, prod) == {"dinkes/simpus": "", "dinkes/web": ""}
    assert not vmkeys.store_path(spec.state_dir).exists()  # planning wrote nothing
    notes = vmkeys.ensure(spec, state, prod)
    assert len(notes) == 4, notes  # two keys made, two pinned
    known = KnownHosts(prod.known_hosts(spec))
    keys = vmkeys.store(spec.state_dir)
    for key, vm in state["vms"].items():
        pin = known.get(host_name(key))
        assert pin is not None and pin.host == vm["address"].split("/")[0]
        assert pin.keyline == keys.public_key(key)
        assert pin.keytype == "ssh-ed25519"
    sealed = vmkeys.store_path(spec.state_dir).read_text()
    assert "PRIVATE KEY" not in sealed and "b3BlbnNzaC1rZXktdjEA" not in sealed
    assert oct(vmkeys.store_path(spec.state_dir).stat().st_mode & 0o777) == "0o600"
    assert vmkeys.ensure(spec, state, prod) == []  # idempotent
    assert vmkeys.ensure(spec, state, get("lab")) == []  # the lab pins its own machines


def test_a_vm_trusted_earlier_keeps_its_own_key(repo: Path) -> None:
    spec = load_spec(repo)
    state = desired_state(spec)
    prod = get("prod")
    own, _ = vmkeys.SSH_HOST_KEY.generate()
    own_pub = vmkeys.SSH_HOST_KEY.public_of(own)
    address = state["vms"]["dinkes/web"]["address"].split("/")[0]
    KnownHosts(prod.known_hosts(spec)).record("dinkes-web", address, 22, own_pub)
    vmkeys.ensure(spec, state, prod)
    assert not vmkeys.store(spec.state_dir).has("dinkes/web")
    assert KnownHosts(prod.known_hosts(spec)).get("dinkes-web").keyline == own_pub  # type: ignore[union-attr]
    assert set(vmkeys.planned(spec, state, prod)) == {"dinkes/simpus"}


def test_proxmox_program_hands_the_key_in_as_a_secret_user_data_snippet(repo: Path) -> None:
    spec = load_spec(repo)
    state = desired_state(spec)
    prod = get("prod")
    vmkeys.ensure(spec, state, prod)
    site = {**site_inputs(spec, state), **prod.site_inputs(spec, state)}
    assert "PRIVATE" not in repr(site)  # the plain inputs carry public keys only
    dep = deploy(state, site)  # inputs checked against the SDK's typed args
    snippets = dep.of(SNIPPET)
    assert set(snippets) == {"dinkes-simpus-user-data", "dinkes-web-user-data"}
    keys = vmkeys.store(spec.state_dir)
    for key in state["vms"]:
        name = host_name(key)
        snip = snippets[f"{name}-user-data"].inputs
        assert snip["contentType"] == "snippets" and snip["nodeName"] == state["vms"][key]["node"]
        text = _secret(snip["sourceRaw"])["data"]
        assert text.startswith("#cloud-config\n")
        doc = yaml.safe_load(text)
        pair = keys.pair(key)
        assert doc["ssh_keys"] == {"ed25519_private": pair.private, "ed25519_public": pair.public}
        assert doc["ssh_genkeytypes"] == [] and doc["hostname"] == name
        assert doc["users"][0]["ssh_authorized_keys"] == list(spec.site.ssh_keys)
        init = dep.of(VM)[name].inputs["initialization"]
        assert init["userDataFileId"] == f"{name}-user-data-id"
    # Nothing private reached a plain input or an output.
    for r in dep.resources:
        plain = repr({k: v for k, v in r.inputs.items() if k != "sourceRaw"})
        assert "PRIVATE KEY" not in plain, r.name
    assert "PRIVATE KEY" not in repr(dep.outputs)


def test_before_the_first_apply_the_program_shows_a_pending_snippet(repo: Path) -> None:
    from dcctl.engines.pulumi.hypervisors.proxmox import PENDING_USER_DATA

    spec = load_spec(repo)
    state = desired_state(spec)
    prod = get("prod")
    site = {**site_inputs(spec, state), **prod.site_inputs(spec, state)}
    dep = deploy(state, site)
    for snip in dep.of(SNIPPET).values():
        assert _secret(snip.inputs["sourceRaw"])["data"] == PENDING_USER_DATA
    assert not vmkeys.store_path(spec.state_dir).exists()  # a preview makes no key


@pytest.mark.parametrize(
    ("private", "public", "error"),
    [
        ("not a key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx", "."),
        (None, "ssh-ed25519 AAAA\n- injected: yes", "."),
        (None, "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC", "."),
        (None, None, "do not match"),
    ],
)
def test_user_data_refuses_a_bad_or_mismatched_key(
    private: str | None, public: str | None, error: str
) -> None:
    mine, mine_pub = vmkeys.SSH_HOST_KEY.generate()
    other, other_pub = vmkeys.SSH_HOST_KEY.generate()
    with pytest.raises(Exception, match=error):
        vmkeys.user_data(
            hostname="dinkes-web",
            domain="example.go.id",
            admin_user="dcctl",
            authorized_keys=[],
            private_key=private if private is not None else mine,
            public_key=public if public is not None else other_pub,
        )
    del other, mine_pub
