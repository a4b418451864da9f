"""``LabVm``: a Pulumi dynamic resource that stands in for a Proxmox VE VM in the lab.

Why a container and not a VM: the lab machines cannot run KVM guests (QEMU falls back
to TCG, far too slow for twenty VMs) and reach no container registry, so each "VM" is
a systemd container of the image ``scripts/build-lab-image`` builds (Debian 12, sshd,
python3), run by podman inside its own network namespace. To Ansible it looks like a
VM: its own address on its OPD's VLAN, a default route to the OPD gateway, systemd,
SSH with key-only root login.

Networking mirrors production: a VM's NIC is an access port in its VLAN on the node's
bridge. Here the bridge is an Open vSwitch bridge with the userspace datapath (the lab
kernel has no 802.1Q devices), the NIC is a veth pair: ``eth0`` in the VM's namespace,
the other end (named by the ``port`` input) an OVS port with ``tag=<vlan>``. The lab
builder owns the bridges and the gateways; this resource only plugs VMs in.

Provider semantics, chosen to match ``proxmoxve.VmLegacy`` closely enough that a lab
rehearsal predicts production plans:

* ``memory_mb``/``cpus`` change in place (``podman update``), like a Proxmox memory or
  core change; ``ssh_pubkey`` also changes in place (``authorized_keys`` is rewritten).
  Everything else (image, VLAN, address, bridge, names, hostname, DNS) replaces the VM,
  deleting first, because the names and the address would collide.
* ``read`` (``pulumi refresh``) inspects the live container: gone, stopped or cut off
  from its network means the VM is reported gone (empty id) so the next ``up`` builds
  it again; memory and CPU are read from the container's cgroup, not from
  ``podman inspect``, because podman 4.3 (Debian 12) does not record ``podman update``
  in the container's configuration.
* Every command is an argument list with a timeout; failures raise with the command's
  stderr. ``create`` is transactional: on failure it removes what it made. ``delete``
  tolerates things already gone.

Gotchas baked in (found on the lab machines, see /work/shared/notes/machine.md):

* podman must run with ``--runtime runc`` (crun fails on this cgroup layout) and
  explicit ``--ulimit nofile/nproc`` (the default ulimits are refused).
* The userspace OVS datapath forwards veth frames with the partial checksums of TX
  checksum offload unchanged: ping works, TCP (SSH) silently fails. TX offload is
  switched off on ``eth0`` in the VM's namespace (``ethtool -K eth0 tx off``). Anything
  else on the bridge that speaks TCP (the lab's gateways) needs the same.
* Providers are pickled with dill. ``LabVmProvider`` is a module-level class of an
  installed package, so it is pickled *by reference* (the module and class name, in
  every LabVm's ``__provider`` in the stack state) and the provider process
  (``python -m pulumi.dynamic``, run with ``PULUMI_PYTHON_CMD``) imports this module;
  that python must have dcctl installed (the project venv does). Pulumi reads and
  deletes a resource with the provider its state names, so moving or renaming this
  class breaks refresh and delete of VMs a stack made before (this module was
  ``dcctl.engines.pulumi.labvm`` until the lab hypervisor moved into the lab).
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from dcctl.lab import podman

__all__ = [
    "INPUTS",
    "REPLACE_ON",
    "UPDATE_IN_PLACE",
    "LabVm",
    "LabVmError",
    "LabVmProvider",
    "live_limits",
]

# Inputs whose change needs a new VM (its identity or wiring) vs. those `update` applies.
REPLACE_ON: tuple[str, ...] = (
    "name",
    "netns",
    "bridge",
    "port",
    "vlan",
    "address",
    "gateway",
    "image",
    "hostname",
    "admin_user",
    "dns",  # podman bind-mounts resolv.conf at run time
)
UPDATE_IN_PLACE: tuple[str, ...] = ("memory_mb", "cpus", "ssh_pubkey")
INPUTS: tuple[str, ...] = REPLACE_ON + UPDATE_IN_PLACE

LABEL = "dcctl.lab"

_TIMEOUT_S = 60.0
_SSH_WAIT_S = 90.0
_STOP_TIMEOUT_S = "3"  # seconds systemd gets to shut down before podman kills it

_IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
_CONTAINER = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_NETNS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]{0,254}$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_PUBKEY = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+)"
    r" [A-Za-z0-9+/]+={0,3}( [^\n]*)?$"
)
# The string Pulumi's RPC layer uses for values unknown during a preview.
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class LabVmError(RuntimeError):
    """A lab VM operation failed; the message names the command and its stderr."""


# --- small helpers ---------------------------------------------------------------------


def _env() -> dict[str, str]:
    # The provider process inherits the engine's environment, which may lack sbin dirs.
    env = dict(os.environ)
    path = env.get("PATH", "")
    extra = [d for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin") if d not in path.split(":")]
    env["PATH"] = ":".join([p for p in [path, *extra] if p])
    return env


def _run(
    argv: Sequence[str],
    *,
    timeout: float = _TIMEOUT_S,
    check: bool = True,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one command (argument list, never a shell) with a timeout."""
    try:
        proc = subprocess.run(
            list(argv),
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=_env(),
        )
    except subprocess.TimeoutExpired as exc:
        raise LabVmError(f"{' '.join(argv)}: no answer within {timeout:.0f} s") from exc
    except OSError as exc:
        raise LabVmError(f"{argv[0]}: {exc}") from exc
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip()[-800:]
        raise LabVmError(f"{' '.join(argv)} failed ({proc.returncode}): {err}")
    return proc


def _podman(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return _run(["podman", "--runtime", podman.RUNTIME, *args], **kw)


def _number(value: Any) -> float | None:
    # Pulumi's RPC layer turns every number into a float; bools are not numbers here.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value == _UNKNOWN


def _same(old: Any, new: Any) -> bool:
    a, b = _number(old), _number(new)
    if a is not None and b is not None:
        return math.isclose(a, b, abs_tol=1e-6)
    return bool(old == new)


def _inspect(ref: str) -> dict[str, Any] | None:
    """``podman container inspect`` of ``ref`` (id or name), or None if there is none."""
    if not ref:
        return None
    proc = _podman("container", "inspect", ref, check=False)
    if proc.returncode != 0:
        return None
    data = json.loads(proc.stdout or "[]")
    return data[0] if data else None


def _cgroup_mounts() -> tuple[dict[str, str], str | None]:
    """v1 controller -> mount point, and the cgroup2 mount point (if any)."""
    v1: dict[str, str] = {}
    v2: str | None = None
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3:
            continue
        if rfields[0] == "cgroup2":
            v2 = fields[4]
        elif rfields[0] == "cgroup":
            for opt in rfields[2].split(","):
                v1.setdefault(opt, fields[4])
    return v1, v2


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().split()[0]
    except (OSError, IndexError):
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def live_limits(ref: str) -> tuple[int | None, float | None]:
    """Memory limit (MiB) and CPU quota (CPUs) the running container really has.

    Read from the kernel (cgroup v1 or v2) because podman 4.3 keeps reporting the
    create-time values after ``podman update``. ``(None, None)`` when not running.
    """
    info = _inspect(ref)
    pid = int((info or {}).get("State", {}).get("Pid") or 0)
    if pid <= 0:
        return None, None
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None, None
    paths: dict[str, str] = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            paths[c] = path
    v1, v2 = _cgroup_mounts()
    mem_bytes: int | None = None
    cpus: float | None = None
    if "memory" in paths and "memory" in v1:
        mem_bytes = _read_int(Path(v1["memory"] + paths["memory"]) / "memory.limit_in_bytes")
    if "cpu" in paths and "cpu" in v1:
        base = Path(v1["cpu"] + paths["cpu"])
        quota, period = _read_int(base / "cpu.cfs_quota_us"), _read_int(base / "cpu.cfs_period_us")
        if quota is not None and period and quota > 0:
            cpus = quota / period
    if v2 and "" in paths:
        base = Path(v2 + paths[""])
        if mem_bytes is None:
            mem_bytes = _read_int(base / "memory.max")
        if cpus is None:
            try:
                quota_s, period_s = (base / "cpu.max").read_text().split()
                if quota_s != "max":
                    cpus = int(quota_s) / int(period_s)
            except (OSError, ValueError):
                pass
    mem_mb = mem_bytes // (1024 * 1024) if mem_bytes and mem_bytes < 2**60 else None
    return mem_mb, (round(cpus, 3) if cpus is not None else None)


def _netns_exists(netns: str) -> bool:
    return (Path(podman.NETNS_DIR) / netns).exists()


def _link_exists(ifname: str) -> bool:
    return Path("/sys/class/net", ifname).exists()


def _ovs_port(port: str) -> tuple[str | None, int | None]:
    """(bridge, tag) of an OVS port, or (None, None) if OVS has no such port."""
    br = _run(["ovs-vsctl", "--timeout=10", "port-to-br", port], check=False)
    if br.returncode != 0:
        return None, None
    tag = _run(["ovs-vsctl", "--timeout=10", "get", "Port", port, "tag"], check=False)
    value = tag.stdout.strip()
    return br.stdout.strip(), (int(value) if value.isdigit() else None)


def _teardown(*, container: str | None, netns: str, port: str) -> None:
    """Remove a VM's container, OVS port and namespace; each may already be gone."""
    if container:
        _podman("rm", "--force", "--ignore", "--time", _STOP_TIMEOUT_S, container, timeout=90)
    _run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-port", port])
    if _netns_exists(netns):
        _run(["ip", "netns", "delete", netns])
    if _link_exists(port):  # the veth normally dies with the namespace
        _run(["ip", "link", "delete", port], check=False)


# --- the provider ----------------------------------------------------------------------


class LabVmProvider(ResourceProvider):
    """CRUD of a lab VM (podman container + netns + veth + OVS access port)."""

    # Nothing secret is captured: keep the serialized provider readable in the state.
    serialize_as_secret_always = False

    # check ---------------------------------------------------------------------------
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate and normalize inputs before anything touches the host."""
        failures: list[CheckFailure] = []
        inputs = dict(news)

        def fail(prop: str, reason: str) -> None:
            failures.append(CheckFailure(prop, reason))

        def text(prop: str, pattern: re.Pattern[str], what: str) -> None:
            value = inputs.get(prop)
            if _is_unknown(value):
                return
            if not isinstance(value, str) or not pattern.match(value):
                fail(prop, f"{prop} must be {what}, got {value!r}")

        text("name", _CONTAINER, "a container name (lowercase letters, digits, _ . -)")
        text("netns", _NETNS, "a namespace name (letters, digits, _ . -)")
        text("bridge", _IFNAME, "an interface name of at most 15 characters")
        text("port", _IFNAME, "an interface name of at most 15 characters")
        text("image", _IMAGE, "a container image reference")
        text("hostname", _HOSTNAME, "a lowercase DNS host name")
        if inputs.get("admin_user") is not None:
            text("admin_user", _USER, "a Linux user name")
            if inputs.get("admin_user") == "root":
                fail("admin_user", "admin_user must not be root (root always gets the keys)")

        for prop, lo, hi in (("vlan", 1, 4094), ("memory_mb", 32, 1024 * 1024)):
            value = inputs.get(prop)
            if _is_unknown(value):
                continue
            num = _number(value)
            if num is None or not num.is_integer() or not lo <= num <= hi:
                fail(prop, f"{prop} must be an integer in {lo}..{hi}, got {value!r}")
            else:
                inputs[prop] = int(num)

        cpus = inputs.get("cpus")
        if not _is_unknown(cpus):
            num = _number(cpus)
            limit = os.cpu_count() or 1
            if num is None or not 0.01 <= num <= limit:
                fail("cpus", f"cpus must be a number in 0.01..{limit} (CPUs of this host)")
            else:
                inputs["cpus"] = int(num) if num.is_integer() else num

        address, gateway = inputs.get("address"), inputs.get("gateway")
        iface: ipaddress.IPv4Interface | None = None
        if not _is_unknown(address):
            try:
                if not isinstance(address, str) or "/" not in address:
                    raise ValueError
                iface = ipaddress.IPv4Interface(address)
            except ValueError:
                fail("address", f"address must be IPv4 CIDR like 10.20.3.11/24, got {address!r}")
        if not _is_unknown(gateway):
            try:
                gw = ipaddress.IPv4Address(gateway if isinstance(gateway, str) else "")
            except ValueError:
                fail("gateway", f"gateway must be an IPv4 address, got {gateway!r}")
            else:
                if iface is not None and (gw not in iface.network or gw == iface.ip):
                    fail("gateway", f"gateway {gw} is not another address of {iface.network}")

        keys = inputs.get("ssh_pubkey")
        if not _is_unknown(keys):
            lines = (
                [k.strip() for k in keys.splitlines() if k.strip()] if isinstance(keys, str) else []
            )
            if not lines or any(not _PUBKEY.match(k) for k in lines):
                fail("ssh_pubkey", "ssh_pubkey must be one or more OpenSSH public key lines")
            elif "PRIVATE KEY" in keys:
                fail("ssh_pubkey", "ssh_pubkey looks like a private key; pass the public key")
            else:
                inputs["ssh_pubkey"] = "\n".join(lines)

        dns = inputs.get("dns")
        if dns is None:
            inputs["dns"] = []
        elif not _is_unknown(dns):
            try:
                if not isinstance(dns, list):
                    raise ValueError
                inputs["dns"] = [str(ipaddress.ip_address(a)) for a in dns]
            except ValueError:
                fail("dns", f"dns must be a list of IP addresses, got {dns!r}")

        optional = ("admin_user", "dns")
        missing = [p for p in INPUTS if p not in optional and inputs.get(p) in (None, "")]
        failures += [CheckFailure(p, f"{p} is required") for p in missing]
        return CheckResult(inputs, failures)

    # diff ----------------------------------------------------------------------------
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Memory, CPUs and keys update in place; any other input replaces the VM."""
        changed = [
            p for p in INPUTS if _is_unknown(news.get(p)) or not _same(olds.get(p), news.get(p))
        ]
        replaces = [p for p in changed if p in REPLACE_ON]
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            stables=[],
            # Same container name, netns, port and address: the old VM must go first.
            delete_before_replace=True,
        )

    # create --------------------------------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        """Wire the namespace, start the container, install the key, wait for sshd."""
        name, netns, port = props["name"], props["netns"], props["port"]
        self._clear_leftovers(name, netns, port)
        try:
            self._wire(props)
            podman.start_machine(name, netns, self._run_args(props), run=_podman, host_run=_run)
            info = _inspect(name)
            if info is None:
                raise LabVmError(f"container {name} vanished right after podman start")
            podman.install_login(name, props["ssh_pubkey"], props.get("admin_user"), run=_podman)
            self._wait_for_sshd(name, netns)
            self._announce(netns, props["gateway"])
        except BaseException:
            # Transactional create: undo, but never let a cleanup error hide the cause.
            try:
                _teardown(container=name, netns=netns, port=port)
            except LabVmError as cleanup:
                pulumi.log.warn(f"lab VM {name}: cleanup after failed create: {cleanup}")
            raise
        outs = {p: props.get(p) for p in INPUTS}
        outs["container_id"] = info["Id"]
        return CreateResult(id_=info["Id"], outs=outs)

    @staticmethod
    def _clear_leftovers(name: str, netns: str, port: str) -> None:
        """Remove what a crashed earlier create of *this* VM left behind.

        Names are derived from the lab id, so a namespace or port of this name belongs to
        this VM. A container of this name is removed only if it carries our label; one
        that does not is someone else's and create refuses.
        """
        info = _inspect(name)
        if info is not None:
            labels = (info.get("Config") or {}).get("Labels") or {}
            if labels.get(LABEL) != "vm":
                raise LabVmError(f"a container named {name} exists and is not a dcctl lab VM")
            pulumi.log.warn(f"removing leftover lab VM container {name}")
        else:
            # A `podman create` killed midway can leave the name taken in container
            # storage while podman's database has no such container: the next create
            # would fail "name already in use". Names are this VM's (lab id), so ours.
            _podman("rm", "--storage", "--force", "--ignore", name, check=False)
        if info is not None or _netns_exists(netns) or _link_exists(port):
            _teardown(container=name if info is not None else None, netns=netns, port=port)

    @staticmethod
    def _wire(props: Mapping[str, Any]) -> None:
        netns, port = props["netns"], props["port"]
        _run(["ip", "netns", "add", netns])
        # Create the peer straight inside the namespace: no temporary host-side name.
        _run(["ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", netns])
        ns = ["ip", "-n", netns]
        _run([*ns, "link", "set", "lo", "up"])
        _run([*ns, "address", "add", props["address"], "dev", "eth0"])
        _run([*ns, "link", "set", "eth0", "up"])
        _run([*ns, "route", "add", "default", "via", props["gateway"], "dev", "eth0"])
        # Userspace OVS passes partially checksummed frames on: TCP would fail.
        _run(["ip", "netns", "exec", netns, "ethtool", "-K", "eth0", "tx", "off"])
        _run(
            [
                "ovs-vsctl", "--timeout=10", "add-port", props["bridge"], port,
                f"tag={int(props['vlan'])}",
            ]
        )  # fmt: skip
        _run(["ip", "link", "set", port, "up"])

    @staticmethod
    def _run_args(props: Mapping[str, Any]) -> list[str]:
        mem = f"{int(props['memory_mb'])}m"
        return podman.machine_args(
            props["name"],
            props["netns"],
            props["image"],
            hostname=props["hostname"],
            dns=props.get("dns") or [],
            labels={
                LABEL: "vm",
                f"{LABEL}.netns": props["netns"],
                f"{LABEL}.port": props["port"],
                f"{LABEL}.bridge": props["bridge"],
            },
            extra=["--memory", mem, "--memory-swap", mem, "--cpus", str(props["cpus"])],
        )

    @staticmethod
    def _wait_for_sshd(name: str, netns: str) -> None:
        deadline = time.monotonic() + _SSH_WAIT_S
        while True:
            listening = _run(
                ["ip", "netns", "exec", netns, "ss", "-Hltn", "sport", "=", ":22"], check=False
            )
            if listening.returncode == 0 and listening.stdout.strip():
                return
            info = _inspect(name)
            if info is None or not info.get("State", {}).get("Running"):
                logs = _podman("logs", "--tail", "20", name, check=False).stdout
                raise LabVmError(f"container {name} stopped while booting: {logs.strip()}")
            if time.monotonic() > deadline:
                raise LabVmError(f"sshd of {name} did not listen within {_SSH_WAIT_S:.0f} s")
            time.sleep(0.5)

    @staticmethod
    def _announce(netns: str, gateway: str) -> None:
        """Make the gateway learn this VM's (new) MAC address right away.

        A replaced VM keeps its address but gets a new MAC; the gateway's stale ARP entry
        would black-hole traffic to it for up to a minute. One ping to the gateway sends
        an ARP request, from which the gateway updates its entry. A missing gateway (the
        lab builder has not made it yet) is not an error.
        """
        _run(["ip", "netns", "exec", netns, "ping", "-c", "1", "-W", "2", gateway], check=False)

    # update --------------------------------------------------------------------------
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Apply memory/CPU limits to the running container and rewrite the keys."""
        name = news["name"]
        if not (
            _same(olds.get("memory_mb"), news["memory_mb"])
            and _same(olds.get("cpus"), news["cpus"])
        ):
            mem = f"{int(news['memory_mb'])}m"
            _podman("update", "--memory", mem, "--memory-swap", mem,
                    "--cpus", str(news["cpus"]), name)  # fmt: skip
        if olds.get("ssh_pubkey") != news["ssh_pubkey"]:
            podman.install_login(name, news["ssh_pubkey"], news.get("admin_user"), run=_podman)
        outs = {p: news.get(p) for p in INPUTS}
        outs["container_id"] = olds.get("container_id") or id_
        return UpdateResult(outs=outs)

    # delete --------------------------------------------------------------------------
    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Remove container, OVS port and namespace; whatever is already gone is fine."""
        _teardown(container=_id or props.get("container_id"), netns=props["netns"],
                  port=props["port"])  # fmt: skip

    # read ----------------------------------------------------------------------------
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Report the live VM; an empty id tells Pulumi it is gone (and must be rebuilt)."""
        info = _inspect(id_)
        netns, port = props.get("netns", ""), props.get("port", "")
        if (
            info is None
            or not info.get("State", {}).get("Running")
            or not (netns and _netns_exists(netns))
        ):
            return ReadResult(id_="", outs={})
        bridge, tag = _ovs_port(port)
        if bridge is None:
            return ReadResult(id_="", outs={})
        outs = {p: props.get(p) for p in INPUTS}
        outs.update(
            container_id=info["Id"],
            name=str(info.get("Name", props.get("name"))).lstrip("/"),
            bridge=bridge,
            vlan=tag,
        )
        memory_mb, cpus = live_limits(info["Id"])
        if memory_mb is not None:
            outs["memory_mb"] = memory_mb
        if cpus is not None:
            outs["cpus"] = int(cpus) if float(cpus).is_integer() else cpus
        return ReadResult(id_=info["Id"], outs=outs)


# --- the resource ----------------------------------------------------------------------


class LabVm(pulumi.dynamic.Resource, module="dcctl", name="LabVm"):
    """A lab VM: a systemd container on an OVS access port of its VLAN."""

    name: pulumi.Output[str]
    netns: pulumi.Output[str]
    bridge: pulumi.Output[str]
    port: pulumi.Output[str]
    vlan: pulumi.Output[int]
    address: pulumi.Output[str]
    gateway: pulumi.Output[str]
    memory_mb: pulumi.Output[int]
    cpus: pulumi.Output[float]
    image: pulumi.Output[str]
    ssh_pubkey: pulumi.Output[str]
    hostname: pulumi.Output[str]
    admin_user: pulumi.Output[str | None]
    dns: pulumi.Output[list[str]]
    container_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        netns: pulumi.Input[str],
        bridge: pulumi.Input[str],
        port: pulumi.Input[str],
        vlan: pulumi.Input[int],
        address: pulumi.Input[str],
        gateway: pulumi.Input[str],
        memory_mb: pulumi.Input[int],
        cpus: pulumi.Input[float],
        image: pulumi.Input[str],
        ssh_pubkey: pulumi.Input[str],
        hostname: pulumi.Input[str],
        admin_user: pulumi.Input[str] | None = None,
        dns: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "name": name,
            "netns": netns,
            "bridge": bridge,
            "port": port,
            "vlan": vlan,
            "address": address,
            "gateway": gateway,
            "memory_mb": memory_mb,
            "cpus": cpus,
            "image": image,
            "ssh_pubkey": ssh_pubkey,
            "hostname": hostname,
            "admin_user": admin_user,
            "dns": dns,
            "container_id": None,  # an output; declared so it is readable as .container_id
        }
        opts = pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(delete_before_replace=True), opts
        )
        super().__init__(LabVmProvider(), resource_name, props, opts)
