"""A lab machine's root can do to its own network stack what a VM's root can, and no more.

Real podman, the real lab image under systemd, in a scratch namespace whose
forwarding starts on (as if the host had it on): the machine boots with
forwarding off like a fresh VM, sets its own `net.*` sysctls as the roles do,
cannot touch a host-wide setting, and the host's values never move.
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest

from dcctl.lab import host, net
from dcctl.lab.podman import machine_args, podman, start_machine
from tests.lab.conftest import lab_image, needs

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


def test_lab_machine_sets_its_own_net_sysctls_and_nothing_else() -> None:
    reason = needs("podman", "runc", "ip")
    if reason:
        pytest.skip(reason)
    image = lab_image()
    tag = secrets.token_hex(3)
    netns, name = f"hsys{tag}", f"hsys{tag}-vm"
    net.run(["ip", "netns", "add", netns])
    before = {k: host.current(k) for k in ("net.ipv4.ip_forward", "vm.swappiness")}
    try:
        net.sysctl_set(netns, "net.ipv4.ip_forward", "1")  # a host with forwarding on
        start_machine(name, netns, machine_args(name, netns, image))

        def inside(*argv: str) -> subprocess.CompletedProcess[str]:
            return podman("exec", name, *argv, check=False)

        assert inside("cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "0"
        ok = inside("sysctl", "-w", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=2")
        assert ok.returncode == 0, ok.stderr
        assert net.sysctl_get(netns, "net.ipv4.ip_forward") == "1"
        assert net.sysctl_get(netns, "net.ipv4.conf.all.rp_filter") == "2"
        denied = inside("sysctl", "-w", "vm.swappiness=1")
        assert denied.returncode != 0 and "denied" in (denied.stderr + denied.stdout).lower()
        mounts = inside("cat", "/proc/self/mountinfo").stdout.splitlines()
        net_mount = [m for m in mounts if m.split()[4] == "/proc/sys/net"]
        assert net_mount and all(f in net_mount[0] for f in ("nosuid", "nodev", "noexec"))
        sys_mount = [m for m in mounts if m.split()[4] == "/proc/sys"]
        assert sys_mount and sys_mount[0].split()[5].startswith("ro")
        assert {k: host.current(k) for k in before} == before
    finally:
        podman("rm", "--force", "--time", "0", name, check=False)
        net.run(["ip", "netns", "del", netns], check=False)
        assert not Path(f"/var/run/netns/{netns}").exists()
