"""The lab target of the regency program, run against Pulumi's mocks (no engine, no root).

Why: the lab target turns plain state and site data (from ``desired_state``, the lab
builder's ``lab_site_inputs`` or a hand-written test) into typed records before it
makes any container. These tests prove that a missing, misspelt or mistyped lab site
key or VM field is refused with an error naming it before a single resource is
registered, and that well-formed input still builds one ``LabVm`` per VM inside its
OPD's component. ``from_plain``'s shapes that the lab records brought (mappings,
``int | Mapping[str, int]``, a float given as an int) are pinned here too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dcctl.engines.pulumi.program import (
    ExposurePolicyError,
    ProgramInputError,
    from_plain,
    regency_program,
    site_inputs,
)
from dcctl.lab.hypervisor import program as lab
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from tests.conftest import EXAMPLE
from tests.unit.test_proxmox_program import Deployment, run_under_mocks

LAB_VM = "pulumi-python:dynamic/dcctl:LabVm"
LAB_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRjY3RsLWxhYi10ZXN0LWtleQ dcctl-lab"


@pytest.fixture(scope="module")
def example() -> tuple[dict[str, Any], dict[str, Any]]:
    """The example regency and a lab site as the lab builder would add to it."""
    spec = load_spec(EXAMPLE)
    site = site_inputs(spec)
    site |= {
        "lab_id": "dlt",
        "lab_image": "localhost/dcctl-lab:test",
        "lab_bridges": {n["name"]: f"dlth{i}" for i, n in enumerate(site["nodes"], 1)},
        "lab_ssh_keys": [LAB_KEY],
    }
    return desired_state(spec), site


@pytest.fixture
def state(example: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(example[0])


@pytest.fixture
def site(example: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(example[1])


def deploy(
    state: dict[str, Any], site: dict[str, Any], dep: Deployment | None = None
) -> Deployment:
    # check=False: the mocks' input check knows the Proxmox SDK's types, not LabVm's.
    return run_under_mocks(lambda: regency_program(state, site, "lab"), dep, check=False)


def test_well_formed_input_builds_one_lab_vm_per_vm_in_its_opd(
    state: dict[str, Any], site: dict[str, Any]
) -> None:
    site |= {"lab_memory_mb": {"dinkes/simpus": 300}, "lab_cpus": 0.5, "lab_dns": []}
    dep = deploy(state, site)
    vms = dep.of(LAB_VM)
    assert set(vms) == {k.replace("/", "-") for k in state["vms"]}
    opds = {r.urn: r.name for r in dep.resources if r.typ == lab.OPD_TYPE}
    for key, vm in state["vms"].items():
        got = vms[key.replace("/", "-")]
        assert opds[got.parent] == vm["opd"]
        assert got.inputs["bridge"] == site["lab_bridges"][vm["node"]]
        assert got.inputs["cpus"] == 0.5 and got.inputs["dns"] == []
        assert LAB_KEY in got.inputs["ssh_pubkey"]
        assert dep.outputs["vms"][key]["address"] == vm["address"].split("/")[0]
    assert vms["dinkes-simpus"].inputs["memory_mb"] == 300
    assert vms["bpkad-simda-keu"].inputs["memory_mb"] == lab.DEFAULT_MEMORY_MB  # 8 GB, capped


def _set(where: str, value: Any) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    """Doctor ``site.<key>`` or ``<vm key>.<field>`` (``...`` as value: remove it)."""
    owner, _, name = where.rpartition(".")

    def doctor(state: dict[str, Any], site: dict[str, Any]) -> None:
        target = site if owner == "site" else state["vms"][owner]
        if value is ...:
            del target[name]
        else:
            target[name] = value

    return doctor


@pytest.mark.parametrize(
    ("doctor", "error"),
    [
        pytest.param(
            _set("site.lab_cpu", 2),
            r"^site\.lab_cpu: not a key of the lab target \(its keys: lab_bridges, lab_cpus, ",
            id="misspelt-optional-key",
        ),
        pytest.param(
            _set("site.lab_image", ...),
            r"^site\.lab_image is missing; the lab target needs it \(run scripts/build-lab-image",
            id="missing-image",
        ),
        pytest.param(
            _set("site.lab_id", ""),
            r"^site\.lab_id is empty; the lab target needs it$",
            id="empty-lab-id",
        ),
        pytest.param(
            _set("site.lab_id", 7),
            r"^site\.lab_id: expected str, got int 7$",
            id="mistyped-lab-id",
        ),
        pytest.param(
            _set("site.lab_ssh_keys", LAB_KEY),
            r"^site\.lab_ssh_keys: expected a list, got str 'ssh-ed25519",
            id="one-key-not-a-list",
        ),
        pytest.param(
            _set("site.lab_bridges", {"pve1": "dlth1", "pve2": 2}),
            r"^site\.lab_bridges\['pve2'\]: expected str, got int 2$",
            id="mistyped-bridge",
        ),
        pytest.param(
            _set("site.lab_memory_mb", {"dinkes/simpus": "300"}),
            r"^site\.lab_memory_mb\['dinkes/simpus'\]: expected int, got str '300'$",
            id="mistyped-memory-of-one-vm",
        ),
        pytest.param(
            _set("site.lab_memory_mb", "lots"),
            r"^site\.lab_memory_mb: expected int or a mapping, got str 'lots'$",
            id="memory-neither-int-nor-mapping",
        ),
        pytest.param(
            _set("site.lab_cpus", "2"),
            r"^site\.lab_cpus: expected float, got str '2'$",
            id="mistyped-cpus",
        ),
        pytest.param(
            _set("site.lab_dns", "10.0.0.53"),
            r"^site\.lab_dns: expected a list, got str '10\.0\.0\.53'$",
            id="dns-not-a-list",
        ),
        pytest.param(
            _set("site.admin_user", True),
            r"^site\.admin_user: expected str, got bool True$",
            id="mistyped-admin-user",
        ),
        pytest.param(
            _set("dinkes/simpus.vcpu", "two"),
            r"^dinkes/simpus\.vcpu: expected int, got str 'two'$",
            id="mistyped-vm-field",
        ),
        pytest.param(
            _set("dinkes/simpus.node", ...),
            r"^dinkes/simpus\.node is missing$",
            id="missing-vm-field",
        ),
        pytest.param(
            _set("dinkes/simpus.node", "pve9"),
            r"^dinkes/simpus: node 'pve9' has no lab bridge \(site lab_bridges: pve1, pve2\)$",
            id="node-without-bridge",
        ),
    ],
)
def test_bad_lab_input_is_refused_before_any_resource(
    state: dict[str, Any],
    site: dict[str, Any],
    doctor: Callable[[dict[str, Any], dict[str, Any]], None],
    error: str,
) -> None:
    doctor(state, site)
    dep = Deployment()
    with pytest.raises(ValueError, match=error):
        deploy(state, site, dep)
    assert dep.resources == []


def test_a_public_rahasia_vm_is_refused_by_the_lab_target_itself(
    state: dict[str, Any], site: dict[str, Any]
) -> None:
    state["vms"]["dinkes/simpus"]["exposure"] = "public"
    with pytest.raises(ExposurePolicyError, match="dinkes/simpus"):
        lab.build(state, site)  # not only regency_program's check


def test_lab_site_defaults_and_production_keys() -> None:
    conf = lab.lab_site({"lab_id": "dlt", "lab_image": "img", "name": "wonosobo", "type": "x"})
    assert conf == lab.LabSite(lab_id="dlt", lab_image="img")  # other targets' keys ignored
    assert (conf.lab_memory_mb, conf.lab_cpus, conf.lab_dns) == (256, 1, None)


# --- from_plain's shapes -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Shapes:
    names: Mapping[str, str]
    limit: int | Mapping[str, int] = 1
    share: float = 1.0
    tags: tuple[str, ...] = ()


def test_from_plain_reads_mappings_unions_and_floats() -> None:
    got = from_plain(_Shapes, "x", {"names": {"a": "b"}, "limit": {"k": 2}, "share": 2})
    assert got == _Shapes(names={"a": "b"}, limit={"k": 2}, share=2)
    assert from_plain(_Shapes, "x", {"names": {}, "limit": 3, "share": 0.5}).limit == 3


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"names": ["a"]}, r"^x\.names: expected a mapping, got list \['a'\]$"),
        ({"names": {1: "a"}}, r"^x\.names key: expected str, got int 1$"),
        ({"names": {}, "limit": True}, r"^x\.limit: expected int or a mapping, got bool True$"),
        ({"names": {}, "limit": {"k": 1.5}}, r"^x\.limit\['k'\]: expected int, got float 1\.5$"),
        ({"names": {}, "share": True}, r"^x\.share: expected float, got bool True$"),
        ({"names": {}, "tags": "a"}, r"^x\.tags: expected a list, got str 'a'$"),
    ],
)
def test_from_plain_names_the_bad_item(data: dict[str, Any], error: str) -> None:
    with pytest.raises(ProgramInputError, match=error):
        from_plain(_Shapes, "x", data)


def test_a_lab_machines_host_key_is_pinned_from_inside_and_replaced_when_recreated(
    tmp_path: Path,
) -> None:
    """What the LabVm provider and `lab up` do once a machine's sshd runs (issue 15)."""
    import subprocess

    import asyncssh

    from dcctl.lab.podman import HOST_KEY_PUB, pin_host_key
    from dcctl.ssh.knownhosts import KnownHosts

    keys = [
        asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
        for _ in range(2)
    ]
    asked: list[tuple[str, ...]] = []

    def fake_podman(*args: str, **_kw: Any) -> subprocess.CompletedProcess[str]:
        asked.append(args)
        return subprocess.CompletedProcess(args, 0, keys[len(asked) - 1], "")

    known = tmp_path / "known_hosts"
    assert pin_host_key("dlx-vm-a", known, "dinkes-simpus", "10.20.3.11/24", fake_podman) == "added"
    assert asked[0] == ("exec", "dlx-vm-a", "cat", HOST_KEY_PUB)
    pinned = KnownHosts(known).get("dinkes-simpus")
    assert pinned is not None and (pinned.host, pinned.keyline) == ("10.20.3.11", keys[0].strip())
    # The VM was recreated (new container, new key): dcctl made it, so the pin follows.
    assert pin_host_key("dlx-vm-a", known, "dinkes-simpus", "10.20.3.11/24", fake_podman) == (
        "replaced"
    )


def test_labvm_pin_inputs_are_checked() -> None:
    from dcctl.lab.hypervisor.inputs import check_inputs

    base = {
        "name": "dlx-vm-a", "netns": "dlx-vm-a", "bridge": "dlxh1", "port": "dlxn123456",
        "vlan": 110, "address": "10.0.0.2/24", "gateway": "10.0.0.1", "memory_mb": 128,
        "cpus": 1, "image": "localhost/dcctl-lab:1", "hostname": "a",
        "ssh_pubkey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOeB x",
    }  # fmt: skip
    assert check_inputs(base).failures == []
    ok = check_inputs({**base, "known_hosts": "/var/lib/dcctl/lab/x/known_hosts",
                       "host_alias": "dinkes-simpus"})  # fmt: skip
    assert ok.failures == []
    bad = check_inputs({**base, "known_hosts": "known_hosts", "host_alias": "a b"})
    assert {f.property for f in bad.failures} == {"known_hosts", "host_alias"}
