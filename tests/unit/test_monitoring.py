"""Monitoring role vars of the example: every target with its OPD, rules, routes, hostility."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dcctl.engines.ansible.vars import PROVIDERS, collect, prepare
from dcctl.monitoring.ansible import role_vars
from dcctl.monitoring.config import assert_no_template_syntax
from dcctl.monitoring.targets import UnsafeValue, address, build_targets, label_value, text
from dcctl.plan.desired import desired_state
from dcctl.spec.loader import Spec, load_spec
from dcctl.vpn.ansible import OFFICE_GROUP
from tests.helpers import domain_vars
from tests.specs import total

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "wonosobo"
WG_EXPORTER = ROOT / "playbooks" / "roles" / "wg_exporter" / "files" / "wg_exporter.py"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(EXAMPLE)


@pytest.fixture(scope="module")
def public(spec: Spec) -> dict[str, Any]:
    rv = domain_vars(role_vars, spec, Path("/nonexistent"), "lab")
    assert not rv.secret and not rv.hosts and not rv.groups
    return rv.public


def _static_targets(config: dict[str, Any], job: str) -> dict[str, dict[str, str]]:
    """``name`` label -> labels plus the scraped/probed address, for one job."""
    (scrape,) = [j for j in config["scrape_configs"] if j["job_name"] == job]
    out = {}
    for sc in scrape["static_configs"]:
        (target,) = sc["targets"]
        out[sc["labels"]["name"]] = {**sc["labels"], "address": target}
    return out


def test_every_vm_camera_switch_and_office_is_a_target(spec: Spec, public: dict[str, Any]) -> None:
    config = public["monitoring_prometheus_config"]
    state = desired_state(spec)
    # Counted from the spec itself (tests.specs.total), not from desired_state, so a VM,
    # camera or office that both dropped would still be caught.
    nodes = _static_targets(config, "node")
    assert set(nodes) == set(state["vms"]) and len(nodes) == total(spec, "vms") > 0
    for key, vm in state["vms"].items():
        assert nodes[key]["opd"] == vm["opd"] and nodes[key]["kind"] == "node"
        assert nodes[key]["address"] == vm["address"].split("/")[0] + ":9100"
    cameras = _static_targets(config, "camera")
    assert set(cameras) == set(state["cctv"])
    assert len(cameras) == total(spec, "cameras") > 0
    for key, cam in state["cctv"].items():
        assert cameras[key]["opd"] == cam["opd"]
        assert cameras[key]["address"] == f"{cam['address']}:554"
    # Every managed device is probed on SSH: switches as switches, radios and access
    # points (issue 20) as their own kinds, labelled with the OPD they serve.
    wired = [sw for sw in spec.site.switches if sw.role not in ("radio", "ap")]
    switches = _static_targets(config, "switch")
    assert set(switches) == {sw.name for sw in wired}
    for sw in wired:
        assert switches[sw.name]["address"] == f"{sw.mgmt_address}:22"
        assert switches[sw.name]["opd"] == "kominfo"
    for role in ("radio", "ap"):
        devices = _static_targets(config, role)
        mine = [sw for sw in spec.site.switches if sw.role == role]
        assert set(devices) == {sw.name for sw in mine} and mine
        for sw in mine:
            assert devices[sw.name]["address"] == f"{sw.mgmt_address}:22"
            assert devices[sw.name]["kind"] == role
            # The example's radios and APs all serve one OPD, their owner.
            assert devices[sw.name]["opd"] == sw.owner or sw.name == "radio-dc"
    assert _static_targets(config, "radio")["radio-dc"]["opd"] == "dinkes"  # its one OPD
    offices = _static_targets(config, "vpn")
    assert set(offices) == set(state["vpn"])
    assert len(offices) == total(spec, "offices") > 0
    for key, peer in state["vpn"].items():
        assert offices[key] == {
            "opd": peer["opd"],
            "kind": "vpn",
            "name": key,
            "address": peer["tunnel_address"],
        }
    # The self-scrapes and the hub's handshake job exist, labelled with Diskominfo.
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    for job in ("prometheus", "alertmanager", "blackbox", "vpn-handshakes"):
        assert jobs[job]["static_configs"][0]["labels"]["opd"] == "kominfo"
    assert jobs["vpn-handshakes"]["honor_labels"] is True
    assert jobs["vpn-handshakes"]["static_configs"][0]["labels"]["name"] == "kominfo/vpn-gw"


def test_probes_use_the_local_blackbox_exporter(public: dict[str, Any]) -> None:
    jobs = {j["job_name"]: j for j in public["monitoring_prometheus_config"]["scrape_configs"]}
    modules = public["monitoring_blackbox_config"]["modules"]
    for job, module in (("camera", "tcp_connect"), ("switch", "tcp_connect"), ("vpn", "icmp")):
        assert jobs[job]["params"] == {"module": [module]} and module in modules
        assert jobs[job]["metrics_path"] == "/probe"
        assert jobs[job]["relabel_configs"][-1]["replacement"] == "127.0.0.1:9115"
    assert modules["icmp"]["prober"] == "icmp" and modules["tcp_connect"]["prober"] == "tcp"
    # The exporter listens on loopback only: it would probe anything for anyone.
    assert "--web.listen-address=127.0.0.1:9115" in public["monitoring_blackbox_args"]
    # Intervals come from the spec; the timeout never exceeds the interval.
    glob = public["monitoring_prometheus_config"]["global"]
    assert glob["scrape_interval"] == glob["evaluation_interval"] == "15s"
    assert int(glob["scrape_timeout"][:-1]) <= 15


def test_every_rule_carries_its_targets_opd(spec: Spec, public: dict[str, Any]) -> None:
    state = desired_state(spec)
    groups = public["monitoring_rules"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert all(r["labels"]["opd"] for r in rules)
    by_alert: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rules:
        by_alert.setdefault(r["alert"], {})[r["labels"].get("name", "")] = r
    assert set(by_alert["InstanceDown"]) == set(state["vms"])
    assert set(by_alert["CameraDown"]) == set(state["cctv"])
    by_role: dict[str, set[str]] = {}
    for s in spec.site.switches:
        by_role.setdefault(s.role if s.role in ("radio", "ap") else "switch", set()).add(s.name)
    assert set(by_alert["SwitchUnreachable"]) == by_role["switch"]
    assert set(by_alert["RadioUnreachable"]) == by_role["radio"]
    assert set(by_alert["AccessPointUnreachable"]) == by_role["ap"]
    assert set(by_alert["VpnTunnelDown"]) == set(state["vpn"])
    assert set(by_alert["VpnHandshakeStale"]) == set(state["vpn"])
    for key, cam in state["cctv"].items():
        rule = by_alert["CameraDown"][key]
        assert rule["labels"]["opd"] == cam["opd"]
        assert rule["for"] == f"{spec.site.monitoring.camera_down_after_s}s"  # type: ignore[union-attr]
        assert rule["expr"] == f'probe_success{{job="camera",name="{key}"}} == 0'
        opd_name = spec.opds[cam["opd"]].name
        assert opd_name in rule["annotations"]["summary"] and key in rule["annotations"]["summary"]
    for key, vm in state["vms"].items():
        assert by_alert["InstanceDown"][key]["labels"]["opd"] == vm["opd"]
        assert by_alert["InstanceDown"][key]["expr"].startswith('up{job="node",')
    for key, peer in state["vpn"].items():
        stale = by_alert["VpnHandshakeStale"][key]
        code, _, office = key.partition("/")
        assert stale["labels"]["opd"] == peer["opd"] == code
        assert f'{{opd="{code}",office="{office}"}}' in stale["expr"]
        assert "absent(" in stale["expr"]


def test_routes_per_opd_to_its_first_contact(spec: Spec, public: dict[str, Any]) -> None:
    am = public["monitoring_alertmanager_config"]
    receivers = {r["name"]: r for r in am["receivers"]}
    assert am["route"]["receiver"] == "noc"
    noc = spec.site.monitoring.alert_email  # type: ignore[union-attr]
    assert receivers["noc"]["email_configs"][0]["to"] == noc
    routes = am["route"]["routes"]
    assert routes[-1] == {"receiver": "noc"}  # the NOC sees everything
    per_opd = {r["matchers"][0]: r for r in routes[:-1]}
    assert len(per_opd) == len(spec.opds)
    for code, opd in spec.opds.items():
        route = per_opd[f'opd="{code}"']
        assert route["continue"] is True
        email = next(c.email for c in opd.contacts if c.email)
        assert receivers[route["receiver"]]["email_configs"][0]["to"] == email
    assert am["global"]["smtp_from"] == f"alertmanager@{spec.site.domain}"


#: A further domain for the merge test: its own office router, joining the VPN's group.
_EXTRA_DOMAIN = f"""
from dcctl.engines.ansible.vars import RoleVars


def role_vars(spec, state, state_dir, target):
    return RoleVars(
        public={{"extra_domain_enabled": True}},
        hosts={{"office-extra-site": {{"ansible_host": "192.0.2.7"}}}},
        groups={{"{OFFICE_GROUP}": ["office-extra-site"], "extra_sensors": ["office-extra-site"]}},
    )
"""


def test_registered_and_merges_with_other_domains(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """collect() joins monitoring's variables with the other domains', losing nothing.

    The VPN hub is the host both domains configure (site.yml runs ``vpn_hub`` from
    the VPN provider and ``wg_exporter`` from the monitoring provider on
    ``role_vpn_hub``), so the merge must keep both providers' variables, and the
    exporter's offices must be the hub's peers. A third domain adding a host to
    the VPN's office group shows that groups from two providers are unioned.
    """
    assert PROVIDERS["monitoring"] == "dcctl.monitoring.ansible:role_vars"
    (tmp_path / "dcctl_test_extra_domain.py").write_text(_EXTRA_DOMAIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    refs = {
        "vpn": PROVIDERS["vpn"],
        "monitoring": PROVIDERS["monitoring"],
        "extra": "dcctl_test_extra_domain:role_vars",
    }
    prepare(spec, tmp_path, "lab", providers=refs)  # the keys an apply makes first
    alone = {name: collect(spec, tmp_path, "lab", {name: ref}) for name, ref in refs.items()}
    mon, vpn, extra = alone["monitoring"], alone["vpn"], alone["extra"]
    assert mon.public and vpn.public and vpn.secret and vpn.groups[OFFICE_GROUP]

    merged = collect(spec, tmp_path, "lab", refs)

    # Every provider's variables arrive unchanged, side by side.
    assert set(mon.public).isdisjoint(vpn.public)
    assert merged.public == {**vpn.public, **mon.public, **extra.public}
    assert merged.secret == vpn.secret and not mon.secret
    assert merged.hosts == {**vpn.hosts, **extra.hosts}
    # Groups of the same name from two providers are unioned, not replaced.
    assert sorted(merged.groups[OFFICE_GROUP]) == sorted(
        [*vpn.groups[OFFICE_GROUP], "office-extra-site"]
    )
    assert merged.groups["extra_sensors"] == ["office-extra-site"]
    # The hub's two roles agree: wg_exporter maps exactly the peers vpn_hub configures.
    exported = {
        f"{o['opd']}/{o['office']}": o["tunnel_address"]
        for o in merged.public["wg_exporter_offices"]
    }
    peers = {p["name"]: p["tunnel_address"] for p in merged.public["vpn_hub_peers"]}
    assert exported == peers and set(peers) == set(desired_state(spec)["vpn"])


def test_desired_monitoring_layer_unchanged(spec: Spec) -> None:
    """The targets come from the plan's monitoring layer; its keys stay what plans show."""
    layer = desired_state(spec)["monitoring"]
    assert {t.key for t in build_targets(spec)} == set(layer)
    assert layer["node/dinkes/simpus"]["job"] == "node"


@pytest.mark.parametrize(
    "value",
    ['x"} or vector(1) #', "a\nb", "{{ lookup('env','HOME') }}", "Dinkes", "", "a b", "$x"],
)
def test_hostile_label_values_are_rejected(value: str) -> None:
    with pytest.raises(UnsafeValue):
        label_value(value, "test")


@pytest.mark.parametrize(
    "value", ["10.0.0.1:22\nfoo", "10.0.0.1:0", "host:22", "10.0.0.1:22:1", "010.0.0.1:22"]
)
def test_hostile_addresses_are_rejected(value: str) -> None:
    with pytest.raises(UnsafeValue):
        address(value, "test", port=True)


def test_hostile_text_and_templates_are_rejected() -> None:
    for value in ("{{ 7*7 }}", "{% for %}", "a\nb", 'say "hi"', "${x}"):
        with pytest.raises(UnsafeValue):
            text(value, "test")
    with pytest.raises(UnsafeValue):
        assert_no_template_syntax({"a": [{"b": "x {{ $labels.opd }}"}]})
    assert_no_template_syntax({"expr": 'up{job="node"} == 0'})  # single braces are fine


def _tampered(spec: Spec, **changes: Any) -> Spec:
    """The spec with a model changed *without* validation (what a bug elsewhere could do)."""
    from dataclasses import replace

    opds = dict(spec.opds)
    for code, update in changes.items():
        opds[code] = opds[code].model_copy(update=update)
    return replace(spec, opds=opds)


def test_unvalidated_hostile_spec_values_never_reach_a_file(spec: Spec) -> None:
    dinkes = spec.opds["dinkes"]
    evil_name = _tampered(spec, dinkes={"name": "Dinkes {{ lookup('pipe', 'id') }}"})
    with pytest.raises(UnsafeValue):
        domain_vars(role_vars, evil_name, Path("/x"), "lab")
    contact = dinkes.contacts[0].model_copy(update={"email": "a@b.c\nsmtp_smarthost: evil:25"})
    evil_mail = _tampered(spec, dinkes={"contacts": [contact]})
    with pytest.raises(UnsafeValue):
        domain_vars(role_vars, evil_mail, Path("/x"), "lab")
    cam = dinkes.cameras[0].model_copy(update={"location": 'Loket"} or vector(1)'})
    evil_cam = _tampered(spec, dinkes={"cameras": [cam, *dinkes.cameras[1:]]})
    with pytest.raises(UnsafeValue):
        domain_vars(role_vars, evil_cam, Path("/x"), "lab")


def test_documents_dump_and_load_back_unchanged(public: dict[str, Any]) -> None:
    """What to_nice_yaml writes reads back as the same data (no string was pasted in)."""
    for key in (
        "monitoring_prometheus_config",
        "monitoring_rules",
        "monitoring_blackbox_config",
        "monitoring_alertmanager_config",
    ):
        text_ = yaml.safe_dump(public[key], sort_keys=False, allow_unicode=True)
        assert yaml.safe_load(text_) == public[key]
    assert_no_template_syntax(public)


# --- the hub's handshake exporter (a standalone script shipped by the wg_exporter role) ---


def _wg_module() -> Any:
    spec = importlib.util.spec_from_file_location("wg_exporter", WG_EXPORTER)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


HANDSHAKES = "wg0\tKEYA=\t1700000000\nwg0\tKEYB=\t0\nwg0\tKEYC=\t1700000100\n"
ALLOWED = (
    "wg0\tKEYA=\t10.99.0.2/32 10.64.1.0/24\n"
    "wg0\tKEYB=\t10.99.0.3/32\n"
    "wg0\tKEYC=\t10.99.0.0/24\n"  # a broad peer must not steal the /32 offices
)


def test_wg_exporter_maps_peers_to_offices_by_tunnel_address() -> None:
    wg = _wg_module()
    peers = wg.parse(HANDSHAKES, ALLOWED)
    offices = [
        {"office": "pkm-garung", "opd": "dinkes", "tunnel_address": "10.99.0.2"},
        {"office": "pkm-kertek", "opd": "dinkes", "tunnel_address": "10.99.0.3"},
        {"office": "upt-x", "opd": "disdik", "tunnel_address": "10.99.0.9", "public_key": "KEYQ="},
    ]
    out = wg.render(offices, peers, up=True)
    series = dict(re.findall(r"^(wireguard_latest_handshake_seconds\{.*\}) (\d+)$", out, re.M))
    assert series == {
        'wireguard_latest_handshake_seconds{interface="wg0",office="pkm-garung",opd="dinkes"}': (
            "1700000000"
        ),
        'wireguard_latest_handshake_seconds{interface="wg0",office="pkm-kertek",opd="dinkes"}': "0",
        # Unknown key, address only inside KEYC's broad range: mapped to it.
        'wireguard_latest_handshake_seconds{interface="wg0",office="upt-x",opd="disdik"}': (
            "1700000100"
        ),
    }
    assert "wireguard_unmapped_peers 0" in out and "wireguard_exporter_up 1" in out
    # A given public key wins over the address.
    offices[0]["public_key"] = "KEYC="
    assert 'office="pkm-garung",opd="dinkes"} 1700000100' in wg.render(offices, peers, up=True)


def test_wg_exporter_writes_zeros_when_wg_fails(tmp_path: Path) -> None:
    wg = _wg_module()
    offices = tmp_path / "offices.json"
    offices.write_text('[{"office": "pkm-a", "opd": "dinkes", "tunnel_address": "10.99.0.2"}]')
    output = tmp_path / "wireguard.prom"
    assert (
        wg.main(["--offices", str(offices), "--output", str(output), "--wg", "/nonexistent"]) == 0
    )
    text_ = output.read_text()
    assert 'office="pkm-a",opd="dinkes"} 0' in text_ and "wireguard_exporter_up 0" in text_
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_backup_alerts_per_vm_with_a_policy_labelled_with_its_opd(
    spec: Spec, public: dict[str, Any]
) -> None:
    """Issue 18: BackupStale per repository a VM's policy needs, RestoreDrillOverdue per VM."""
    state = desired_state(spec)
    rules = [r for g in public["monitoring_rules"]["groups"] for r in g["rules"]]
    stale = {(r["labels"]["name"], r["labels"]["repo"]): r for r in rules
             if r["alert"] == "BackupStale"}  # fmt: skip
    drill = {r["labels"]["name"]: r for r in rules if r["alert"] == "RestoreDrillOverdue"}
    with_policy = {k: v for k, v in state["vms"].items() if v["backup"]["schedule"] != "none"}
    assert with_policy and "kominfo/backup" not in with_policy
    assert set(stale) == {(k, repo) for k, v in with_policy.items()
                          for repo in v["backup"]["repositories"]}  # fmt: skip
    assert set(drill) == set(with_policy)
    # rahasia keeps two copies: the off-site one is watched too.
    db = stale[("dinkes/simpus-db", "offsite")]
    assert db["labels"] == {
        "severity": "critical",
        "opd": "dinkes",
        "kind": "backup",
        "name": "dinkes/simpus-db",
        "repo": "offsite",
    }
    series = (
        'dcctl_backup_last_success_timestamp_seconds{opd="dinkes",name="dinkes/simpus-db",'
        'repo="offsite"}'
    )
    # hourly: stale after two hours; a missing series is stale too.
    assert db["expr"] == f"(time() - {series}) > 7200 or absent({series})"
    assert "Dinas Kesehatan (dinkes)" in db["annotations"]["summary"]
    assert stale[("dinkes/info-sehat", "primary")]["labels"]["severity"] == "warning"
    assert "> 1209600 " in stale[("dinkes/info-sehat", "primary")]["expr"]  # weekly x 2
    overdue = drill["dinkes/simpus"]
    assert overdue["labels"]["opd"] == "dinkes"
    assert "> 2592000 " in overdue["expr"]  # drill_every_days: 30
    assert "absent(dcctl_backup_drill_last_success_timestamp_seconds{" in overdue["expr"]
    # Routed like every alert: by its opd label to that OPD's contact (and the NOC).
    matchers = [r.get("matchers") for r in public["monitoring_alertmanager_config"]["route"]
                ["routes"]]  # fmt: skip
    assert ['opd="dinkes"'] in matchers
