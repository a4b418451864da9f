"""The production Pulumi program, run against Pulumi's own mocks (no engine, no API).

Why: the resource graph is the contract with Proxmox. These tests pin it to the
example regency's desired state (pools, VNets, VMs with their VLAN, address and
tags, firewall only where exposure is public, backups) and prove the
classification guard refuses a public ``rahasia`` VM before anything is created.

Pulumi's mocks accept any inputs: a misspelt nested key, a wrong nested type or a
disk without its required ``interface`` is registered as is, and only the real
provider would refuse it, mid-apply. So the mocks here check every registered
resource against the SDK's own input types (the ``...Args`` classes: their keys,
required keys and value types), and a test checks that the program passes the
SDK's args objects, never plain dicts, for every nested input.
"""

from __future__ import annotations

import collections.abc
import copy
import hashlib
import inspect
import json
import runpy
import threading
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_proxmoxve as proxmoxve
import pytest
from pulumi import _types as pulumi_types
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from dcctl.engines.pulumi import program
from dcctl.engines.pulumi.hypervisors import proxmox
from dcctl.engines.pulumi.program import (
    ExposurePolicyError,
    ProgramInputError,
    regency_program,
    site_inputs,
)
from dcctl.firewall.flows import vm_flows
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
SNIPPET = "proxmoxve:index/fileLegacy:FileLegacy"

# Every resource type the program registers -> the SDK's input type of its inputs.
# A type missing here fails the mocks' input check (add it, do not skip it).
ARGS: dict[str, type] = {
    VM: proxmoxve.VmLegacyArgs,
    POOL: proxmoxve.PoolLegacyArgs,
    VNET: proxmoxve.sdn.VnetArgs,
    SUBNET: proxmoxve.sdn.SubnetArgs,
    ZONE: proxmoxve.sdn.zone.VlanArgs,
    APPLIER: proxmoxve.sdn.ApplierArgs,
    RULES: proxmoxve.firewall.RulesLegacyArgs,
    FW_OPTIONS: proxmoxve.firewall.OptionsLegacyArgs,
    JOB: proxmoxve.backup.JobArgs,
    IMAGE: proxmoxve.download.FileArgs,
    PROVIDER: proxmoxve.ProviderArgs,
    SNIPPET: proxmoxve.FileLegacyArgs,
}


class BadInputs(AssertionError):
    """Registered inputs that the SDK's input types do not allow."""


def input_errors(cls: type, value: Any, path: str = "") -> list[str]:
    """Why ``value`` (wire form: Pulumi names, numbers as floats) is not a valid ``cls``.

    ``cls`` is an SDK input type (``VmLegacyDiskArgs``): every key must be one of its
    inputs, every required one (no default in its ``__init__``) present, and every
    value of its declared type, recursively.
    """
    at = f"{path}: " if path else ""
    if not isinstance(value, dict):
        return [f"{at}expected {cls.__name__}, got {type(value).__name__} {value!r}"]
    names = pulumi_types.input_type_py_to_pulumi_names(cls)
    types = pulumi_types.input_type_types(cls)
    required = {
        names[p.name]
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is p.KEYWORD_ONLY and p.default is p.empty
    }
    errors = [
        f"{path}.{k}: required by {cls.__name__}, missing".lstrip(".")
        for k in sorted(required - value.keys())
    ]
    for key, item in sorted(value.items()):
        where = f"{path}.{key}".lstrip(".")
        if key not in types:
            errors.append(f"{where}: not an input of {cls.__name__}")
        else:
            errors += _value_errors(types[key], item, where)
    return errors


def _value_errors(hint: Any, value: Any, path: str) -> list[str]:
    hint = pulumi_types.unwrap_type(hint)
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        value = value["value"]  # a secret: check what it wraps
    if pulumi_types.is_input_type(hint):
        return input_errors(hint, value, path)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, collections.abc.Sequence):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__} {value!r}"]
        return [e for i, v in enumerate(value) for e in _value_errors(args[0], v, f"{path}[{i}]")]
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            return [f"{path}: expected a map, got {type(value).__name__} {value!r}"]
        return [e for k, v in value.items() for e in _value_errors(args[1], v, f"{path}.{k}")]
    ok = {
        str: lambda v: isinstance(v, str),
        bool: lambda v: isinstance(v, bool),
        # The wire has one number type: an int arrives as an integral float.
        int: lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v == int(v),
        float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    }.get(hint)
    if ok is None:
        return [f"{path}: the mocks cannot check values of type {hint!r}"]
    if ok(value):
        return []
    return [f"{path}: expected {hint.__name__}, got {type(value).__name__} {value!r}"]


def resource_input_errors(typ: str, inputs: dict[str, Any]) -> list[str]:
    """What is wrong with one registered custom resource's inputs (empty: nothing)."""
    cls = ARGS.get(typ)
    if cls is None:
        return [f"no SDK input type known for {typ} (add it to ARGS)"]
    if typ.startswith("pulumi:providers:"):
        # Provider inputs travel JSON-encoded, except strings.
        types = pulumi_types.input_type_types(cls)
        inputs = {
            k: json.loads(v) if isinstance(v, str) and types.get(k) not in (str, None) else v
            for k, v in inputs.items()
        }
    return input_errors(cls, inputs)


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
    checked: int = 0  # custom resources whose inputs were checked against the SDK's types
    bad_inputs: list[str] = field(default_factory=list)

    def of(self, typ: str) -> dict[str, Registered]:
        return {r.name: r for r in self.resources if r.typ == typ}

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)

    def graph(self) -> tuple[list[tuple[str, str, str, str, str]], str]:
        """Everything registered and exported, in an order-free, comparable form."""
        rows = sorted(
            (r.typ, r.name, r.urn, r.parent, json.dumps(r.inputs, sort_keys=True))
            for r in self.resources
        )
        return rows, json.dumps(self.outputs, sort_keys=True)


def fake_vm_id(name: str) -> int:
    """A Proxmox VM ID from the resource name: stable whatever the registration order."""
    return 100_000 + int(hashlib.sha256(name.encode()).hexdigest(), 16) % 900_000


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every new_resource call, checks its inputs, fakes the IDs Proxmox assigns."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.vm_ids: dict[int, str] = {}
        self.lock = threading.Lock()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        rid = f"{args.name}-id"
        with self.lock:
            if args.typ == VM:
                vm_id = fake_vm_id(args.name)
                assert self.vm_ids.setdefault(vm_id, args.name) == args.name, "fake VM ID clash"
                outputs["vmId"] = vm_id
            elif args.typ == IMAGE:
                i = args.inputs
                rid = f"{i['datastoreId']}:{i['contentType']}/{i['fileName']}"
            if args.custom:
                self.deployment.checked += 1
                self.deployment.bad_inputs += [
                    f"{args.name}: {e}" for e in resource_input_errors(args.typ, args.inputs)
                ]
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


def run_under_mocks(
    program_body: Callable[[], None], dep: Deployment | None = None, *, check: bool = True
) -> Deployment:
    """Run ``program_body`` under fresh mocks; raise :class:`BadInputs` unless ``check`` is off."""
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
    if check and dep.bad_inputs:
        raise BadInputs("; ".join(dep.bad_inputs))
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


def test_public_vms_accept_only_their_flows_never_the_server_pool(
    dep: Deployment, state: dict[str, Any]
) -> None:
    """Issue 15: from the data center a public VM accepts exactly its flows (dcctl.firewall)."""
    import netaddr

    spec = load_spec(EXAMPLE)
    flows = vm_flows(spec, state)
    pool = netaddr.IPNetwork(spec.site.ipam.server_pool)
    mgmt = spec.site.management.prefix
    rules = dep.of(RULES)
    for key, vm in state["vms"].items():
        if vm["exposure"] != "public":
            continue
        got = rules[f"{key.replace('/', '-')}-public"].inputs["rules"]
        sources = [r["source"] for r in got if r.get("source")]
        assert sources, got
        for src in sources:
            assert not any(pool in netaddr.IPNetwork(s) for s in src.split(",")), (key, src)
        ssh = [r for r in got if r.get("dport") == "22"]
        assert [r["source"] for r in ssh] == [mgmt], ssh
        # One rule per flow: the spec's flows, nothing else (no accept-everything rule).
        assert len(got) == len(flows[key]), (got, flows[key])
        assert all(r.get("proto") or r.get("macro") == "Ping" for r in got), got


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


def test_each_vms_policy_is_a_tag_too(dep: Deployment, state: dict[str, Any]) -> None:
    for key, vm in state["vms"].items():
        b = vm["backup"]
        tag = f"backup-{b['schedule']}-{b['retention_days']}d"
        assert tag in dep.of(VM)[key.replace("/", "-")].inputs["tags"]


def test_backup_jobs_follow_each_vms_policy(dep: Deployment, state: dict[str, Any]) -> None:
    """Issue 18: one vzdump job per policy, schedule and retention from it, every copy."""
    vm_ids = {k: str(v["vm_id"]) for k, v in dep.outputs["vms"].items()}
    jobs = dep.of(JOB)
    # The example's storages, from site.yaml's backup section.
    assert {j.inputs["storage"] for j in jobs.values()} == {"pbs-dc", "pbs-dr"}
    covered: dict[tuple[str, str], str] = {}  # (vm id, storage) -> job
    for job in jobs.values():
        assert job.inputs["resourceId"] == job.name
        assert job.inputs["mode"] == "snapshot" and job.inputs["enabled"] is True
        for vmid in job.inputs["vmids"]:
            where = (vmid, job.inputs["storage"])
            assert where not in covered, "a VM is in two backup jobs to one storage"
            covered[where] = job.name
    expected: dict[tuple[str, str], str] = {}
    for key, vm in state["vms"].items():
        b = vm["backup"]
        if b["schedule"] == "none":
            continue
        job = f"dcctl-{vm['opd']}-{b['schedule']}-{b['retention_days']}d"
        expected[(vm_ids[key], "pbs-dc")] = job
        if b["copies"] == 2:
            expected[(vm_ids[key], "pbs-dr")] = job + "-offsite"
    assert covered == expected
    # The backup VMs are in no job; every other VM of the example is.
    backed_up = {vmid for vmid, _ in covered}
    assert vm_ids["kominfo/backup"] not in backed_up
    assert len(backed_up) == len(state["vms"]) - 2
    # bpkad/simda-keu: its own hourly/60 (stricter than rahasia's daily/14), two copies.
    primary = jobs["dcctl-bpkad-hourly-60d"].inputs
    offsite = jobs["dcctl-bpkad-hourly-60d-offsite"].inputs
    assert primary["pruneBackups"] == {"keep-hourly": "24", "keep-daily": "60"}
    assert offsite["pruneBackups"] == primary["pruneBackups"]
    minute = int(primary["schedule"].split(":")[1])
    assert primary["schedule"] == f"*:{minute:02d}"
    assert offsite["schedule"] == f"*:{(minute + 30) % 60:02d}"  # never at once
    # A publik VM without a policy of its own: the publik minimum, weekly/28 days.
    weekly = jobs["dcctl-dinkes-weekly-28d"].inputs
    assert weekly["vmids"] == [vm_ids["dinkes/info-sehat"]]
    assert weekly["schedule"].startswith("sun 02:")
    assert weekly["pruneBackups"] == {"keep-weekly": "4"}
    # A terbatas OPD keeps one copy: no off-site job.
    assert not [j for j in jobs if j.startswith("dcctl-disdik-") and j.endswith("-offsite")]


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        (
            "backup_storage",
            r"dinkes/simpus: backup policy daily but the site names no backup "
            r"storage \(backup\.proxmox_storage\)",
        ),
        (
            "backup_offsite_storage",
            r"dinkes/simpus: keeps 2 copies but the site names no "
            r"off-site backup storage",
        ),
    ],
)
def test_a_policy_without_its_storage_is_refused_before_anything_is_created(
    state: dict[str, Any], site: dict[str, Any], storage: str, message: str
) -> None:
    """Never a silent skip (issue 18): no job, no VM, an error naming the VM."""
    site[storage] = None
    dep = Deployment()
    with pytest.raises(ValueError, match=message):
        run_under_mocks(lambda: regency_program(state, site, "proxmox"), dep)
    assert dep.resources == []  # refused before anything was registered


def test_without_any_policy_no_storage_is_needed(
    state: dict[str, Any], site: dict[str, Any]
) -> None:
    for vm in state["vms"].values():
        vm["backup"] = {"schedule": "none", "retention_days": 0, "copies": 0}
    site["backup_storage"] = site["backup_offsite_storage"] = None
    dep = deploy(state, site)
    assert not dep.of(JOB) and dep.of(VM)


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
        proxmox.api_token("env:WSB_PVE_API_TOKEN", str(EXAMPLE))


def test_token_secret_wrapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSB_PVE_API_TOKEN", "x@pve!t=secret")
    token = proxmox.api_token("env:WSB_PVE_API_TOKEN", str(EXAMPLE))
    assert token is not None

    @pulumi.runtime.test
    def check() -> pulumi.Output[bool]:
        return token.is_secret()  # type: ignore[union-attr]

    check()


def test_unknown_hypervisor_is_refused(state: dict[str, Any], site: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown hypervisor 'vsphere'; known: lab, proxmox"):
        program.regency_program(state, site, "vsphere")


def test_hand_run_stack_entry_point_builds_the_same_program(
    state: dict[str, Any], site: dict[str, Any]
) -> None:
    main = EXAMPLE.parent.parent / "stacks" / "__main__.py"
    pulumi.runtime.set_all_config({"dcctl:spec": str(EXAMPLE)})
    try:
        hand = run_under_mocks(lambda: runpy.run_path(str(main)) and None)
    finally:
        pulumi.runtime.set_all_config({})
    # What dcctl runs through the Automation API: the site plus what production adds
    # (the VMs whose SSH host keys dcctl makes, dcctl.ssh.vmkeys).
    from dcctl import targets

    prod = targets.get("prod").site_inputs(load_spec(EXAMPLE), state)
    inline = deploy(state, {**site, **prod})
    assert len(hand.of(VM)) == len(state["vms"]) > 0
    # The same resources (type, name, URN, parent, every input) and the same exports.
    assert hand.graph() == inline.graph()


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


def test_every_registered_resource_is_checked_against_the_sdk_input_types(
    state: dict[str, Any], site: dict[str, Any]
) -> None:
    site["host_keys"] = {k: "" for k in state["vms"]}  # and host key snippets
    dep = deploy(state, site)
    custom = [r for r in dep.resources if r.typ != proxmox.OPD_TYPE]
    assert {r.typ for r in custom} == set(ARGS)  # every type the program uses is known
    assert dep.checked == len(custom) > 0
    assert dep.bad_inputs == []


def _untyped(hint: Any, value: Any, path: str) -> list[str]:
    hint = pulumi_types.unwrap_type(hint)
    if pulumi_types.is_input_type(hint):
        if not isinstance(value, hint):
            return [f"{path}: a {type(value).__name__}, not the SDK's {hint.__name__}"]
        names = pulumi_types.input_type_py_to_pulumi_names(hint)
        types = pulumi_types.input_type_types(hint)
        return [
            e
            for py, v in vars(value).items()
            if v is not None and py in names
            for e in _untyped(types[names[py]], v, f"{path}.{py}".lstrip("."))
        ]
    if typing.get_origin(hint) in (list, collections.abc.Sequence) and isinstance(value, list):
        (item,) = typing.get_args(hint)
        return [e for i, v in enumerate(value) for e in _untyped(item, v, f"{path}[{i}]")]
    return []


def test_nested_inputs_are_the_sdks_args_objects(
    state: dict[str, Any], site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain dict would let a misspelt or missing key through to the provider."""
    built: list[tuple[str, str, Any]] = []
    real = pulumi.CustomResource.__init__

    def spy(
        self: pulumi.CustomResource, t: str, name: str, props: Any = None, *a: Any, **kw: Any
    ) -> None:
        built.append((t, name, props))
        real(self, t, name, props, *a, **kw)

    monkeypatch.setattr(pulumi.CustomResource, "__init__", spy)
    site["host_keys"] = {k: "" for k in state["vms"]}  # and host key snippets
    deploy(state, site)
    assert {t for t, _, _ in built} == set(ARGS)
    # A provider's nested inputs (its ssh block) are JSON-encoded by the SDK itself
    # before they reach here; the mocks' input check decodes and checks them.
    untyped = [
        f"{name}: {e}"
        for t, name, props in built
        if t != PROVIDER
        for e in _untyped(ARGS[t], props, "")
    ]
    assert untyped == []
    # The check looks inside: the VMs' nested inputs are there to be checked.
    vm = next(props for t, name, props in built if name == "kominfo-nvr")
    assert isinstance(vm.disks[1], proxmoxve.VmLegacyDiskArgs)
    assert isinstance(
        vm.initialization.ip_configs[0].ipv4, proxmoxve.VmLegacyInitializationIpConfigIpv4Args
    )


def test_sdk_args_objects_refuse_a_misspelt_or_missing_key_but_not_a_wrong_type() -> None:
    """Why both halves exist: the args classes refuse bad keys, the mocks' check bad types."""
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        proxmoxve.VmLegacyAgentArgs(enabled=True, bogus=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'interface'"):
        proxmoxve.VmLegacyDiskArgs(size=32)  # type: ignore[call-arg]
    proxmoxve.VmLegacyCpuArgs(cores="two")  # type: ignore[arg-type]  # accepted as is
    assert input_errors(proxmoxve.VmLegacyCpuArgs, {"cores": "two"}) == [
        "cores: expected int, got str 'two'"
    ]


def _tamper(monkeypatch: pytest.MonkeyPatch, vm: str, **bad: Any) -> None:
    """Make the program pass ``bad`` (plain data, as the program once did) to one VM."""
    real = proxmoxve.VmLegacy

    def tampered(resource_name: str, **kwargs: Any) -> proxmoxve.VmLegacy:
        if resource_name == vm:
            kwargs.update(bad)
        return real(resource_name, **kwargs)

    monkeypatch.setattr(proxmoxve, "VmLegacy", tampered)


@pytest.mark.parametrize(
    ("bad", "registered", "error"),
    [
        pytest.param(
            {"agent": {"enabled": True, "bogus": True}},
            lambda vm: vm["agent"]["bogus"] is True,
            r"^dinkes-simpus: agent\.bogus: not an input of VmLegacyAgentArgs$",
            id="misspelt-nested-key",
        ),
        pytest.param(
            {"cpu": {"cores": "two", "type": "x86-64-v2-AES"}},
            lambda vm: vm["cpu"]["cores"] == "two",
            r"^dinkes-simpus: cpu\.cores: expected int, got str 'two'$",
            id="wrong-nested-type",
        ),
        pytest.param(
            {"disks": [{"datastore_id": "local-lvm", "size": 32}]},
            lambda vm: "interface" not in vm["disks"][0],
            r"^dinkes-simpus: disks\[0\]\.interface: required by VmLegacyDiskArgs, missing$",
            id="disk-without-interface",
        ),
    ],
)
def test_mocks_refuse_a_bad_nested_input(
    state: dict[str, Any],
    site: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    bad: dict[str, Any],
    registered: Callable[[dict[str, Any]], bool],
    error: str,
) -> None:
    _tamper(monkeypatch, "dinkes-simpus", **bad)
    # Pulumi's mocks alone register it silently (as these tests did before the check):
    unchecked = run_under_mocks(lambda: regency_program(state, site, "proxmox"), check=False)
    assert registered(unchecked.of(VM)["dinkes-simpus"].inputs)
    with pytest.raises(BadInputs, match=error):
        deploy(state, site)


@pytest.mark.parametrize(
    ("doctor", "error"),
    [
        pytest.param(
            lambda st, si: st["vms"]["dinkes/simpus"].update(vcpu="two"),
            r"dinkes/simpus\.vcpu: expected int, got str 'two'",
            id="vcpu-two",
        ),
        pytest.param(
            lambda st, si: st["vms"]["dinkes/simpus"]["backup"].update(retention_days="14"),
            r"dinkes/simpus\.backup\.retention_days: expected int, got str '14'",
            id="nested-in-the-state",
        ),
        pytest.param(
            lambda st, si: st["vms"]["dinkes/simpus"].pop("vlan"),
            r"dinkes/simpus\.vlan is missing",
            id="missing-field",
        ),
        pytest.param(
            lambda st, si: si["nodes"][0].update(bridge=0),
            r"site\.nodes\[0\]\.bridge: expected str, got int 0",
            id="site-field",
        ),
    ],
)
def test_mistyped_program_input_is_refused_before_any_resource(
    state: dict[str, Any],
    site: dict[str, Any],
    doctor: Callable[[dict[str, Any], dict[str, Any]], object],
    error: str,
) -> None:
    doctor(state, site)
    dep = Deployment()
    with pytest.raises(ProgramInputError, match=error):
        run_under_mocks(lambda: regency_program(state, site, "proxmox"), dep)
    assert dep.resources == []
