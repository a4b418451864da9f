"""Build, inspect and tear down the lab on this machine: `dcctl lab up|down|status|reset`.

Why it is shaped like this:
- `up` is a reconciliation, not a script: it observes what exists (a handful of
  `ip -j` / `ovs-vsctl --format=json` calls), creates only what is missing and
  removes lab-prefixed leftovers the plan no longer has. A second `up` changes
  nothing and takes well under a second or two; after a partial crash it repairs.
- `down` needs no plan and no lab.json: everything the lab makes carries the lab
  prefix (`dl` + id) or lives under the lab state dir, so it is found again by
  name, by `ip netns pids` and by pid files even after a crash.
- Switch NVRAM (startup-configs), secrets and host keys live in the state dir and
  survive `down`; `reset` wipes the NVRAM, like `write erase` on every switch.
- Faults (camera stopped, WAN link down) are recorded as marker files so `up`
  does not silently heal a fault someone injected on purpose; `down` clears them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dcctl.lab import host, net
from dcctl.lab.net import NetError
from dcctl.lab.podman import (
    container_names,
    install_login,
    is_vm_part,
    machine_args,
    podman,
    start_machine,
)
from dcctl.lab.secrets import ensure_secrets, secret_path
from dcctl.lab.topology import (
    CAMERA_USER,
    IF_PREFIX,
    LAB_ID_RE,
    CameraPlan,
    LabPlan,
    OfficePlan,
    SwitchPlan,
    VethEnd,
    VpnGatewayPlan,
    lab_prefix,
    switchd_config,
)

SYSTEM_PYTHON = "/usr/bin/python3"
CAMERA_SCRIPT = Path(__file__).with_name("camera.py")
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
LAB_JSON = "lab.json"
FAULTS_DIR = "faults"
DAEMON_PID = "daemon.pid"
SWITCHD_PID = "switchd.pid"
NVRAM_KEEP = ("ssh_host_ed25519_key", "ssh_host_ed25519_key.pub", "switchd.json")
OFFICE_LABEL = "dcctl.lab"
OFFICE_USER = "dcctl"  # the sudo user Ansible logs in as, like on every lab VM
VPN_DNAT_COMMENT = "dcctl-lab-vpn"

#: command -> Debian package that provides it
TOOLS: dict[str, str] = {
    "ip": "iproute2",
    "ovs-vsctl": "openvswitch-switch",
    "ovs-ofctl": "openvswitch-switch",
    "ethtool": "ethtool",
    "ssh-keygen": "openssh-client",
}
GST_PACKAGES = (
    "python3-gi",
    "gir1.2-gst-rtsp-server-1.0",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-ugly",
)
_GST_CHECK = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
    "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
    "assert Gst.ElementFactory.find('x264enc'), 'x264enc'; "
    "assert Gst.ElementFactory.find('rtph264pay'), 'rtph264pay'"
)


class LabError(Exception):
    """A problem the operator can fix; `hint` says how. Rendered without traceback."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class Reporter(Protocol):
    def step(self, text: str) -> None: ...


class Quiet:
    def step(self, text: str) -> None:
        pass


@dataclass
class Result:
    action: str
    lab_id: str
    elapsed: float = 0.0
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    switchd: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["elapsed"] = round(self.elapsed, 2)
        return d


# --------------------------------------------------------------------------
# Preflight


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "dcctl lab needs root: it creates network namespaces, veth pairs and "
            "Open vSwitch bridges",
            "run it as root, e.g. `sudo .venv/bin/dcctl lab up`",
        )


def missing_tools() -> dict[str, str]:
    return {cmd: pkg for cmd, pkg in TOOLS.items() if net.which(cmd) is None}


def gst_problem() -> str | None:
    """Why the system python cannot run a camera, or None if it can."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing"
    try:
        proc = subprocess.run(
            [SYSTEM_PYTHON, "-c", _GST_CHECK], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit code {proc.returncode}"
    return None


def apt_hint(packages: Iterable[str]) -> str:
    return "apt-get install -y " + " ".join(sorted(set(packages)))


def preflight() -> None:
    require_root()
    missing = missing_tools()
    if not Path(net.OVS_CTL).exists():
        missing["ovs-ctl"] = "openvswitch-switch"
    if missing:
        raise LabError(
            "missing commands: " + ", ".join(sorted(missing)),
            apt_hint(missing.values()),
        )


def switchd_available() -> bool:
    """Whether the switch daemon (`python -m dcctl.lab.switchd`) is installed."""
    try:
        return importlib.util.find_spec("dcctl.lab.switchd.__main__") is not None
    except (ImportError, ValueError):
        return False


# --------------------------------------------------------------------------
# Small state-dir helpers


def _write_if_changed(path: Path, text: str, mode: int | None = None) -> bool:
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True


def _fault_path(state_dir: Path, kind: str, key: str) -> Path:
    return state_dir / FAULTS_DIR / f"{kind}-{key.replace('/', '-')}"


def _fault(state_dir: Path, kind: str, key: str) -> str | None:
    try:
        return _fault_path(state_dir, kind, key).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _set_fault(state_dir: Path, kind: str, key: str, value: str | None) -> None:
    path = _fault_path(state_dir, kind, key)
    if value is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n", encoding="utf-8")


def _host_key(path: Path, comment: str) -> bool:
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    net.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return True


def _switch_pid(plan: LabPlan, sw: SwitchPlan) -> int | None:
    return net.read_pid(
        plan.switch_dir(sw.name) / DAEMON_PID, marker=str(plan.switchd_config_path(sw.name))
    )


def _camera_pid(plan: LabPlan, cam: CameraPlan) -> int | None:
    return net.read_pid(plan.camera_pid_path(cam), marker=str(plan.camera_pid_path(cam)))


def _wan_up(plan: LabPlan, office: OfficePlan) -> bool:
    return _fault(plan.state_dir, "wan", office.key) != "down"


def _desired_up(plan: LabPlan, end: VethEnd, wan_ports: dict[str, OfficePlan]) -> bool:
    office = wan_ports.get(end.ifname)
    if office is not None:
        return _wan_up(plan, office)
    return end.up


def _parallel(fn: Callable[[Any], Any], items: Iterable[Any], workers: int = 8) -> list[Any]:
    items = list(items)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


# --------------------------------------------------------------------------
# up


class _Up:
    def __init__(self, plan: LabPlan, reporter: Reporter) -> None:
        self.plan = plan
        self.p = plan.prefix
        self.r = reporter
        self.res = Result("up", plan.lab_id, switchd=switchd_available())
        self.created_ifs: set[str] = set()
        self.new_bridges: set[str] = set()
        self.new_ports: set[str] = set()
        self.changed_configs: set[str] = set()
        self.started: list[tuple[str, str]] = []  # ("switch"|"camera", name)
        self.counts: dict[str, int] = {}

    def change(self, what: str, n: int = 1) -> None:
        """Count a change; the result lists "N what" per kind, in order of first use."""
        if n <= 0:
            return
        self.counts[what] = self.counts.get(what, 0) + n
        self.res.changes = [f"{c} {w}" for w, c in self.counts.items()]

    def warn(self, text: str) -> None:
        self.res.warnings.append(text)

    # -- files ---------------------------------------------------------------

    def state_files(self) -> dict[str, Path]:
        plan = self.plan
        plan.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(plan.state_dir, 0o750)
        pw = ensure_secrets(plan.state_dir, plan.credential_refs)
        for sw in plan.switches:
            d = plan.switch_dir(sw.name)
            d.mkdir(parents=True, exist_ok=True)
            if _host_key(d / "ssh_host_ed25519_key", f"{sw.name}@lab-{plan.lab_id}"):
                self.change("switch host keys generated")
            cfg = switchd_config(plan, sw, pw[sw.credential])
            text = json.dumps(cfg, indent=2) + "\n"
            if _write_if_changed(plan.switchd_config_path(sw.name), text, 0o600):
                self.changed_configs.add(sw.name)
                self.change("switch daemon configs written")
        (plan.state_dir / "cameras").mkdir(exist_ok=True)
        return pw

    # -- stale objects ---------------------------------------------------------

    def remove_stale(self) -> None:
        plan, p = self.plan, self.p
        want_ns = {n.name for n in plan.namespaces}
        stale_ns = [
            n
            for n in net.netns_list()
            if n.startswith(p + "-") and n not in want_ns and not is_vm_part(p, n)
        ]
        if stale_ns:
            pids = [pid for ns in stale_ns for pid in net.netns_pids(ns)]
            net.stop_pids(pids)
            net.ip_batch(None, (f"netns del {ns}" for ns in stale_ns), force=True)
            self.change("stale namespaces removed", len(stale_ns))
        ovs = net.ovs_state()
        want_br = {b.name for b in plan.ovs_bridges}
        want_ports = {e.ifname: e.ovs_bridge for e in plan.ends() if e.ovs_bridge}
        args: list[str] = []
        for br in sorted(ovs.bridges):
            if br.startswith(p) and br not in want_br:
                args += ["--", "--if-exists", "del-br", br]
        for port, br in sorted(ovs.ports.items()):
            if br in want_br and want_ports.get(port) != br and not is_vm_part(p, port):
                args += ["--", "--if-exists", "del-port", br, port]
        if args:
            net.vsctl(args)
            self.change("stale OVS bridges/ports removed", len(args) // 4)
        want_root = {e.ifname for e in plan.ends() if e.netns is None} | want_br
        stale_links = [
            n
            for n in net.links(None)
            if n.startswith(p) and n not in want_root and not is_vm_part(p, n)
        ]
        if stale_links:
            net.ip_batch(None, (f"link del {n}" for n in stale_links), force=True)
            self.change("stale interfaces removed", len(stale_links))

    # -- kernel objects ------------------------------------------------------------

    def namespaces(self) -> None:
        have = set(net.netns_list())
        missing = [n.name for n in self.plan.namespaces if n.name not in have]
        if missing:
            net.ip_batch(None, (f"netns add {n}" for n in missing))
            self.change("namespaces created", len(missing))

    def ovs_bridges(self) -> net.OvsState:
        ovs = net.ovs_state()
        args: list[str] = []
        for br in self.plan.ovs_bridges:
            if br.name not in ovs.bridges:
                self.new_bridges.add(br.name)
                args += ["--", "--may-exist", "add-br", br.name]
            if ovs.bridges.get(br.name) != "netdev":
                args += ["--", "set", "bridge", br.name, "datapath_type=netdev"]
        if args:
            net.vsctl(args)
            self.change("OVS bridges created", len(self.new_bridges))
            ovs = net.ovs_state()
        return ovs

    def observe(self) -> dict[str | None, dict[str, net.Link]]:
        names: list[str | None] = [None, *(n.name for n in self.plan.namespaces)]
        found = _parallel(net.links, names)
        return dict(zip(names, found, strict=True))

    def veths(self, seen: dict[str | None, dict[str, net.Link]]) -> None:
        lines: list[str] = []
        for v in self.plan.veths:
            a_ok = v.a.ifname in seen.get(v.a.netns, {})
            b_ok = v.b.ifname in seen.get(v.b.netns, {})
            if a_ok and b_ok:
                continue
            for end, ok in ((v.a, a_ok), (v.b, b_ok)):
                if ok:  # half a pair: remove it and make the pair again
                    net.ip(end.netns, "link", "del", end.ifname, check=False)
            a_ns = f" netns {v.a.netns}" if v.a.netns else ""
            b_ns = f" netns {v.b.netns}" if v.b.netns else ""
            lines.append(f"link add {v.a.ifname}{a_ns} type veth peer name {v.b.ifname}{b_ns}")
            for end in v.ends():
                self.created_ifs.add(end.ifname)
                seen.setdefault(end.netns, {})[end.ifname] = net.Link(end.ifname, False, None)
        if lines:
            net.ip_batch(None, lines)
            self.change("veth pairs created", len(lines))

    def ovs_ports(self, ovs: net.OvsState) -> None:
        args: list[str] = []
        added = 0
        for end in self.plan.ends():
            if not end.ovs_bridge:
                continue
            port, br = end.ifname, end.ovs_bridge
            cur = ovs.ports.get(port)
            settings: list[str]
            if cur is None:
                settings = [f"tag={end.ovs_tag}"] if end.ovs_tag is not None else []
                self.new_ports.add(port)
            elif cur != br or port in self.created_ifs or ovs.ofport.get(port, -1) < 0:
                # Re-attach a re-created device, keeping what the switch daemon set.
                cfg = ovs.port_config.get(port, {})
                settings = []
                if cfg.get("tag") is not None:
                    settings.append(f"tag={cfg['tag']}")
                if cfg.get("trunks"):
                    settings.append("trunks=" + ",".join(str(t) for t in cfg["trunks"]))
                if cfg.get("vlan_mode"):
                    settings.append(f"vlan_mode={cfg['vlan_mode']}")
                args += ["--", "--if-exists", "del-port", cur, port]
            else:
                continue
            args += ["--", "add-port", br, port, *settings]
            added += 1
        if args:
            net.vsctl(args)
            self.change("OVS ports attached", added)

    def configure(self, seen: dict[str | None, dict[str, net.Link]]) -> None:
        plan = self.plan
        wan_ports = {o.wan_bridge_port: o for o in plan.offices}
        ns_names: list[str | None] = [None, *(n.name for n in plan.namespaces)]
        batches: dict[str | None, list[str]] = {ns: [] for ns in ns_names}
        route_lines: dict[str | None, list[str]] = {ns: [] for ns in ns_names}
        for ns in ns_names:
            have = seen.get(ns, {})
            lines = batches[ns]
            if ns is not None and not (have.get("lo") and have["lo"].up):
                lines.append("link set lo up")
            for br in plan.linux_bridges:
                if br.netns != ns:
                    continue
                link = have.get(br.name)
                if link is None:
                    lines.append(f"link add {br.name} type bridge")
                for a in br.addresses:
                    if link is None or a not in link.addresses:
                        lines.append(f"addr add {a} dev {br.name}")
                if link is None or not link.up:
                    lines.append(f"link set {br.name} up")
        for end in plan.ends():
            link = seen.get(end.netns, {}).get(end.ifname)
            lines = batches[end.netns]
            if end.linux_bridge and (link is None or link.master != end.linux_bridge):
                lines.append(f"link set {end.ifname} master {end.linux_bridge}")
            for a in end.addresses:
                if link is None or a not in link.addresses:
                    lines.append(f"addr add {a} dev {end.ifname}")
            want_up = _desired_up(plan, end, wan_ports)
            if link is None or link.up != want_up:
                lines.append(f"link set {end.ifname} {'up' if want_up else 'down'}")
        # Routes, after the devices they use are up.
        have_routes = dict(
            zip(
                ns_names,
                _parallel(net.routes, ns_names),
                strict=True,
            )
        )
        for r in plan.routes:
            cur = have_routes[r.netns].get(r.dst)
            via = f" via {r.via}" if r.via else ""
            if r.netns is None:
                if cur is None:
                    route_lines[None].append(f"route add {r.dst}{via} dev {r.dev}")
                elif cur.get("dev") != r.dev:
                    self.warn(
                        f"root route {r.dst} already goes via {cur.get('dev')}; "
                        f"not routed via {r.dev}"
                    )
                continue
            if cur is None or cur.get("dev") != r.dev or cur.get("gateway") != r.via:
                route_lines[r.netns].append(f"route replace {r.dst}{via} dev {r.dev}")

        def apply(ns: str | None) -> int:
            lines = batches[ns] + route_lines[ns]
            if lines:
                net.ip_batch(ns, lines)
            return len(lines)

        # Root first: the OVS sides must be up before namespaces route over them.
        n = apply(None)
        n += sum(_parallel(apply, ns_names[1:]))
        if n:
            self.change("link/address/route settings applied", n)

    def sysctls(self) -> None:
        for ns in self.plan.namespaces:
            if ns.forward and net.sysctl_get(ns.name, "net.ipv4.ip_forward") != "1":
                net.sysctl_set(ns.name, "net.ipv4.ip_forward", "1")
                self.change("namespaces with ip_forward enabled")

    def offloads(self) -> None:
        ends = [e for e in self.plan.ends() if e.tx_off and e.ifname in self.created_ifs]
        _parallel(lambda e: net.disable_tx_offload(e.netns, e.ifname), ends)

    # -- processes ---------------------------------------------------------------

    def switch_daemons(self) -> None:
        plan = self.plan
        if not self.res.switchd:
            self.warn("switch daemon (dcctl.lab.switchd) not installed yet: switches not started")
            return
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        )
        for sw in plan.switches:
            pid = _switch_pid(plan, sw)
            if pid is not None and not net.pid_in_netns(pid, sw.netns):
                net.stop_pids([pid])  # the management namespace was re-created
                pid = None
            rebuilt = sw.bridge in self.new_bridges or any(
                port in self.new_ports for _, port in sw.ports
            )
            if pid is not None and (rebuilt or sw.name in self.changed_configs):
                net.stop_pids([pid])
                pid = None
                self.change("switch daemons restarted (ports or config changed)")
            if pid is not None:
                continue
            d = plan.switch_dir(sw.name)
            argv = [
                "ip", "netns", "exec", sw.netns,
                sys.executable, "-m", "dcctl.lab.switchd",
                "--config", str(plan.switchd_config_path(sw.name)),
            ]  # fmt: skip
            pid = net.spawn(argv, d / "console.log", env=env)
            (d / DAEMON_PID).write_text(f"{pid}\n")
            self.started.append(("switch", sw.name))
            self.change("switch daemons started")

    def cameras(self, pw: dict[str, Path]) -> None:
        plan = self.plan
        todo = []
        for cam in plan.cameras:
            if _fault(plan.state_dir, "camera", cam.key) is not None:
                continue  # stopped/paused on purpose
            pid = _camera_pid(plan, cam)
            if pid is not None and not net.pid_in_netns(pid, cam.netns):
                net.stop_pids([pid])  # its namespace was deleted and re-created
                pid = None
            if pid is None:
                todo.append(cam)
        if not todo:
            return
        problem = gst_problem()
        if problem:
            raise LabError(
                f"cameras need GStreamer's RTSP server for {SYSTEM_PYTHON}: {problem}",
                apt_hint(GST_PACKAGES),
            )
        for cam in todo:
            start_camera(plan, cam, pw[cam.credential])
            self.started.append(("camera", cam.key))
            self.change("cameras started")

    def wait_ready(self, timeout: float) -> None:
        plan = self.plan
        pending = list(self.started)
        deadline = time.monotonic() + timeout

        def ready(item: tuple[str, str]) -> bool:
            kind, name = item
            if kind == "switch":
                sw = plan.switch(name)
                return (net.tcp_probe(sw.netns, sw.mgmt_address, 22, timeout=1.0) or "").startswith(
                    "SSH-"
                )
            cam = plan.camera(name)
            return net.rtsp_options(
                cam.netns, cam.ip, cam.rtsp_port, cam.rtsp_path, 1.0
            ).startswith("RTSP/1.0")

        while pending and time.monotonic() < deadline:
            answers = _parallel(ready, pending)
            pending = [i for i, ok in zip(pending, answers, strict=True) if not ok]
            if pending:
                time.sleep(0.2)
        for kind, name in pending:
            self.warn(f"{kind} {name} started but does not answer after {timeout:.0f}s")

    # -- VPN -------------------------------------------------------------------------

    def vpn_gateway(self) -> None:
        """DNAT the hub's public UDP port to the vpn-hub VM (what the edge router does)."""
        v = self.plan.vpn
        if v is None:
            return
        if net.which("iptables") is None:
            raise LabError("the VPN port forward needs iptables", apt_hint(["iptables"]))
        if _ensure_dnat(v):
            self.change("VPN port forwards set")

    def office_routers(self) -> None:
        """A lab-image container in each Linux office router namespace, reachable by SSH."""
        offices = self.plan.office_containers()
        if not offices:
            return
        if net.which("podman") is None:
            self.warn("podman is not installed: Linux office routers have no SSH host")
            return
        todo = []
        for office in offices:
            assert office.container is not None
            info = _container(office.container)
            if info is not None:
                state = info.get("State") or {}
                pid = int(state.get("Pid") or 0)
                if state.get("Running") and pid and net.pid_in_netns(pid, office.router_netns):
                    continue
                podman("rm", "--force", "--ignore", "--time", "0", office.container, check=False)
                self.change("office router containers replaced (namespace re-created)")
            todo.append(office)
        if not todo:
            return
        from dcctl.lab.integration import LabNotReady, lab_image, lab_ssh_key

        try:
            image = lab_image()
        except LabNotReady as exc:
            raise LabError(str(exc), "run scripts/build-lab-image as root") from None
        _key, pub = lab_ssh_key(self.plan.state_dir)
        errors = [e for e in _parallel(lambda o: _start_office_router(o, image, pub), todo) if e]
        for e in errors:
            self.warn(e)
        self.change("office router containers started", len(todo) - len(errors))

    def lab_json(self) -> None:
        plan = self.plan
        doc = {
            "lab_id": plan.lab_id,
            "prefix": plan.prefix,
            "site": plan.site,
            "state_dir": str(plan.state_dir),
            "switchd": self.res.switchd,
            "camera_user": CAMERA_USER,
            "plan": plan.to_dict(),
        }
        _write_if_changed(plan.state_dir / LAB_JSON, json.dumps(doc, indent=2) + "\n")


def _container(name: str) -> dict[str, Any] | None:
    proc = podman("container", "inspect", name, check=False, timeout=60)
    if proc.returncode != 0:
        return None
    found = json.loads(proc.stdout or "[]")
    return found[0] if found else None


def _ensure_dnat(v: VpnGatewayPlan) -> bool:
    """One DNAT rule (ours, by comment) in the gateway namespace; True if it changed."""
    ipt = ["ip", "netns", "exec", v.netns, "iptables", "-w", "5", "-t", "nat"]
    rule = [
        "PREROUTING", "-d", f"{v.public_address}/32", "-p", "udp", "-m", "udp",
        "--dport", str(v.port), "-m", "comment", "--comment", VPN_DNAT_COMMENT,
        "-j", "DNAT", "--to-destination", v.hub_address,
    ]  # fmt: skip
    want = "-A " + " ".join(rule)
    listed = net.run([*ipt, "-S", "PREROUTING"]).stdout.splitlines()
    ours = [line for line in listed if VPN_DNAT_COMMENT in line]
    if ours == [want]:
        return False
    for line in ours:  # a stale rule (the hub VM moved): remove it
        net.run([*ipt, "-D", *line.split()[1:]], check=False)
    net.run([*ipt, "-A", *rule])
    return True


def _start_office_router(office: OfficePlan, image: str, pub: str) -> str | None:
    """Run the router container and give it the lab's SSH key; returns an error or None."""
    name = office.container
    assert name is not None
    labels = {OFFICE_LABEL: "office-router", f"{OFFICE_LABEL}.netns": office.router_netns}
    try:
        start_machine(
            name, office.router_netns, machine_args(name, office.router_netns, image, labels=labels)
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            up = podman("exec", name, "systemctl", "is-system-running", check=False).stdout
            if up.strip() in ("running", "degraded"):
                break
            time.sleep(0.5)
        install_login(name, pub, OFFICE_USER, root_keys=False)
        while time.monotonic() < deadline:
            ans = net.tcp_probe(
                office.router_netns, office.wan_address.split("/")[0], 22, timeout=1.0
            )
            if (ans or "").startswith("SSH-"):
                return None
            time.sleep(0.5)
        return f"office router {office.key}: sshd does not answer in {name}"
    except NetError as exc:
        return f"office router {office.key}: {exc}"


def start_camera(plan: LabPlan, cam: CameraPlan, password_file: Path) -> int:
    pid_file = plan.camera_pid_path(cam)
    argv = [
        "ip", "netns", "exec", cam.netns,
        SYSTEM_PYTHON, str(CAMERA_SCRIPT),
        "--port", str(cam.rtsp_port), "--path", cam.rtsp_path,
        "--user", CAMERA_USER, "--password-file", str(password_file),
        "--pid-file", str(pid_file),
    ]  # fmt: skip
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    pid = net.spawn(argv, plan.camera_log_path(cam), env=env)
    pid_file.write_text(f"{pid}\n")
    return pid


def address_holder(plan: LabPlan) -> tuple[str, str, str] | None:
    """(lab id, prefix, interface) of another lab that holds this lab's root routes.

    Labs of one spec share their management and WAN addresses, and the root
    namespace (where dcctl connects from) can route them to one lab only. A
    second lab of the spec would come up with its switches unreachable, which
    looks like a broken switch, not a busy machine; so `up` refuses instead.
    """
    have = net.routes(None)
    wanted = [r.dst for r in plan.routes if r.netns is None]
    if plan.mgmt is not None:
        wanted.insert(0, str(ipaddress.ip_network(plan.mgmt.prefix)))
    for dst in wanted:
        dev = str(have.get(dst, {}).get("dev", ""))
        other = dev[len(IF_PREFIX) : len(IF_PREFIX) + 3]
        if dev.startswith(IF_PREFIX) and LAB_ID_RE.match(other) and other != plan.lab_id:
            return other, dst, dev
    return None


def up(plan: LabPlan, reporter: Reporter | None = None, wait: float = 30.0) -> Result:
    """Build (or repair) the lab; idempotent. Raises LabError / NetError."""
    r = reporter or Quiet()
    t0 = time.monotonic()
    preflight()
    held = address_holder(plan)
    if held:
        other, dst, dev = held
        raise LabError(
            f"lab {other!r} is up with the same addresses (the route to {dst} goes via its "
            f"{dev}); one lab of a spec at a time: nothing was built",
            hint=f"take it down first: dcctl lab down --lab-id {other} (its saved configs stay)",
        )
    u = _Up(plan, r)
    r.step("host settings")
    for change in host.acquire(plan.lab_id):
        u.change(f"host setting {change} (lab down restores it)")
    r.step("Open vSwitch")
    if net.ensure_ovs():
        u.change("Open vSwitch started")
    r.step("state dir, secrets, switch configs")
    pw = u.state_files()
    r.step("removing leftovers")
    u.remove_stale()
    r.step("namespaces")
    u.namespaces()
    r.step("OVS bridges")
    ovs = u.ovs_bridges()
    r.step("veth pairs")
    seen = u.observe()
    u.veths(seen)
    r.step("OVS ports")
    u.ovs_ports(ovs)
    r.step("addresses, links, routes")
    u.configure(seen)
    u.sysctls()
    u.offloads()
    r.step("switch daemons")
    u.switch_daemons()
    r.step("cameras")
    u.cameras(pw)
    r.step("VPN port forward on the gateway")
    u.vpn_gateway()
    r.step("office routers")
    u.office_routers()
    if u.started:
        r.step(f"waiting for {len(u.started)} devices to answer")
        u.wait_ready(wait)
    u.lab_json()
    u.res.elapsed = time.monotonic() - t0
    return u.res


# --------------------------------------------------------------------------
# down / reset


def _lab_pids(lab_id: str, state_dir: Path) -> set[int]:
    p = lab_prefix(lab_id)
    pids: set[int] = set()
    patterns = (f"switches/*/{DAEMON_PID}", f"switches/*/{SWITCHD_PID}", "cameras/*.pid")
    for pattern in patterns:
        for pid_file in state_dir.glob(pattern):
            pid = net.read_pid(pid_file)
            if pid is not None and str(state_dir) in net.cmdline(pid):
                pids.add(pid)
    for ns in net.netns_list():
        if ns.startswith(p + "-"):
            pids.update(net.netns_pids(ns))
    pids.update(net.pids_with(str(state_dir) + "/"))
    return pids


def _one_end_per_pair(prefix: str) -> list[str]:
    """Lab interfaces in the root namespace, naming each veth pair once.

    Deleting one end of a veth deletes its peer, and each deletion costs the
    kernel an RCU grace period, so this halves the time `down` takes.
    """
    out: list[str] = []
    gone: set[str] = set()
    for entry in net.ip_json(None, "link", "show"):
        name = entry.get("ifname", "")
        if not name.startswith(prefix) or name in gone:
            continue
        out.append(name)
        peer = entry.get("link")
        if isinstance(peer, str):
            gone.add(peer)
    return out


def _remove_lab_vms(prefix: str) -> int:
    """Lab VMs are podman containers named <prefix>-vm-...; Pulumi state may be gone."""
    if not net.which("podman"):
        return 0
    try:
        # Lab VMs, and the Linux office router containers (<prefix>-or-...).
        names = [n for n in container_names() if n.startswith((prefix + "-vm-", prefix + "-or-"))]
        if names:
            podman("rm", "-f", "-t", "0", *names, check=False)
    except NetError:  # best effort, like the rest of `down`
        return 0
    return len(names)


def down(lab_id: str, state_dir: Path, reporter: Reporter | None = None) -> Result:
    """Remove every namespace, bridge, veth, route and process of the lab."""
    r = reporter or Quiet()
    t0 = time.monotonic()
    require_root()
    res = Result("down", lab_id, switchd=switchd_available())
    p = lab_prefix(lab_id)
    r.step("stopping processes")
    stopped = net.stop_pids(_lab_pids(lab_id, state_dir))
    if stopped:
        res.changes.append(f"stopped {len(stopped)} processes")
    for pattern in (f"switches/*/{DAEMON_PID}", "cameras/*.pid"):
        for pid_file in state_dir.glob(pattern):
            pid_file.unlink(missing_ok=True)
    r.step("lab VMs")
    removed = _remove_lab_vms(p)
    if removed:
        res.changes.append(f"removed {removed} lab VM containers")
    r.step("namespaces")
    namespaces = [ns for ns in net.netns_list() if ns.startswith(p + "-")]
    if namespaces:
        net.ip_batch(None, (f"netns del {ns}" for ns in namespaces), force=True)
        res.changes.append(f"deleted {len(namespaces)} namespaces")
    r.step("OVS bridges")
    if net.which("ovs-vsctl") and net.ovs_running():
        bridges = [b for b in net.ovs_state().bridges if b.startswith(p)]
        if bridges:
            net.vsctl([a for b in bridges for a in ("--", "--if-exists", "del-br", b)])
            res.changes.append(f"deleted {len(bridges)} OVS bridges")
    elif net.which("ovs-vsctl"):
        res.warnings.append("Open vSwitch is not running: lab bridges may remain in its database")
    r.step("interfaces")
    leftovers = _one_end_per_pair(p)
    if leftovers:
        net.ip_batch(None, (f"link del {n}" for n in leftovers), force=True)
        res.changes.append(f"deleted {len(leftovers)} interfaces")
    shutil.rmtree(state_dir / FAULTS_DIR, ignore_errors=True)
    r.step("host settings")
    res.changes += [f"host setting {x}" for x in host.release(lab_id)]
    left = [n for n in net.links(None) if n.startswith(p)]
    left += [ns for ns in net.netns_list() if ns.startswith(p + "-")]
    if left:
        res.warnings.append("still present: " + ", ".join(sorted(left)))
    res.elapsed = time.monotonic() - t0
    return res


def reset(lab_id: str, state_dir: Path, reporter: Reporter | None = None) -> Result:
    """`down`, then wipe every switch's NVRAM (startup-config, faults, logs)."""
    res = down(lab_id, state_dir, reporter)
    res.action = "reset"
    wiped = 0
    for d in sorted((state_dir / "switches").glob("*")):
        if not d.is_dir():
            continue
        for f in d.iterdir():
            if f.name in NVRAM_KEEP:
                continue
            if f.is_dir():
                shutil.rmtree(f, ignore_errors=True)
            else:
                f.unlink(missing_ok=True)
        wiped += 1
    if wiped:
        res.changes.append(f"wiped NVRAM of {wiped} switches")
    return res


# --------------------------------------------------------------------------
# status


@dataclass
class Item:
    kind: str
    name: str
    state: str  # up | missing | down | fault | n/a
    detail: str = ""


@dataclass
class Status:
    lab_id: str
    prefix: str
    state_dir: str
    items: list[Item]

    @property
    def ok(self) -> bool:
        return all(i.state in ("up", "n/a") for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for i in self.items:
            counts[i.state] = counts.get(i.state, 0) + 1
        return {
            "lab_id": self.lab_id,
            "prefix": self.prefix,
            "state_dir": self.state_dir,
            "ok": self.ok,
            "counts": counts,
            "items": [asdict(i) for i in self.items],
        }


def status(plan: LabPlan) -> Status:
    require_root()
    items: list[Item] = []
    ovs_up = net.which("ovs-vsctl") is not None and net.ovs_running()
    items.append(Item("service", "openvswitch", "up" if ovs_up else "down"))
    have_ns = set(net.netns_list())
    for ns in plan.namespaces:
        items.append(Item("namespace", ns.name, "up" if ns.name in have_ns else "missing", ns.role))
    bridges = net.ovs_state().bridges if ovs_up else {}
    for br in plan.ovs_bridges:
        state = "up" if br.name in bridges else "missing"
        items.append(Item("ovs-bridge", br.name, state, f"{br.role} {br.owner}"))
    names: list[str | None] = [None, *(n.name for n in plan.namespaces if n.name in have_ns)]
    seen = dict(zip(names, _parallel(net.links, names), strict=True))
    missing = [e.ifname for e in plan.ends() if e.ifname not in seen.get(e.netns, {})]
    total = len(plan.ends())
    items.append(
        Item(
            "veths",
            f"{len(plan.veths)} pairs",
            "missing" if missing else "up",
            f"{total - len(missing)}/{total} ends present"
            + (f"; missing {', '.join(missing[:6])}" if missing else ""),
        )
    )
    if plan.mgmt is not None:
        root_routes = net.routes(None)
        bad = [
            r
            for r in plan.mgmt.root_routes
            if root_routes.get(r, {}).get("dev") != plan.mgmt.root_ifname
        ]
        items.append(
            Item(
                "root-routes",
                plan.mgmt.root_ifname,
                "missing" if bad else "up",
                f"via {plan.mgmt.gateway}: "
                + ", ".join(plan.mgmt.root_routes)
                + (f"; not via lab: {', '.join(bad)}" if bad else ""),
            )
        )
    switchd = switchd_available()

    def switch_item(sw: SwitchPlan) -> Item:
        if not switchd:
            return Item("switch", sw.name, "n/a", "switch daemon not installed yet")
        pid = _switch_pid(plan, sw)
        inside = (net.tcp_probe(sw.netns, sw.mgmt_address, 22, timeout=2.0) or "").strip()
        if not inside.startswith("SSH-"):
            return Item(
                "switch", sw.name, "down", f"pid {pid or '-'}; no SSH on {sw.mgmt_address}:22"
            )
        from_root = (net.tcp_probe(None, sw.mgmt_address, 22, timeout=2.0) or "").startswith("SSH-")
        note = "" if from_root else " (not reachable from the root namespace)"
        return Item("switch", sw.name, "up", f"{sw.mgmt_address}:22 {inside[:40]}{note}")

    def camera_item(cam: CameraPlan) -> Item:
        fault = _fault(plan.state_dir, "camera", cam.key)
        url = f"rtsp://{cam.ip}:{cam.rtsp_port}{cam.rtsp_path}"
        if fault:
            return Item("camera", cam.key, "fault", f"{fault} (lab fault); {url}")
        line = net.rtsp_options(cam.netns, cam.ip, cam.rtsp_port, cam.rtsp_path, 2.0)
        if line.startswith("RTSP/1.0"):
            return Item("camera", cam.key, "up", f"{url} {line[9:]}")
        pid = _camera_pid(plan, cam)
        return Item("camera", cam.key, "down", f"pid {pid or '-'}; no RTSP answer at {url}")

    items += _parallel(switch_item, plan.switches)
    items += _parallel(camera_item, plan.cameras)
    for b in plan.buildings:
        link = seen.get(b.netns, {}).get(b.ifname)
        ok = link is not None and b.address in link.addresses and link.up
        items.append(
            Item(
                "building",
                f"{b.opd}/{b.name}",
                "up" if ok else "missing",
                f"{b.address} on {b.switch_port}",
            )
        )
    for o in plan.offices:
        link = seen.get(o.router_netns, {}).get(o.wan_ifname)
        if not _wan_up(plan, o):
            items.append(Item("office", o.key, "fault", "WAN link down (lab fault)"))
            continue
        ok = link is not None and o.wan_address in link.addresses
        items.append(
            Item(
                "office",
                o.key,
                "up" if ok else "missing",
                f"WAN {o.wan_address}, LAN {o.lan_prefix}",
            )
        )
    return Status(plan.lab_id, plan.prefix, str(plan.state_dir), items)


# --------------------------------------------------------------------------
# Faults


def switch_fault(
    plan: LabPlan,
    name: str,
    *,
    drop_after: int | None = None,
    reject: list[str] | None = None,
    delay: float | None = None,
    clear: bool = False,
) -> dict[str, Any]:
    """Write the switch's faults.json (merged with what is there unless `clear`)."""
    try:
        plan.switch(name)
    except KeyError:
        known = ", ".join(s.name for s in plan.switches)
        raise LabError(f"no switch {name!r}", f"known: {known}") from None
    path = plan.switch_dir(name) / "faults.json"
    current: dict[str, Any] = {}
    if not clear:
        with contextlib.suppress(FileNotFoundError, ValueError):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                current = loaded
    if drop_after is not None:
        current["drop_after"] = drop_after
    if reject:
        import re

        for rx in reject:
            try:
                re.compile(rx)
            except re.error as exc:
                raise LabError(f"--reject {rx!r} is not a regular expression: {exc}") from None
        current["reject"] = list(reject)
    if delay is not None:
        current["delay"] = delay
    if current:
        _write_if_changed(path, json.dumps(current, indent=2) + "\n")
    else:
        path.unlink(missing_ok=True)
    return current


def camera_fault(plan: LabPlan, ref: str, action: str) -> str:
    """stop | start | pause | resume one camera; returns what happened."""
    require_root()
    try:
        cam = plan.camera(ref)
    except KeyError as exc:
        raise LabError(str(exc.args[0])) from None
    pid = _camera_pid(plan, cam)
    if action == "stop":
        if pid:
            net.stop_pids([pid])
        plan.camera_pid_path(cam).unlink(missing_ok=True)
        _set_fault(plan.state_dir, "camera", cam.key, "stopped")
        return f"camera {cam.key} stopped"
    if action == "pause":
        if not pid:
            raise LabError(f"camera {cam.key} is not running")
        os.kill(pid, signal.SIGSTOP)
        _set_fault(plan.state_dir, "camera", cam.key, "paused")
        return f"camera {cam.key} paused (accepts TCP, answers nothing)"
    if action == "resume":
        if pid:
            os.kill(pid, signal.SIGCONT)
        _set_fault(plan.state_dir, "camera", cam.key, None)
        return f"camera {cam.key} resumed"
    if action == "start":
        _set_fault(plan.state_dir, "camera", cam.key, None)
        if pid:
            os.kill(pid, signal.SIGCONT)
            return f"camera {cam.key} already running"
        if cam.netns not in net.netns_list():
            raise LabError(f"namespace {cam.netns} is missing", "run `dcctl lab up` first")
        pw = secret_path(plan.state_dir, cam.credential)
        start_camera(plan, cam, pw)
        for _ in range(100):
            if net.rtsp_options(cam.netns, cam.ip, cam.rtsp_port, cam.rtsp_path, 1.0):
                break
            time.sleep(0.1)
        return f"camera {cam.key} started"
    raise LabError(f"unknown camera action {action!r}", "stop, start, pause or resume")


def wan_fault(plan: LabPlan, ref: str, action: str) -> str:
    """down | up: the office's WAN link (its port on the WAN bridge)."""
    require_root()
    try:
        office = plan.office(ref)
    except KeyError as exc:
        raise LabError(str(exc.args[0])) from None
    if action not in ("down", "up"):
        raise LabError(f"unknown WAN action {action!r}", "down or up")
    assert plan.wan is not None
    _set_fault(plan.state_dir, "wan", office.key, "down" if action == "down" else None)
    try:
        net.ip(plan.wan.netns, "link", "set", office.wan_bridge_port, action)
    except NetError as exc:
        raise LabError(
            f"cannot set WAN link of {office.key} {action}: {exc}", "run `dcctl lab up`"
        ) from None
    return f"WAN link of {office.key} {action}"
