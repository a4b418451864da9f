"""The production Pulumi program, run against Pulumi's own mocks (no engine, no API).

Why: the resource graph is the contract with Proxmox. These tests pin it to the
example regency's desired state (pools, VNets, VMs with their VLAN, address and
tags, firewall only where exposure is public, backups) and prove the
classification guard refuses a public ``rahasia`` VM before anything is created.
"""

from __future__ import annotations

import copy
import runpy
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from dcctl.engines.pulumi import program, proxmox
from dcctl.engines.pulumi.program import ExposurePolicyError, regency_program, site_inputs
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from tests.conftest import EXAMPLE

VM = "proxmoxve:index/vmLegacy:VmLegacy"
POOL = "proxmoxve:index/poolLegacy:PoolLegacy"
VNET = "proxmoxve:sdn/vnet:Vnet"
SUBNET = "proxmoxve:sdn/subnet:Subnet"
ZONE = "proxmoxve:sdn/zone/vlan:Vlan"
APPLIER = "proxmoxve:sdn/applier:Applier"
RULES = "proxmoxve:firewall/rulesLegacy:RulesLegacy"
FW_OPTIONS = "proxmoxve:firewall/optionsLegacy:OptionsLegacy"
JOB = "proxmoxve:backup/job:Job"
IMAGE = "proxmoxve:download/file:File"
PROVIDER = "pulumi:providers:proxmoxve"


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    urn: str = ""
    parent: str = ""


@dataclass
class Deployment:
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of(self, typ: str) -> dict[str, Registered]:
        return {r.name: r for r in self.resources if r.typ == typ}

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every new_resource call; fakes the IDs Proxmox would assign."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.next_vm_id = 100
        self.lock = threading.Lock()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        rid = f"{args.name}-id"
        with self.lock:
            if args.typ == VM:
                self.next_vm_id += 1
                outputs["vmId"] = self.next_vm_id
            elif args.typ == IMAGE:
                i = args.inputs
                rid = f"{i['datastoreId']}:{i['contentType']}/{i['fileName']}"
            self.deployment.resources.append(Registered(args.typ, args.name, dict(args.inputs)))
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


class RecordingMonitor(MockMonitor):
    """Adds what MockResourceArgs lacks: each resource's URN and its parent's URN."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recorder = mocks

    def RegisterResource(self, request: Any) -> Any:  # the gRPC method's name
        response = super().RegisterResource(request)
        with self.recorder.lock:
            for r in reversed(self.recorder.deployment.resources):
                if r.typ == request.type and r.name == request.name and not r.urn:
                    r.urn, r.parent = response.urn, request.parent
                    break
        return response


def deploy(state: dict[str, Any], site: dict[str, Any]) -> Deployment:
    """Run the program to completion under fresh mocks; return what it registered."""
    return run_under_mocks(lambda: regency_program(state, site, "proxmox"))


def run_under_mocks(program_body: Callable[[], None], dep: Deployment | None = None) -> Deployment:
    dep = Deployment() if dep is None else dep
    mocks = RecordingMocks(dep)
    pulumi.runtime.settings.ROOT.set(None)  # a fresh root Stack per run
    pulumi.runtime.set_mocks(
        mocks,
        project="dcctl-regency",
        stack="test",
        preview=False,
        monitor=RecordingMonitor(mocks),
    )

    @pulumi.runtime.test
    def run() -> pulumi.Output[None]:
        program_body()
        root = pulumi.runtime.settings.get_root_resource()
        assert isinstance(root, pulumi.runtime.stack.Stack)
        return pulumi.Output.from_input(root.outputs).apply(dep.outputs.update)

    run()
    return dep


@pytest.fixture(scope="module")
def example() -> tuple[dict[str, Any], dict[str, Any]]:
    spec = load_spec(EXAMPLE)
    return desired_state(spec), site_inputs(spec)


@pytest.fixture(scope="module")
def dep(example: tuple[dict[str, Any], dict[str, Any]]) -> Deployment:
    state, site = example
    return deploy(state, site)


@pytest.fixture
def state(example: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(example[0])


@pytest.fixture
def site(example: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(example[1])


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("WSB_PVE_API_TOKEN", raising=False)
    yield


def test_one_pool_per_opd(dep: Deployment, state: dict[str, Any]) -> None:
    opds = {vm["opd"] for vm in state["vms"].values()} | {
        n["opd"] for n in state["networks"].values()
    }
    pools = dep.of(POOL)
    assert sorted(p.inputs["poolId"] for p in pools.values()) == sorted(opds)
    assert len(pools) == len(opds)


def test_one_vnet_per_network_tagged_with_its_vlan(dep: Deployment, state: dict[str, Any]) -> None:
    vnets, subnets = dep.of(VNET), dep.of(SUBNET)
    assert len(vnets) == len(state["networks"])
    for key, net in state["networks"].items():
        name = key.replace("/", "-")
        vnet = vnets[name]
        assert vnet.inputs["tag"] == net["vlan"]
        assert vnet.inputs["resourceId"] == f"v{net['vlan']}"
        assert len(vnet.inputs["resourceId"]) <= 8
        assert vnet.inputs["zone"] == "wonosobo"
        sub = subnets[f"{name}-subnet"].inputs
        assert (sub["cidr"], sub["gateway"], sub["vnet"]) == (
            net["prefix"],
            net["gateway"],
            f"v{net['vlan']}",
        )


def test_one_vlan_zone_on_the_node_bridge_and_sdn_applied(dep: Deployment) -> None:
    (zone,) = dep.of(ZONE).values()
    assert zone.inputs["bridge"] == "vmbr0"
    assert zone.inputs["nodes"] == ["pve1", "pve2"]
    assert len(dep.of(APPLIER)) == 1


def test_every_vm_matches_the_desired_state(
    dep: Deployment, state: dict[str, Any], site: dict[str, Any]
) -> None:
    vms = dep.of(VM)
    assert len(vms) == len(state["vms"])
    for key, want in state["vms"].items():
        got = vms[key.replace("/", "-")].inputs
        assert got["name"] == key.replace("/", "-")
        assert got["nodeName"] == want["node"]
        assert got["poolId"] == want["opd"]
        assert got["cpu"]["cores"] == want["vcpu"]
        assert got["memory"]["dedicated"] == want["memory_gb"] * 1024  # MiB
        disk = got["disks"][0]
        assert (disk["size"], disk["datastoreId"]) == (want["disk_gb"], "local-lvm")
        assert disk["importFrom"].startswith("local:import/debian-12")
        (nic,) = got["networkDevices"]
        assert (nic["bridge"], nic["vlanId"]) == ("vmbr0", want["vlan"])
        init = got["initialization"]
        (ip,) = init["ipConfigs"]
        assert ip["ipv4"] == {"address": want["address"], "gateway": want["gateway"]}
        assert init["dns"] == {"domain": "dc.wonosobo.go.id", "servers": want["dns"]}
        assert init["userAccount"] == {"username": "dcctl", "keys": site["ssh_keys"]}
        tags = set(got["tags"])
        assert {
            f"opd-{want['opd']}",
            f"sector-{want['sector']}",
            f"class-{want['classification']}",
        } <= tags
        assert all(
            t == t.lower() and set(t) <= set("abcdefghijklmnopqrstuvwxyz0123456789_-") for t in tags
        )
        assert got["onBoot"] is True and got["agent"]["enabled"] is True
        assert key in got["description"]


def test_public_vms_get_http_firewall_rahasia_vms_never_do(
    dep: Deployment, state: dict[str, Any]
) -> None:
    rules, options = dep.of(RULES), dep.of(FW_OPTIONS)
    public = {k for k, v in state["vms"].items() if v["exposure"] == "public"}
    rahasia = {k for k, v in state["vms"].items() if v["classification"] == "rahasia"}
    assert public and rahasia and not public & rahasia
    assert set(rules) == {f"{k.replace('/', '-')}-public" for k in public}
    assert set(options) == {f"{k.replace('/', '-')}-firewall" for k in public}
    for key in rahasia:
        name = key.replace("/", "-")
        assert f"{name}-public" not in rules
        assert "exposure-public" not in dep.of(VM)[name].inputs["tags"]
        assert dep.of(VM)[name].inputs["networkDevices"][0]["firewall"] is False
    for key in public:
        name = key.replace("/", "-")
        web = rules[f"{name}-public"].inputs["rules"][0]
        assert (web["proto"], web["dport"], web["action"]) == ("tcp", "80,443", "ACCEPT")
        assert "source" not in web  # from anywhere
        assert options[f"{name}-firewall"].inputs["inputPolicy"] == "DROP"
    # The VPN hub keeps its WireGuard port open.
    hub_rules = rules["kominfo-vpn-gw-public"].inputs["rules"]
    assert any(r.get("proto") == "udp" and r.get("dport") == "51820" for r in hub_rules)


def test_rahasia_vm_with_public_exposure_is_refused(
    state: dict[str, Any], site: dict[str, Any]
) -> None:
    state["vms"]["dinkes/simpus"]["exposure"] = "public"
    assert state["vms"]["dinkes/simpus"]["classification"] == "rahasia"
    dep = Deployment()
    with pytest.raises(ExposurePolicyError, match=r"dinkes/simpus.*rahasia.*public"):
        run_under_mocks(lambda: regency_program(state, site, "proxmox"), dep)
    assert dep.resources == []  # refused before anything was registered
    # The target refuses on its own too (defense in depth), before any resource.
    with pytest.raises(ExposurePolicyError):
        proxmox.build(state, site)


def test_stack_output_vms_has_every_address(dep: Deployment, state: dict[str, Any]) -> None:
    out = dep.outputs["vms"]
    assert set(out) == set(state["vms"])
    for key, vm in state["vms"].items():
        assert out[key]["address"] == vm["address"].split("/")[0]
        assert out[key]["node"] == vm["node"]
        assert out[key]["vlan"] == vm["vlan"]
        assert isinstance(out[key]["vm_id"], int)
    assert out["dinkes/simpus"]["address"] == "10.20.3.11"


def test_children_belong_to_their_opd_component(dep: Deployment, state: dict[str, Any]) -> None:
    opds = {r.name: r for r in dep.resources if r.typ == proxmox.OPD_TYPE}
    for key, vm in state["vms"].items():
        got = dep.of(VM)[key.replace("/", "-")]
        parent = dep.by_urn(got.parent)
        assert (parent.typ, parent.name) == (proxmox.OPD_TYPE, vm["opd"])
    for key, net in state["networks"].items():
        vnet = dep.of(VNET)[key.replace("/", "-")]
        assert vnet.parent == opds[net["opd"]].urn
    for pool in dep.of(POOL).values():
        assert pool.parent == opds[pool.inputs["poolId"]].urn
    # Site-wide objects sit at the top, not inside an OPD.
    for typ in (ZONE, APPLIER, IMAGE):
        for r in dep.of(typ).values():
            assert r.parent.split("::")[2] == "pulumi:pulumi:Stack"


def test_without_backup_storage_the_policy_is_a_tag(dep: Deployment, state: dict[str, Any]) -> None:
    assert not dep.of(JOB)  # the example site names no backup storage
    for key, vm in state["vms"].items():
        b = vm["backup"]
        tag = f"backup-{b['schedule']}-{b['retention_days']}d"
        assert tag in dep.of(VM)[key.replace("/", "-")].inputs["tags"]


def test_backup_jobs_follow_each_vms_policy(state: dict[str, Any], site: dict[str, Any]) -> None:
    site["backup_storage"] = "pbs"
    dep = deploy(state, site)
    vm_ids = {k: v["vm_id"] for k, v in dep.outputs["vms"].items()}
    jobs = dep.of(JOB)
    assert {j.inputs["storage"] for j in jobs.values()} == {"pbs"}
    covered: dict[str, str] = {}
    for job in jobs.values():
        for vmid in job.inputs["vmids"]:
            assert vmid not in covered, "a VM is in two backup jobs"
            covered[vmid] = job.name
    for key, vm in state["vms"].items():
        b = vm["backup"]
        if b["schedule"] == "none":
            assert str(vm_ids[key]) not in covered
            continue
        job = f"dcctl-{vm['opd']}-{b['schedule']}-{b['retention_days']}d"
        assert covered[str(vm_ids[key])] == job
    simda = jobs["dcctl-bpkad-hourly-60d"].inputs
    assert simda["pruneBackups"] == {"keep-hourly": "24", "keep-daily": "60"}


def test_api_token_comes_from_the_referenced_env_var(
    state: dict[str, Any], site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSB_PVE_API_TOKEN", "root@pam!dcctl=not-a-real-secret")
    dep = deploy(state, site)
    (prov,) = dep.of(PROVIDER).values()
    assert prov.inputs["endpoint"] == "https://pve.dc.wonosobo.go.id:8006"
    # It reaches the engine as a secret (the wire format's secret envelope), so
    # the engine encrypts it in state and masks it in every display.
    assert prov.inputs["apiToken"] == {
        rpc._special_sig_key: rpc._special_secret_sig,
        "value": "root@pam!dcctl=not-a-real-secret",
    }
    assert "not-a-real-secret" not in repr(dep.outputs)


def test_missing_token_outside_mocks_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proxmox, "_under_mocks", lambda: False)
    with pytest.raises(proxmox.CredentialError, match="WSB_PVE_API_TOKEN"):
        proxmox.api_token("env:WSB_PVE_API_TOKEN")


def test_token_secret_wrapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSB_PVE_API_TOKEN", "x@pve!t=secret")
    token = proxmox.api_token("env:WSB_PVE_API_TOKEN")
    assert token is not None

    @pulumi.runtime.test
    def check() -> pulumi.Output[bool]:
        return token.is_secret()  # type: ignore[union-attr]

    check()


def test_unknown_target_is_refused(state: dict[str, Any], site: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown target 'vsphere'"):
        program.regency_program(state, site, "vsphere")


def test_hand_run_stack_entry_point_builds_the_same_program(state: dict[str, Any]) -> None:
    main = EXAMPLE.parent.parent / "stacks" / "__main__.py"
    pulumi.runtime.set_all_config({"dcctl:spec": str(EXAMPLE)})
    try:
        dep = run_under_mocks(lambda: runpy.run_path(str(main)) and None)
    finally:
        pulumi.runtime.set_all_config({})
    assert dep.outputs["vms"]["dinkes/simpus"]["address"] == "10.20.3.11"
    assert len(dep.of(VM)) == len(state["vms"])


def test_nvr_gets_a_recording_disk_sized_from_the_cameras(
    dep: Deployment, state: dict[str, Any]
) -> None:
    from dcctl.cctv.storage import required_gb

    raw = sum(c["storage_gb"] for c in state["cctv"].values())
    disks = dep.of(VM)["kominfo-nvr"].inputs["disks"]
    rec = next(d for d in disks if d["interface"] == "scsi1")
    assert rec["size"] == required_gb(state["cctv"].values()) > raw
    assert rec["backup"] is False and rec["serial"] == "dcctl-cctv"
    others = {n: v for n, v in dep.of(VM).items() if n != "kominfo-nvr"}
    assert others and all(len(v.inputs["disks"]) == 1 for v in others.values())
