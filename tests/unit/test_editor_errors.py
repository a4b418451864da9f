"""Errors an editor causes, shown so the editor can fix them; edits that keep the file's layout.

Issue 19: paths from the current directory (file:line:col an editor jumps to), the
offending line with a caret, tabs / UTF-16 / BOM named as such, and CRLF files kept
CRLF by every edit dcctl makes (ticket render, lock).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dcctl.cli import app
from dcctl.files import read_layout
from dcctl.spec import load_spec
from dcctl.spec.errors import SpecErrors
from dcctl.tickets import render_ticket
from tests.conftest import EXAMPLE, ROOT
from tests.helpers import git, git_init_commit

TICKETS = ROOT / "examples" / "tickets"


def _errors(repo: Path) -> list:
    with pytest.raises(SpecErrors) as exc:
        load_spec(repo)
    return exc.value.errors


def test_error_path_is_relative_to_the_current_directory(
    spec_repo: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = spec_repo / "opd" / "dpmd.yaml"
    f.write_text(f.read_text().replace("sector: village_government", "sector: desaa"))
    # From inside opd/: the file is `dpmd.yaml`, an editor opens it from here.
    monkeypatch.chdir(spec_repo / "opd")
    r = cli.invoke(app, ["validate", ".."])
    assert r.exit_code == 1
    assert re.search(r"^error dpmd\.yaml:6:1: sector: ", r.output, re.M), r.output
    # From the repo root: opd/dpmd.yaml.
    monkeypatch.chdir(spec_repo)
    r = cli.invoke(app, ["validate", "."])
    assert re.search(r"^error opd/dpmd\.yaml:6:1: ", r.output, re.M), r.output
    # From outside: the spec path as given, then the file.
    monkeypatch.chdir(spec_repo.parent)
    r = cli.invoke(app, ["validate", "spec"])
    assert re.search(r"^error spec/opd/dpmd\.yaml:6:1: ", r.output, re.M), r.output
    # JSON (an error: on stderr, stdout stays empty) carries the same path, and the
    # spec-relative one.
    r = cli.invoke(app, ["validate", "spec", "-o", "json"])
    import json

    assert r.exit_code == 1 and r.stdout == ""
    err = json.loads(r.stderr)["errors"][0]
    assert err["file"] == "spec/opd/dpmd.yaml" and err["spec_file"] == "opd/dpmd.yaml"


def test_error_shows_the_source_line_with_a_caret(spec_repo: Path, cli: CliRunner) -> None:
    f = spec_repo / "opd" / "dpmd.yaml"
    text = f.read_text()
    assert "  - {name: siskeudes, " in text
    f.write_text(text.replace("  - {name: siskeudes, ", "  - {name: siskeudes, vcpus: 2, ", 1))
    r = cli.invoke(app, ["validate", str(spec_repo)])
    assert r.exit_code == 1
    lines = r.output.splitlines()
    i = next(n for n, ln in enumerate(lines) if "unknown field 'vcpus'" in ln)
    m = re.search(r"dpmd\.yaml:(\d+):(\d+):", lines[i])
    assert m, lines[i]
    line, col = int(m[1]), int(m[2])
    source = text.replace("  - {name: siskeudes, ", "  - {name: siskeudes, vcpus: 2, ", 1)
    src_line = source.splitlines()[line - 1]
    assert lines[i + 1] == f"{line:>5} | {src_line}"
    caret = lines[i + 2]
    assert caret.endswith("^") and caret.startswith("      | ")
    # the caret sits under the column the error names: the offending key
    assert src_line[len(caret) - len("      | ") - 1 :].startswith("vcpus")
    assert col == len(caret) - len("      | ")


def test_tab_indentation_is_named_with_its_place(spec_repo: Path, cli: CliRunner) -> None:
    f = spec_repo / "opd" / "dpmd.yaml"
    text = f.read_text()
    assert "\n  - {name: Bidang" in text
    f.write_text(text.replace("\n  - {name: Bidang", "\n\t- {name: Bidang"))
    (err,) = _errors(spec_repo)
    assert "tab character in the indentation" in err.message
    assert "spaces" in (err.hint or "")
    line = text.splitlines().index(next(ln for ln in text.splitlines() if "{name: Bidang" in ln))
    assert (err.file, err.line, err.column) == ("opd/dpmd.yaml", line + 1, 1)
    r = cli.invoke(app, ["validate", str(spec_repo)])
    assert "→- {name: Bidang" in r.output  # the tab made visible in the excerpt


@pytest.mark.parametrize(
    ("encoding", "bom", "name"),
    [("utf-16-le", b"\xff\xfe", "UTF-16 LE"), ("utf-16-be", b"\xfe\xff", "UTF-16 BE"),
     ("utf-16-le", b"", "UTF-16 LE")],
)  # fmt: skip
def test_utf16_file_is_named_as_such(spec_repo: Path, encoding: str, bom: bytes, name: str) -> None:
    f = spec_repo / "opd" / "dpmd.yaml"
    f.write_bytes(bom + f.read_text().encode(encoding))
    (err,) = _errors(spec_repo)
    assert err.file == "opd/dpmd.yaml"
    assert f"encoded as {name}" in err.message and "binary" not in err.message
    assert "UTF-8" in (err.hint or "")


def test_utf8_bom_at_the_start_is_accepted_one_inside_is_named(spec_repo: Path) -> None:
    f = spec_repo / "opd" / "dpmd.yaml"
    text = f.read_text()
    f.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert "dpmd" in load_spec(spec_repo).opds  # YAML allows a BOM at the start
    f.write_text(text.replace("sector:", "\ufeffsector:"))
    (err,) = _errors(spec_repo)
    assert "byte order mark (BOM, U+FEFF)" in err.message
    assert (err.line, err.column) == (6, 1)


# --- line endings kept by every edit ---------------------------------------------------


def _crlf(path: Path) -> None:
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def _all_crlf(data: bytes) -> bool:
    return data.count(b"\n") == data.count(b"\r\n") > 0


@pytest.fixture
def crlf_repo(tmp_path: Path) -> Path:
    """The example as a Git repo whose OPD file and lock were saved on Windows (CRLF)."""
    repo = tmp_path / "spec"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state"))
    load_spec(repo).allocation.lock().write(repo)
    _crlf(repo / "opd" / "dinkes.yaml")
    _crlf(repo / "dcctl.lock.yaml")
    return git_init_commit(repo, "spec saved with CRLF")


def test_ticket_render_keeps_crlf_and_changes_only_the_new_lines(crlf_repo: Path) -> None:
    result = render_ticket(TICKETS / "vm-baru.yaml", crlf_repo)
    branch = result.branch or ""
    numstat = git(crlf_repo, "diff", "--numstat", "main", branch).split("\n")
    assert sorted(ln for ln in numstat if ln) == [
        "1\t0\topd/dinkes.yaml",  # one VM: one line, not 67
        "2\t0\tdcctl.lock.yaml",
    ]
    for rel in ("opd/dinkes.yaml", "dcctl.lock.yaml"):
        data = subprocess.run(
            ["git", "-C", str(crlf_repo), "show", f"{branch}:{rel}"],
            capture_output=True,
            check=True,
        ).stdout
        assert _all_crlf(data), rel


def test_ticket_render_no_branch_keeps_crlf_and_bom(crlf_repo: Path) -> None:
    f = crlf_repo / "opd" / "dinkes.yaml"
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    git(crlf_repo, "commit", "-qam", "saved with a BOM")
    render_ticket(TICKETS / "vm-baru.yaml", crlf_repo, branch=False)
    data = f.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and _all_crlf(data)
    assert b"simpus-v2" in data
    assert _all_crlf((crlf_repo / "dcctl.lock.yaml").read_bytes())


def test_dcctl_lock_keeps_crlf(crlf_repo: Path, cli: CliRunner) -> None:
    lock = crlf_repo / "dcctl.lock.yaml"
    data = lock.read_bytes()
    kept = [ln for ln in data.split(b"\r\n") if b"dpmd/servers/siskeudes" not in ln]
    assert len(kept) < data.count(b"\r\n") + 1
    lock.write_bytes(b"\r\n".join(kept))  # a lost entry: `dcctl lock` allocates it again
    r = cli.invoke(app, ["lock", str(crlf_repo)])
    assert r.exit_code == 0, r.output
    data = lock.read_bytes()
    assert b"dpmd/servers/siskeudes" in data and _all_crlf(data)
    assert read_layout(lock)[1].newline == "\r\n"


# --- a collision is reported on the newer document ------------------------------------

DISPAR = """apiVersion: dcctl/v1
kind: Opd
code: dispar
name: Dinas Pariwisata
sector: pariwisata_typo
classification: publik
contacts:
  - {name: Sekretariat, role: Admin, email: dispar@wonosobokab.go.id}
quota: {vcpu: 2, memory_gb: 4, disk_gb: 100, vms: 1, cameras: 0}
buildings:
  - {name: kantor, location: Gedung Setda Lantai 2, switch: sw-setda, lan_ports: [Gi1/0/5]}
offices:
  - {name: tic, location: Pusat Informasi Wisata, router: linux, wan_address: 198.51.100.41}
""".replace("pariwisata_typo", "other")


@pytest.fixture
def committed(tmp_path: Path) -> Path:
    repo = tmp_path / "spec"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state"))
    return git_init_commit(repo)


def test_collision_is_placed_on_the_new_file(committed: Path) -> None:
    """The new opd/dispar.yaml takes kominfo's port and dpmd's WAN address: dispar is wrong.

    dispar sorts before kominfo, so first-come order alone would blame kominfo.
    """
    (committed / "opd" / "dispar.yaml").write_text(DISPAR)
    errors = _errors(committed)
    assert [(e.file, e.path) for e in errors] == [
        ("opd/dispar.yaml", "buildings[0].lan_ports[0]"),
        ("opd/dispar.yaml", "offices[0].wan_address"),
    ]
    assert "already used by kominfo building kantor (opd/kominfo.yaml)" in errors[0].message
    assert "already used by dpmd/kec-leksono (opd/dpmd.yaml)" in errors[1].message


def test_collision_follows_the_changed_file(committed: Path) -> None:
    """dispar committed with a free port; then kominfo is edited onto dispar's port."""
    (committed / "opd" / "dispar.yaml").write_text(
        DISPAR.replace("Gi1/0/5", "Gi1/0/11").replace("198.51.100.41", "198.51.100.90")
    )
    load_spec(committed)  # valid
    git(committed, "add", "-A")
    git(committed, "commit", "-qm", "dispar")
    kominfo = committed / "opd" / "kominfo.yaml"
    kominfo.write_text(kominfo.read_text().replace("lan_ports: [Gi1/0/5]", "lan_ports: [Gi1/0/11]"))
    (err,) = _errors(committed)
    assert (err.file, err.path) == ("opd/kominfo.yaml", "buildings[0].lan_ports[0]")
    assert "already used by dispar building kantor (opd/dispar.yaml)" in err.message


def test_duplicate_opd_code_is_placed_on_the_new_file(committed: Path) -> None:
    (committed / "opd" / "aaa-copy.yaml").write_text(
        (committed / "opd" / "kominfo.yaml").read_text()
    )
    errs = [e for e in _errors(committed) if "duplicate OPD code" in e.message]
    assert [(e.file, e.hint) for e in errs] == [
        ("opd/aaa-copy.yaml", "already used by opd/kominfo.yaml")
    ]
