"""A corpus of broken specs: each is refused with file, line and field, never a traceback.

Hand-written cases cover each rule once; hypothesis generates many more
hostile variants (unknown keys, wrong types, injection text, junk bytes).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dcctl.cli import app
from dcctl.spec import SpecErrors, load_spec
from tests.helpers import edit_file as _apply
from tests.helpers import spec_error

# (id, file, old text, new text, field path expected in the error, message fragment)
CASES: list[tuple[str, str, str, str, str, str]] = [
    (
        "unknown-field-opd",
        "opd/bapenda.yaml",
        "sector: finance",
        "sector: finance\nsektor: x",
        "sektor",
        "unknown field",
    ),
    (
        "unknown-field-vm",
        "opd/bapenda.yaml",
        "vcpu: 2,",
        "vcpu: 2, cpus: 3,",
        "vms[0].cpus",
        "unknown field",
    ),
    (
        "typo-hint",
        "opd/bpkad.yaml",
        "classification: rahasia",
        "clasification: rahasia",
        "clasification",
        "did you mean",
    ),
    ("missing-required", "opd/bapenda.yaml", "sector: finance\n", "", "sector", "required"),
    (
        "bad-sector",
        "opd/bapenda.yaml",
        "sector: finance",
        "sector: banking",
        "sector",
        "'banking' is not one of: agriculture",
    ),
    (
        "bad-classification",
        "opd/bapenda.yaml",
        "classification: terbatas",
        "classification: sangat-rahasia",
        "classification",
        "did you mean 'rahasia'?",
    ),
    ("name-uppercase", "opd/bapenda.yaml", "code: bapenda", "code: BAPENDA", "code", "lowercase"),
    (
        "name-injection",
        "opd/bapenda.yaml",
        "{name: sismiop,",
        '{name: "sismiop; reload",',
        "vms[0].name",
        "lowercase",
    ),
    (
        "desc-newline",
        "opd/bapenda.yaml",
        "description: Pajak bumi dan bangunan",
        'description: "Pajak\\ninterface Gi1/0/1"',
        "vms[0].description",
        "not allowed",
    ),
    (
        "desc-routeros",
        "opd/bappeda.yaml",
        "description: Portal Satu Data Wonosobo",
        'description: "x [/system reset-configuration]"',
        "vms[0].description",
        "not allowed",
    ),
    (
        "desc-jinja",
        "opd/bappeda.yaml",
        "description: Portal Satu Data Wonosobo",
        'description: "{{ lipsum.__globals__ }}"',
        "vms[0].description",
        "not allowed",
    ),
    (
        "desc-semicolon",
        "opd/dpmd.yaml",
        "description: Keuangan desa",
        'description: "a; rm -rf /"',
        "vms[0].description",
        "not allowed",
    ),
    (
        "location-control-char",
        "opd/dpmd.yaml",
        "location: Kantor Kecamatan Leksono",
        'location: "Leksono\\u0007"',
        "offices[0].location",
        "not allowed",
    ),
    (
        "string-for-int",
        "opd/bapenda.yaml",
        "vcpu: 2,",
        'vcpu: "2",',
        "vms[0].vcpu",
        "valid integer",
    ),
    ("negative-int", "opd/bapenda.yaml", "vcpu: 2,", "vcpu: -2,", "vms[0].vcpu", "greater"),
    (
        "bool-norway",
        "opd/bapenda.yaml",
        "name: Badan Pendapatan Daerah",
        "name: no",
        "name",
        "quote",
    ),
    (
        "bad-ip",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.41",
        "wan_address: 198.51.100.999",
        "offices[0].wan_address",
        "IPv4",
    ),
    (
        "bad-prefix-hostbits",
        "site.yaml",
        "server_pool: 10.20.0.0/16",
        "server_pool: 10.20.1.0/16",
        "ipam.server_pool",
        "host bits",
    ),
    (
        "pool-overlap",
        "site.yaml",
        "cctv_pool: 10.40.0.0/16",
        "cctv_pool: 10.20.128.0/17",
        "ipam.cctv_pool",
        "overlaps",
    ),
    (
        "vlan-out-of-range",
        "opd/disdukcapil.yaml",
        "servers: {vlan: 140}",
        "servers: {vlan: 5000}",
        "network.servers.vlan",
        "less than",
    ),
    (
        "vlan-conflict",
        "opd/dpmd.yaml",
        "quota:",
        "network: {servers: {vlan: 140}}\nquota:",
        "network.servers",
        "already used",
    ),
    (
        "prefix-conflict",
        "opd/dpmd.yaml",
        "quota:",
        "network: {servers: {prefix: 10.20.3.0/25}}\nquota:",
        "network.servers",
        "overlaps",
    ),
    (
        "vm-address-outside",
        "opd/dpmd.yaml",
        "description: Keuangan desa,",
        "description: Keuangan desa, address: 10.99.9.9,",
        "vms[0].address",
        "not a host",
    ),
    (
        "unknown-switch-port",
        "opd/dishub.yaml",
        "sw-dishub:ether7",
        "sw-dishub:ether42",
        "cameras[2].port",
        "no port",
    ),
    (
        "unknown-switch",
        "opd/dishub.yaml",
        "sw-dishub:ether7",
        "sw-nowhere:ether7",
        "cameras[2].port",
        "unknown switch",
    ),
    (
        "port-used-twice",
        "opd/dishub.yaml",
        "sw-dishub:ether7",
        "sw-dishub:ether5",
        "cameras[2].port",
        "already used",
    ),
    (
        "building-switch-unknown",
        "opd/dinkes.yaml",
        "switch: sw-dinkes",
        "switch: sw-x",
        "buildings[0].switch",
        "unknown switch",
    ),
    (
        "link-same-switch",
        "site.yaml",
        'b: "sw-dist-kota:Te1/1/1"',
        'b: "sw-core:Gi1/0/8"',
        "links[0]",
        "two different switches",
    ),
    (
        "hv-uplink-port-reused",
        "site.yaml",
        'uplink: "sw-core:Te1/1/2"',
        'uplink: "sw-core:Te1/1/1"',
        "hypervisors.nodes[1].uplink",
        "already used",
    ),
    (
        "duplicate-vm",
        "opd/disdukcapil.yaml",
        "name: arsip-dok",
        "name: siak-gw",
        "vms[1].name",
        "duplicate",
    ),
    (
        "duplicate-opd-code",
        "opd/bappeda.yaml",
        "code: bappeda",
        "code: bapenda",
        "code",
        "duplicate OPD code",
    ),
    (
        "duplicate-switch",
        "site.yaml",
        "name: sw-dishub",
        "name: sw-dispertan",
        "switches[7].name",
        "duplicate",
    ),
    (
        "duplicate-yaml-key",
        "opd/rsud.yaml",
        "sector: health",
        "sector: health\nsector: health",
        "sector",
        "duplicate key",
    ),
    (
        "quota-vcpu",
        "opd/bpkad.yaml",
        "quota: {vcpu: 8,",
        "quota: {vcpu: 2,",
        "quota.vcpu",
        "quota exceeded",
    ),
    (
        "quota-vms",
        "opd/bappeda.yaml",
        "vms: 2, cameras: 0",
        "vms: 0, cameras: 0",
        "quota.vms",
        "quota exceeded",
    ),
    (
        "rahasia-public",
        "opd/bpkad.yaml",
        "retention_days: 60}}",
        "retention_days: 60}, exposure: public}",
        "vms[0].exposure",
        "rahasia",
    ),
    (
        "rahasia-inherited-public",
        "opd/dinkes.yaml",
        "classification: publik, exposure: public",
        "exposure: public",
        "vms[2].exposure",
        "rahasia",
    ),
    (
        "recording-too-big",
        "site.yaml",
        "recording_capacity_gb: 24000",
        "recording_capacity_gb: 100",
        "storage.recording_capacity_gb",
        "recordings",
    ),
    (
        "vm-disk-too-big",
        "site.yaml",
        "vm_capacity_gb: 16000",
        "vm_capacity_gb: 1000",
        "storage.vm_capacity_gb",
        "VMs need",
    ),
    (
        "vpn-pool-exhausted",
        "site.yaml",
        "tunnel_pool: 10.99.0.0/24",
        "tunnel_pool: 10.99.0.0/30",
        "offices",
        "exhausted",
    ),
    (
        "vlan-range-exhausted",
        "site.yaml",
        "vlan_range: [100, 899]",
        "vlan_range: [100, 105]",
        "code",
        "exhausted",
    ),
    (
        "secret-in-credential",
        "site.yaml",
        "credential: env:WSB_PVE_API_TOKEN",
        "credential: s3cr3t-token",
        "hypervisors.credential",
        "credential reference",
    ),
    (
        "unknown-vpn-vm",
        "site.yaml",
        "vm: kominfo/vpn-gw",
        "vm: kominfo/nope",
        "vpn.vm",
        "unknown VM",
    ),
    (
        "mgmt-outside",
        "site.yaml",
        "mgmt_address: 10.255.0.25",
        "mgmt_address: 10.254.0.25",
        "switches[7].mgmt_address",
        "outside",
    ),
    (
        "mgmt-duplicate",
        "site.yaml",
        "mgmt_address: 10.255.0.25",
        "mgmt_address: 10.255.0.24",
        "switches[7].mgmt_address",
        "already used",
    ),
    (
        "wrong-api-version",
        "opd/rsud.yaml",
        "apiVersion: dcctl/v1",
        "apiVersion: dcctl/v9",
        "apiVersion",
        "unsupported",
    ),
    ("unknown-kind", "opd/rsud.yaml", "kind: Opd", "kind: Tenant", "kind", "unknown kind"),
    ("yaml-syntax", "opd/rsud.yaml", "sector: health", "sector: [health", "", "YAML syntax"),
    ("yaml-tab-indent", "opd/rsud.yaml", "sector: health", "sector:\n\t- health", "", "YAML"),
    (
        "python-tag",
        "opd/rsud.yaml",
        "sector: health",
        "sector: !!python/object:os.system x",
        "sector",
        "unsupported YAML tag",
    ),
    (
        "merge-key",
        "opd/rsud.yaml",
        "sector: health",
        "sector: health\n<<: {x: 1}",
        "",
        "merge keys",
    ),
    (
        "top-level-list",
        "opd/rsud.yaml",
        "apiVersion: dcctl/v1",
        "- apiVersion: dcctl/v1",
        "",
        "YAML",
    ),
    (
        "bad-email",
        "opd/rsud.yaml",
        "email: simrs@rsud.wonosobokab.go.id",
        "email: simrs@",
        "contacts[0].email",
        "e-mail",
    ),
    (
        "bad-rtsp-path",
        "opd/dinkes.yaml",
        "bitrate_kbps: 1024, retention_days: 30}",
        'bitrate_kbps: 1024, retention_days: 30, rtsp_path: "/s;reboot"}',
        "cameras[0].rtsp_path",
        "URL path",
    ),
    (
        "office-wan-internal",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.42",
        "wan_address: 10.20.5.5",
        "offices[1].wan_address",
        "internal pool",
    ),
    (
        "office-wan-duplicate",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.42",
        "wan_address: 198.51.100.41",
        "offices[1].wan_address",
        "already used",
    ),
    (
        "ports-beyond-the-model",
        "site.yaml",
        "ports: [Te1/1/1-2, Gi1/0/1-12]",
        "ports: [Te1/1/1-2, Gi1/0/1-40]",
        "switches[1].ports",
        "a Catalyst 9200-24T has 28",
    ),
    (
        "port-name-of-another-vendor",
        "site.yaml",
        "ports: [sfp1, ether1-8]",
        "ports: [sfp1, ether1-8, Gi1/0/1]",
        "switches[7].ports",
        "not a port name of mikrotik_routeros",
    ),
]


# Exhaustion is reported at the request that could not be served.
ERROR_FILE = {"vpn-pool-exhausted": "opd/dinkes.yaml", "vlan-range-exhausted": "opd/bappeda.yaml"}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_malformed_spec_rejected_with_location(
    case: tuple[str, str, str, str, str, str], spec_repo: Path, cli: CliRunner
) -> None:
    _id, file, old, new, field, fragment = case
    _apply(spec_repo, file, old, new)
    err = spec_error(spec_repo, fragment)
    assert err.file == ERROR_FILE.get(_id, file)
    assert err.line is not None and err.line >= 1
    if field:
        assert err.path.startswith(field), (err.path, field)
    r = cli.invoke(app, ["validate", str(spec_repo)])
    assert r.exit_code == 1
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    assert re.search(rf"{re.escape(err.file)}:\d+", r.output)


def test_all_errors_reported_together(spec_repo: Path) -> None:
    _apply(spec_repo, "opd/bapenda.yaml", "vcpu: 2,", "vcpu: 0,")
    _apply(spec_repo, "opd/rsud.yaml", "sector: health", "sector: hospital")
    _apply(spec_repo, "site.yaml", "dns: [10.20.0.53]", "dns: [10.20.0.530]")
    with pytest.raises(SpecErrors) as exc:
        load_spec(spec_repo)
    files = {e.file for e in exc.value.errors}
    assert files == {"opd/bapenda.yaml", "opd/rsud.yaml", "site.yaml"}


def test_alias_bomb_refused(spec_repo: Path) -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    (spec_repo / "opd" / "bomb.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(SpecErrors) as exc:
        load_spec(spec_repo)
    assert any(
        "too many values" in e.message and e.file == "opd/bomb.yaml" for e in exc.value.errors
    )


def test_recursive_alias_refused(spec_repo: Path) -> None:
    (spec_repo / "opd" / "loop.yaml").write_text("a: &a [*a]\n")
    with pytest.raises(SpecErrors) as exc:
        load_spec(spec_repo)
    assert any(e.file == "opd/loop.yaml" for e in exc.value.errors)


def test_binary_huge_and_non_utf8_files_refused(spec_repo: Path) -> None:
    (spec_repo / "opd" / "bin.yaml").write_bytes(b"\x7fELF\x00\x01\x02")
    (spec_repo / "opd" / "latin1.yaml").write_bytes(b"name: Kab. Wonosobo \xe9\n")
    (spec_repo / "opd" / "huge.yaml").write_bytes(b"# " + b"x" * (5 * 1024 * 1024) + b"\n")
    with pytest.raises(SpecErrors) as exc:
        load_spec(spec_repo)
    by_file = {e.file: e.message for e in exc.value.errors}
    assert "binary" in by_file["opd/bin.yaml"]
    assert "UTF-8" in by_file["opd/latin1.yaml"]
    assert "limit" in by_file["opd/huge.yaml"]


def test_deep_nesting_refused(spec_repo: Path) -> None:
    (spec_repo / "opd" / "deep.yaml").write_text("a: " + "[" * 500 + "]" * 500 + "\n")
    with pytest.raises(SpecErrors) as exc:
        load_spec(spec_repo)
    assert any(e.file == "opd/deep.yaml" for e in exc.value.errors)


# --- generated corpus ---------------------------------------------------------------

_FORBIDDEN = list(';$[]{}"\\\n\r\t\x00`?!#%<>|~*=')
_KNOWN_OPD_KEYS = {
    "apiVersion",
    "kind",
    "code",
    "name",
    "sector",
    "classification",
    "contacts",
    "quota",
    "network",
    "server_room",
    "buildings",
    "vms",
    "offices",
    "cameras",
}

hostile_text = st.builds(
    lambda a, c, b: a + c + b,
    st.text(alphabet="abcdef ", max_size=10),
    st.sampled_from(_FORBIDDEN),
    st.text(alphabet="abcdef ;[]{}$", max_size=10),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=hostile_text)
def test_generated_hostile_descriptions(spec_repo: Path, text: str) -> None:
    import json

    f = spec_repo / "opd" / "bapenda.yaml"
    original = f.read_text()
    try:
        f.write_text(
            original.replace(
                "description: Pajak bumi dan bangunan", f"description: {json.dumps(text)}"
            )
        )
        with pytest.raises(SpecErrors) as exc:
            load_spec(spec_repo)
        err = exc.value.errors[0]
        line = next(i for i, t in enumerate(original.splitlines(), 1) if "Pajak bumi" in t)
        assert err.file == "opd/bapenda.yaml" and err.line == line
        assert err.path == "vms[0].description"
    finally:
        f.write_text(original)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.from_regex(r"\A[a-z][a-z_]{2,12}\Z").filter(lambda k: k not in _KNOWN_OPD_KEYS),
    value=st.one_of(st.integers(), st.text(alphabet="abc", max_size=5), st.booleans()),
)
def test_generated_unknown_top_level_keys(spec_repo: Path, key: str, value: object) -> None:
    f = spec_repo / "opd" / "rsud.yaml"
    original = f.read_text()
    try:
        f.write_text(original + f"{key}: {value!r}\n".replace("'", '"'))
        with pytest.raises(SpecErrors) as exc:
            load_spec(spec_repo)
        err = exc.value.errors[0]
        assert (err.file, err.line, err.path) == ("opd/rsud.yaml", 14, key)
        assert "unknown field" in err.message
    finally:
        f.write_text(original)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(junk=st.binary(min_size=1, max_size=200))
def test_generated_junk_files_never_crash(spec_repo: Path, junk: bytes) -> None:
    f = spec_repo / "opd" / "junk.yaml"
    f.write_bytes(junk)
    try:
        load_spec(spec_repo)
    except SpecErrors as exc:
        assert all(e.file for e in exc.errors)
    finally:
        f.unlink()
