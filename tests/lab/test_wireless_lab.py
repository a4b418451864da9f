"""Radios, access points and Wi-Fi in the lab (issue 20), proven with real packets.

A small spec built with tests/specs.py (`wireless=True`): an IOS core and a RouterOS
access switch; dinkes and setda each have a building LAN host on the access switch
and an AP there, with their SSID and the guest SSID (dinkes' a `cAP ac`, RouterOS's
legacy `wireless` package, WPA2; setda's a `cAP ax`, the `wifi` package, its SSID
WPA3 only, so every packet test below runs on both renderings); a radio link
(`rf-far`, two `LHG XL 5 ac`) carries dinkes' staff LAN to its building `remote`.
`lab up` runs the radios and APs as RouterOS switch daemons, the radio link as a
link veth whose two ends forward only while the radios join (their air), a Wi-Fi
client namespace on each AP's SSID, and the gateway's edge rules with an internet
stand-in. Then one apply of the switch layer (what `dcctl apply` pushes to radios
and APs, through the emulated RouterOS console) and:

* a client of dinkes' SSID reaches dinkes' network (its building, its gateway, the
  building beyond the radio link), not setda's; a guest reaches the internet
  stand-in and its own gateway, neither OPD nor management;
* a second apply changes nothing;
* an out-of-band edit of a radio (channel width, through its console) breaks the
  radio link (packets), `dcctl drift` finds it, an apply undoes it (packets again);
* no radio key or Wi-Fi passphrase in the repo, its state or any output.

The spec takes the example's Site as its template, so its lab takes the example's
turn (`lab_turn`). Only the switch layer is applied: no VM, so it stays cheap.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dcctl.lab import net, runner
from dcctl.lab.plan import LabPlan, StationPlan, air_dir
from dcctl.lab.secrets import lab_secret
from dcctl.spec import Spec, load_spec
from tests.lab.conftest import lab_turn, needs
from tests.specs import RADIO_KEY, OpdSpec, build_spec, wifi_passphrase

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

PASSPHRASE = "wireless-lab-test-passphrase"


@dataclass
class Wlab:
    spec: Spec
    plan: LabPlan
    root: Path
    env: dict[str, str]
    outputs: list[str] = field(default_factory=list)
    first_apply: dict[str, Any] = field(default_factory=dict)

    def dcctl(self, *args: str, timeout: int = 600) -> tuple[int, str, str]:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "dcctl"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.outputs += [proc.stdout, proc.stderr]
        return proc.returncode, proc.stdout, proc.stderr

    def apply(self) -> dict[str, Any]:
        rc, out, err = self.dcctl(
            "apply", str(self.root), "--target", "lab", "--layer", "switches",
            "--auto-approve", "--output", "json",
        )  # fmt: skip
        assert rc == 0, out[-3000:] + err[-3000:]
        return dict(json.loads(out))

    def station(self, ap: str, guest: bool = False) -> StationPlan:
        return next(
            s for s in self.plan.stations if s.ap == ap and s.interface.endswith("-guest") == guest
        )

    def building(self, opd: str, name: str) -> str:
        b = next(b for b in self.plan.buildings if b.opd == opd and b.name == name)
        return b.netns

    def address(self, netns: str) -> str:
        for items in (self.plan.buildings, self.plan.stations):
            for x in items:
                if x.netns == netns:
                    return x.address.split("/")[0]
        raise KeyError(netns)

    def secrets(self) -> list[str]:
        refs = [RADIO_KEY, wifi_passphrase("dinkes"), wifi_passphrase("setda")]
        return [lab_secret(self.plan.state_dir, r) for r in refs]


def ping(netns: str, address: str, tries: int = 3) -> bool:
    for _ in range(tries):
        proc = subprocess.run(
            ["ip", "netns", "exec", netns, "ping", "-c1", "-W1", "-q", address],
            capture_output=True,
            timeout=10,
            check=False,
        )
        if proc.returncode == 0:
            return True
    return False


@contextlib.contextmanager
def posing_in(station: StationPlan, like: str) -> Iterator[str]:
    """The client takes an address in the subnet of `like` (an address/prefix), so only
    VLANs can keep it from `like`'s hosts: what the switches and the AP enforce."""
    net_ = ipaddress.ip_interface(like).network
    fake = f"{net_.broadcast_address - 3}/{net_.prefixlen}"
    argv = ["ip", "-n", station.netns, "addr"]
    subprocess.run([*argv, "add", fake, "dev", station.ifname], check=True, timeout=10)
    try:
        yield fake
    finally:
        subprocess.run([*argv, "del", fake, "dev", station.ifname], check=False, timeout=10)


def eventually(check: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()


@pytest.fixture(scope="module")
def wlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wlab]:
    reason = needs("ping", modules=("netmiko", "asyncssh"))
    if reason:
        pytest.skip(reason)
    root = build_spec(
        tmp_path_factory.mktemp("wireless"),
        switches=["cisco_ios", "mikrotik_routeros"],
        opds=[OpdSpec("dinkes", lan_ports=1), OpdSpec("setda", lan_ports=1)],
        wireless=True,
    )
    load_spec(root).allocation.lock().write(root)
    with lab_turn(root) as (spec, plan):
        env = {
            **os.environ,
            "DCCTL_LAB_ID": plan.lab_id,
            "NO_COLOR": "1",
            "DCCTL_PASSPHRASE": PASSPHRASE,
        }
        start = time.monotonic()
        runner.up(plan, wait=60)
        print(f"\nwireless lab up: {time.monotonic() - start:.1f} s")
        yield Wlab(spec, plan, root, env)


@pytest.fixture(scope="module")
def applied(wlab: Wlab) -> Wlab:
    """The switch layer applied once (radios and APs included)."""
    start = time.monotonic()
    wlab.first_apply = wlab.apply()
    print(f"\nwireless lab apply (switch layer): {time.monotonic() - start:.1f} s")
    return wlab


def test_up_runs_radios_aps_clients_and_the_edge_and_a_second_up_changes_nothing(
    wlab: Wlab,
) -> None:
    plan = wlab.plan
    have = set(net.netns_list())
    assert {s.netns for s in plan.stations} <= have
    assert plan.edge is not None and plan.edge.internet_netns in have
    shown = net.run(["ip", "netns", "exec", plan.gateway_netns, "iptables", "-S"]).stdout
    assert f"-A FORWARD -j {plan.edge.chain}" in shown
    # Factory radios radiate nothing: the radio link forwards nothing yet.
    assert not ping(wlab.building("dinkes", "remote"), "10.64.0.1", tries=1)
    again = runner.up(plan, wait=60)
    assert again.changes == [], again.changes


def test_apply_configures_radios_and_aps(applied: Wlab) -> None:
    report = applied.first_apply
    items = {i["name"]: i for i in report["layers"]["switches"]["switches"]}
    for name in ("radio-dc", "radio-far", "ap-dinkes", "ap-setda"):
        assert items[name]["status"] == "changed", f"{name} was not configured: {items[name]}"
        menu = "/interface wifi " if name == "ap-setda" else "/interface wireless"
        assert any(line.startswith(menu) for line in items[name]["lines"]), items[name]["lines"]
    # setda's cAP ax: its SSID on WPA3 through the `wifi` package, passphrase masked.
    wpa3 = [x for x in items["ap-setda"]["lines"] if "authentication-types=wpa3-psk" in x]
    assert len(wpa3) == 1 and wpa3[0].startswith("/interface wifi security add"), wpa3
    assert wpa3[0].endswith("passphrase=<masked>"), wpa3
    # The two radios joined: what each radiates is in the link's air, and they agree.
    air = air_dir(applied.plan, "rf-far")
    published = {p.stem: json.loads(p.read_text()) for p in air.glob("*.json")}
    assert set(published) == {"radio-dc", "radio-far"}
    assert {r["mode"] for r in published.values()} == {"bridge", "station-bridge"}
    states = {i.name: (i.state, i.detail) for i in runner.status(applied.plan).items}
    assert states["rf-far"][0] == "up", states["rf-far"]
    assert all(states[s.key][0] == "up" for s in applied.plan.stations)
    # dinkes' building beyond the radio link reaches its gateway and its other building.
    remote = applied.building("dinkes", "remote")
    assert eventually(lambda: ping(remote, "10.64.0.1"))
    assert ping(remote, applied.address(applied.building("dinkes", "kantor")))


def test_opd_ssid_client_reaches_its_opd_only(applied: Wlab) -> None:
    me = applied.station("ap-dinkes").netns
    other = applied.station("ap-setda").netns
    assert ping(me, "10.64.0.1")  # its staff LAN's gateway
    assert ping(me, applied.address(applied.building("dinkes", "kantor")))
    assert ping(me, applied.address(applied.building("dinkes", "remote")))  # over the radio
    assert ping(other, applied.address(applied.building("setda", "kantor")))
    assert not ping(me, applied.address(applied.building("setda", "kantor")), tries=2)
    assert not ping(me, applied.address(other), tries=2)
    assert not ping(other, applied.address(applied.building("dinkes", "kantor")), tries=2)
    # Not even at layer 2: posing in setda's subnet, dinkes' client still cannot reach it.
    setda = next(b for b in applied.plan.buildings if b.opd == "setda")
    with posing_in(applied.station("ap-dinkes"), setda.address):
        assert not ping(me, setda.address.split("/")[0], tries=2)


@pytest.mark.parametrize("ap", ["ap-dinkes", "ap-setda"])
def test_guest_reaches_the_internet_only(applied: Wlab, ap: str) -> None:
    edge = applied.plan.edge
    assert edge is not None and edge.internet_address is not None
    guest = applied.station(ap, guest=True)
    assert ping(guest.netns, guest.gateway)
    assert ping(guest.netns, edge.internet_address.split("/")[0])
    mgmt = applied.spec.site.management
    forbidden = {
        "dinkes building": applied.address(applied.building("dinkes", "kantor")),
        "setda building": applied.address(applied.building("setda", "kantor")),
        "dinkes client": applied.address(applied.station("ap-dinkes").netns),
        "dinkes gateway": "10.64.0.1",
        "management gateway": mgmt.gateway,
        "a switch": applied.spec.site.switches[0].mgmt_address,
    }
    reached = [what for what, ip in forbidden.items() if ping(guest.netns, ip, tries=1)]
    assert reached == []
    # The guest VLAN reaches no OPD's hosts at layer 2 either (switches and AP).
    dinkes = next(b for b in applied.plan.buildings if b.opd == "dinkes" and b.name == "kantor")
    with posing_in(guest, dinkes.address):
        assert not ping(guest.netns, dinkes.address.split("/")[0], tries=2)


def test_second_apply_changes_nothing(applied: Wlab) -> None:
    report = applied.apply()
    items = report["layers"]["switches"]["switches"]
    changed = [i["name"] for i in items if i["status"] != "unchanged"]
    assert changed == [], items


def _edit_radio(wlab: Wlab, name: str, line: str) -> str:
    """An engineer on the mast changes the radio by hand, through its console."""
    from netmiko import ConnectHandler

    sw = next(s for s in wlab.spec.site.switches if s.name == name)
    with ConnectHandler(
        device_type="mikrotik_routeros",
        host=sw.mgmt_address,
        username="admin",
        password=lab_secret(wlab.plan.state_dir, sw.credential),
    ) as conn:
        out = conn.send_command(line, expect_string=r"\] > ?$")
    assert "failure" not in out and "error" not in out, out
    return str(out)


def _drift(applied: Wlab) -> tuple[int, str, str]:
    """`dcctl drift` of the switch layer (radios and APs included), exit 2 on drift."""
    return applied.dcctl(
        "drift", str(applied.root), "--target", "lab", "--layer", "switches",
        "--detailed-exitcode",
    )  # fmt: skip


def test_drift_on_a_radio_is_found_and_undone(applied: Wlab) -> None:
    remote = applied.building("dinkes", "remote")
    assert eventually(lambda: ping(remote, "10.64.0.1"))
    edit = "/interface wireless set [find default-name=wlan1] channel-width=20mhz"
    _edit_radio(applied, "radio-far", edit)
    assert eventually(lambda: not ping(remote, "10.64.0.1", tries=1))  # the link is lost
    link = next(i for i in runner.status(applied.plan).items if i.name == "rf-far")
    assert (link.state, link.detail) == (
        "n/a",
        "not associated: radio-dc and radio-far differ in channel-width",
    )
    rc, out, err = _drift(applied)
    assert rc == 2, out + err
    assert "radio-far" in out and "channel-width" in out, out
    applied.apply()
    assert eventually(lambda: ping(remote, "10.64.0.1"))
    rc, out, err = _drift(applied)
    assert rc == 0, out + err


def test_a_radio_key_changed_by_hand_is_found_and_undone(applied: Wlab) -> None:
    """The key is not in any export, and the profile keeps its name: drift reads the keys
    apart (show-sensitive, in memory), shows the line masked, and apply puts it back."""
    import re

    remote = applied.building("dinkes", "remote")
    assert eventually(lambda: ping(remote, "10.64.0.1"))
    export = _edit_radio(applied, "radio-far", "/interface wireless security-profiles export terse")
    found = re.search(r"name=(dcctl-rf-far-[0-9a-f]+)", export)
    assert found, export
    hand = "typed-by-hand-on-the-mast"
    _edit_radio(
        applied, "radio-far",
        f"/interface wireless security-profiles set [find name={found[1]}] "
        f"wpa2-pre-shared-key={hand}",
    )  # fmt: skip
    assert eventually(lambda: not ping(remote, "10.64.0.1", tries=1))  # the ends disagree
    rc, out, err = _drift(applied)
    assert rc == 2, out + err
    assert "radio-far" in out and "wpa2-pre-shared-key=" in out, out
    assert hand not in out + err and all(s not in out + err for s in applied.secrets())
    applied.apply()
    assert eventually(lambda: ping(remote, "10.64.0.1"))
    rc, out, err = _drift(applied)
    assert rc == 0, out + err


def test_no_key_or_passphrase_in_repo_state_or_output(applied: Wlab) -> None:
    secrets = applied.secrets()
    assert all(len(s) >= 16 for s in secrets)
    leaks = []
    for path in applied.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaks += [str(path) for s in secrets if s.encode() in data]
    for text in applied.outputs:
        leaks += ["output" for s in secrets if s in text]
    for path in air_dir(applied.plan, "rf-far").glob("*"):
        leaks += [str(path) for s in secrets if s in path.read_text()]
    assert leaks == []
