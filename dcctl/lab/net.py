"""Thin, bounded wrappers over iproute2, Open vSwitch, ethtool and processes.

Why: the lab runner must create and find hundreds of kernel objects quickly and
safely. Everything here runs argument lists (never shell strings) with a
timeout, reads state as JSON (`ip -j`, `ovs-vsctl --format=json`) instead of
scraping text, and batches changes (`ip -batch`, one `ovs-vsctl` transaction)
so that a full `lab up` is a few dozen process launches, not thousands.

`in_netns` runs a Python function inside a network namespace on a private
thread (setns(2) on a thread changes only that thread), so probes such as
"does this camera answer RTSP" need no `ip netns exec` subprocess.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dcctl.i18n import _

T = TypeVar("T")

NETNS_DIR = Path("/var/run/netns")
OVS_CTL = "/usr/share/openvswitch/scripts/ovs-ctl"
CLONE_NEWNET = 0x40000000
DEFAULT_TIMEOUT = 30.0


class NetError(RuntimeError):
    """A command failed; the message names the command and what it printed."""


def run(
    argv: Sequence[str],
    *,
    input: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    argv = list(argv)
    try:
        proc = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise NetError(_("{command}: command not found").format(command=argv[0])) from None
    except subprocess.TimeoutExpired:
        raise NetError(
            _("{command}...: timed out after {seconds}s").format(
                command=" ".join(argv[:4]), seconds=f"{timeout:.0f}"
            )
        ) from None
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip() or _("exit code {code}").format(
            code=proc.returncode
        )
        raise NetError(f"{' '.join(argv[:6])}: {msg}")
    return proc


def ip(netns: str | None, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    ns = ["-n", netns] if netns else []
    return run(["ip", *ns, *args], check=check)


def ip_batch(netns: str | None, lines: Iterable[str], force: bool = False) -> None:
    """Run many `ip` commands in one process (all in `netns`, or the root namespace).

    force: go on after a failing line and do not raise (for best-effort cleanup,
    where deleting one veth end already removed its peer).
    """
    text = "".join(line + "\n" for line in lines)
    if not text:
        return
    ns = ["-n", netns] if netns else []
    run(["ip", *ns, *(["-force"] if force else []), "-batch", "-"], input=text, check=not force)


def ip_json(netns: str | None, *args: str) -> list[dict[str, Any]]:
    out = ip(netns, "-j", *args).stdout.strip()
    if not out:
        return []
    data = json.loads(out)
    return data if isinstance(data, list) else []


# --------------------------------------------------------------------------
# Observed state


@dataclass
class Link:
    name: str
    up: bool
    master: str | None
    addresses: set[str] = field(default_factory=set)


def netns_list() -> list[str]:
    try:
        names = sorted(p.name for p in NETNS_DIR.iterdir())
    except FileNotFoundError:
        return []
    return names


def links(netns: str | None) -> dict[str, Link]:
    """ifname -> Link (admin state, master, IPv4 CIDRs) of one namespace."""
    out: dict[str, Link] = {}
    for entry in ip_json(netns, "addr", "show"):
        name = entry.get("ifname")
        if not isinstance(name, str):
            continue
        addrs = {
            f"{a['local']}/{a['prefixlen']}"
            for a in entry.get("addr_info", [])
            if a.get("family") == "inet" and "local" in a
        }
        out[name] = Link(name, "UP" in entry.get("flags", []), entry.get("master"), addrs)
    return out


def routes(netns: str | None) -> dict[str, dict[str, Any]]:
    """Normalised destination ("default", "a.b.c.d/n") -> route entry (main table)."""
    out: dict[str, dict[str, Any]] = {}
    for r in ip_json(netns, "route", "show"):
        dst = str(r.get("dst", ""))
        if dst and dst != "default" and "/" not in dst:
            dst += "/32"
        out.setdefault(dst, r)
    return out


@dataclass
class OvsState:
    bridges: dict[str, str]  # bridge -> datapath_type
    ports: dict[str, str]  # port -> bridge
    port_config: dict[str, dict[str, Any]]  # port -> {tag, trunks, vlan_mode}
    ofport: dict[str, int]  # interface -> ofport (-1: OVS cannot open the device)


def _ovs_set(value: Any) -> list[Any]:
    if isinstance(value, list) and value and value[0] == "set":
        return list(value[1])
    if isinstance(value, list) and value and value[0] == "uuid":
        return [value]
    return [value]


def _ovs_scalar(value: Any) -> Any:
    if isinstance(value, list) and value and value[0] == "set":
        return value[1][0] if value[1] else None
    return value


def _vsctl_json(*args: str) -> list[dict[str, Any]]:
    out = run(["ovs-vsctl", "--timeout=10", "--format=json", *args]).stdout
    table = json.loads(out)
    heads = table["headings"]
    return [dict(zip(heads, row, strict=True)) for row in table["data"]]


def ovs_state() -> OvsState:
    ports_rows = _vsctl_json("--columns=_uuid,name,tag,trunks,vlan_mode", "list", "Port")
    by_uuid = {r["_uuid"][1]: r for r in ports_rows}
    bridges: dict[str, str] = {}
    ports: dict[str, str] = {}
    for row in _vsctl_json("--columns=name,ports,datapath_type", "list", "Bridge"):
        bridges[row["name"]] = row["datapath_type"]
        for ref in _ovs_set(row["ports"]):
            port = by_uuid.get(ref[1])
            if port and port["name"] != row["name"]:
                ports[port["name"]] = row["name"]
    config = {
        r["name"]: {
            "tag": _ovs_scalar(r["tag"]),
            "trunks": [int(v) for v in _ovs_set(r["trunks"]) if isinstance(v, int)],
            "vlan_mode": _ovs_scalar(r["vlan_mode"]),
        }
        for r in ports_rows
    }
    ofport = {}
    for r in _vsctl_json("--columns=name,ofport", "list", "Interface"):
        value = _ovs_scalar(r["ofport"])
        ofport[r["name"]] = int(value) if isinstance(value, int) else -1
    return OvsState(bridges, ports, config, ofport)


def ovs_running() -> bool:
    try:
        run(["ovs-vsctl", "--timeout=3", "show"], timeout=10)
    except NetError:
        return False
    return True


def ensure_ovs() -> bool:
    """Start Open vSwitch if it is not answering; returns True if it was started."""
    if ovs_running():
        return False
    argv = [OVS_CTL, "start"]
    if not Path("/etc/openvswitch/system-id.conf").exists():
        argv = [OVS_CTL, "--system-id=random", "start"]
    run(argv, timeout=120)
    for _attempt in range(50):
        if ovs_running():
            return True
        time.sleep(0.2)
    raise NetError(_("Open vSwitch did not come up after ovs-ctl start"))


def vsctl(args: Sequence[str]) -> None:
    """One ovs-vsctl transaction (args already contain the `--` separators)."""
    if args:
        run(["ovs-vsctl", "--timeout=30", *args], timeout=60)


# --------------------------------------------------------------------------
# Inside a namespace, without a subprocess

_libc: ctypes.CDLL | None = None


def _setns(name: str) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(NETNS_DIR / name, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def in_netns(netns: str | None, fn: Callable[[], T], timeout: float = 30.0) -> T:
    """Call fn() in network namespace `netns` (None: this thread's namespace)."""
    if netns is None:
        return fn()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            _setns(netns)
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=target, name=f"netns-{netns}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(
            _("{netns}: gave no answer within {seconds}s").format(
                netns=netns, seconds=f"{timeout:.0f}"
            )
        )
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def sysctl_get(netns: str | None, key: str) -> str:
    path = Path("/proc/sys") / key.replace(".", "/")
    return in_netns(netns, lambda: path.read_text().strip())


def sysctl_set(netns: str | None, key: str, value: str) -> None:
    path = Path("/proc/sys") / key.replace(".", "/")
    in_netns(netns, lambda: path.write_text(value + "\n"))


def tcp_probe(
    netns: str | None, host: str, port: int, send: bytes = b"", timeout: float = 3.0
) -> str | None:
    """Connect (from inside `netns`), optionally send, return what came back first.

    None means no TCP connection; "" means connected but nothing was said.
    """

    def probe() -> str | None:
        try:
            with socket.create_connection((host, port), timeout=timeout) as s:
                if send:
                    s.sendall(send)
                try:
                    data = s.recv(4096)
                except TimeoutError:
                    return ""
                return data.decode("utf-8", "replace")
        except OSError:
            return None

    try:
        return in_netns(netns, probe, timeout=timeout * 3 + 2)
    except (OSError, TimeoutError):
        return None


def rtsp_options(netns: str | None, host: str, port: int, path: str, timeout: float = 3.0) -> str:
    """First line of the answer to an RTSP OPTIONS request ("" if none)."""
    req = f"OPTIONS rtsp://{host}:{port}{path} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: dcctl-lab\r\n\r\n"
    reply = tcp_probe(netns, host, port, req.encode(), timeout)
    return (reply or "").split("\r\n", 1)[0]


def disable_tx_offload(netns: str | None, ifname: str) -> None:
    """`ethtool -K IF tx off`: needed for any IP stack whose frames cross OVS netdev."""
    ns = ["ip", "netns", "exec", netns] if netns else []
    run([*ns, "ethtool", "-K", ifname, "tx", "off"], check=False)


# --------------------------------------------------------------------------
# Processes


def pid_alive(pid: int) -> bool:
    """True for a live process (zombies count as dead; our own children are reaped)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
    return state not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\x00", b" ").decode("utf-8", "replace").strip()


def read_pid(path: Path, marker: str | None = None) -> int | None:
    """Pid from a pid file if that process lives (and its cmdline contains marker)."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if pid <= 1 or not pid_alive(pid):
        return None
    if marker is not None and marker not in cmdline(pid):
        return None
    return pid


def pid_in_netns(pid: int, netns: str) -> bool:
    """Whether process `pid` lives in the named namespace (not an orphaned old one)."""
    try:
        a = os.stat(f"/proc/{pid}/ns/net")
        b = os.stat(NETNS_DIR / netns)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def netns_pids(netns: str) -> list[int]:
    proc = ip(None, "netns", "pids", netns, check=False)
    return [int(x) for x in proc.stdout.split() if x.isdigit()]


def pids_with(marker: str) -> list[int]:
    """Pids whose command line contains `marker` (a lab-specific path)."""
    out = []
    me = os.getpid()
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != me and marker in cmdline(int(d.name)):
            out.append(int(d.name))
    return out


def stop_pids(pids: Iterable[int], grace: float = 5.0) -> list[int]:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL; returns pids that were alive."""
    alive = sorted({p for p in pids if p > 1 and pid_alive(p)})
    for pid in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGCONT)  # a paused (SIGSTOP) process cannot handle SIGTERM
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p) for p in alive):
        time.sleep(0.05)
    for pid in alive:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and any(pid_alive(p) for p in alive):
        time.sleep(0.05)
    return alive


#: Popen objects of daemons we started, kept so Python does not warn that they still
#: run; `pid_alive` reaps them once they exit.
_children: list[subprocess.Popen[bytes]] = []


def spawn(argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Start a detached daemon (own session, output appended to `log`); returns its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
        )
    _children[:] = [c for c in _children if c.poll() is None]
    _children.append(proc)
    return proc.pid


def which(cmd: str) -> str | None:
    return shutil.which(cmd, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
