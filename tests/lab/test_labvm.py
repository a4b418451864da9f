"""Lab test of the ``lab`` Pulumi target: real engine, real containers, real OVS.

Topology (every name carries a random lab id; all of it is torn down afterwards):

    [gw netns] eth110 (10.77.110.1) --tag 110--+
               eth120 (10.77.120.1) --tag 120--+-- OVS bridge <id>br (userspace)
    [VM dinkes/simpus] eth0 10.77.110.11 --110-+
    [VM bappeda/web]   eth0 10.77.120.11 --120-+

The gateway namespace routes between the two VLANs, like an OPD gateway; the test
reaches the VMs from it with ``ip netns exec`` (no address in the root namespace, so
nothing can collide with other work on the machine).

The program is the real one (``regency_program(state, site, "lab")``), run inline by
the locally built engine with a file backend in ``tmp_path``. The container image
comes from ``scripts/build-lab-image`` (cached after the first build).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from dcctl.engines.pulumi import toolchain
from tests.lab.conftest import lab_image, needs

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

auto = pytest.importorskip("pulumi.automation")

REPO = Path(__file__).resolve().parents[2]
VLANS = {110: "10.77.110", 120: "10.77.120"}
VM1, VM2 = "dinkes/simpus", "bappeda/web"


def _skip_reason() -> str | None:
    reason = needs("podman", "runc", "ovs-vsctl", "ip", "ethtool", "ssh", "ssh-keygen", ovs=True)
    if reason is None and toolchain.engine_bin_dir() is None:
        return f"Pulumi engine v{toolchain.sdk_version()} not installed; run scripts/install-pulumi"
    return reason


def sh(*argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> {proc.returncode}: {proc.stderr.strip()}")
    return proc


@dataclass
class VmLab:
    """One private lab: an OVS bridge, a gateway namespace and a key pair."""

    lab_id: str
    bridge: str
    gw_ns: str
    key: Path
    image: str
    log: list[str] = field(default_factory=list)

    def ssh(
        self, address: str, *command: str, user: str = "root", known_hosts: Path | None = None
    ) -> str:
        """Run ``command`` on a VM over SSH from the gateway namespace.

        With ``known_hosts``, the host key is checked strictly against that file
        (as Ansible does); without, any key is accepted (the test's own checks).
        """
        strict = "yes" if known_hosts else "no"
        argv = [
            "ip", "netns", "exec", self.gw_ns, "ssh",
            "-o", "BatchMode=yes", "-o", f"StrictHostKeyChecking={strict}",
            "-o", f"UserKnownHostsFile={known_hosts or '/dev/null'}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=5", "-i", str(self.key),
            f"{user}@{address}", *command,
        ]  # fmt: skip
        started = time.monotonic()
        result = sh(*argv, timeout=30).stdout.strip()
        self.log.append(
            f"    ssh {user}@{address} {' '.join(command)}: {time.monotonic() - started:.1f} s"
        )
        return result


def _cleanup(lab_id: str, bridge: str) -> None:
    """Remove everything carrying the lab id; runs even if the test failed half-way."""
    names = sh(
        "podman", "ps", "-a", "--filter", "label=dcctl.lab=vm", "--format", "{{.Names}}",
        check=False,
    ).stdout.split()  # fmt: skip
    mine = [n for n in names if n.startswith(f"{lab_id}-")]
    if mine:
        sh("podman", "--runtime", "runc", "rm", "-f", "-t", "1", *mine, check=False, timeout=120)
    for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
        ns = line.split()[0] if line.split() else ""
        if ns.startswith(f"{lab_id}-"):
            sh("ip", "netns", "delete", ns, check=False)
    sh("ovs-vsctl", "--timeout=10", "--if-exists", "del-br", bridge, check=False)
    for link in Path("/sys/class/net").iterdir():
        if link.name.startswith(lab_id):
            sh("ip", "link", "delete", link.name, check=False)


@pytest.fixture
def vmlab(tmp_path: Path) -> Iterator[VmLab]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    started = time.monotonic()
    image = lab_image()
    image_s = time.monotonic() - started

    lab_id = "t" + secrets.token_hex(2)  # 5 characters: ports are t1a2bn<6 hex>
    bridge, gw_ns = f"{lab_id}br", f"{lab_id}-gw"
    key = tmp_path / "id_ed25519"
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"dcctl-lab-{lab_id}", "-f", str(key))
    try:
        sh("ovs-vsctl", "--timeout=10", "add-br", bridge, "--",
           "set", "bridge", bridge, "datapath_type=netdev")  # fmt: skip
        sh("ip", "link", "set", bridge, "up")
        sh("ip", "netns", "add", gw_ns)
        sh("ip", "-n", gw_ns, "link", "set", "lo", "up")
        sh("ip", "netns", "exec", gw_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for vlan, net in VLANS.items():
            host, inner = f"{lab_id}g{vlan}", f"eth{vlan}"
            sh("ip", "link", "add", host, "type", "veth", "peer", "name", inner, "netns", gw_ns)
            sh("ip", "-n", gw_ns, "address", "add", f"{net}.1/24", "dev", inner)
            sh("ip", "-n", gw_ns, "link", "set", inner, "up")
            # Userspace OVS forwards partially checksummed frames as is: TCP needs this.
            sh("ip", "netns", "exec", gw_ns, "ethtool", "-K", inner, "tx", "off")
            sh("ovs-vsctl", "--timeout=10", "add-port", bridge, host, f"tag={vlan}")
            sh("ip", "link", "set", host, "up")
        the_lab = VmLab(lab_id=lab_id, bridge=bridge, gw_ns=gw_ns, key=key, image=image)
        the_lab.log.append(f"image {image} ready in {image_s:.1f} s")
        yield the_lab
    finally:
        _cleanup(lab_id, bridge)


def _state() -> dict[str, Any]:
    def vm(opd: str, vlan: int) -> dict[str, Any]:
        return {
            "opd": opd,
            "sector": "test",
            "classification": "terbatas",
            "role": "app",
            "vcpu": 2,
            "memory_gb": 4,
            "disk_gb": 20,
            "image": "debian-12",
            "exposure": "internal",
            "backup": {"schedule": "none", "retention_days": 0},
            "node": "pve1",
            "vlan": vlan,
            "address": f"{VLANS[vlan]}.11/24",
            "gateway": f"{VLANS[vlan]}.1",
            "dns": [],
        }

    vms = {VM1: vm("dinkes", 110), VM2: vm("bappeda", 120)}
    vms[VM2]["dns"] = [f"{VLANS[120]}.1"]
    return {"networks": {}, "vms": vms}


def _container(name: str) -> dict[str, Any] | None:
    proc = sh("podman", "container", "inspect", "--format", "json", name, check=False)
    if proc.returncode != 0:
        return None
    data = json.loads(proc.stdout)
    return data[0] if data else None


def _lab_site(vmlab: VmLab, known_hosts: Path) -> dict[str, Any]:
    return {
        "name": "test",
        "ssh_keys": [],
        "lab_ssh_keys": [(vmlab.key.with_suffix(".pub")).read_text().strip()],
        "admin_user": "dcctl",
        "lab_id": vmlab.lab_id,
        "lab_bridges": {"pve1": vmlab.bridge},
        "lab_image": vmlab.image,
        "lab_known_hosts": str(known_hosts),
    }


def _lab_stack(vmlab: VmLab, tmp_path: Path, current: dict[str, Any]) -> Any:
    """A stack of the real lab program over ``current`` ("state", "site"), file backend."""
    from dcctl.engines.pulumi.program import regency_program

    bin_dir = toolchain.ensure_on_path()
    assert bin_dir is not None

    def program() -> None:
        regency_program(current["state"], current["site"], "lab")

    backend = tmp_path / "backend"
    backend.mkdir()
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {
        "PULUMI_BACKEND_URL": backend.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "test",
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        # The dynamic-provider process must import dcctl: use this venv's python.
        "PULUMI_PYTHON_CMD": sys.executable,
        "PATH": os.environ["PATH"],
    }
    return auto.create_or_select_stack(
        stack_name="lab",
        project_name=f"dcctl-lab-{vmlab.lab_id}",
        program=program,
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(workdir),
            env_vars=env,
            pulumi_command=auto.PulumiCommand(root=str(bin_dir.parent)),
        ),
    )


def test_lab_vms_lifecycle(vmlab: VmLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dcctl.lab.hypervisor.machine import live_limits
    from dcctl.lab.hypervisor.program import lab_names
    from dcctl.lab.podman import HOST_KEY_PUB
    from dcctl.ssh.knownhosts import KnownHosts

    t0 = time.monotonic()
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    current: dict[str, Any] = {
        "state": _state(),
        "site": _lab_site(vmlab, tmp_path / "known_hosts"),
    }
    known = KnownHosts(tmp_path / "known_hosts")

    def live_key(key: str) -> str:
        got = sh("podman", "--runtime", "runc", "exec", names[key].container, "cat", HOST_KEY_PUB)
        return " ".join(got.stdout.split()[:2])

    def pinned_key(key: str) -> str | None:
        pin = known.get(key.replace("/", "-"))
        assert pin is None or pin.host == addr[key], pin
        return pin.keyline if pin else None

    stack = _lab_stack(vmlab, tmp_path, current)
    out: list[str] = []

    def step(what: str, result: Any) -> dict[str, int]:
        assert result.summary.result == "succeeded", "\n".join(out[-60:])
        changes = dict(result.summary.resource_changes or {})
        vmlab.log.append(f"{time.monotonic() - t0:6.1f} s  {what}: {changes}")
        return changes

    names = {k: lab_names(vmlab.lab_id, k) for k in (VM1, VM2)}
    addr = {VM1: "10.77.110.11", VM2: "10.77.120.11"}

    # 1. create: stack + 2 OPD components + 2 VMs; each answers SSH with its hostname.
    up = stack.up(on_output=out.append)
    assert step("up (create)", up) == {"create": 5}
    vms = up.outputs["vms"].value
    assert vms[VM1]["address"] == addr[VM1] and vms[VM1]["vlan"] == 110
    assert vms[VM2]["node"] == "pve1"
    ids = {k: vms[k]["container_id"] for k in (VM1, VM2)}
    for key in (VM1, VM2):
        assert vmlab.ssh(addr[key], "hostname") == names[key].hostname
        info = _container(names[key].container)
        assert info is not None and info["Id"] == ids[key]
        assert live_limits(ids[key]) == (256, 1)  # min(4 GiB, 256 MiB), min(2 vCPU, 1)
    # Each VM's host key was pinned when it was made (read from inside), and a strict
    # login against that file (what Ansible does) is accepted.
    for key in (VM1, VM2):
        assert pinned_key(key) == live_key(key)
        assert vmlab.ssh(addr[key], "hostname", known_hosts=known.path) == names[key].hostname
    # The admin user of production (Ansible's login) works too, with sudo.
    assert vmlab.ssh(addr[VM1], "sudo", "-n", "id", "-u", user="dcctl") == "0"
    # Default route via the OPD gateway: VM1 reaches VM2 across VLANs through it.
    vmlab.ssh(addr[VM1], "ping", "-c", "1", "-W", "2", addr[VM2])
    # The VM resolves its own name locally and uses only the DNS servers it was given.
    assert vmlab.ssh(addr[VM1], "getent", "hosts", names[VM1].hostname).startswith("127.0.1.1")
    assert "10.255.255" not in vmlab.ssh(addr[VM1], "cat", "/etc/resolv.conf")
    assert vmlab.ssh(addr[VM2], "cat", "/etc/resolv.conf").endswith(f"nameserver {VLANS[120]}.1")
    # No password logins: root is locked, sshd refuses passwords.
    assert "passwordauthentication no" in vmlab.ssh(addr[VM1], "sshd", "-T").lower()
    shadow = vmlab.ssh(addr[VM1], "cat", "/etc/shadow").splitlines()
    with_password = [e.split(":")[0] for e in shadow if not e.split(":")[1].startswith(("!", "*"))]
    assert with_password == [], with_password

    # 2. nothing changed: nothing to do.
    assert step("up (no change)", stack.up(on_output=out.append)) == {"same": 5}

    # 3. memory change: an in-place update, same container.
    current["site"]["lab_memory_mb"] = {VM1: 320}
    assert step("up (memory)", stack.up(on_output=out.append)) == {"update": 1, "same": 4}
    assert _container(names[VM1].container)["Id"] == ids[VM1]  # type: ignore[index]
    # podman 4.3 keeps the create-time value in `podman inspect`; the cgroup is the truth.
    assert live_limits(ids[VM1])[0] == 320

    # 4. drift: memory changed behind Pulumi's back is seen by refresh and put back.
    sh("podman", "--runtime", "runc", "update", "--memory", "300m", "--memory-swap", "300m",
       names[VM1].container)  # fmt: skip
    step("refresh (memory drift)", stack.refresh(on_output=out.append))
    assert step("up (fix drift)", stack.up(on_output=out.append)) == {"update": 1, "same": 4}
    assert live_limits(ids[VM1])[0] == 320

    # 5. a VM removed out of band: refresh forgets it, up builds it again.
    old_key = pinned_key(VM2)
    sh("podman", "rm", "-f", "-t", "1", names[VM2].container, timeout=60)
    step("refresh (VM gone)", stack.refresh(on_output=out.append))
    assert step("up (rebuild)", stack.up(on_output=out.append)) == {"create": 1, "same": 4}
    assert vmlab.ssh(addr[VM2], "hostname") == names[VM2].hostname
    # The rebuilt VM has a new host key, and the pin follows it (dcctl made the VM).
    assert pinned_key(VM2) == live_key(VM2) != old_key

    # 6. a VM removed from the program: it and its (now empty) OPD component go.
    del current["state"]["vms"][VM2]
    assert step("up (remove VM)", stack.up(on_output=out.append)) == {"delete": 2, "same": 3}
    assert _container(names[VM2].container) is None
    assert pinned_key(VM2) is None, "a deleted VM's pin is dropped"
    assert not Path("/var/run/netns", names[VM2].netns).exists()
    assert not Path("/sys/class/net", names[VM2].port).exists()
    ports = sh("ovs-vsctl", "list-ports", vmlab.bridge).stdout.split()
    assert names[VM2].port not in ports and names[VM1].port in ports
    vmlab.ssh(addr[VM1], "true")  # the other VM is untouched

    # 7. destroy: everything goes.
    assert step("destroy", stack.destroy(on_output=out.append)) == {"delete": 3}
    assert _container(names[VM1].container) is None
    assert pinned_key(VM1) is None
    assert not Path("/var/run/netns", names[VM1].netns).exists()
    assert names[VM1].port not in sh("ovs-vsctl", "list-ports", vmlab.bridge).stdout.split()
    with contextlib.suppress(Exception):
        stack.workspace.remove_stack("lab")
    print("\n".join(vmlab.log))


def test_a_declared_rename_keeps_the_container_and_its_files(
    vmlab: VmLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: ``renamed_from`` renames the lab VM in place, as Proxmox renames a VM.

    One VM, created, a file written in it, then renamed through the real program
    (the Pulumi alias) and the provider's in-place update: the same container, its
    file, its address; the new names on the host and as the guest's hostname.
    """
    from dcctl.lab.hypervisor.program import lab_names
    from dcctl.ssh.knownhosts import KnownHosts

    t0 = time.monotonic()
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    state = _state()
    del state["vms"][VM2]
    current: dict[str, Any] = {"state": state, "site": _lab_site(vmlab, tmp_path / "known")}
    stack = _lab_stack(vmlab, tmp_path, current)
    out: list[str] = []
    addr = "10.77.110.11"
    old, new = lab_names(vmlab.lab_id, VM1), lab_names(vmlab.lab_id, "dinkes/simpus-baru")

    up = stack.up(on_output=out.append)
    assert up.summary.result == "succeeded", "\n".join(out[-60:])
    before = _container(old.container)
    assert before is not None
    vmlab.ssh(addr, "sh", "-c", "'echo rekam-medis > /root/data.txt'")
    vmlab.log.append(f"{time.monotonic() - t0:6.1f} s  created, file written")

    current["state"]["vms"] = {
        "dinkes/simpus-baru": {**state["vms"][VM1], "renamed_from": VM1},
    }
    preview = stack.preview(on_output=out.append)
    assert preview.change_summary.get("update") == 1, preview.change_summary
    assert not {"create", "delete", "replace"} & set(preview.change_summary)
    renamed = stack.up(on_output=out.append)
    assert renamed.summary.result == "succeeded", "\n".join(out[-60:])
    assert dict(renamed.summary.resource_changes or {}) == {"update": 1, "same": 2}
    vmlab.log.append(f"{time.monotonic() - t0:6.1f} s  renamed in place")

    after = _container(new.container)
    assert after is not None and after["Id"] == before["Id"]  # the same container
    assert _container(old.container) is None
    assert renamed.outputs["vms"].value["dinkes/simpus-baru"]["container_id"] == before["Id"]
    assert vmlab.ssh(addr, "cat", "/root/data.txt") == "rekam-medis"  # its data survived
    assert vmlab.ssh(addr, "hostname") == new.hostname
    assert Path("/var/run/netns", new.netns).exists()
    assert not Path("/var/run/netns", old.netns).exists()
    ports = sh("ovs-vsctl", "list-ports", vmlab.bridge).stdout.split()
    assert new.port in ports and old.port not in ports
    # Its SSH host key stays pinned, under the new name only.
    known = KnownHosts(tmp_path / "known")
    assert known.get("dinkes-simpus-baru") is not None and known.get("dinkes-simpus") is None
    # A refresh finds it where the state says it is: nothing to do afterwards.
    stack.refresh(on_output=out.append)
    again = stack.up(on_output=out.append)
    assert dict(again.summary.resource_changes or {}) == {"same": 3}
    stack.destroy(on_output=out.append)
    assert _container(new.container) is None
    with contextlib.suppress(Exception):
        stack.workspace.remove_stack("lab")
    vmlab.log.append(f"{time.monotonic() - t0:6.1f} s  done")
    print("\n".join(vmlab.log))


# --- fast checks of the provider's pure parts and of create's rollback ----------------

_PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx0bGFiLXRlc3Qta2V5LW5vdC1yZWFsLTAwMDAwMDAw lab"


def _props(**over: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": "tzzzz-dinkes-simpus",
        "netns": "tzzzz-dinkes-simpus",
        "bridge": "tzzzzbr",
        "port": "tzzzzv123456",
        "vlan": 110.0,  # numbers arrive as floats over Pulumi's RPC
        "address": "10.77.110.11/24",
        "gateway": "10.77.110.1",
        "memory_mb": 256.0,
        "cpus": 1.0,
        "image": "localhost/dcctl-debian:12-test",
        "ssh_pubkey": _PUB,
        "hostname": "dinkes-simpus",
        "admin_user": None,
        "dns": None,
    }
    props.update(over)
    return props


def test_check_normalizes_and_rejects() -> None:
    from dcctl.lab.hypervisor.provider import LabVmProvider

    ok = LabVmProvider().check({}, _props())
    assert ok.failures == []
    assert ok.inputs["vlan"] == 110 and isinstance(ok.inputs["vlan"], int)
    assert ok.inputs["memory_mb"] == 256 and ok.inputs["dns"] == []

    bad = LabVmProvider().check(
        {},
        _props(
            port="a-port-name-too-long",
            vlan=0,
            gateway="10.77.111.1",
            name="Bad Name",
            ssh_pubkey="-----BEGIN " + "OPENSSH PRIVATE KEY-----",  # a pasted key, refused
            dns=["not-an-ip"],
        ),
    )
    assert {f.property for f in bad.failures} == {
        "port", "vlan", "gateway", "name", "ssh_pubkey", "dns",
    }  # fmt: skip


def test_diff_updates_limits_in_place_and_replaces_the_rest() -> None:
    from dcctl.lab.hypervisor.provider import LabVmProvider

    provider = LabVmProvider()
    olds = {**_props(vlan=110, memory_mb=256, cpus=1, dns=[]), "container_id": "abc"}
    same = provider.diff("abc", olds, _props(dns=[]))
    assert same.changes is False and same.replaces == []
    mem = provider.diff("abc", olds, _props(memory_mb=320, dns=[]))
    assert mem.changes is True and mem.replaces == []
    names = {"name": "tzzzz-dinkes-baru", "netns": "tzzzz-dinkes-baru", "hostname": "dinkes-baru"}
    renamed = provider.diff("abc", olds, _props(port="tzzzzv654321", dns=[], **names))
    assert renamed.changes is True and renamed.replaces == []  # a rename is in place
    vlan = provider.diff("abc", olds, _props(vlan=120, address="10.77.120.11/24", dns=[]))
    assert sorted(vlan.replaces or []) == ["address", "vlan"]
    assert vlan.delete_before_replace is True


def test_lab_names_and_scaling() -> None:
    from dcctl.engines.pulumi.program import DesiredVm, from_plain
    from dcctl.lab.hypervisor.program import LabSite, lab_cpus, lab_memory_mb, lab_names

    a, b = lab_names("dlwsb", "dinkes/simpus"), lab_names("dlwsb", "dinkes/simpeg")
    assert a == lab_names("dlwsb", "dinkes/simpus")  # deterministic
    assert len(a.port) <= 15 and a.port != b.port and a.container != b.container
    assert a.container == "dlwsb-vm-dinkes-simpus" and a.hostname == "dinkes-simpus"
    with pytest.raises(ValueError):
        lab_names("Not-An-Id", "x/y")
    with pytest.raises(ValueError):
        lab_names("waytoolong", "x/y")  # the port name would not fit 15 characters
    vm = from_plain(DesiredVm, "o/v", {**_state()["vms"][VM1], "memory_gb": 8, "vcpu": 4})
    site = LabSite(lab_id="dlwsb", lab_image="img")
    assert lab_memory_mb("o/v", vm, site) == 256
    assert lab_memory_mb("o/v", vm, replace(site, lab_memory_mb=512)) == 512
    assert lab_memory_mb("o/v", replace(vm, memory_gb=1), replace(site, lab_memory_mb=4096)) == 1024
    assert lab_memory_mb("o/v", vm, replace(site, lab_memory_mb={"o/v": 300})) == 300
    assert lab_cpus(vm, site) == 1 and lab_cpus(vm, replace(site, lab_cpus=2)) == 2


def test_failed_create_leaves_nothing_behind(vmlab: VmLab) -> None:
    from dcctl.lab.hypervisor.machine import LabVmError
    from dcctl.lab.hypervisor.provider import LabVmProvider

    provider = LabVmProvider()
    netns, port = f"{vmlab.lab_id}-broken", f"{vmlab.lab_id}vbroken"
    cases = {
        "no such bridge": {"bridge": f"{vmlab.lab_id}nobr"},  # fails before podman run
        "no such image": {"bridge": vmlab.bridge, "image": "localhost/dcctl-missing:0"},
    }
    for what, over in cases.items():
        props = provider.check({}, _props(name=netns, netns=netns, port=port, **over)).inputs
        with pytest.raises(LabVmError):
            provider.create(props)
        assert not Path("/var/run/netns", netns).exists(), what
        assert not Path("/sys/class/net", port).exists(), what
        assert _container(netns) is None, what
        assert port not in sh("ovs-vsctl", "list-ports", vmlab.bridge).stdout.split(), what
