"""The switch engine against real switchd SSH daemons (`--no-ovs`) on loopback.

Why real daemons instead of mocks: the engine's risks are in the conversation
with the device (prompts that change with the hostname, errors in the middle
of a push, a session cut after N commands) and in parsing what it prints. The
lab daemons speak IOS and RouterOS over SSH exactly as netmiko expects, keep
their port state in memory with `--no-ovs`, and need neither root nor OVS.

Every test gets fresh daemons with factory-default configs (hostname `Switch`,
identity `MikroTik`) for three switches of the example regency: two Cisco IOS
access switches and one MikroTik RouterOS access switch.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("netmiko")
pytest.importorskip("asyncssh")

from dcctl.engines.audit import read_audit
from dcctl.engines.switches import cli as swcli
from dcctl.engines.switches import layer as swlayer
from dcctl.engines.switches.engine import (
    Driver,
    SwitchResult,
    SwitchTarget,
    change_all,
    driver_for,
    netmiko_connect,
)
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from dcctl.spec.loader import Spec
from dcctl.vendors.cisco_ios.driver import remediation as ios_remediation
from dcctl.vendors.mikrotik_routeros.driver import RouterOsDriver, parse_export, verify_state
from tests.helpers import free_port, start_switchd, stop_process, write_switchd_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "wonosobo"
SWITCHES = ("sw-dinkes", "sw-disdukcapil", "sw-dishub")
FACTORY_NAME = {"cisco_ios": "Switch", "mikrotik_routeros": "MikroTik"}

pytestmark = pytest.mark.timeout(180)


# --------------------------------------------------------------------------
# Daemons


@dataclass
class Daemon:
    """One `python -m dcctl.lab.switchd --no-ovs` process on 127.0.0.1."""

    name: str  # the spec's switch name (the device starts with a factory name)
    vendor: str
    port: int
    state_dir: Path
    password: str
    proc: subprocess.Popen[bytes]

    def faults(self, **knobs: Any) -> None:
        path = self.state_dir / "faults.json"
        if knobs:
            path.write_text(json.dumps(knobs))
        else:
            path.unlink(missing_ok=True)

    def netmiko(self) -> Any:
        from netmiko import ConnectHandler

        conn = ConnectHandler(
            device_type=self.vendor,
            host="127.0.0.1",
            port=self.port,
            username="admin",
            password=self.password,
            secret=self.password,
            conn_timeout=10,
            auth_timeout=10,
            banner_timeout=10,
        )
        if self.vendor == "cisco_ios":
            conn.enable()
        return conn

    def running(self) -> str:
        """The running config as the engine reads it (same cleaning)."""
        conn = self.netmiko()
        try:
            return driver_for(self.vendor).read_running(conn)
        finally:
            conn.disconnect()

    def configure(self, lines: list[str]) -> str:
        conn = self.netmiko()
        try:
            out: str = conn.send_config_set(lines, read_timeout=20)
            return out
        finally:
            conn.disconnect()

    def sessions(self) -> int:
        """SSH sessions opened so far, from the daemon's log."""
        log = self.state_dir / "switchd.log"
        text = log.read_text(encoding="utf-8") if log.exists() else ""
        return sum(1 for line in text.splitlines() if re.search(r"session \d+ opened", line))

    def stop(self) -> None:
        stop_process(self.proc)


def start_daemon(
    root: Path, name: str, vendor: str, ports: list[str], password: str, factory: str
) -> Daemon:
    """Start one daemon and wait (bounded) until it accepts TCP connections."""
    state = root / name
    state.mkdir(parents=True)
    pw = root / "password"
    if not pw.exists():
        pw.write_text(password + "\n")
        os.chmod(pw, 0o600)
    port = free_port()
    config = write_switchd_config(
        state / "switchd.json",
        name=factory,
        vendor=vendor,
        bridge="nobr",
        ports={p: f"p{i}" for i, p in enumerate(ports)},
        listen="127.0.0.1",
        port=port,
        password_file=pw,
        state_dir=state,
    )
    proc = start_switchd(name, config, state, "127.0.0.1", port, no_ovs=True)
    return Daemon(name, vendor, port, state, password, proc)


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(EXAMPLE)


@pytest.fixture
def intents(spec: Spec) -> dict[str, dict[str, Any]]:
    """Fresh (mutable) intents of the example regency's switches."""
    out: dict[str, dict[str, Any]] = desired_state(spec)["switches"]
    return out


@pytest.fixture
def daemons(tmp_path: Path, spec: Spec) -> Iterator[dict[str, Daemon]]:
    password = "t-" + secrets.token_urlsafe(12)
    sws = {s.name: s for s in spec.site.switches}
    started: dict[str, Daemon] = {}
    try:
        with ThreadPoolExecutor(len(SWITCHES)) as pool:
            futs = {
                n: pool.submit(
                    start_daemon,
                    tmp_path / "switches",
                    n,
                    sws[n].vendor,
                    sws[n].port_names(),
                    password,
                    FACTORY_NAME[sws[n].vendor],
                )
                for n in SWITCHES
            }
            for n, fut in futs.items():
                with contextlib.suppress(Exception):
                    started[n] = fut.result(60)
        missing = set(SWITCHES) - set(started)
        if missing:
            raise RuntimeError(f"daemons did not start: {sorted(missing)}")
        yield started
    finally:
        for d in started.values():
            d.stop()


def targets(daemons: dict[str, Daemon], intents: dict[str, dict[str, Any]]) -> list[SwitchTarget]:
    return [
        SwitchTarget(n, intents[n], "127.0.0.1", "admin", d.password, d.port)
        for n, d in daemons.items()
    ]


def run(
    daemons: dict[str, Daemon],
    intents: dict[str, dict[str, Any]],
    spec: Spec,
    backup_dir: Path | None,
    dry_run: bool = False,
    connect: Callable[[SwitchTarget, Driver], Any] = netmiko_connect,
) -> dict[str, SwitchResult]:
    res = change_all(
        targets(daemons, intents),
        swlayer.managed_vlans(spec),
        backup_dir,
        dry_run=dry_run,
        connect=connect,
        retries=0,
    )
    return {r.name: r for r in res}


def same_config(vendor: str, a: str, b: str) -> bool:
    """Equal as parsed structures (order-free for RouterOS, hier-config for IOS)."""
    if vendor == "mikrotik_routeros":
        return parse_export(a).normalized() == parse_export(b).normalized()
    return ios_remediation(a, b, set(), True) == [] and ios_remediation(b, a, set(), True) == []


# --------------------------------------------------------------------------
# Converging


def test_first_run_changes_second_pushes_nothing(
    daemons: dict[str, Daemon], intents: dict[str, Any], spec: Spec, tmp_path: Path
) -> None:
    before = {n: d.running() for n, d in daemons.items()}
    res = run(daemons, intents, spec, tmp_path / "backups")
    assert {n: r.status for n, r in res.items()} == dict.fromkeys(SWITCHES, "changed"), res
    for n, d in daemons.items():
        backup = (tmp_path / "backups" / f"{n}.cfg").read_text()
        assert res[n].backup == str(tmp_path / "backups" / f"{n}.cfg")
        assert same_config(d.vendor, backup, before[n]), "backup = config before the change"
        conn = d.netmiko()
        try:
            assert driver_for(d.vendor).verify(conn, intents[n]) == []
        finally:
            conn.disconnect()
    ios = daemons["sw-dinkes"]
    startup = (ios.state_dir / "startup-config.txt").read_text()
    assert "hostname sw-dinkes" in startup, "IOS change is saved to startup-config"
    assert " description LAN dinkes kantor-dinkes" in startup
    assert "/system identity set name=sw-dishub" in daemons["sw-dishub"].running()

    again = run(daemons, intents, spec, tmp_path / "backups")
    assert {n: (r.status, r.lines) for n, r in again.items()} == dict.fromkeys(
        SWITCHES, ("unchanged", [])
    )


def test_drift_is_found_by_a_dry_run_and_undone_by_apply(
    daemons: dict[str, Daemon], intents: dict[str, Any], spec: Spec, tmp_path: Path
) -> None:
    assert all(r.ok for r in run(daemons, intents, spec, tmp_path / "b").values())
    ios, ros = daemons["sw-dinkes"], daemons["sw-dishub"]
    ios.configure(["interface GigabitEthernet1/0/1", "switchport access vlan 103"])
    ros.configure(["/interface bridge port set [find interface=ether1] pvid=108"])
    drifted = {n: d.running() for n, d in daemons.items()}

    plan = run(daemons, intents, spec, None, dry_run=True)
    assert plan["sw-dinkes"].status == "planned"
    assert "switchport access vlan 104" in plan["sw-dinkes"].lines
    assert plan["sw-dishub"].status == "planned"
    assert plan["sw-dishub"].lines == [
        "/interface bridge port set [find interface=ether1] pvid=109"
    ]
    assert plan["sw-disdukcapil"].status == "unchanged"
    assert {n: d.running() for n, d in daemons.items()} == drifted, "a dry run changes nothing"

    fixed = run(daemons, intents, spec, tmp_path / "b")
    assert fixed["sw-dinkes"].status == fixed["sw-dishub"].status == "changed"
    assert fixed["sw-disdukcapil"].status == "unchanged"
    assert all(r.status == "unchanged" for r in run(daemons, intents, spec, None, True).values())


UNMANAGED = {
    # VLAN 950 is outside the managed range (100-899 + MGMT 99); Gi1/0/5 / ether8 are
    # not in the intent. VLAN 130 is in the managed range but unused on the switch.
    "cisco_ios": [
        "vlan 950", "name PRINTERS", "exit", "vlan 130", "name STALE", "exit",
        "interface GigabitEthernet1/0/5", "description printer", "switchport access vlan 950",
        "switchport mode access",
    ],
    "mikrotik_routeros": [
        '/interface bridge port add bridge=bridge1 interface=ether8 pvid=950 comment="printer"',
        "/interface bridge vlan add bridge=bridge1 vlan-ids=950 untagged=ether8 tagged=sfp1",
        "/interface bridge vlan add bridge=bridge1 vlan-ids=130 tagged=sfp1 comment=STALE",
    ],
}  # fmt: skip


def test_partial_mode_leaves_unmanaged_lines_alone(
    daemons: dict[str, Daemon], intents: dict[str, Any], spec: Spec
) -> None:
    for n in ("sw-dinkes", "sw-dishub"):
        daemons[n].configure(UNMANAGED[daemons[n].vendor])
    res = run(daemons, intents, spec, None)
    assert all(r.status == "changed" for r in res.values()), res
    ios = daemons["sw-dinkes"].running()
    assert "vlan 950\n name PRINTERS\n" in ios
    assert (
        "interface GigabitEthernet1/0/5\n description printer\n switchport access vlan 950" in ios
    )
    assert "vlan 130" not in ios, "a managed VLAN the intent does not use is removed"
    ros = parse_export(daemons["sw-dishub"].running())
    assert ros.ports["ether8"] == {"bridge": "bridge1", "comment": "printer", "pvid": "950"}
    v950 = next(v for v in ros.vlans if 950 in v.vlan_ids)
    assert (v950.untagged, v950.tagged) == ({"ether8"}, frozenset()), "sfp1 is ours: removed"
    assert not any(130 in v.vlan_ids for v in ros.vlans)
    assert all(r.status == "unchanged" for r in run(daemons, intents, spec, None).values())


def test_full_mode_clears_and_shuts_ports_outside_the_intent(
    daemons: dict[str, Daemon], intents: dict[str, Any], spec: Spec
) -> None:
    for n in ("sw-dinkes", "sw-dishub"):
        daemons[n].configure(UNMANAGED[daemons[n].vendor])
        intents[n]["managed"] = "full"
    res = run(daemons, intents, spec, None)
    assert all(r.status == "changed" for r in res.values()), res
    assert "no interface GigabitEthernet1/0/5" not in res["sw-dinkes"].lines
    ios = daemons["sw-dinkes"].running()
    assert "vlan 950" not in ios
    assert "interface GigabitEthernet1/0/5\n shutdown\n" in ios
    assert "interface GigabitEthernet1/0/4\n shutdown\n" in ios
    ros = parse_export(daemons["sw-dishub"].running())
    assert "ether8" not in ros.ports
    assert {v for e in ros.vlans for v in e.vlan_ids} == {
        int(v) for v in intents["sw-dishub"]["vlans"]
    }
    assert all(r.status == "unchanged" for r in run(daemons, intents, spec, None).values())


# --------------------------------------------------------------------------
# Faults: every failure after the push started ends with the backup restored


def clearing_faults_on_reconnect(daemons: dict[str, Daemon]) -> Callable[..., Any]:
    """A connector under which a dropped link comes back clean for the rollback."""
    seen: set[str] = set()

    def connect(t: SwitchTarget, drv: Driver) -> Any:
        if t.name in seen:
            daemons[t.name].faults()
        seen.add(t.name)
        return netmiko_connect(t, drv)

    return connect


FAULTS = {
    ("cisco_ios", "drop_after"): {"drop_after": 9},  # 3 login + show run + conf t + 4 lines
    ("mikrotik_routeros", "drop_after"): {"drop_after": 4},  # export + 3 lines
    ("cisco_ios", "reject"): {"reject": [r"^switchport access vlan 103$"]},
    ("mikrotik_routeros", "reject"): {"reject": [r"^/interface bridge vlan add .*vlan-ids=109"]},
}


@pytest.mark.parametrize(("vendor", "fault"), sorted(FAULTS))
def test_fault_mid_push_rolls_back_to_the_backup(
    daemons: dict[str, Daemon],
    intents: dict[str, Any],
    spec: Spec,
    tmp_path: Path,
    vendor: str,
    fault: str,
) -> None:
    victim = "sw-dinkes" if vendor == "cisco_ios" else "sw-dishub"
    d = daemons[victim]
    d.configure(UNMANAGED[vendor])  # something to get back to besides the factory state
    before = d.running()
    d.faults(**FAULTS[(vendor, fault)])
    try:
        res = run(
            daemons, intents, spec, tmp_path / "b", connect=clearing_faults_on_reconnect(daemons)
        )
    finally:
        d.faults()
    r = res[victim]
    assert r.status == "rolled_back", r
    assert r.error, "the cause is reported"
    if fault == "reject":
        assert "ConfigInvalidException" in r.error
    backup = (tmp_path / "b" / f"{victim}.cfg").read_text()
    assert same_config(vendor, backup, before)
    assert same_config(vendor, d.running(), backup), "running config is the backup again"
    # What the device has saved is what it had saved before the push, by each vendor's rule.
    startup = d.state_dir / "startup-config.txt"
    if vendor == "cisco_ios":
        # IOS saves only on `write memory`: nothing was saved before (the unmanaged lines
        # were configured, not written), and a push that rolled back must not save either.
        assert not startup.exists(), "a rolled-back push is never written to startup-config"
    else:
        # RouterOS saves every change as it is made: the half push was saved, so the saved
        # config must be the backup again, or a reboot would bring the half push back.
        assert same_config(vendor, startup.read_text(), backup), "saved config = the backup"
    others = {n: x.status for n, x in res.items() if n != victim}
    assert set(others.values()) == {"changed"}, others


def test_unsafe_description_never_reaches_a_switch(
    daemons: dict[str, Daemon], intents: dict[str, Any], spec: Spec
) -> None:
    evil = ["x\n end\nreload", "a; /system reset-configuration", "x [find]", "{{ 7*7 }}"]
    victims = ("sw-dinkes", "sw-dishub")
    before = {n: daemons[n].running() for n in victims}
    sessions = {n: daemons[n].sessions() for n in victims}
    for text in evil:
        for n in victims:
            port = next(iter(intents[n]["ports"]))
            intents[n]["ports"][port]["description"] = text
        res = run(daemons, intents, spec, None)
        for n in victims:
            assert res[n].status == "failed" and "UnsafeValue" in (res[n].error or ""), res[n]
            assert res[n].lines == []
        assert res["sw-disdukcapil"].ok
    for n in victims:
        assert daemons[n].sessions() == sessions[n], "the engine never even logged in"
        assert daemons[n].running() == before[n]


# --------------------------------------------------------------------------
# CLI entry points: credentials, backups under state/switches, no secret printed


def _on_loopback(
    daemons: dict[str, Daemon], monkeypatch: pytest.MonkeyPatch, only_daemons: bool = False
) -> str:
    """The spec's switches at the daemons' loopback ports, host keys trusted; the password.

    Switches without a daemon get a port nobody listens on (refused at once), or,
    with ``only_daemons``, are left out as if the estate had only the daemons.
    """
    import asyncssh

    from dcctl import targets as targets_mod
    from dcctl.ssh.knownhosts import KnownHosts

    password = next(iter(daemons.values())).password
    monkeypatch.setenv("WSB_SWITCH_PASSWORD", password)
    real = swlayer.switch_targets
    closed = free_port()

    def on_loopback(
        spec: Spec, target: str, names: list[str] | None = None, state: Any = None
    ) -> Any:
        got, failed = real(spec, target, names, state)
        if only_daemons:
            got, failed = [t for t in got if t.name in daemons], []
        for t in got:
            assert t.host == {s.name: s.mgmt_address for s in spec.site.switches}[t.name]
            t.host, t.port = "127.0.0.1", daemons[t.name].port if t.name in daemons else closed
            assert t.known_hosts == targets_mod.get("prod").known_hosts(spec)
            if t.name in daemons:  # the operator's `hostkeys trust`, from the daemon's key file
                key = asyncssh.read_private_key(daemons[t.name].state_dir / "ssh_host_ed25519_key")
                pub = key.export_public_key("openssh").decode()
                KnownHosts(t.known_hosts).record(t.name, t.host, t.port, pub)
        return got, failed

    monkeypatch.setattr(swlayer, "switch_targets", on_loopback)
    return password


def test_drift_after_an_out_of_band_edit_exits_2_and_prints_the_lines(
    daemons: dict[str, Daemon], spec_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dcctl drift --detailed-exitcode`: 0 when the switches match, 2 and the lines when not."""
    from typer.testing import CliRunner

    from dcctl.cli import app

    _on_loopback(daemons, monkeypatch, only_daemons=True)
    cli, repo = CliRunner(), str(spec_repo)
    on = ["--target", "prod", "--layer", "switches"]
    r = cli.invoke(app, ["apply", repo, *on, "--auto-approve"])
    assert r.exit_code == 0, r.output
    r = cli.invoke(app, ["drift", repo, *on, "--detailed-exitcode"])
    assert r.exit_code == 0 and "no drift" in r.output, r.output
    daemons["sw-dinkes"].configure(["interface GigabitEthernet1/0/1", "switchport access vlan 103"])
    r = cli.invoke(app, ["drift", repo, *on, "--detailed-exitcode"])
    assert r.exit_code == 2, r.output
    assert "switch sw-dinkes" in r.output and "switchport access vlan 104" in r.output
    assert "sw-dishub" not in r.output.split("drift:")[0].split("switches:")[-1]
    r = cli.invoke(app, ["drift", repo, *on])
    assert r.exit_code == 0, "without --detailed-exitcode drift found is no error"


def test_a_saved_plan_pushes_only_switches_whose_live_config_is_as_reviewed(
    daemons: dict[str, Daemon], spec_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What was reviewed is what is pushed: a switch edited after the plan is left alone."""
    from typer.testing import CliRunner

    from dcctl.cli import app

    _on_loopback(daemons, monkeypatch, only_daemons=True)
    cli, repo, saved = CliRunner(), str(spec_repo), str(tmp_path / "reviewed.json")
    on = ["--target", "prod", "--layer", "switches"]
    assert cli.invoke(app, ["apply", repo, *on, "--auto-approve"]).exit_code == 0
    ios, ros = daemons["sw-dinkes"], daemons["sw-dishub"]
    ios.configure(["interface GigabitEthernet1/0/1", "switchport access vlan 103"])
    r = cli.invoke(app, ["plan", repo, *on, "--out", saved, "-o", "json"])
    assert r.exit_code == 0, r.output
    # After the review, someone edits another switch by hand.
    ros.configure(["/interface bridge port set [find interface=ether1] pvid=108"])
    edited = ros.running()
    r = cli.invoke(app, ["apply", repo, "--plan", saved, "--auto-approve", "-o", "json"])
    assert r.exit_code == 1, r.output
    result = {s["name"]: s for s in json.loads(r.stdout)["layers"]["switches"]["switches"]}
    assert result["sw-dishub"]["status"] == "failed"
    assert "live config moved since the saved plan" in result["sw-dishub"]["error"]
    assert ros.running() == edited, "the switch that moved since the review was changed"
    assert result["sw-dinkes"]["status"] == "changed", "the reviewed change was not applied"
    assert "switchport access vlan 104" in result["sw-dinkes"]["lines"]
    assert result["sw-disdukcapil"]["status"] == "unchanged"


def test_plan_apply_and_backup_through_the_cli_functions(
    daemons: dict[str, Daemon],
    spec_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo_spec = load_spec(spec_repo)
    password = _on_loopback(daemons, monkeypatch)
    names = list(SWITCHES)
    seen: list[str] = []
    plan = swlayer.plan_switches(repo_spec, "prod", lambda r: seen.append(r.name), names=names)
    assert sorted(seen) == sorted(names)
    assert {r.status for r in plan} == {"planned"}
    applied = swlayer.apply_switches(repo_spec, "prod", names=names)
    assert {r.status for r in applied} == {"changed"}
    backups = repo_spec.state_dir / "switches"
    assert sorted(p.name for p in backups.glob("*.cfg")) == sorted(f"{n}.cfg" for n in names)
    assert "hostname Switch" in (backups / "sw-dinkes.cfg").read_text()
    saved = swlayer.backup_switches(repo_spec, "prod", names=["sw-dishub"])
    assert saved[0].status == "backed_up"
    assert "identity set name=sw-dishub" in (backups / "sw-dishub.cfg").read_text()

    from typer.testing import CliRunner

    runner = CliRunner()
    out = runner.invoke(
        swcli.switch_app,
        ["diff", "--all", "--spec", str(spec_repo), "--target", "prod", "--output", "json"],
    )
    assert out.exit_code == 1, "switches outside the three daemons cannot be reached"
    data = json.loads(out.stdout)
    status = {s["name"]: s["status"] for s in data["switches"]}
    assert {status[n] for n in names} == {"unchanged"}
    assert password not in out.output
    push = ["push", "sw-dinkes", "--spec", str(spec_repo), "--target", "prod"]
    out = runner.invoke(swcli.switch_app, push)
    assert out.exit_code == 1 and "--auto-approve" in out.output, "production asks first"
    assert read_audit(repo_spec.state_dir) == [], "a refused push is no change"
    out = runner.invoke(swcli.switch_app, [*push, "--auto-approve"])
    assert out.exit_code == 0, out.output
    assert "unchanged" in out.output and password not in out.output
    audit = read_audit(repo_spec.state_dir)
    assert [(r["event"], r["action"], r["target"]) for r in audit] == [
        ("started", "switch push", "prod"),
        ("finished", "switch push", "prod"),
    ]
    assert audit[-1]["result"] == "ok" and audit[-1]["switches"][0]["name"] == "sw-dinkes"
    out = runner.invoke(swcli.switch_app, ["push", "--spec", str(spec_repo)])
    assert out.exit_code == 1 and "NAME or --all" in out.output


def test_credential_references(spec_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_spec(spec_repo)
    monkeypatch.setenv("SW_PW", "from-env")
    assert swlayer.resolve_credential(s, "env:SW_PW", "prod") == "from-env"
    (spec_repo / "secrets" / "site").mkdir(parents=True)
    (spec_repo / "secrets" / "site" / "pw.txt").write_text("from-file\n")
    assert swlayer.resolve_credential(s, "file:secrets/site/pw.txt", "prod") == "from-file"
    (spec_repo / "pw.txt").write_text("outside-secrets\n")  # file: reads only secrets/
    with pytest.raises(swlayer.CredentialError, match="under secrets/"):
        swlayer.resolve_credential(s, "file:pw.txt", "prod")
    monkeypatch.delenv("SW_PW")
    with pytest.raises(swlayer.CredentialError, match="SW_PW is not set"):
        swlayer.resolve_credential(s, "env:SW_PW", "prod")
    with pytest.raises(swlayer.CredentialError):
        swlayer.resolve_credential(s, "lab:switches", "prod")
    monkeypatch.setenv("DCCTL_LAB_ROOT", str(spec_repo / "labroot"))
    with pytest.raises(swlayer.CredentialError, match="lab"):
        swlayer.resolve_credential(s, "env:WSB_SWITCH_PASSWORD", "lab")
    monkeypatch.delenv("WSB_SWITCH_PASSWORD", raising=False)
    targets_, failed = swlayer.switch_targets(s, "prod", ["sw-core"])
    assert targets_ == [] and "WSB_SWITCH_PASSWORD" in (failed[0].error or "")
    with pytest.raises(KeyError):
        swlayer.switch_targets(s, "prod", ["sw-nope"])
    assert swlayer.managed_vlans(s) == set(range(100, 900)) | {99}


# --------------------------------------------------------------------------
# RouterOS remediation, without a device


EXPORT = """# 2026-01-01 10:00:00 by RouterOS 7.16.2
/interface bridge add name=bridge1 vlan-filtering=yes
/interface bridge port add bridge=bridge1 comment="say \\"hi\\" \\$x" interface=ether8 pvid=950
/interface bridge port add bridge=bridge1 frame-types=admit-only-vlan-tagged \\
    ingress-filtering=no interface=ether1 pvid=109
/interface bridge vlan add bridge=bridge1 tagged=sfp1,ether8 vlan-ids=950
/interface bridge vlan add bridge=bridge1 comment=X tagged=sfp1,ether8 vlan-ids=108-109
/system identity set name=MikroTik
"""


def test_routeros_parse_and_partial_target(intents: dict[str, Any]) -> None:
    cur = parse_export(EXPORT)
    assert cur.identity == "MikroTik"
    assert cur.ports["ether8"]["comment"] == 'say "hi" $x'
    assert cur.ports["ether1"]["ingress-filtering"] == "no"
    assert [sorted(v.vlan_ids) for v in cur.vlans] == [[950], [108, 109]]
    drv = RouterOsDriver()
    want = drv.intended("sw-dishub", intents["sw-dishub"])
    lines = drv.remediation(EXPORT, want, set(range(100, 900)) | {99}, False)
    assert lines[0] == "/system identity set name=sw-dishub"
    # the multi-VLAN entry is ours: replaced by one entry per VLAN, keeping ether8
    assert "/interface bridge vlan remove [find bridge=bridge1 vlan-ids=108-109]" in lines
    assert (
        "/interface bridge vlan add bridge=bridge1 vlan-ids=108 tagged=ether8,sfp1 "
        'untagged=ether5,ether6,ether7 comment="DISHUB-CCTV"'
    ) in lines
    # VLAN 950 is not ours, but sfp1 (in the intent) is: only sfp1 leaves it
    assert "/interface bridge vlan set [find bridge=bridge1 vlan-ids=950] tagged=ether8" in lines
    # ether1 is ours: frame-types back to default; ingress-filtering is not managed
    assert (
        '/interface bridge port set [find interface=ether1] comment="LAN dishub '
        'terminal-mendolo" frame-types=admit-all'
    ) in lines
    assert not any("ether8" in line and "port" in line for line in lines)
    # replayed on the emulator's RouterOS model: converges, and the restore goes back
    from dcctl.vendors.mikrotik_routeros.lab import VENDOR, RosSession

    ports = ["sfp1", *(f"ether{i}" for i in range(1, 9))]
    cfg, warnings = VENDOR.boot("MikroTik", ports, EXPORT)
    assert warnings == []
    session = RosSession(None, "admin", cfg)

    def replay(cmds: list[str]) -> str:
        for cmd in cmds:
            assert session.handle(cmd).output == "", cmd
        return "\n".join(cfg.export_lines(terse=True))

    changed = replay(lines)
    assert drv.remediation(changed, want, set(range(100, 900)) | {99}, False) == []
    restored = replay(drv.restore(changed, EXPORT))
    assert parse_export(restored).normalized() == cur.normalized()


@pytest.mark.parametrize(
    ("export", "first", "last"),
    [
        # vlan-filtering off: the VLAN table is built first, filtering switched on last
        (
            "/interface bridge add name=bridge1\n"
            "/interface bridge port add bridge=bridge1 interface=ether1\n"
            "/system identity set name=MikroTik\n",
            "/system identity set name=sw-dishub",
            "/interface bridge set [find name=bridge1] vlan-filtering=yes",
        ),
        # a defconf-style bridge under another name: bridge1 is created, ether1 moved
        (
            "/interface bridge add name=bridge comment=defconf\n"
            "/interface bridge port add bridge=bridge interface=ether1 comment=defconf\n"
            "/interface bridge port add bridge=bridge interface=ether8 comment=defconf\n"
            "/system identity set name=MikroTik\n",
            "/interface bridge add name=bridge1 vlan-filtering=yes",
            "/interface bridge vlan add bridge=bridge1 vlan-ids=109 tagged=sfp1 untagged=ether1 "
            'comment="DISHUB-LAN"',
        ),
    ],
)
def test_routeros_bridge_is_created_or_filtering_enabled(
    intents: dict[str, Any], export: str, first: str, last: str
) -> None:
    from dcctl.vendors.mikrotik_routeros.lab import VENDOR, RosSession

    drv = RouterOsDriver()
    want = drv.intended("sw-dishub", intents["sw-dishub"])
    managed = set(range(100, 900)) | {99}
    lines = drv.remediation(export, want, managed, False)
    assert first in lines[:2] and lines[-1] == last
    cfg, warnings = VENDOR.boot("sw-dishub", ["sfp1", *(f"ether{i}" for i in range(1, 9))], export)
    assert warnings == []
    session = RosSession(None, "admin", cfg)
    for cmd in lines:
        assert session.handle(cmd).output == "", cmd
    changed = "\n".join(cfg.export_lines(terse=True))
    assert drv.remediation(changed, want, managed, False) == []
    assert verify_state(parse_export(changed), intents["sw-dishub"]) == []
    if "defconf" in export:
        assert parse_export(changed).ports["ether8"]["bridge"] == "bridge", "not ours: kept"
    for cmd in drv.restore(changed, export):
        assert session.handle(cmd).output == "", cmd
    restored = "\n".join(cfg.export_lines(terse=True))
    assert parse_export(restored).normalized() == parse_export(export).normalized()


@pytest.mark.parametrize("vendor", ["cisco_ios", "mikrotik_routeros"])
def test_paste_stops_at_the_chunk_holding_a_rejected_line(
    daemons: dict[str, Daemon], vendor: str
) -> None:
    """Lines go in chunks; the chunk with the error runs, the ones after it never do."""
    from netmiko.exceptions import ConfigInvalidException

    from dcctl.engines.switches.session import paste
    from dcctl.vendors.cisco_ios import driver as ios
    from dcctl.vendors.mikrotik_routeros import driver as routeros

    d = daemons["sw-dinkes" if vendor == "cisco_ios" else "sw-dishub"]
    if vendor == "cisco_ios":
        mod: Any = ios
        lines = ["configure terminal", "vlan 901", "exit", "vlan 9999", "vlan 902", "exit",
                 "vlan 903", "exit", "end"]  # fmt: skip
        present = lambda v: f"vlan {v}\n" in d.running()  # noqa: E731
    else:
        mod = routeros
        lines = ["/interface bridge vlan add bridge=bridge1 vlan-ids=901",
                 "/interface bridge vlan add bridge=bridge1 vlan-ids=99999",
                 "/interface bridge vlan add bridge=bridge1 vlan-ids=902",
                 "/interface bridge vlan add bridge=bridge1 vlan-ids=903"]  # fmt: skip
        present = lambda v: any(v in e.vlan_ids for e in parse_export(d.running()).vlans)  # noqa: E731
    conn = d.netmiko()
    try:
        conn.send_command("show version" if vendor == "cisco_ios" else "/system identity print")
        with pytest.raises(ConfigInvalidException, match="9999"):
            paste(conn, lines, mod._PROMPT, mod._ERROR, read_timeout=20, chunk=3)
    finally:
        conn.disconnect()
    assert present(901) and present(902), "the chunks up to the error ran"
    assert not present(903), "the chunk after the error was never typed"


def test_verify_compares_the_whole_managed_config_not_a_subset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A device that takes the push silently but keeps an old description (which the
    operational `show` checks never look at) fails verify and is rolled back."""
    import dcctl.engines.switches.engine as eng

    class Device:
        running = "hostname sw\ninterface Gi1/0/1\n description old\n"

    class Forgetful:
        device_type = "cisco_ios"

        def intended(self, name: str, intent: dict[str, Any]) -> str:
            return "hostname sw\ninterface Gi1/0/1\n description new\n"

        def read_running(self, conn: Any) -> str:
            return Device.running

        def remediation(
            self, running: str, intended: str, vlans: set[int], full: bool
        ) -> list[str]:
            return ios_remediation(running, intended, vlans, full)

        def restore(self, running: str, backup: str) -> list[str]:
            return ios_remediation(running, backup, set(), True)

        def push(self, conn: Any, lines: list[str]) -> str:
            return ""  # accepted, and ignored

        def verify(self, conn: Any, intent: dict[str, Any]) -> list[str]:
            return []  # VLAN names and port modes look right

        def save(self, conn: Any) -> None:
            raise AssertionError("a config that differs is never saved")

    class Conn:
        def disconnect(self) -> None: ...

    monkeypatch.setattr(eng, "driver_for", lambda vendor: Forgetful())
    t = SwitchTarget("sw", {"vendor": "cisco_ios"}, "127.0.0.1", "admin", "pw")
    res = eng.change_switch(t, set(), None, connect=lambda t, d: Conn(), retries=0)
    assert res.status == "rolled_back", res
    assert "config still differs" in (res.error or "") and "description new" in res.error


def test_a_separate_enable_secret_is_what_netmiko_enables_with() -> None:
    from dcctl.engines.switches.engine import netmiko_params

    t = SwitchTarget("sw", {}, "10.0.0.1", "admin", "login-pw", enable_secret="enable-pw")
    assert netmiko_params(t, "cisco_ios")["secret"] == "enable-pw"
    assert netmiko_params(t, "cisco_ios")["password"] == "login-pw"
    assert "enable-pw" not in repr(t)
    plain = SwitchTarget("sw", {}, "10.0.0.1", "admin", "login-pw")
    assert netmiko_params(plain, "cisco_ios")["secret"] == "login-pw"


def test_a_switch_with_its_own_enable_secret(
    spec_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = spec_repo / "site.yaml"
    text = site.read_text()
    anchor = "    mgmt_address: 10.255.0.11\n    credential: env:WSB_SWITCH_PASSWORD\n"
    assert anchor in text
    text = text.replace(anchor, anchor + "    enable_credential: env:SW_ENABLE\n")
    reg = "credentials:\n"
    assert reg in text
    site.write_text(text.replace(reg, reg + "  - {ref: env:SW_ENABLE, kind: switch_enable}\n", 1))
    s = load_spec(spec_repo)
    monkeypatch.setenv("WSB_SWITCH_PASSWORD", "login-pw")
    monkeypatch.setenv("SW_ENABLE", "enable-pw")
    [core], failed = swlayer.switch_targets(s, "prod", ["sw-core"])
    assert not failed and (core.password, core.enable_secret) == ("login-pw", "enable-pw")
    [dist], _ = swlayer.switch_targets(s, "prod", ["sw-dist-kota"])
    assert dist.enable_secret is None, "no enable_credential: the login password enables"
    monkeypatch.delenv("SW_ENABLE")
    _, failed = swlayer.switch_targets(s, "prod", ["sw-core"])
    assert "SW_ENABLE" in (failed[0].error or ""), "a missing enable secret fails the switch"


def test_no_switch_is_touched_once_a_signal_asked_to_stop(
    intents: dict[str, Any], spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGINT/SIGTERM (dcctl.engines.interrupt): switches not started yet are left alone."""
    import signal

    from dcctl.engines import interrupt

    monkeypatch.setattr(interrupt, "_received", [int(signal.SIGTERM)])
    opened: list[str] = []

    def connect(t: SwitchTarget, drv: Driver) -> Any:
        opened.append(t.name)
        raise AssertionError("a session was opened after the stop")

    ts = [SwitchTarget(n, intents[n], "127.0.0.1", "admin", "pw", 1) for n in SWITCHES]
    res = change_all(ts, swlayer.managed_vlans(spec), None, connect=connect, retries=0)
    assert opened == []
    assert {r.status for r in res} == {"skipped"} and not any(r.ok for r in res)
    layer = swlayer.layer_result(res)
    assert not layer.ok and all("interrupted" in e for e in layer.errors)
