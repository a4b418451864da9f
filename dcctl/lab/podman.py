"""The lab's machines as podman containers: lab VMs, office routers, role-test hosts.

Why one module: a lab VM (started by the LabVm Pulumi provider), a Linux office
router (started by `lab up`) and a role test's scratch host must be the same
kind of machine, booted and logged into the same way, or a role that works on
one would not be rehearsed on the others. So the `podman run` arguments of a
machine, the OCI runtime and the login cloud-init gives a VM in production are
written here once. Nothing here imports Pulumi, so `lab up` stays light.

A lab machine must be able to do to its own network stack what a VM's root can
(the roles set `net.ipv4.ip_forward` and friends exactly as in production), but
podman mounts `/proc/sys` read-only and runc refuses a mount inside `/proc`. So
a machine is started in steps (:func:`start_machine`): `podman create`, `podman
init` (namespaces and mounts exist, nothing runs yet), then `/proc/sys/net` is
re-mounted writable inside the container's mount namespace (what LXC's
`proc:mixed` does) and forwarding is turned off as on a freshly booted VM, and
only then `podman start`. Net sysctls are per network namespace, so the machine
changes only its own; everything else under `/proc/sys` stays read-only.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from dcctl.i18n import _
from dcctl.lab import net

#: crun fails on the lab machines' cgroup layout; runc works. Overridable for other hosts.
RUNTIME = os.environ.get("DCCTL_LAB_PODMAN_RUNTIME", "runc")
#: Where `ip netns add` keeps the namespaces machines join.
NETNS_DIR = "/var/run/netns"

#: Runs one podman command: (*args, input_text=..., check=...) -> CompletedProcess.
Podman = Callable[..., subprocess.CompletedProcess[str]]
#: Runs one host command (an argument list); raises its caller's error type on failure.
HostRun = Callable[..., subprocess.CompletedProcess[str]]

#: What a freshly booted Debian VM has, whatever the host's settings are: a new
#: network namespace copies the host's IPv4 settings (devconf_inherit_init_net=0).
VM_SYSCTLS = {"net.ipv4.ip_forward": "0"}


def vm_container(prefix: str, slug: str) -> str:
    """Container (and namespace) name of a lab VM: ``<prefix>-vm-<slug>``."""
    return f"{prefix}-vm-{slug}"[:63].rstrip("-")


def vm_port(prefix: str, key: str) -> str:
    """OVS port of lab VM `key`: ``<prefix>n<6 hex>`` (Linux names fit 15 characters)."""
    return f"{prefix}n{hashlib.sha256(key.encode()).hexdigest()[:6]}"


def is_vm_part(prefix: str, name: str) -> bool:
    """Whether `name` is a lab VM's container, namespace or port (the LabVm provider's).

    The lab builder leaves these to Pulumi: a repeat `lab up` must not take the
    VMs away; `lab down` sweeps them with everything else of the prefix.
    """
    return name.startswith(f"{prefix}-vm-") or (
        re.fullmatch(rf"{re.escape(prefix)}n[0-9a-f]{{6}}", name) is not None
    )


def podman(
    *args: str, input_text: str | None = None, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """One podman command with the lab's runtime; raises NetError on failure."""
    return net.run(
        ["podman", "--runtime", RUNTIME, *args], input=input_text, check=check, timeout=timeout
    )


def machine_args(
    name: str,
    netns: str,
    image: str,
    *,
    hostname: str | None = None,
    dns: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    extra: Iterable[str] = (),
) -> list[str]:
    """`podman create` arguments of a lab machine: the image's systemd, in `netns`, like a VM.

    Start it with :func:`start_machine`, never with `podman run`.
    """
    host = hostname or name
    servers = list(dns)
    # No servers: the image's empty resolv.conf (lookups fail fast, as on a VM
    # without DNS) instead of podman copying the lab machine's resolver.
    dns_args = [a for s in servers for a in ("--dns", s)] if servers else ["--dns", "none"]
    label_args = [a for k, v in (labels or {}).items() for a in ("--label", f"{k}={v}")]
    return [
        "create", "--systemd=always", "--name", name, "--hostname", host,
        # Debian's convention; without it sudo & co. look the hostname up in DNS.
        "--add-host", f"{host}:127.0.1.1",
        *dns_args,
        "--network", f"ns:{NETNS_DIR}/{netns}",
        *extra,
        # Debian 12's podman refuses its default ulimits on the lab machines.
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
        # ping as root needs raw sockets; nftables and WireGuard (wireguard-go on a
        # TUN device) need the network admin capability, as on a VM.
        "--cap-add", "NET_RAW", "--cap-add", "NET_ADMIN", "--device", "/dev/net/tun",
        *label_args,
        image, "/sbin/init",
    ]  # fmt: skip


def start_machine(
    name: str,
    netns: str,
    create_args: Sequence[str],
    run: Podman = podman,
    host_run: HostRun = net.run,
) -> None:
    """Create, init, open the machine's own net sysctls, then boot it (see the module doc).

    `run`/`host_run` let the LabVm provider raise its own error type from the same steps.
    """
    run(*create_args)
    run("init", name)
    pid = run("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
    if not pid.isdigit() or int(pid) <= 1:
        raise net.NetError(
            _("podman init {name} gave no process (pid {pid})").format(name=name, pid=repr(pid))
        )
    # A bind of the container's own /proc/sys/net onto itself, made writable; the
    # flags podman gives /proc/sys (nosuid, nodev, noexec) are kept.
    remount = (
        "mount --bind /proc/sys/net /proc/sys/net && "
        "mount -o remount,bind,rw,nosuid,nodev,noexec /proc/sys/net"
    )
    host_run(["nsenter", "--target", pid, "--mount", "--", "sh", "-c", remount])
    for key, value in VM_SYSCTLS.items():
        net.sysctl_set(netns, key, value)
    run("start", name)


def install_login(
    name: str,
    keys: str,
    admin_user: str | None,
    root_keys: bool = True,
    run: Podman = podman,
) -> None:
    """What cloud-init's ``user_account`` does in production, done with podman exec.

    `run` lets the LabVm provider raise its own error type from the same steps.
    """
    content = keys.strip() + "\n"

    def write(path: str, text: str, mode: str, owner: str = "root") -> None:
        run("exec", "-i", name, "tee", path, input_text=text)
        run("exec", name, "chmod", mode, path)
        run("exec", name, "chown", f"{owner}:{owner}", path)

    if root_keys:
        run("exec", name, "install", "-d", "-m", "0700", "/root/.ssh")
        write("/root/.ssh/authorized_keys", content, "0600")
    if admin_user:
        home = f"/home/{admin_user}"
        if run("exec", name, "id", "-u", admin_user, check=False).returncode != 0:
            run("exec", name, "useradd", "--create-home", "--shell", "/bin/bash",
                "--groups", "sudo", admin_user)  # fmt: skip
        run("exec", name, "install", "-d", "-m", "0700", "-o", admin_user,
            "-g", admin_user, f"{home}/.ssh")  # fmt: skip
        write(f"{home}/.ssh/authorized_keys", content, "0600", admin_user)
        write("/etc/sudoers.d/90-dcctl-admin", f"{admin_user} ALL=(ALL) NOPASSWD:ALL\n", "0440")


def container_names() -> list[str]:
    """Names of every container podman knows (running or not)."""
    return podman("ps", "-a", "--format", "{{.Names}}", timeout=60).stdout.split()


#: The host key a lab machine's sshd offers first (the image makes one per machine on
#: first boot, before sshd starts: ``scripts/build-lab-image``).
HOST_KEY_PUB = "/etc/ssh/ssh_host_ed25519_key.pub"


def pin_host_key(
    name: str, known_hosts: Path, alias: str, address: str, run: Podman = podman
) -> str:
    """Pin machine `name`'s SSH host key, read from inside it, as `alias` at `address`.

    Why from inside: dcctl created the machine, so ``podman exec`` reads the key
    without trusting the network (no first-contact risk, no ``ssh-keyscan``). A
    machine recreated under the same name has a new key, which replaces the old
    pin (dcctl made the new machine itself). Returns the verdict of
    :meth:`~dcctl.ssh.knownhosts.KnownHosts.record`; raises HostKeyError on a
    malformed key and `run`'s error when the machine cannot be read.
    """
    from dcctl.ssh.knownhosts import KnownHosts

    keyline = run("exec", name, "cat", HOST_KEY_PUB).stdout
    return KnownHosts(known_hosts).record(alias, address.split("/")[0], 22, keyline, replace=True)
