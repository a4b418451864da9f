"""Benchmark: push one change to many switches — dcctl's engine vs serial netmiko vs Nornir.

Why: a regency has dozens of access switches and a change window is short. The
engine does more per switch than a plain push (read running, diff, verify,
save, backup), so this measures what that safety costs against (b) the naive
serial netmiko loop and (c) Nornir + nornir-netmiko with the same concurrency,
all pushing the *same* delta (the lines the engine's dry run computed).

Switches are lab daemons (`python -m dcctl.lab.switchd --no-ovs`) on 127.0.0.1,
restarted from factory default before every run so each run pushes the same
lines. Each run ends with a dry run of the engine that must find nothing left
to do, so all three approaches are known to have reached the same state.

The baselines push with netmiko's default `send_config_set` (each line's echo
awaited before the next is typed); the engine pastes the delta in chunks and
checks every echo and reply afterwards (dcctl/engines/switches/session.py).

    .venv/bin/python benchmarks/bench_switches.py [--switches 48] [--workers 64]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dcctl.engines.switches.engine import (  # noqa: E402
    DEFAULT_WORKERS,
    SwitchTarget,
    change_all,
    driver_for,
)
from dcctl.engines.switches.engine import netmiko_params as engine_params  # noqa: E402

IOS_PORTS = [f"GigabitEthernet1/0/{i}" for i in range(1, 13)] + ["TenGigabitEthernet1/1/1"]
ROS_PORTS = ["sfp1", *(f"ether{i}" for i in range(1, 9))]
VRP_PORTS = ["XGigabitEthernet0/0/1", *(f"GigabitEthernet0/0/{i}" for i in range(1, 11))]
PORTS = {"cisco_ios": IOS_PORTS, "mikrotik_routeros": ROS_PORTS, "huawei_vrp": VRP_PORTS}
#: Vendors whose changes must be saved (RouterOS persists every change at once).
SAVES = {"cisco_ios", "huawei_vrp"}
MANAGED = set(range(100, 900)) | {99}


@dataclass
class Daemon:
    name: str
    vendor: str
    port: int
    state_dir: Path
    config: Path
    proc: subprocess.Popen[bytes] | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def intent(vendor: str, n: int) -> dict[str, Any]:
    """An access switch: 5 user VLANs + MGMT, access ports spread over them, one uplink."""
    vlans = {"99": "MGMT", **{str(v): f"OPD{v}-LAN" for v in range(110, 115)}}
    if vendor == "cisco_ios":
        access, uplink = IOS_PORTS[:10], IOS_PORTS[-1]
    else:
        access, uplink = PORTS[vendor][1:], PORTS[vendor][0]
    ports: dict[str, Any] = {
        p: {"mode": "access", "vlan": 110 + i % 5, "description": f"LAN sw{n} port {i + 1}"}
        for i, p in enumerate(access)
    }
    ports[uplink] = {
        "mode": "trunk",
        "trunk_vlans": [99, *range(110, 115)],
        "description": "FO uplink core",
    }
    return {
        "vendor": vendor,
        "mgmt_address": "127.0.0.1",
        "managed": "partial",
        "vlans": vlans,
        "ports": ports,
    }


def start(d: Daemon, timeout: float = 60) -> None:
    """(Re)start one daemon from factory default: its saved config is wiped first."""
    for f in ("startup-config.txt", "switchd.pid", "faults.json"):
        (d.state_dir / f).unlink(missing_ok=True)
    log = open(d.state_dir / "stderr.txt", "ab")  # noqa: SIM115 - handed to the child
    d.proc = subprocess.Popen(
        [sys.executable, "-m", "dcctl.lab.switchd", "--config", str(d.config), "--no-ovs",
         "--log-level", "WARNING"],
        stdout=log, stderr=log, cwd=REPO, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if d.proc.poll() is not None:
            raise RuntimeError(f"{d.name} exited: {(d.state_dir / 'stderr.txt').read_text()}")
        if (d.state_dir / "switchd.pid").exists():
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", d.port), 1):
                return
        time.sleep(0.05)
    raise RuntimeError(f"{d.name} did not start")


def stop(d: Daemon) -> None:
    proc, d.proc = d.proc, None
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def reset(daemons: list[Daemon]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(stop, daemons))
        list(pool.map(start, daemons))


def netmiko_params(d: Daemon, password: str) -> dict[str, Any]:
    """Exactly the connection settings the engine uses, so only the work differs."""
    t = SwitchTarget(d.name, {}, "127.0.0.1", "admin", password, d.port)
    return engine_params(t, driver_for(d.vendor).device_type)


def fair(vendor: str, conn: Any) -> None:
    """The baselines get the engine's session fix-ups too (VRP: netmiko's 2 s
    config-mode check by timing), so only the work differs, not netmiko quirks."""
    prepare = getattr(driver_for(vendor), "prepare", None)
    if prepare is not None:
        prepare(conn)


def push_one(d: Daemon, password: str, lines: list[str]) -> float:
    """What a plain script does: connect, enable, send the lines, save, disconnect."""
    from netmiko import ConnectHandler

    t0 = time.monotonic()
    conn = ConnectHandler(**netmiko_params(d, password))
    try:
        fair(d.vendor, conn)
        conn.enable()
        conn.send_config_set(lines, read_timeout=60)
        if d.vendor in SAVES:
            conn.save_config()
    finally:
        conn.disconnect()
    return time.monotonic() - t0


def run_nornir(
    daemons: list[Daemon], password: str, lines: dict[str, list[str]], workers: int, tmp: Path
) -> tuple[float, float]:
    """Nornir's threaded runner with nornir-netmiko tasks; (wall, slowest host)."""
    import yaml
    from nornir import InitNornir
    from nornir.core.task import Result, Task
    from nornir_netmiko.tasks import netmiko_save_config, netmiko_send_config

    hosts = {}
    for d in daemons:
        params = netmiko_params(d, password)
        hosts[d.name] = {
            "hostname": "127.0.0.1",
            "port": d.port,
            "username": "admin",
            "password": password,
            "platform": params["device_type"],
            "data": {"lines": lines[d.name], "vendor": d.vendor},
            "connection_options": {
                "netmiko": {
                    "extras": {
                        k: v
                        for k, v in params.items()
                        if k not in ("device_type", "host", "port", "username", "password")
                    }
                }
            },
        }
    inv = tmp / "nornir"
    inv.mkdir(exist_ok=True)
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    (inv / "groups.yaml").write_text("{}\n")
    (inv / "defaults.yaml").write_text("{}\n")
    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": workers}},
        inventory={
            "plugin": "SimpleInventory",
            "options": {
                "host_file": str(inv / "hosts.yaml"),
                "group_file": str(inv / "groups.yaml"),
                "defaults_file": str(inv / "defaults.yaml"),
            },
        },
        logging={"enabled": False},
    )
    took: dict[str, float] = {}

    def push(task: Task) -> Result:
        t0 = time.monotonic()
        ios = task.host.platform == "cisco_ios"
        fair(task.host["vendor"], task.host.get_connection("netmiko", task.nornir.config))
        task.run(
            netmiko_send_config, config_commands=task.host["lines"], enable=ios, read_timeout=60
        )
        if task.host["vendor"] == "huawei_vrp":  # `save` asks `Continue? [Y/N]`
            task.run(netmiko_save_config, confirm=True, confirm_response="y")
        elif task.host["vendor"] in SAVES:
            task.run(netmiko_save_config)
        task.host.close_connections()
        took[task.host.name] = time.monotonic() - t0
        return Result(host=task.host)

    t0 = time.monotonic()
    result = nr.run(task=push)
    wall = time.monotonic() - t0
    if result.failed:
        raise RuntimeError(f"nornir: failed hosts {sorted(result.failed_hosts)}")
    return wall, max(took.values())


def converged(targets: list[SwitchTarget], workers: int) -> None:
    res = change_all(targets, MANAGED, None, dry_run=True, workers=workers)
    left = [r for r in res if r.status != "unchanged"]
    if left:
        raise RuntimeError(f"not converged after the run: {[r.name for r in left]}: {left[0]}")


def cpu_seconds(daemons: list[Daemon]) -> tuple[float, float]:
    """CPU time (user + system) of this process and of all switch daemons so far.

    Both sides share the machine's cores, so a tool that makes the switches
    work harder is slower even if its own code is lean.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    tick = os.sysconf("SC_CLK_TCK")
    theirs = 0.0
    for d in daemons:
        if d.proc is None:
            continue
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{d.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            theirs += (int(fields[11]) + int(fields[12])) / tick
    return own.ru_utime + own.ru_stime, theirs


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.monotonic()
    out = fn()
    return time.monotonic() - t0, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--switches", type=int, default=48)
    ap.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="pool size of the engine and Nornir"
    )
    ap.add_argument(
        "--ros-every", type=int, default=4, help="every Nth switch is RouterOS (0: none)"
    )
    ap.add_argument(
        "--vrp-every", type=int, default=4, help="every Nth switch is Huawei VRP (0: none)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="engine and Nornir runs (median)")
    ap.add_argument("--json", action="store_true", help="print figures as JSON too")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-switches-"))
    password = secrets.token_urlsafe(12)
    (tmp / "password").write_text(password + "\n")
    daemons: list[Daemon] = []
    for i in range(args.switches):
        ros = args.ros_every and i % args.ros_every == args.ros_every - 1
        vrp = args.vrp_every and i % args.vrp_every == 1 % args.vrp_every and not ros
        vendor = "mikrotik_routeros" if ros else "huawei_vrp" if vrp else "cisco_ios"
        name = f"sw{i:02d}"
        state = tmp / name
        state.mkdir()
        cfg = {
            "name": name,  # already the intended name: the delta has no prompt change
            "vendor": vendor,
            "bridge": "nobr",
            "ports": {p: f"p{j}" for j, p in enumerate(PORTS[vendor])},
            "listen": "127.0.0.1",
            "port": _free_port(),
            "username": "admin",
            "password_file": str(tmp / "password"),
            "state_dir": str(state),
            "host_key": str(state / "key"),
        }
        (state / "switchd.json").write_text(json.dumps(cfg))
        daemons.append(Daemon(name, vendor, cfg["port"], state, state / "switchd.json"))
    by_name = {d.name: d for d in daemons}
    targets = [
        SwitchTarget(d.name, intent(d.vendor, i), "127.0.0.1", "admin", password, d.port)
        for i, d in enumerate(daemons)
    ]
    figures: dict[str, float] = {}
    try:
        t_start, _ = timed(lambda: reset(daemons))
        count = {v: sum(d.vendor == v for d in daemons) for v in PORTS}
        print(
            f"{len(daemons)} switchd daemons ({count['cisco_ios']} IOS, "
            f"{count['mikrotik_routeros']} RouterOS, {count['huawei_vrp']} VRP) "
            f"started in {t_start:.1f} s; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
        )
        plan = change_all(targets, MANAGED, None, dry_run=True, workers=args.workers)
        lines = {r.name: r.lines for r in plan}
        sizes = [len(v) for v in lines.values()]
        print(f"delta per switch: {min(sizes)}-{max(sizes)} lines, {sum(sizes)} in all")

        # (a) the engine and (c) Nornir, alternating, so load drift hits both alike
        runs: dict[str, list[float]] = {}

        def note(key: str, value: float) -> None:
            runs.setdefault(key, []).append(value)

        for _ in range(args.repeat):
            reset(daemons)
            cpu0 = cpu_seconds(daemons)
            wall, res = timed(
                lambda: change_all(targets, MANAGED, tmp / "backups", workers=args.workers)
            )
            cpu1 = cpu_seconds(daemons)
            bad = [r for r in res if r.status != "changed"]
            if bad:
                raise RuntimeError(f"engine: {bad[0]}")
            note("engine", wall)
            note("engine_slowest", max(r.seconds for r in res))
            note("engine_median", statistics.median(r.seconds for r in res))
            note("engine_cpu_client", cpu1[0] - cpu0[0])
            note("engine_cpu_switches", cpu1[1] - cpu0[1])
            converged(targets, args.workers)
            noop, _ = timed(lambda: change_all(targets, MANAGED, None, workers=args.workers))
            note("engine_noop", noop)

            reset(daemons)
            cpu0 = cpu_seconds(daemons)
            wall, slowest = run_nornir(daemons, password, lines, args.workers, tmp)
            cpu1 = cpu_seconds(daemons)
            note("nornir", wall)
            note("nornir_slowest", slowest)
            note("nornir_cpu_client", cpu1[0] - cpu0[0])
            note("nornir_cpu_switches", cpu1[1] - cpu0[1])
            converged(targets, args.workers)
        figures.update({k: statistics.median(v) for k, v in runs.items()})

        # (b) serial netmiko loop, same lines (once: it is slow and has no contention)
        reset(daemons)
        wall, per = timed(lambda: [push_one(by_name[n], password, ls) for n, ls in lines.items()])
        figures["serial"] = wall
        figures["serial_slowest"] = max(per)
        converged(targets, args.workers)
    finally:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(stop, daemons))
        shutil.rmtree(tmp, ignore_errors=True)

    n = len(daemons)
    print(f"\npush to {n} switches (workers={args.workers}, median of {args.repeat} runs)")
    print("                                                wall s   slowest switch s")
    print(f"  (a) dcctl engine (read+diff+push+verify+save) {figures['engine']:7.1f}   "
          f"{figures['engine_slowest']:7.1f}  (median {figures['engine_median']:.1f})")  # fmt: skip
    print(f"  (b) serial netmiko loop (push+save)           {figures['serial']:7.1f}   "
          f"{figures['serial_slowest']:7.1f}")  # fmt: skip
    print(f"  (c) nornir + nornir-netmiko (push+save)       {figures['nornir']:7.1f}   "
          f"{figures['nornir_slowest']:7.1f}")  # fmt: skip
    print(f"  engine second run, nothing to push            {figures['engine_noop']:7.1f}")
    print(
        f"CPU s (this process / switch daemons): engine {figures['engine_cpu_client']:.1f} / "
        f"{figures['engine_cpu_switches']:.1f}, nornir {figures['nornir_cpu_client']:.1f} / "
        f"{figures['nornir_cpu_switches']:.1f}"
    )
    print(
        f"ratios: serial/engine {figures['serial'] / figures['engine']:.1f}x, "
        f"engine/nornir {figures['engine'] / figures['nornir']:.2f}x (target <= 1.10), "
        f"engine/slowest switch {figures['engine'] / figures['engine_slowest']:.2f}x "
        f"(target <= 1.50)"
    )
    if args.json:
        print(json.dumps({k: round(v, 2) for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
