"""Tickets: each kind becomes exactly the intended commit; hostile tickets change nothing.

Every test works on a real Git clone of the example regency (with its IPAM lock
committed, as a real spec repo has), so the diff a reviewer would see, the spec
on the branch and the plan of the change are all checked end to end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dcctl.plan.desired import desired_state
from dcctl.plan.diff import diff_states
from dcctl.spec import load_spec
from dcctl.tickets import TicketRefused, load_ticket, render_ticket
from dcctl.tickets.cli import ticket_app
from tests.conftest import EXAMPLE, ROOT
from tests.helpers import git, git_init_commit
from tests.specs import OpdSpec, build_spec, contact_email

TICKETS = ROOT / "examples" / "tickets"


def commit_spec(repo: Path) -> Path:
    """Write the IPAM lock and commit ``repo`` on `main`, as a spec repo tickets render into."""
    spec = load_spec(repo)
    spec.allocation.lock().write(repo)
    return git_init_commit(repo, "Wonosobo regency spec")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example regency as a committed Git repo on `main`, lock included."""
    repo = tmp_path_factory.mktemp("pristine") / "spec"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state"))
    return commit_spec(repo)


@pytest.fixture
def repo(pristine: Path, tmp_path: Path) -> Path:
    """A private clone-by-copy of the pristine repo that a test may change."""
    dest = tmp_path / "spec"
    shutil.copytree(pristine, dest)
    return dest


def snapshot(repo: Path) -> tuple[str, str, str, str]:
    """Everything a refused ticket must leave as it was."""
    return (
        git(repo, "status", "--porcelain", "--untracked-files=all"),
        git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "symbolic-ref", "HEAD"),
    )


def branch_diff(repo: Path, branch: str, path: str) -> tuple[list[str], list[str]]:
    """Removed and added lines of `path` between main and the ticket branch."""
    out = git(repo, "diff", "--unified=0", f"main..{branch}", "--", path)
    lines = [
        ln for ln in out.splitlines() if not ln.startswith(("---", "+++", "@@", "diff", "index"))
    ]
    return (
        [ln[1:] for ln in lines if ln.startswith("-")],
        [ln[1:] for ln in lines if ln.startswith("+")],
    )


def changed_files(repo: Path, branch: str) -> list[str]:
    return git(repo, "diff", "--name-only", f"main..{branch}").split()


def checkout(repo: Path, branch: str, dest: Path) -> Path:
    subprocess.run(
        ["git", "clone", "-q", "--branch", branch, str(repo), str(dest)],
        check=True,
        capture_output=True,
    )
    return dest


def plan(repo: Path, branch: str, tmp_path: Path) -> list[tuple[str, str, str]]:
    """The plan of the ticket: desired state on main against desired state on the branch."""
    before = load_spec(checkout(repo, "main", tmp_path / "before"))
    after = load_spec(checkout(repo, branch, tmp_path / "after"))
    assert not after.lock_changed, "the branch must carry its IPAM lock update"
    return [
        (c.layer, c.key, c.action) for c in diff_states(desired_state(before), desired_state(after))
    ]


def write_ticket(tmp_path: Path, data: Any, name: str = "ticket.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=True, indent=2))
    return path


def contact_of(code: str) -> dict[str, str]:
    """A requester that is the example OPD's first contact (by e-mail), as tickets must be."""
    contact = load_spec(EXAMPLE).opds[code].contacts[0]
    return {"nama": contact.name, "jabatan": contact.role, "email": contact.email or ""}


def base_ticket(**permintaan: Any) -> dict[str, Any]:
    """A valid vm_baru ticket for dinkes; hostile cases change one thing."""
    req = {
        "nama": "simpus-v2",
        "keterangan": "SIMPUS versi 2",
        "vcpu": 2,
        "memori_gb": 4,
        "disk_gb": 50,
    }
    req.update(permintaan)
    return {
        "nomor_tiket": "KOM-2025-0999",
        "judul": "Server baru",
        "opd": "dinkes",
        "pemohon": {
            "nama": "dr. Ani Lestari",
            "jabatan": "Kepala Seksi SIK",
            "email": "sik.dinkes@wonosobokab.go.id",
        },
        "jenis": "vm_baru",
        "permintaan": req,
    }


# --- each kind, end to end ----------------------------------------------------------


def test_vm_baru_adds_one_line_and_one_vm(repo: Path, tmp_path: Path) -> None:
    before = snapshot(repo)
    result = render_ticket(TICKETS / "vm-baru.yaml", repo)
    branch = "ticket/KOM-2025-0117"
    assert result.branch == branch
    # The user's checkout is as it was: same branch, same HEAD, clean.
    assert snapshot(repo)[0] == "" and snapshot(repo)[2:] == before[2:]
    assert sorted(changed_files(repo, branch)) == ["dcctl.lock.yaml", "opd/dinkes.yaml"]
    removed, added = branch_diff(repo, branch, "opd/dinkes.yaml")
    assert removed == []
    assert added == [
        "  - {name: simpus-v2, description: SIMPUS versi 2 untuk 24 puskesmas, vcpu: 4, "
        "memory_gb: 8, disk_gb: 100, backup: {schedule: daily, retention_days: 30}}"
    ]
    removed, added = branch_diff(repo, branch, "dcctl.lock.yaml")
    # Its address, and its disk size (the size disks never shrink below).
    assert removed == []
    # .10 was info-sehat's until public VMs moved to the DMZ: the lowest free host again.
    assert added == ["  dinkes/servers/simpus-v2: 10.20.3.10", "  dinkes/simpus-v2: 100"]
    # The new line sits at the end of vms, and the comment on the same file is intact.
    text = git(repo, "show", f"{branch}:opd/dinkes.yaml")
    assert "classification: rahasia                 # rekam medis: data pribadi spesifik" in text
    assert text.index("simpus-v2") < text.index("offices:")
    assert plan(repo, branch, tmp_path) == [
        ("vms", "dinkes/simpus-v2", "create"),
        ("monitoring", "node/dinkes/simpus-v2", "create"),
        ("backup", "dinkes", "update"),  # the new VM joins its OPD's backups
    ]
    assert (result.changes[0].layer, result.changes[0].key) == ("vms", "dinkes/simpus-v2")
    message = git(repo, "log", "-1", "--format=%B", branch)
    assert message.startswith("ticket KOM-2025-0117: Server baru untuk SIMPUS versi 2\n")
    assert "Requested-by: dr. Ani Lestari (Kepala Seksi Sistem Informasi Kesehatan)" in message
    assert (
        "Requester-verified-as: Seksi Sistem Informasi Kesehatan (Admin SIK) of dinkes" in message
    )
    assert "Ticket: KOM-2025-0117" in message
    assert git(repo, "rev-parse", f"{branch}^") == git(repo, "rev-parse", "main")


def test_ubah_vm_changes_only_the_values_in_place(repo: Path, tmp_path: Path) -> None:
    result = render_ticket(TICKETS / "ubah-vm.yaml", repo)
    branch = result.branch or ""
    # No new allocation; the lock records the larger disk (disks never shrink below it).
    assert changed_files(repo, branch) == ["dcctl.lock.yaml", "opd/bapenda.yaml"]
    assert branch_diff(repo, branch, "dcctl.lock.yaml") == (
        ["  bapenda/sismiop: 150"],
        ["  bapenda/sismiop: 200"],
    )
    removed, added = branch_diff(repo, branch, "opd/bapenda.yaml")
    assert removed == [
        "  - {name: sismiop, role: db, description: Pajak bumi dan bangunan, vcpu: 2, "
        "memory_gb: 4, disk_gb: 150}"
    ]
    assert added == [removed[0].replace("memory_gb: 4, disk_gb: 150", "memory_gb: 8, disk_gb: 200")]
    assert plan(repo, branch, tmp_path) == [("vms", "bapenda/sismiop", "update")]
    fields = {c.key: c.fields for c in result.changes}["bapenda/sismiop"]
    assert fields == {"memory_gb": (4, 8), "disk_gb": (150, 200)}


def test_ubah_vm_in_a_block_style_item_touches_one_line(repo: Path, tmp_path: Path) -> None:
    t = base_ticket()
    t["jenis"], t["permintaan"] = "ubah_vm", {"nama": "simpus", "vcpu": 6}
    result = render_ticket(write_ticket(tmp_path, t), repo)
    removed, added = branch_diff(repo, result.branch or "", "opd/dinkes.yaml")
    assert (removed, added) == (["    vcpu: 4"], ["    vcpu: 6"])


def test_kantor_vpn_from_json_adds_one_office(repo: Path, tmp_path: Path) -> None:
    result = render_ticket(TICKETS / "kantor-vpn.json", repo)
    branch = result.branch or ""
    assert sorted(changed_files(repo, branch)) == ["dcctl.lock.yaml", "opd/disdik.yaml"]
    removed, added = branch_diff(repo, branch, "opd/disdik.yaml")
    assert removed == []
    assert added == [
        "  - {name: upt-kertek, location: UPT Pendidikan Kecamatan Kertek, router: mikrotik, "
        "wan_address: 198.51.100.32}"
    ]
    assert plan(repo, branch, tmp_path) == [
        ("vpn", "disdik/upt-kertek", "create"),
        ("monitoring", "vpn/disdik/upt-kertek", "create"),
    ]


def test_kantor_vpn_creates_the_offices_list_where_it_belongs(repo: Path, tmp_path: Path) -> None:
    t = base_ticket()
    t["opd"], t["jenis"], t["pemohon"] = "bapenda", "kantor_vpn", contact_of("bapenda")
    t["permintaan"] = {
        "nama": "upt-pajak-kertek",
        "lokasi": "UPT Pajak Kertek",
        "router": "linux",
        "alamat_wan": "198.51.100.77",
    }
    result = render_ticket(write_ticket(tmp_path, t), repo)
    removed, added = branch_diff(repo, result.branch or "", "opd/bapenda.yaml")
    assert removed == []
    assert added == [
        "offices:",
        "  - {name: upt-pajak-kertek, location: UPT Pajak Kertek, router: linux, "
        "wan_address: 198.51.100.77}",
    ]


def test_kamera_baru_adds_two_cameras(repo: Path, tmp_path: Path) -> None:
    result = render_ticket(TICKETS / "kamera-baru.yaml", repo)
    branch = result.branch or ""
    removed, added = branch_diff(repo, branch, "opd/dinkes.yaml")
    assert removed == []
    assert added == [
        '  - {name: pkm-kertek-loket, location: "Puskesmas Kertek 1, ruang loket", '
        'port: "sw-dist-selatan:ether3", credential: env:WSB_DINKES_CAMERA_PASSWORD, '
        "bitrate_kbps: 1024, retention_days: 30}",
        '  - {name: pkm-kertek-parkir, location: "Puskesmas Kertek 1, parkir", '
        'port: "sw-dist-selatan:ether4", credential: env:WSB_DINKES_CAMERA_PASSWORD, '
        "resolution: 2560x1440, bitrate_kbps: 2048, retention_days: 14}",
    ]
    changes = plan(repo, branch, tmp_path)
    assert [c for c in changes if c[0] == "cctv"] == [
        ("cctv", "dinkes/pkm-kertek-loket", "create"),
        ("cctv", "dinkes/pkm-kertek-parkir", "create"),
    ]
    # The dinkes CCTV VLAN now has to reach the Kertek distribution switch.
    assert ("switches", "sw-dist-selatan", "update") in changes
    # More cameras need a bigger recording disk on the NVR, and nothing else.
    assert [c for c in changes if c[0] in ("vms", "vpn", "networks")] == [
        ("vms", "kominfo/nvr", "update")
    ]
    before = desired_state(load_spec(checkout(repo, "main", tmp_path / "b2")))["vms"]
    after = desired_state(load_spec(checkout(repo, branch, tmp_path / "a2")))["vms"]
    nvr_before, nvr_after = before["kominfo/nvr"], after["kominfo/nvr"]
    assert nvr_after["recording_disk_gb"] > nvr_before["recording_disk_gb"]
    assert {k for k in nvr_after if nvr_after[k] != nvr_before[k]} == {"recording_disk_gb"}


def test_hapus_removes_exactly_the_item(repo: Path, tmp_path: Path) -> None:
    result = render_ticket(TICKETS / "hapus.yaml", repo)
    branch = result.branch or ""
    removed, added = branch_diff(repo, branch, "opd/disdik.yaml")
    assert (removed, added) == (
        ["  - {name: dapodik-sync, vcpu: 1, memory_gb: 2, disk_gb: 40}"],
        [],
    )
    assert plan(repo, branch, tmp_path) == [
        ("vms", "disdik/dapodik-sync", "delete"),
        ("monitoring", "node/disdik/dapodik-sync", "delete"),
        ("backup", "disdik", "update"),  # it leaves its OPD's backups
    ]


def test_hapus_last_camera_removes_the_list_key(tmp_path: Path) -> None:
    # dinkes gets exactly one camera here, so deleting it empties the list
    opds = [OpdSpec("dinkes", cameras=1), OpdSpec("dc")]
    repo = commit_spec(build_spec(tmp_path / "built", opds=opds, services="dc"))
    lines = (repo / "opd" / "dinkes.yaml").read_text().splitlines()
    start = lines.index("cameras:")
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in "- "), len(lines))
    t = base_ticket()
    t["jenis"], t["pemohon"] = "hapus", {"nama": "Admin", "email": contact_email("dinkes")}
    t["permintaan"] = {"objek": "kamera", "nama": "cam1", "alasan": "Kamera rusak"}
    result = render_ticket(write_ticket(tmp_path, t), repo)
    removed, added = branch_diff(repo, result.branch or "", "opd/dinkes.yaml")
    assert added == [] and removed == lines[start:end]  # the key and its one camera only
    changes = plan(repo, result.branch or "", tmp_path)
    assert ("cctv", "dinkes/cam1", "delete") in changes
    assert ("networks", "dinkes/cctv", "delete") in changes


def test_no_branch_writes_the_working_tree(repo: Path) -> None:
    result = render_ticket(TICKETS / "vm-baru.yaml", repo, branch=False)
    assert result.branch is None
    assert sorted(result.written) == ["dcctl.lock.yaml", "opd/dinkes.yaml"]
    status = git(repo, "status", "--porcelain").splitlines()
    assert sorted(status) == [" M dcctl.lock.yaml", " M opd/dinkes.yaml"]
    assert "ticket/" not in git(repo, "branch")
    assert not load_spec(repo).lock_changed


def test_cli_render_text_and_json(repo: Path) -> None:
    cli = CliRunner()
    r = cli.invoke(ticket_app, ["render", str(TICKETS / "hapus.yaml"), "--repo", str(repo)])
    assert r.exit_code == 0, r.output
    assert "rendered on branch ticket/KOM-2025-0150" in r.output
    assert "- vms disdik/dapodik-sync" in r.output
    # Rendering the same ticket twice is refused: the branch exists.
    r = cli.invoke(
        ticket_app, ["render", str(TICKETS / "hapus.yaml"), "--repo", str(repo), "-o", "json"]
    )
    assert r.exit_code == 1 and r.stdout == ""  # a refusal is an error: data on stderr
    data = json.loads(r.stderr)
    assert data["ok"] is False and data["ticket"] == "KOM-2025-0150"
    assert data["refusals"][0]["field"] == "nomor_tiket"
    assert "already rendered" in data["refusals"][0]["reason"]


def test_cli_refusal_is_one_clear_reason_without_traceback(repo: Path, tmp_path: Path) -> None:
    room, limit = _headroom("dinkes", "vcpu")
    t = base_ticket(vcpu=room + 1)  # one vCPU over dinkes' quota
    r = CliRunner().invoke(ticket_app, ["render", str(write_ticket(tmp_path, t)), "-r", str(repo)])
    assert r.exit_code == 1
    assert f"permintaan.vcpu: quota exceeded: vcpu {limit + 1} > {limit}" in r.output
    assert "Traceback" not in r.output and "Nothing was changed" in r.output


def test_example_tickets_all_parse() -> None:
    kinds = {load_ticket(p).jenis for p in TICKETS.iterdir()}
    assert kinds == {
        "vm_baru",
        "ubah_vm",
        "kantor_vpn",
        "kamera_baru",
        "wifi_baru",
        "hapus",
        "backup_vm",
    }


# --- repo-level refusals -------------------------------------------------------------


def test_dirty_repo_is_refused_and_left_as_is(repo: Path) -> None:
    f = repo / "opd" / "dinkes.yaml"
    f.write_text(f.read_text() + "# local edit\n")
    before = snapshot(repo)
    with pytest.raises(TicketRefused) as exc:
        render_ticket(TICKETS / "vm-baru.yaml", repo)
    assert exc.value.refusals[0].field == "repo"
    assert "uncommitted changes (opd/dinkes.yaml)" in exc.value.refusals[0].reason
    assert snapshot(repo) == before


def test_not_a_git_repo_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(EXAMPLE, plain)
    with pytest.raises(TicketRefused, match="not inside a Git work tree"):
        render_ticket(TICKETS / "vm-baru.yaml", plain)


def test_spec_in_a_subdirectory_of_a_bigger_repo(tmp_path: Path) -> None:
    """Paths are committed under the prefix; unrelated uncommitted work elsewhere is fine."""
    top = tmp_path / "infra"
    shutil.copytree(EXAMPLE, top / "regency", ignore=shutil.ignore_patterns("state"))
    load_spec(top / "regency").allocation.lock().write(top / "regency")
    (top / "notes.txt").write_text("draft\n")
    git(top, "init", "-q", "-b", "main")
    git(top, "config", "user.name", "Infra Kominfo")
    git(top, "config", "user.email", "aptika@wonosobokab.go.id")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "infra")
    (top / "notes.txt").write_text("draft, edited\n")  # dirty, but outside the spec
    result = render_ticket(TICKETS / "hapus.yaml", top / "regency")
    assert changed_files(top, result.branch or "") == [
        "regency/dcctl.lock.yaml",
        "regency/opd/disdik.yaml",
    ]
    assert git(top, "status", "--porcelain") == " M notes.txt\n"


def test_ticket_number_already_rendered_on_a_remote(repo: Path, tmp_path: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/remotes/origin/ticket/KOM-2025-0117", head)
    before = snapshot(repo)
    with pytest.raises(TicketRefused, match="already rendered"):
        render_ticket(TICKETS / "vm-baru.yaml", repo)
    assert snapshot(repo) == before


# --- the hostile and impossible corpus ----------------------------------------------


def _vm(**kw: Any) -> dict[str, Any]:
    return base_ticket(**kw)


def _headroom(code: str, what: str, without: str | None = None) -> tuple[int, int]:
    """(what the example's OPD may still add of ``what``, its quota); ``without`` leaves
    out one VM (a resize replaces it). A request of headroom + 1 is one over the quota,
    whatever the example's numbers are, so the refusal cases below do not cement them."""
    opd = load_spec(EXAMPLE).opds[code]
    limit = getattr(opd.quota, what)
    if what == "cameras":
        return limit - len(opd.cameras), limit
    return limit - sum(getattr(v, what) for v in opd.vms if v.name != without), limit


def _top(**kw: Any) -> dict[str, Any]:
    t = base_ticket()
    t.update(kw)
    return t


def _kind(jenis: str, opd: str = "dinkes", **req: Any) -> dict[str, Any]:
    t = base_ticket()
    t["jenis"], t["opd"], t["permintaan"] = jenis, opd, req
    t["pemohon"] = contact_of(opd)
    return t


def _cam(**kw: Any) -> dict[str, Any]:
    cam = {
        "nama": "cam-baru",
        "lokasi": "Ruang tunggu",
        "port": "sw-dinkes:Gi1/0/10",
        "kredensial": "env:WSB_DINKES_CAMERA_PASSWORD",
        "bitrate_kbps": 1024,
        "retensi_hari": 14,
    }
    cam.update(kw)
    return _kind("kamera_baru", kamera=[cam])


def _office(**kw: Any) -> dict[str, Any]:
    off = {
        "nama": "pkm-baru",
        "lokasi": "Puskesmas Baru",
        "router": "linux",
        "alamat_wan": "198.51.100.99",
    }
    off.update(kw)
    return _kind("kantor_vpn", **off)


_VALID_YAML = (TICKETS / "vm-baru.yaml").read_text()
_VCPU_ROOM, _VCPU_LIMIT = _headroom("dinkes", "vcpu")
_MEM_ROOM, _MEM_LIMIT = _headroom("bapenda", "memory_gb", without="sismiop")
_CAM_ROOM, _CAM_LIMIT = _headroom("dispertan", "cameras")

# (id, ticket as data or raw text, field named, words of the reason)
HOSTILE: list[tuple[str, Any, str, str]] = [
    # injection attempts, field by field
    ("newline", _top(judul="Server\nreboot"), "judul", "control characters"),
    ("semicolon", _vm(keterangan="SIMPUS; /system reboot"), "permintaan.keterangan", "';'"),
    ("routeros-brackets", _office(lokasi="Kertek [/system reboot]"), "permintaan.lokasi", "'['"),
    ("routeros-dollar", _vm(keterangan="SIMPUS $x"), "permintaan.keterangan", "'$'"),
    ("jinja-expression", _vm(keterangan="{{ 7*7 }}"), "permintaan.keterangan", "'{'"),
    ("jinja-statement", _top(judul="{% include 'x' %}"), "judul", "'%'"),
    ("shell-backtick", {**_top(), "pemohon": {"nama": "`id`"}}, "pemohon.nama", "'`'"),
    ("shell-subst", _vm(nama="$(reboot)"), "permintaan.nama", "lowercase identifier"),
    ("yaml-colon-space", _vm(keterangan="SIMPUS: versi 2"), "permintaan.keterangan", "': '"),
    ("yaml-comment", _vm(keterangan="SIMPUS #2"), "permintaan.keterangan", "'#'"),
    ("yaml-anchor-text", _vm(keterangan="&x SIMPUS"), "permintaan.keterangan", "YAML syntax"),
    ("yaml-alias-text", _vm(keterangan="*x"), "permintaan.keterangan", "'*'"),
    ("yaml-tag-text", _vm(keterangan="!!python/object"), "permintaan.keterangan", "'!'"),
    ("yaml-leading-dash", _office(lokasi="- [x]"), "permintaan.lokasi", "'['"),
    ("yaml-trailing-colon", _office(lokasi="Kertek:"), "permintaan.lokasi", "end with ':'"),
    ("unicode-rlo", _top(judul="Server\u202ebaru"), "judul", "RIGHT-TO-LEFT OVERRIDE"),
    ("unicode-zwsp", _vm(keterangan="SIMPUS\u200b"), "permintaan.keterangan", "ZERO WIDTH"),
    ("escape-char", _top(judul="Server\x1b[31m"), "judul", "control characters"),
    ("ticket-no-traversal", _top(nomor_tiket="../main"), "nomor_tiket", "Git branch"),
    ("ticket-no-shell", _top(nomor_tiket="1; rm -rf /"), "nomor_tiket", "Git branch"),
    ("ticket-no-dotdot", _top(nomor_tiket="a..b"), "nomor_tiket", "Git branch"),
    (
        "credential-secret",
        _cam(kredensial="hunter2"),
        "permintaan.kamera[0].kredensial",
        "never the secret",
    ),
    (
        "credential-traversal",
        _cam(kredensial="file:../../etc/shadow"),
        "permintaan.kamera[0].kredensial",
        "without '..'",
    ),
    # raw YAML structure a form never produces
    (
        "raw-anchor-alias",
        _VALID_YAML.replace("nama: simpus-v2", "nama: &n simpus-v2"),
        "(file)",
        "anchor &n",
    ),
    ("raw-alias", _VALID_YAML.replace("judul: Server", "judul: *x\nx: Server"), "(file)", "alias"),
    (
        "raw-tag",
        _VALID_YAML.replace("vcpu: 4", "vcpu: !!python/object:os.system 4"),
        "(file)",
        "tag",
    ),
    ("raw-merge-key", _VALID_YAML + "x: &b {a: 1}\ny: {<<: *b}\n", "(file)", "anchor"),
    ("raw-two-documents", _VALID_YAML + "---\n" + _VALID_YAML, "(file)", "more than one"),
    ("raw-duplicate-key", _VALID_YAML + "opd: rsud\n", "opd", "duplicate key"),
    ("raw-nul", _VALID_YAML + "\x00", "(file)", "binary"),
    (
        "raw-escape-char",
        _VALID_YAML.replace("Server baru", "Server\x1b baru"),
        "(file)",
        "control character",
    ),
    ("raw-bidi-in-comment", _VALID_YAML + "# \u202e hidden\n", "(file)", "RIGHT-TO-LEFT"),
    ("raw-huge-file", _VALID_YAML + ("# padding\n" * 7000), "(file)", "65536-byte limit"),
    (
        "raw-huge-value",
        _VALID_YAML.replace("Server baru", "S" * 600),
        "(file)",
        "512-character limit",
    ),
    (
        "raw-huge-integer",
        _VALID_YAML.replace("vcpu: 4", "vcpu: " + "9" * 5000),
        "(file)",
        "512-character limit",
    ),
    ("raw-not-a-mapping", "- jenis: vm_baru\n", "(file)", "one mapping"),
    ("raw-bad-yaml", "nomor_tiket: [unclosed\n", "(file)", "not valid YAML"),
    # oversized or mistyped values
    ("huge-number", _vm(vcpu=10**30), "permintaan.vcpu", "less than or equal to 128"),
    ("string-number", _vm(vcpu="4"), "permintaan.vcpu", "valid integer"),
    ("float-number", _vm(memori_gb=8.5), "permintaan.memori_gb", "valid integer"),
    ("too-long-text", _top(judul="x" * 121), "judul", "at most 120"),
    ("unknown-field", _vm(root_password="x"), "permintaan.root_password", "unknown field"),
    ("unknown-kind", _top(jenis="format_disk"), "jenis", "unknown request kind"),
    ("infra-role", _vm(peran="nvr"), "permintaan.peran", "'app', 'db', 'web' or 'file'"),
    ("resize-nothing", _kind("ubah_vm", nama="simpus"), "permintaan", "at least one"),
    ("no-cameras", _kind("kamera_baru", kamera=[]), "permintaan.kamera", "at least 1"),
    # impossible against the regency as it is
    ("unknown-opd", _top(opd="dinsos"), "opd", "unknown OPD 'dinsos'"),
    (
        "unknown-vm-resize",
        _kind("ubah_vm", nama="simrs", vcpu=2),
        "permintaan.nama",
        "dinkes has no VM 'simrs'",
    ),
    (
        "unknown-camera-hapus",
        _kind("hapus", objek="kamera", nama="lobi", alasan="Rusak"),
        "permintaan.nama",
        "no kamera 'lobi'",
    ),
    (
        "unknown-office-hapus",
        _kind("hapus", objek="kantor", nama="pkm-x", alasan="Tutup"),
        "permintaan.nama",
        "no kantor 'pkm-x'",
    ),
    ("duplicate-vm", _vm(nama="simpus"), "permintaan.nama", "already exists"),
    ("duplicate-office", _office(nama="pkm-kertek"), "permintaan.nama", "already exists"),
    ("duplicate-camera", _cam(nama="loket-dinkes"), "permintaan.kamera[0].nama", "exists"),
    (
        "quota-vcpu",
        _vm(vcpu=_VCPU_ROOM + 1),
        "permintaan.vcpu",
        f"quota exceeded: vcpu {_VCPU_LIMIT + 1} > {_VCPU_LIMIT}",
    ),
    (
        "quota-disk",
        _vm(disk_gb=_headroom("dinkes", "disk_gb")[0] + 1),
        "permintaan.disk_gb",
        "quota exceeded: disk_gb",
    ),
    (
        "quota-resize-memory",
        _kind(
            "ubah_vm",
            opd="bapenda",
            nama="sismiop",
            memori_gb=_MEM_ROOM + 1,
        ),
        "permintaan.memori_gb",
        f"quota exceeded: memory_gb {_MEM_LIMIT + 1} > {_MEM_LIMIT}",
    ),
    (
        "quota-camera-count",
        _kind(
            "kamera_baru",
            opd="dispertan",
            kamera=[
                {
                    "nama": f"cam-{i}",
                    "lokasi": "Gudang",
                    "port": f"sw-dispertan:GigabitEthernet0/0/{i}",
                    "kredensial": "env:WSB_DISPERTAN_CAMERA_PASSWORD",
                    "bitrate_kbps": 512,
                    "retensi_hari": 7,
                }
                for i in range(3, 3 + _CAM_ROOM + 1)
            ],
        ),
        "permintaan.kamera",
        f"quota exceeded: cameras {_CAM_LIMIT + 1} > {_CAM_LIMIT}",
    ),
    ("rahasia-public", _vm(paparan="public"), "permintaan.paparan", "rahasia VM cannot be public"),
    (
        "rahasia-public-on-terbatas-opd",
        _kind(
            "vm_baru",
            opd="disdik",
            nama="x",
            vcpu=1,
            memori_gb=1,
            disk_gb=10,
            klasifikasi="rahasia",
            paparan="public",
        ),
        "permintaan.paparan",
        "cannot be public",
    ),
    (
        "declassify",
        _vm(klasifikasi="publik", paparan="public"),
        "permintaan.klasifikasi",
        "below dinkes's classification rahasia",
    ),
    (
        "disk-shrink",
        _kind("ubah_vm", nama="simpus", disk_gb=100),
        "permintaan.disk_gb",
        "smaller than the current 200",
    ),
    (
        "resize-no-op",
        _kind("ubah_vm", nama="simpus", vcpu=4),
        "permintaan",
        "already has these sizes",
    ),
    (
        "port-used-by-camera",
        _cam(port="sw-dinkes:Gi1/0/9"),
        "permintaan.kamera[0].port",
        "already used by dinkes camera loket-dinkes",
    ),
    (
        "port-used-by-lan",
        _cam(port="sw-dinkes:GigabitEthernet1/0/1"),
        "permintaan.kamera[0].port",
        "already used by dinkes building kantor-dinkes",
    ),
    (
        "port-used-by-uplink",
        _cam(port="sw-dinkes:Gi1/0/12"),
        "permintaan.kamera[0].port",
        "already used by link fo-kota-dinkes",
    ),
    ("port-missing", _cam(port="sw-dinkes:Gi1/0/99"), "permintaan.kamera[0].port", "no port"),
    ("switch-unknown", _cam(port="sw-mars:Gi1/0/1"), "permintaan.kamera[0].port", "unknown switch"),
    (
        "recording-capacity",
        _cam(bitrate_kbps=50000, retensi_hari=365),
        "permintaan.kamera",
        "GB of recordings",
    ),
    (
        "wan-already-used",
        _office(alamat_wan="198.51.100.21"),
        "permintaan.alamat_wan",
        "already used by dinkes/pkm-kertek",
    ),
    (
        "wan-internal",
        _office(alamat_wan="10.20.9.9"),
        "permintaan.alamat_wan",
        "inside an internal pool",
    ),
    (
        "hapus-site-nvr",
        _kind("hapus", opd="kominfo", objek="vm", nama="nvr", alasan="Hemat"),
        "permintaan.nama",
        "CCTV recorder",
    ),
    (
        "hapus-vpn-hub",
        _kind("hapus", opd="kominfo", objek="vm", nama="vpn-gw", alasan="Hemat"),
        "permintaan.nama",
        "VPN hub",
    ),
    # a camera ticket may only name a camera credential its OPD's registry declares
    *[
        (f"credential-not-own-{i}", _cam(kredensial=ref), "permintaan.kamera[0].kredensial", why)
        for i, (ref, why) in enumerate(
            [
                ("env:WSB_SWITCH_PASSWORD", "not a camera credential of dinkes's registry"),
                ("env:WSB_PVE_API_TOKEN", "not a camera credential of dinkes's registry"),
                ("env:DCCTL_PASSPHRASE", "not a camera credential of dinkes's registry"),
                ("env:DCCTL_PASSPHRASE_FILE", "not a camera credential of dinkes's registry"),
                ("env:PULUMI_CONFIG_PASSPHRASE", "not a camera credential of dinkes's registry"),
                ("env:AWS_SECRET_ACCESS_KEY", "not a camera credential of dinkes's registry"),
                (
                    "env:WSB_DISDUKCAPIL_CAMERA_PASSWORD",
                    "not a camera credential of dinkes's registry",
                ),
                ("file:state/vpn/keys.json", "not a camera credential of dinkes's registry"),
                (
                    "file:state/pulumi/.pulumi/stacks/proxmox.json",
                    "not a camera credential of dinkes's registry",
                ),
                ("file:secrets/site/switch", "not a camera credential of dinkes's registry"),
                ("file:secrets/disdukcapil/camera", "not a camera credential of dinkes's registry"),
                ("file:secrets/dinkes", "not a camera credential of dinkes's registry"),
                ("file:dcctl.lock.yaml", "not a camera credential of dinkes's registry"),
                ("lab:switches", "lab only"),
            ]
        )
    ],
    # the requester must be a contact of the OPD asked for (issue 15)
    (
        "requester-other-opd",
        {
            **_kind("hapus", opd="disdukcapil", objek="vm", nama="arsip-dok", alasan="Hemat"),
            "pemohon": contact_of("dinkes"),
        },
        "pemohon.email",
        "not a contact of disdukcapil",
    ),
    (
        "requester-name-of-contact-other-mail",
        {**_top(), "pemohon": {**contact_of("dinkes"), "email": "sik.dinkes@example.com"}},
        "pemohon.email",
        "not a contact of dinkes",
    ),
    (
        "requester-phone-of-other-opd",
        {
            **_kind("hapus", opd="disdukcapil", objek="vm", nama="siak-gw", alasan="Hemat"),
            "pemohon": {"nama": "Bidang PIAK", "telepon": "+62 286 321345"},
        },
        "pemohon.telepon",
        "not a contact of disdukcapil",
    ),
    (
        "requester-unidentified",
        {**_top(), "pemohon": {"nama": "Seksi Sistem Informasi Kesehatan"}},
        "pemohon",
        "no e-mail or phone",
    ),
]


@pytest.fixture(scope="module")
def shared(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One repo for the whole corpus: any case that touched it would fail all later ones."""
    dest = tmp_path_factory.mktemp("shared") / "spec"
    shutil.copytree(pristine, dest)
    return dest


def test_corpus_is_large_enough() -> None:
    assert len(HOSTILE) >= 30
    assert len({case[0] for case in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize(
    ("ticket", "field", "reason"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_hostile_ticket_is_refused_and_repo_untouched(
    shared: Path, tmp_path: Path, ticket: Any, field: str, reason: str
) -> None:
    before = snapshot(shared)
    if isinstance(ticket, str):
        path = tmp_path / "ticket.yaml"
        path.write_bytes(ticket.encode())
    else:
        path = write_ticket(tmp_path, ticket)
    with pytest.raises(TicketRefused) as exc:
        render_ticket(path, shared)
    found = [(r.field, r.reason) for r in exc.value.refusals]
    assert any(f == field and reason.lower() in r.lower() for f, r in found), found
    assert snapshot(shared) == before


@pytest.mark.parametrize(
    "pemohon",
    [
        {"nama": "Ani", "email": "SIK.Dinkes@WonosoboKab.go.id"},  # e-mail case is not identity
        {"nama": "Ani", "telepon": "0286 321108"},  # the contact's phone, written locally
    ],
)
def test_requester_matched_by_mail_or_phone(
    repo: Path, tmp_path: Path, pemohon: dict[str, str]
) -> None:
    t = base_ticket()
    t["pemohon"] = pemohon
    result = render_ticket(write_ticket(tmp_path, t), repo)
    message = git(repo, "log", "-1", "--format=%B", result.branch or "")
    # The trailer carries the contact's address from the spec, not what the form said.
    assert "Requested-by: Ani, Dinas Kesehatan <sik.dinkes@wonosobokab.go.id>" in message


def test_invalid_utf8_is_refused(shared: Path, tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes(_VALID_YAML.encode().replace(b"Server baru", b"Server \xff baru"))
    with pytest.raises(TicketRefused, match="not valid UTF-8"):
        render_ticket(path, shared)


# Each token is refused wherever it appears in a text field.
_ANYWHERE = [*';[]$}`"\\#!*|<>%?=~^', "{{", "{%", ": ", "\n", "\r", "\t", "\x1b", "\x7f"]
_ANYWHERE += ["\u202e", "\u200b", "\u2028", "\ufeff"]
# These are refused only where YAML gives them meaning: at the start of a value.
_LEADING = ["&", "@", "'", "-", ":", ",", "+x: "]
_SAFE = st.text(alphabet="abcdefghij KLMNOP0123456789.", min_size=0, max_size=20)
_FIELDS = {
    "judul": ("judul",),
    "pemohon.nama": ("pemohon", "nama"),
    "permintaan.keterangan": ("permintaan", "keterangan"),
}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    field=st.sampled_from(sorted(_FIELDS)),
    before=_SAFE,
    token=st.sampled_from(_ANYWHERE),
    after=_SAFE,
    lead=st.sampled_from(_LEADING),
    leading=st.booleans(),
)
def test_generated_injection_is_refused_naming_the_field(
    shared: Path, field: str, before: str, token: str, after: str, lead: str, leading: bool
) -> None:
    value = (lead + before.strip() + after) if leading else (before + token + after)
    ticket = base_ticket()
    parent: dict[str, Any] = ticket
    *path, last = _FIELDS[field]
    for part in path:
        parent = parent[part]
    parent[last] = value
    with tempfile.TemporaryDirectory() as tmp:
        p = write_ticket(Path(tmp), ticket)
        with pytest.raises(TicketRefused) as exc:
            render_ticket(p, shared)
    assert [r.field for r in exc.value.refusals] == [field], exc.value.refusals
    assert git(shared, "status", "--porcelain") == ""


@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40
    )
)
@settings(max_examples=200, deadline=None)
def test_any_text_either_refused_or_rendered_back_unchanged(value: str) -> None:
    """Whatever passes the ticket's text type renders into YAML that reads back as itself."""
    from pydantic import TypeAdapter, ValidationError

    from dcctl.tickets.edit import render_item
    from dcctl.tickets.models import TicketText

    try:
        TypeAdapter(TicketText).validate_python(value)
    except ValidationError:
        return
    import yaml

    item = render_item(
        "office.yaml.j2",
        office={"name": "x", "location": value, "router": "linux", "wan_address": "198.51.100.1"},
    )
    assert yaml.safe_load(item)["location"] == value
    assert "\n" not in item


# --- the editor's guards --------------------------------------------------------------


def test_editor_turns_an_empty_list_into_a_block_list() -> None:
    from dcctl.tickets.edit import add_items

    text = "kind: Opd\nvms: []\noffices: []   # none yet\n"
    new = add_items(text, "x.yaml", "offices", ["{name: o, location: X}"])
    assert new == "kind: Opd\nvms: []\noffices:      # none yet\n  - {name: o, location: X}\n"


def test_editor_keeps_other_indentation_styles() -> None:
    from dcctl.tickets.edit import add_items

    text = "---\nkind: Opd\nvms:\n- {name: a, vcpu: 1}\noffices:\n- {name: o}\n"
    new = add_items(text, "x.yaml", "vms", ["{name: b, vcpu: 2}"])
    assert new == text.replace("offices:", "- {name: b, vcpu: 2}\noffices:")


@pytest.mark.parametrize(
    ("text", "action", "reason"),
    [
        # removing the only item would take the neighbour's comment with it
        (
            "kind: Opd\nvms:\n  - {name: a}\n  # - {name: old}\noffices: []\n",
            "remove",
            "more than the requested lines",
        ),
        # a comment before '---' does not survive ruamel.yaml's round trip
        ("# c\n---\nkind: Opd\nvms:\n  - {name: a}\n", "add", "without reformatting"),
        ("kind: Opd\nvms: [{name: a}]\n", "add", "without reformatting"),
        ("kind: Opd\nvms: {name: a}\n", "add", "is not a list"),
        ("kind: Opd\n---\nkind: Opd\n", "add", "more than one document"),
    ],
)
def test_editor_refuses_what_it_cannot_do_cleanly(text: str, action: str, reason: str) -> None:
    from dcctl.tickets.edit import add_items, remove_item

    with pytest.raises(TicketRefused, match=reason):
        if action == "add":
            add_items(text, "x.yaml", "vms", ["{name: b}"])
        else:
            remove_item(text, "x.yaml", "vms", "a")


@pytest.mark.parametrize(
    ("value", "emitted"),
    [
        ("Puskesmas Garung", "Puskesmas Garung"),
        ("yes", '"yes"'),
        ("1e3", '"1e3"'),
        ("2024-01-01", '"2024-01-01"'),
        ("Kertek, lantai 2", '"Kertek, lantai 2"'),
        ("env:WSB_X", "env:WSB_X"),
        (8, "8"),
    ],
)
def test_yaml_scalar_emits_values_that_read_back_as_themselves(value: Any, emitted: str) -> None:
    import yaml

    from dcctl.tickets.edit import yaml_scalar

    assert yaml_scalar(value) == emitted
    assert yaml.safe_load(f"{{k: {emitted}}}") == {"k": value}


# --- backup_vm: a stricter backup policy (issue 18) ---------------------------------


def backup_ticket(**permintaan: Any) -> dict[str, Any]:
    """A backup_vm ticket for dinkes/simpus (rahasia; its own policy daily/30)."""
    return {**base_ticket(), "jenis": "backup_vm", "permintaan": {"nama": "simpus", **permintaan}}


def test_backup_vm_tightens_the_policy_in_place(repo: Path, tmp_path: Path) -> None:
    result = render_ticket(TICKETS / "backup-vm.yaml", repo)
    branch = result.branch or ""
    assert changed_files(repo, branch) == ["opd/dinkes.yaml"]
    removed, added = branch_diff(repo, branch, "opd/dinkes.yaml")
    assert removed == ["    backup: {schedule: daily, retention_days: 30}"]
    assert added == ["    backup: {schedule: hourly, retention_days: 90}"]
    assert plan(repo, branch, tmp_path) == [("vms", "dinkes/simpus", "update")]
    after = desired_state(load_spec(checkout(repo, branch, tmp_path / "b")))
    policy = after["vms"]["dinkes/simpus"]["backup"]
    assert (policy["schedule"], policy["retention_days"], policy["copies"]) == ("hourly", 90, 2)
    message = git(repo, "log", "-1", "--format=%B", branch)
    assert "stricter backup policy for VM simpus: schedule hourly, retention days 90" in message


def test_backup_vm_on_a_one_line_vm_adds_the_policy(repo: Path, tmp_path: Path) -> None:
    """A publik VM with no policy of its own (weekly/28 minimum) asks daily, off-site."""
    path = write_ticket(
        tmp_path,
        {**backup_ticket(jadwal="daily", luar_lokasi=True), "permintaan": {
            "nama": "info-sehat", "jadwal": "daily", "luar_lokasi": True}},
    )  # fmt: skip
    result = render_ticket(path, repo)
    removed, added = branch_diff(repo, result.branch or "", "opd/dinkes.yaml")
    assert len(removed) == len(added) == 1
    assert added[0].endswith(
        "exposure: public, backup: {schedule: daily, copies: 2, offsite: true}}"
    )
    after = desired_state(load_spec(checkout(repo, result.branch or "", tmp_path / "b")))
    assert after["vms"]["dinkes/info-sehat"]["backup"]["repositories"] == ["primary", "offsite"]


def test_backup_vm_keeps_the_vms_data_paths(repo: Path, tmp_path: Path) -> None:
    """Tightening simpus-db's retention keeps its own data paths (the database's directory)."""
    path = write_ticket(
        tmp_path,
        {**backup_ticket(), "permintaan": {"nama": "simpus-db", "retensi_hari": 60}},
    )
    result = render_ticket(path, repo)
    removed, added = branch_diff(repo, result.branch or "", "opd/dinkes.yaml")
    assert removed == [
        "    backup: {schedule: hourly, retention_days: 14, paths: [/var/lib/postgresql]}"
    ]
    assert added == [
        "    backup: {schedule: hourly, retention_days: 60, paths: [/var/lib/postgresql]}"
    ]
    after = desired_state(load_spec(checkout(repo, result.branch or "", tmp_path / "b")))
    assert after["vms"]["dinkes/simpus-db"]["backup"]["paths"][-1] == "/var/lib/postgresql"


@pytest.mark.parametrize(
    ("permintaan", "field", "fragment", "hint"),
    [
        # Weaker than the rahasia minimum: the rule, in validate's words.
        ({"jadwal": "weekly"}, "permintaan.jadwal",
         "schedule weekly is weaker than the rahasia minimum", "never weaker"),
        ({"salinan": 1}, "permintaan.salinan",
         "copies 1 is weaker than the rahasia minimum", "never weaker"),
        # Within the class, but weaker than the VM's own policy today (30 days).
        ({"retensi_hari": 20}, "permintaan.retensi_hari",
         "retention_days is weaker than VM dinkes/simpus's policy today", "only tightens"),
        # Nothing stricter than today.
        ({"jadwal": "daily", "retensi_hari": 30}, "permintaan",
         "already has this backup policy", ""),
        ({"nama": "nope", "jadwal": "hourly"}, "permintaan.nama", "dinkes has no VM 'nope'", ""),
    ],
)  # fmt: skip
def test_backup_vm_is_refused_if_weaker(
    repo: Path, tmp_path: Path, permintaan: dict[str, Any], field: str, fragment: str, hint: str
) -> None:
    before = snapshot(repo)
    with pytest.raises(TicketRefused) as exc:
        render_ticket(write_ticket(tmp_path, backup_ticket(**permintaan)), repo)
    refusal = exc.value.refusals[0]
    assert refusal.field == field and fragment in refusal.reason, refusal
    assert hint in (refusal.hint or "")
    assert snapshot(repo) == before  # nothing written, no branch


def test_backup_vm_needs_something_to_ask(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from dcctl.tickets.models import TICKET_ADAPTER

    with pytest.raises(ValidationError, match="name at least one of jadwal"):
        TICKET_ADAPTER.validate_python(backup_ticket())
    with pytest.raises(ValidationError, match="luar_lokasi: true needs salinan: 2"):
        TICKET_ADAPTER.validate_python(backup_ticket(luar_lokasi=True, salinan=1))
