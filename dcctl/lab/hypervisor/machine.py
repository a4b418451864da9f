"""One lab VM's pieces on the host: namespace, veth, OVS access port, podman container.

Why apart from the provider: these are the host operations (every command an argument
list with a timeout, a failure raising with the command's stderr), which the provider
(:mod:`.provider`) sequences with Pulumi's semantics; the lab's other machines share
the container part through :mod:`dcctl.lab.podman`.

Networking mirrors production: a VM's NIC is an access port in its VLAN on the node's
bridge. Here the bridge is an Open vSwitch bridge with the userspace datapath (the lab
kernel has no 802.1Q devices), the NIC is a veth pair: ``eth0`` in the VM's namespace,
the other end (named by the ``port`` input) an OVS port with ``tag=<vlan>``. The lab
builder owns the bridges and the gateways; a lab VM only plugs in.

Gotchas baked in (found on the lab machines, see /work/shared/notes/machine.md):

* podman must run with ``--runtime runc`` (crun fails on this cgroup layout) and
  explicit ``--ulimit nofile/nproc`` (the default ulimits are refused).
* The userspace OVS datapath forwards veth frames with the partial checksums of TX
  checksum offload unchanged: ping works, TCP (SSH) silently fails. TX offload is
  switched off on ``eth0`` in the VM's namespace (``ethtool -K eth0 tx off``). Anything
  else on the bridge that speaks TCP (the lab's gateways) needs the same.
* podman 4.3 (Debian 12) does not record ``podman update`` in the container's
  configuration: :func:`live_limits` reads memory and CPU from the kernel's cgroup.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi

from dcctl.i18n import _
from dcctl.lab import podman
from dcctl.ssh.knownhosts import HostKeyError, KnownHosts

__all__ = [
    "LABEL",
    "LabVmError",
    "clear_leftovers",
    "container_info",
    "live_limits",
    "netns_exists",
    "ovs_port",
    "pin",
    "rename",
    "run",
    "run_podman",
    "set_limits",
    "start",
    "teardown",
    "unpin",
]

LABEL = "dcctl.lab"

_TIMEOUT_S = 60.0
_SSH_WAIT_S = 90.0
_STOP_TIMEOUT_S = "3"  # seconds systemd gets to shut down before podman kills it


class LabVmError(RuntimeError):
    """A lab VM operation failed; the message names the command and its stderr."""


def _env() -> dict[str, str]:
    # The provider process inherits the engine's environment, which may lack sbin dirs.
    env = dict(os.environ)
    path = env.get("PATH", "")
    extra = [d for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin") if d not in path.split(":")]
    env["PATH"] = ":".join([p for p in [path, *extra] if p])
    return env


def run(
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
        raise LabVmError(
            _("{command}: no answer within {seconds} s").format(
                command=" ".join(argv), seconds=f"{timeout:.0f}"
            )
        ) from exc
    except OSError as exc:
        raise LabVmError(f"{argv[0]}: {exc}") from exc
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip()[-800:]
        raise LabVmError(
            _("{command} failed ({rc}): {problem}").format(
                command=" ".join(argv), rc=proc.returncode, problem=err
            )
        )
    return proc


def run_podman(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run ``podman`` with the lab's runtime (see the module docstring)."""
    return run(["podman", "--runtime", podman.RUNTIME, *args], **kw)


def container_info(ref: str) -> dict[str, Any] | None:
    """``podman container inspect`` of ``ref`` (id or name), or None if there is none."""
    if not ref:
        return None
    proc = run_podman("container", "inspect", ref, check=False)
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
    info = container_info(ref)
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


def netns_exists(netns: str) -> bool:
    return (Path(podman.NETNS_DIR) / netns).exists()


def _link_exists(ifname: str) -> bool:
    return Path("/sys/class/net", ifname).exists()


def ovs_port(port: str) -> tuple[str | None, int | None]:
    """(bridge, tag) of an OVS port, or (None, None) if OVS has no such port."""
    br = run(["ovs-vsctl", "--timeout=10", "port-to-br", port], check=False)
    if br.returncode != 0:
        return None, None
    tag = run(["ovs-vsctl", "--timeout=10", "get", "Port", port, "tag"], check=False)
    value = tag.stdout.strip()
    return br.stdout.strip(), (int(value) if value.isdigit() else None)


def teardown(*, container: str | None, netns: str, port: str) -> None:
    """Remove a VM's container, OVS port and namespace; each may already be gone."""
    if container:
        run_podman("rm", "--force", "--ignore", "--time", _STOP_TIMEOUT_S, container, timeout=90)
    run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-port", port])
    if netns_exists(netns):
        run(["ip", "netns", "delete", netns])
    if _link_exists(port):  # the veth normally dies with the namespace
        run(["ip", "link", "delete", port], check=False)


def clear_leftovers(name: str, netns: str, port: str) -> None:
    """Remove what a crashed earlier create of *this* VM left behind.

    Names are derived from the lab id, so a namespace or port of this name belongs to
    this VM. A container of this name is removed only if it carries our label; one
    that does not is someone else's and create refuses.
    """
    info = container_info(name)
    if info is not None:
        labels = (info.get("Config") or {}).get("Labels") or {}
        if labels.get(LABEL) != "vm":
            raise LabVmError(
                _("a container named {name} exists and is not a dcctl lab VM").format(name=name)
            )
        pulumi.log.warn(_("removing leftover lab VM container {name}").format(name=name))
    else:
        # A `podman create` killed midway can leave the name taken in container
        # storage while podman's database has no such container: the next create
        # would fail "name already in use". Names are this VM's (lab id), so ours.
        run_podman("rm", "--storage", "--force", "--ignore", name, check=False)
    if info is not None or netns_exists(netns) or _link_exists(port):
        teardown(container=name if info is not None else None, netns=netns, port=port)


def start(props: Mapping[str, Any]) -> str:
    """Wire the namespace, start the container, install the key, wait for sshd; its id.

    Transactional: on failure it removes what it made (a cleanup error never hides
    the cause). Leftovers of an earlier attempt are :func:`clear_leftovers`' job.
    """
    name, netns, port = props["name"], props["netns"], props["port"]
    try:
        _wire(props)
        podman.start_machine(name, netns, _run_args(props), run=run_podman, host_run=run)
        info = container_info(name)
        if info is None:
            raise LabVmError(
                _("container {name} vanished right after podman start").format(name=name)
            )
        podman.install_login(name, props["ssh_pubkey"], props.get("admin_user"), run=run_podman)
        _wait_for_sshd(name, netns)
        _announce(netns, props["gateway"])
    except BaseException:
        try:
            teardown(container=name, netns=netns, port=port)
        except LabVmError as cleanup:
            pulumi.log.warn(
                _("lab VM {name}: cleanup after failed create: {problem}").format(
                    name=name, problem=cleanup
                )
            )
        raise
    return str(info["Id"])


def pin(props: Mapping[str, Any], olds: Mapping[str, Any] | None = None) -> None:
    """Pin the VM's SSH host key where `props` say (nothing without ``known_hosts``).

    An update re-pins (the file or the name moved, or a lab made before pinning
    existed); the old name's pin goes when the name changed.
    """
    path, alias = props.get("known_hosts"), props.get("host_alias")
    if olds is not None and olds.get("host_alias") not in (None, alias):
        unpin(olds)
    if not path or not alias:
        return
    try:
        podman.pin_host_key(props["name"], Path(path), alias, props["address"], run=run_podman)
    except HostKeyError as exc:
        raise LabVmError(
            _("lab VM {name}: its SSH host key: {problem}").format(name=props["name"], problem=exc)
        ) from None


def unpin(props: Mapping[str, Any]) -> None:
    """Drop the VM's pin (the VM is gone); a missing file or pin is fine."""
    path, alias = props.get("known_hosts"), props.get("host_alias")
    if path and alias:
        with contextlib.suppress(HostKeyError, OSError):
            KnownHosts(Path(path)).forget(alias)


def rename(old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Rename a running VM in place: container, namespace, OVS port and hostname.

    Why not a new VM: a rename in the spec (``renamed_from``) keeps the VM, its disks
    and its address in production, so the lab keeps the container and its files.
    Each step checks whether it is done already, so an update that failed half-way
    is finished by the next apply. The container keeps running throughout; only its
    port is off the bridge for a moment. Podman's record of the container keeps the
    old namespace path and labels: harmless, because a lab VM is never restarted (a
    stopped one is reported gone and built again under the new names).
    """
    name = new["name"]
    if old["name"] != name and container_info(name) is None:
        run_podman("rename", old["name"], name)
    info = container_info(name)
    pid = int((info or {}).get("State", {}).get("Pid") or 0)
    if pid <= 0:
        raise LabVmError(_("lab VM {name} is not running; cannot rename it").format(name=name))
    if old["netns"] != new["netns"]:
        if not netns_exists(new["netns"]):
            # A second name of the namespace the container lives in, then drop the first.
            run(["ip", "netns", "attach", new["netns"], str(pid)])
        if netns_exists(old["netns"]):
            run(["ip", "netns", "delete", old["netns"]])
    if old["port"] != new["port"] and not _link_exists(new["port"]):
        port, bridge, tag = new["port"], new["bridge"], int(new["vlan"])
        run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-port", old["port"]])
        run(["ip", "link", "set", old["port"], "down"])
        run(["ip", "link", "set", old["port"], "name", port])
        run(["ovs-vsctl", "--timeout=10", "add-port", bridge, port, f"tag={tag}"])
        run(["ip", "link", "set", port, "up"])
    if old.get("hostname") != new["hostname"]:
        _rename_host(name, pid, str(old.get("hostname") or ""), new["hostname"])


def _rename_host(name: str, pid: int, old: str, new: str) -> None:
    """The guest's hostname, /etc/hostname and its /etc/hosts line, as a VM rename does."""
    run(["nsenter", "--target", str(pid), "--uts", "hostname", new])
    run_podman("exec", "-i", name, "tee", "/etc/hostname", input_text=new + "\n")
    hosts = run_podman("exec", name, "cat", "/etc/hosts").stdout.splitlines()
    renamed = [" ".join(new if w == old else w for w in line.split()) for line in hosts]
    run_podman("exec", "-i", name, "tee", "/etc/hosts", input_text="\n".join(renamed) + "\n")


def set_limits(name: str, memory_mb: float, cpus: float) -> None:
    """Change a running container's memory cap and CPU quota (``podman update``)."""
    run_podman("update", *_limits(memory_mb, cpus), name)


def _limits(memory_mb: float, cpus: float) -> list[str]:
    """podman's options for a memory cap (no swap beyond it) and a CPU quota."""
    mem = f"{int(memory_mb)}m"
    return ["--memory", mem, "--memory-swap", mem, "--cpus", str(cpus)]


def _wire(props: Mapping[str, Any]) -> None:
    netns, port = props["netns"], props["port"]
    run(["ip", "netns", "add", netns])
    # Create the peer straight inside the namespace: no temporary host-side name.
    run(["ip", "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", netns])
    ns = ["ip", "-n", netns]
    run([*ns, "link", "set", "lo", "up"])
    run([*ns, "address", "add", props["address"], "dev", "eth0"])
    run([*ns, "link", "set", "eth0", "up"])
    run([*ns, "route", "add", "default", "via", props["gateway"], "dev", "eth0"])
    # Userspace OVS passes partially checksummed frames on: TCP would fail.
    run(["ip", "netns", "exec", netns, "ethtool", "-K", "eth0", "tx", "off"])
    run(
        [
            "ovs-vsctl", "--timeout=10", "add-port", props["bridge"], port,
            f"tag={int(props['vlan'])}",
        ]
    )  # fmt: skip
    run(["ip", "link", "set", port, "up"])


def _run_args(props: Mapping[str, Any]) -> list[str]:
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
        extra=_limits(props["memory_mb"], props["cpus"]),
    )


def _wait_for_sshd(name: str, netns: str) -> None:
    deadline = time.monotonic() + _SSH_WAIT_S
    while True:
        listening = run(
            ["ip", "netns", "exec", netns, "ss", "-Hltn", "sport", "=", ":22"], check=False
        )
        if listening.returncode == 0 and listening.stdout.strip():
            return
        info = container_info(name)
        if info is None or not info.get("State", {}).get("Running"):
            logs = run_podman("logs", "--tail", "20", name, check=False).stdout
            raise LabVmError(
                _("container {name} stopped while booting: {logs}").format(
                    name=name, logs=logs.strip()
                )
            )
        if time.monotonic() > deadline:
            raise LabVmError(
                _("sshd of {name} did not listen within {seconds} s").format(
                    name=name, seconds=f"{_SSH_WAIT_S:.0f}"
                )
            )
        time.sleep(0.5)


def _announce(netns: str, gateway: str) -> None:
    """Make the gateway learn this VM's (new) MAC address right away.

    A replaced VM keeps its address but gets a new MAC; the gateway's stale ARP entry
    would black-hole traffic to it for up to a minute. One ping to the gateway sends
    an ARP request, from which the gateway updates its entry. A missing gateway (the
    lab builder has not made it yet) is not an error.
    """
    run(["ip", "netns", "exec", netns, "ping", "-c", "1", "-W", "2", gateway], check=False)
