"""VPN keys, role variables and MikroTik configs, without a tunnel.

Why these tests: the isolation of offices (each reaches only its own OPD) is
decided in Python before any router sees it, and private keys must never leave
the encrypted keystore except into ansible-runner's secret extravars or an
explicit export. Both are checked here on the example regency.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import os
import stat
import traceback
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dcctl import targets
from dcctl.plan.desired import desired_state
from dcctl.spec import Spec, load_spec
from dcctl.vpn import routeros
from dcctl.vpn.ansible import (
    OFFICE_GROUP,
    hub_facts,
    office_host,
    open_keystore,
    peers,
    prepare,
    role_vars,
)
from dcctl.vpn.cli import NOT_YET, vpn_app
from dcctl.vpn.keystore import HUB, KeyStore, KeystoreError, is_wg_key, keystore_path, public_of
from tests.helpers import domain_vars

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wonosobo"


@pytest.fixture(autouse=True)
def passphrase(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "unit-" + base64.b64encode(os.urandom(9)).decode()
    monkeypatch.setenv("DCCTL_PASSPHRASE", value)
    return value


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(EXAMPLE)


# --------------------------------------------------------------------------
# keystore


def test_keys_are_encrypted_private_and_rotate_one_office(tmp_path: Path) -> None:
    path = keystore_path(tmp_path, "prod")
    store = KeyStore(path)
    assert store.ensure([HUB, "dinkes/pkm-kertek", "disdik/upt-sapuran"]) == [
        "dinkes/pkm-kertek",
        "disdik/upt-sapuran",
        HUB,
    ]
    assert path == tmp_path / "vpn" / "keys.enc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pairs = {n: store.pair(n) for n in store.names()}
    for p in pairs.values():
        assert is_wg_key(p.private) and is_wg_key(p.public) and public_of(p.private) == p.public
        assert p.private not in repr(p)
    raw = path.read_bytes()
    for p in pairs.values():
        assert p.private.encode() not in raw
        assert base64.b64decode(p.private) not in raw
        assert p.public.encode() in raw  # public keys stay readable without the passphrase

    # A fresh reader (another dcctl run) sees the same keys; nothing else changes on ensure.
    again = KeyStore(path)
    assert again.ensure(pairs) == []
    assert again.pair("disdik/upt-sapuran").private == pairs["disdik/upt-sapuran"].private

    new_pub = again.rotate("dinkes/pkm-kertek")
    after = KeyStore(path)
    assert new_pub == after.public_key("dinkes/pkm-kertek") != pairs["dinkes/pkm-kertek"].public
    assert after.pair("dinkes/pkm-kertek").private != pairs["dinkes/pkm-kertek"].private
    for other in ("disdik/upt-sapuran", HUB):
        assert after.pair(other).private == pairs[other].private
    assert pairs["dinkes/pkm-kertek"].private.encode() not in path.read_bytes()
    assert not list(path.parent.glob("*.tmp")) and not list(path.parent.glob(".*.tmp"))


def test_wrong_passphrase_or_tampering_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = keystore_path(tmp_path, "lab")
    KeyStore(path).ensure([HUB, "a/b"])
    assert path.parent == tmp_path / "vpn" / "lab"
    monkeypatch.setenv("DCCTL_PASSPHRASE", "not-the-passphrase")
    wrong = KeyStore(path)
    assert wrong.public_key(HUB)  # public keys need no passphrase
    with pytest.raises(KeystoreError, match="cannot decrypt"):
        wrong.pair(HUB)
    with pytest.raises(KeystoreError):
        wrong.rotate("a/b")


def test_swapped_public_key_is_detected(tmp_path: Path, passphrase: str) -> None:
    path = keystore_path(tmp_path)
    KeyStore(path).ensure([HUB, "a/b"])
    doc = json.loads(path.read_text())
    doc["public"]["a/b"] = doc["public"][HUB]
    path.write_text(json.dumps(doc))
    with pytest.raises(KeystoreError, match="cannot decrypt"):
        KeyStore(path, passphrase).pair("a/b")


def test_wg_key_check() -> None:
    good = base64.b64encode(bytes(range(32))).decode()
    assert is_wg_key(good)
    for bad in ("", good[:-2], good + "A", good.replace("=", '"'), "x" * 43 + "=", 42):
        assert not is_wg_key(bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# role vars for the example


def _applied_vars(spec: Spec, state_dir: Path, target: str):  # type: ignore[no-untyped-def]
    """Role vars as an apply gets them: its hosts layer creates the keys first (prepare)."""
    prepare(spec, desired_state(spec), state_dir, targets.get(target))
    return domain_vars(role_vars, spec, state_dir, target)


def test_role_vars_write_nothing_before_an_apply_made_the_keys(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan, check run or inventory reads role vars: no keystore, no passphrase file."""
    monkeypatch.delenv("DCCTL_PASSPHRASE")
    monkeypatch.setenv("DCCTL_PASSPHRASE_FILE", str(tmp_path / "home" / "passphrase"))
    state_dir = tmp_path / "state"
    rv = domain_vars(role_vars, spec, state_dir, "prod")
    assert is_wg_key(rv.public["vpn_hub_public_key"])  # stand-ins, the same shape
    assert not state_dir.exists() and not (tmp_path / "home").exists()
    made = prepare(spec, desired_state(spec), state_dir, targets.get("prod"))
    assert made and (tmp_path / "home" / "passphrase").exists()
    assert keystore_path(state_dir, "prod").exists()
    assert prepare(spec, desired_state(spec), state_dir, targets.get("prod")) == []


def test_role_vars_hub_peers_and_allowed_ips(spec: Spec, tmp_path: Path) -> None:
    rv = _applied_vars(spec, tmp_path, "lab")
    state = desired_state(spec)
    offices = state["vpn"]
    hub = rv.public
    assert hub["vpn_hub_address"] == f"{spec.allocation.addresses['vpn/hub']}/24"
    pool = ipaddress.ip_network(spec.site.vpn.tunnel_pool)  # type: ignore[union-attr]
    assert hub["vpn_hub_address"] == f"{pool[1]}/{pool.prefixlen}"  # the pool's first host
    assert hub["vpn_hub_listen_port"] == spec.site.vpn.listen_port  # type: ignore[union-attr]
    assert [p["name"] for p in hub["vpn_hub_peers"]] == sorted(offices)
    store = KeyStore(keystore_path(tmp_path, "lab"))
    for p in hub["vpn_hub_peers"]:
        o = offices[p["name"]]
        assert p["allowed_ips"] == [f"{o['tunnel_address']}/32", o["lan_prefix"]]
        assert p["public_key"] == store.public_key(p["name"])
        # The firewall: exactly this office's OPD networks, no CCTV, no other OPD.
        opd = spec.opds[o["opd"]]
        prefixes = spec.allocation.prefixes
        nets = ("servers", "dmz", "lan")  # its OPD's own networks, the DMZ included
        own = {prefixes[k] for k in (f"{o['opd']}/{n}" for n in nets) if k in prefixes}
        assert set(p["allowed_networks"]) <= own
        assert spec.allocation.prefixes[f"{o['opd']}/servers"] in p["allowed_networks"]
        others = {
            v
            for k, v in spec.allocation.prefixes.items()
            if not k.startswith(o["opd"] + "/") and "/" in k
        }
        assert not set(p["allowed_networks"]) & others
        if opd.cameras:
            assert spec.allocation.prefixes[f"{o['opd']}/cctv"] not in p["allowed_networks"]


def test_role_vars_linux_offices_are_hosts_mikrotik_are_not(spec: Spec, tmp_path: Path) -> None:
    rv = _applied_vars(spec, tmp_path, "prod")
    offices = desired_state(spec)["vpn"]
    linux = sorted(office_host(k) for k, o in offices.items() if o["router"] == "linux")
    assert rv.groups == {OFFICE_GROUP: linux}
    assert sorted(rv.hosts) == linux == sorted(rv.secret["vpn_office_private_keys"])
    hub_addr = spec.allocation.addresses["vpn/hub"]
    for key, o in offices.items():
        host = rv.hosts.get(office_host(key))
        if o["router"] != "linux":
            assert host is None
            continue
        assert host["ansible_host"] == o["wan_address"] and host["ansible_user"] == "dcctl"
        assert host["vpn_office_address"] == f"{o['tunnel_address']}/32"
        assert host["vpn_office_hub_endpoint"] == spec.site.vpn.endpoint  # type: ignore[union-attr]
        assert host["vpn_office_hub_public_key"] == rv.public["vpn_hub_public_key"]
        assert host["vpn_office_allowed_ips"] == [f"{hub_addr}/32", *o["allowed_networks"]]
    # Secrets only in secret; the public part and hosts could be printed in a plan.
    store = KeyStore(keystore_path(tmp_path, "prod"))
    privates = [store.pair(n).private for n in store.names()]
    printable = json.dumps([rv.public, rv.hosts, rv.groups])
    assert not any(p in printable for p in privates)
    assert rv.secret["vpn_hub_private_key"] == store.pair(HUB).private
    # Stable: a second call generates nothing and gives the same vars.
    again = _applied_vars(spec, tmp_path, "prod")
    assert again.public == rv.public and again.secret == rv.secret


def test_lab_and_prod_keys_differ(spec: Spec, tmp_path: Path) -> None:
    lab = _applied_vars(spec, tmp_path, "lab").public["vpn_hub_public_key"]
    prod = _applied_vars(spec, tmp_path, "prod").public["vpn_hub_public_key"]
    assert lab != prod


def test_every_office_has_a_distinct_tunnel_address_in_the_pool(spec: Spec) -> None:
    hub = hub_facts(spec)
    pool = ipaddress.ip_network(hub["tunnel_pool"])
    addrs = [o["tunnel_address"] for o in desired_state(spec)["vpn"].values()] + [hub["address"]]
    assert len(set(addrs)) == len(addrs)
    assert all(ipaddress.ip_address(a) in pool for a in addrs)


# --------------------------------------------------------------------------
# MikroTik


def _mikrotik(spec: Spec, tmp_path: Path) -> tuple[dict, str, routeros.Peer, KeyStore]:  # type: ignore[type-arg]
    store = open_keystore(spec, tmp_path, "lab")
    peer = next(p for p in peers(spec, store) if p.router == "mikrotik")
    return hub_facts(spec), store.public_key(HUB), peer, store


def test_mikrotik_render_masks_the_key(spec: Spec, tmp_path: Path) -> None:
    hub, hub_pub, peer, store = _mikrotik(spec, tmp_path)
    text = routeros.render(hub, hub_pub, peer)
    private = store.pair(peer.key).private
    assert private not in text and routeros.MASK in text
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "/interface wireguard"
    vpn = spec.site.vpn
    assert vpn is not None
    assert lines[1].startswith(f"add name=wg-dc listen-port={vpn.listen_port} private-key=")
    peer_line = next(line for line in lines if "public-key=" in line)
    assert f'public-key="{hub_pub}"' in peer_line
    host, _, port = vpn.endpoint.rpartition(":")
    assert f"endpoint-address={host} endpoint-port={port}" in peer_line
    allowed = peer_line.split("allowed-address=")[1].split()[0].split(",")
    assert allowed == [f"{hub['address']}/32", *peer.allowed_networks]
    assert f"add address={peer.tunnel_address}/24 interface=wg-dc" in text
    routes = [line for line in lines if line.startswith("add dst-address=")]
    assert [r.split()[1].split("=")[1] for r in routes] == list(peer.allowed_networks)
    revealed = routeros.render(hub, hub_pub, peer, private)
    assert f'private-key="{private}"' in revealed and routeros.MASK not in revealed


# How many consecutive characters of a private key count as leaked: a 6-character run
# of a random base64 key turns up by chance in an error message about once in 10^4 runs.
LEAK_RUN = 6

PRIVATE = "<the office's own private key>"  # placeholder a parameter fills in at run time


def leaked_runs(secret: str, text: str, run: int = LEAK_RUN) -> list[str]:
    """Every ``run``-character piece of ``secret`` that occurs in ``text``.

    Any leaked substring longer than ``run`` contains such a piece, so an empty
    result means no part of the key longer than a few characters is in ``text``.
    """
    return sorted(
        {secret[i : i + run] for i in range(len(secret) - run + 1)}
        & {text[i : i + run] for i in range(len(text) - run + 1)}
    )


def test_leaked_runs_finds_any_piece_of_the_key() -> None:
    key = base64.b64encode(bytes(range(32))).decode()
    assert leaked_runs(key, f"bad key {key!r}") != []
    assert leaked_runs(key, "starts with " + key[10:17]) == sorted([key[10:16], key[11:17]])
    assert leaked_runs(key, "office private key is not a WireGuard key") == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", 'x" ; /system reset-configuration'),
        ("name", "office\n/user add name=evil group=full"),
        ("opd", "dinkes$(x)"),
        ("tunnel_address", "10.99.0.5 comment=x"),
        ("tunnel_address", "10.98.0.5"),  # outside the tunnel pool
        ("allowed_networks", ("10.20.3.0/24;/ip firewall filter remove 0",)),
        ("allowed_networks", ("10.20.3.1/24",)),  # not a network address
        ("public_key", "not-a-key"),
        ("private_key", PRIVATE + '" ; /system reboot'),  # the key itself, made hostile
        ("private_key", PRIVATE[:-1]),  # truncated: most of the key, not a key
    ],
)
def test_mikrotik_render_rejects_hostile_strings(
    spec: Spec,
    tmp_path: Path,
    field: str,
    value: object,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Refused, and no piece of the office's private key is in the error, logs or output.

    The render is asked for the revealed script (the private key given, as on
    ``--export``), so the key is in reach of every message the refusal could build.
    """
    caplog.set_level(logging.DEBUG)
    hub, hub_pub, peer, store = _mikrotik(spec, tmp_path)
    private = store.pair(peer.key).private
    key = private
    if field == "public_key":
        hub_pub = str(value)
    elif field == "private_key":
        key = str(value).replace(PRIVATE, private).replace(PRIVATE[:-1], private[:-1])
        assert leaked_runs(private, key), "the hostile value carries the key"
    else:
        peer = replace(peer, **{field: value})
    with pytest.raises(routeros.RenderError) as err:
        routeros.render(hub, hub_pub, peer, key)
    out = capsys.readouterr()
    told = {
        "message": str(err.value),
        "repr": repr(err.value),
        "traceback": "".join(traceback.format_exception(err.value)),
        "logs": caplog.text,
        "stdout": out.out,
        "stderr": out.err,
    }
    assert told["message"], "the refusal says what is wrong"
    leaks = {where: leaked_runs(private, text) for where, text in told.items()}
    assert not any(leaks.values()), leaks


def test_mikrotik_render_rejects_hostile_hub_and_private_key(spec: Spec, tmp_path: Path) -> None:
    hub, hub_pub, peer, _store = _mikrotik(spec, tmp_path)
    with pytest.raises(routeros.RenderError):
        routeros.render({**hub, "endpoint": "203.0.113.10 x=1:51820"}, hub_pub, peer)
    with pytest.raises(routeros.RenderError):
        routeros.render({**hub, "listen_port": "51820; /x"}, hub_pub, peer)
    with pytest.raises(routeros.RenderError):
        routeros.render(hub, hub_pub, peer, private_key='abc" ; /system reboot')
    linux = replace(peer, router="linux")
    with pytest.raises(routeros.RenderError, match="not a MikroTik"):
        routeros.render(hub, hub_pub, linux)


def test_export_writes_0600_outside_the_repo_only(spec: Spec, tmp_path: Path) -> None:
    hub, hub_pub, peer, store = _mikrotik(spec, tmp_path)
    text = routeros.render(hub, hub_pub, peer, store.pair(peer.key).private)
    with pytest.raises(routeros.RenderError, match="inside the repository"):
        routeros.export(text, spec.root / "office.rsc", spec.root)
    assert not (spec.root / "office.rsc").exists()
    out = tmp_path / "out" / "office.rsc"
    out.parent.mkdir()
    dest = routeros.export(text, out, spec.root)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert dest.read_text() == text


# --------------------------------------------------------------------------
# CLI


@pytest.fixture
def repo(spec_repo: Path) -> Path:
    return spec_repo


def test_cli_show_rotate_render(repo: Path, tmp_path: Path, cli: CliRunner) -> None:
    res = cli.invoke(vpn_app, ["show", str(repo), "--output", "json"])
    assert res.exit_code == 0, res.output
    assert {p["public_key"] for p in json.loads(res.stdout)["peers"]} == {NOT_YET}
    res = cli.invoke(vpn_app, ["rotate", str(repo), "pkm-kertek"])
    assert res.exit_code == 1 and "no key pair yet" in res.output
    assert not (repo / "state").exists(), "a read or a refused rotation wrote state"
    res = cli.invoke(vpn_app, ["keys", "init", str(repo)])
    assert res.exit_code == 0 and "created" in res.output, res.output
    res = cli.invoke(vpn_app, ["show", str(repo), "--output", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    before = {p["office"]: p["public_key"] for p in doc["peers"]}
    assert set(before) == set(desired_state(load_spec(repo))["vpn"])
    assert all(is_wg_key(k) for k in before.values())

    res = cli.invoke(vpn_app, ["rotate", str(repo), "pkm-kertek"])
    assert res.exit_code == 0, res.output
    doc = json.loads(cli.invoke(vpn_app, ["show", str(repo), "-o", "json"]).stdout)
    after = {p["office"]: p["public_key"] for p in doc["peers"]}
    assert after["dinkes/pkm-kertek"] != before["dinkes/pkm-kertek"]
    assert {k: v for k, v in after.items() if k != "dinkes/pkm-kertek"} == {
        k: v for k, v in before.items() if k != "dinkes/pkm-kertek"
    }

    store = KeyStore(keystore_path(repo / "state", "lab"))
    private = store.pair("dinkes/pkm-garung").private
    res = cli.invoke(vpn_app, ["render", str(repo), "dinkes/pkm-garung"])
    assert res.exit_code == 0, res.output
    assert "/interface wireguard" in res.stdout and private not in res.stdout

    res = cli.invoke(vpn_app, ["render", str(repo), "pkm-garung", "--export", str(repo / "x.rsc")])
    assert res.exit_code == 1 and not (repo / "x.rsc").exists()
    out = tmp_path / "garung.rsc"
    res = cli.invoke(vpn_app, ["render", str(repo), "pkm-garung", "--export", str(out)])
    assert res.exit_code == 0, res.output
    assert private in out.read_text() and private not in res.stdout

    res = cli.invoke(vpn_app, ["render", str(repo), "pkm-kertek"])
    assert res.exit_code == 1 and "MikroTik" in res.output
    res = cli.invoke(vpn_app, ["rotate", str(repo), "no-such-office"])
    assert res.exit_code == 1 and "known:" in res.output
    for path in (repo / "state").rglob("*"):
        if path.is_file():
            assert private.encode() not in path.read_bytes()
