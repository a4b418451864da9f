"""Robust files (issue 15): races, links, full disks, bombs and terminal escapes.

Each test reproduces one finding of the audit on a copy of the example and fails if
it comes back: concurrent lock writers colliding on one temp name, a ticket writing
through an ``opd/*.yaml`` link to a file outside the repo, an empty passphrase file
used as the passphrase, a cheap scrypt, an alias bomb in ``dcctl.lock.yaml``, a port
range of two million ports, and raw ESC/OSC sequences reaching the terminal.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dcctl.cli import app
from dcctl.engines.credentials import CredentialError, passphrase
from dcctl.files import UnsafePathError, atomic_write
from dcctl.plan.diff import SnapshotError, read_snapshot
from dcctl.spec import SpecErrors, load_spec
from dcctl.spec.ipam import LOCK_FILE, Lock
from dcctl.vpn import keystore as ks
from dcctl.vpn.keystore import KeyStore, KeystoreError
from tests.helpers import assert_edit_refused, git_init_commit

# --- atomic writes and the IPAM lock's lock -----------------------------------------


def _writer(root: str, seed: int, rounds: int, out: multiprocessing.Queue) -> None:
    errors = 0
    for i in range(rounds):
        try:
            Lock(vlans={f"w{seed}/servers": 100 + i}).write(Path(root))
        except Exception:  # every failure counts; none may happen
            errors += 1
    out.put(errors)


def test_concurrent_lock_writers_never_fail(tmp_path: Path) -> None:
    """8 writers x 25 rounds (the audit used 200; 25 is enough to collide every time)."""
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), n, 25, out)) for n in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 8
    assert sum(out.get(timeout=5) for _ in procs) == 0
    assert Lock.read(tmp_path).vlans  # the last write is whole
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_FILE]  # no temp file left behind


def test_dcctl_lock_waits_for_the_spec_roots_lock(spec_repo: Path, cli: CliRunner) -> None:
    """`dcctl lock` takes the lock: while another process holds it, it waits."""
    (spec_repo / LOCK_FILE).unlink()
    holder = subprocess.Popen(["flock", str(spec_repo), "sleep", "2"])
    try:
        time.sleep(0.3)
        start = time.monotonic()
        r = cli.invoke(app, ["lock", str(spec_repo)])
        waited = time.monotonic() - start
    finally:
        holder.wait(10)
    assert r.exit_code == 0, r.output
    assert waited >= 1.2, f"dcctl lock did not wait for the lock ({waited:.2f} s)"
    assert (spec_repo / LOCK_FILE).exists()


def test_atomic_write_refuses_links_and_keeps_modes(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.yaml").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        atomic_write(tree / "link.yaml", "x")
    (tree / "sub").symlink_to(tmp_path)  # a directory link out of the tree
    with pytest.raises(UnsafePathError, match="outside"):
        atomic_write(tree / "sub" / "new.txt", "x", root=tree)
    assert outside.read_text() == "precious\n" and not (tmp_path / "new.txt").exists()
    atomic_write(tree / "secret", "s", mode=0o600)
    atomic_write(tree / "secret", "t")  # keeps the existing mode
    assert (tree / "secret").stat().st_mode & 0o777 == 0o600


# --- symlinks out of the repo ---------------------------------------------------------


def test_opd_symlink_out_of_the_repo_is_refused(spec_repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text((spec_repo / "opd" / "dpmd.yaml").read_text())
    (spec_repo / "opd" / "dpmd.yaml").unlink()
    (spec_repo / "opd" / "dpmd.yaml").symlink_to(outside)
    with pytest.raises(SpecErrors, match="symbolic link leading outside"):
        load_spec(spec_repo)


def test_ticket_never_writes_through_an_opd_symlink(spec_repo: Path, tmp_path: Path) -> None:
    """The audit's case: a refused ticket wrote the OPD file's target outside the repo."""
    from dcctl.tickets import TicketRefused, render_ticket

    outside = tmp_path / "elsewhere.yaml"
    before = (spec_repo / "opd" / "dinkes.yaml").read_text()
    outside.write_text(before)
    (spec_repo / "opd" / "dinkes.yaml").unlink()
    (spec_repo / "opd" / "dinkes.yaml").symlink_to(outside)
    git_init_commit(spec_repo)
    ticket = Path(__file__).parents[2] / "examples" / "tickets" / "vm-baru.yaml"
    for branch in (True, False):
        with pytest.raises(TicketRefused):
            render_ticket(ticket, spec_repo, branch=branch)
    assert outside.read_text() == before


def test_lock_file_symlink_is_neither_read_nor_written(spec_repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "lock.yaml"
    outside.write_text((spec_repo / LOCK_FILE).read_text())
    (spec_repo / LOCK_FILE).unlink()
    (spec_repo / LOCK_FILE).symlink_to(outside)
    with pytest.raises(SpecErrors, match="symbolic link"):
        load_spec(spec_repo)
    with pytest.raises(UnsafePathError):
        Lock(vlans={"x/servers": 100}).write(spec_repo)
    assert "x/servers" not in outside.read_text()


# --- the passphrase -------------------------------------------------------------------


@pytest.fixture
def pass_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DCCTL_PASSPHRASE", raising=False)
    path = tmp_path / "cfg" / "passphrase"
    monkeypatch.setenv("DCCTL_PASSPHRASE_FILE", str(path))
    return path


def test_empty_passphrase_file_is_an_error(pass_file: Path) -> None:
    pass_file.parent.mkdir()
    for content in ("", "\n", "   \n"):
        pass_file.write_text(content)
        with pytest.raises(CredentialError, match="is empty"):
            passphrase()


def test_blank_passphrase_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCCTL_PASSPHRASE", "   ")
    with pytest.raises(CredentialError, match="blank"):
        passphrase()


def _first_run(out: multiprocessing.Queue) -> None:
    out.put(passphrase())


def test_first_runs_agree_on_one_private_passphrase(pass_file: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = ctx.Queue()
    procs = [ctx.Process(target=_first_run, args=(out,)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    seen = {out.get(timeout=5) for _ in procs}
    assert len(seen) == 1 and len(seen.pop()) >= 32
    assert pass_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in pass_file.parent.iterdir()] == ["passphrase"]


def test_full_disk_leaves_no_empty_passphrase(
    pass_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dcctl.files as files

    real = os.fdopen

    def full(fd: int, *a: object, **kw: object) -> object:
        fh = real(fd, *a, **kw)  # type: ignore[call-overload]

        def write(_data: bytes) -> int:
            raise OSError(28, "No space left on device")

        fh.write = write
        return fh

    monkeypatch.setattr(files.os, "fdopen", full)
    with pytest.raises(OSError, match="No space"):
        passphrase()
    assert not pass_file.exists()
    assert list(pass_file.parent.iterdir()) == []  # no temp file either


# --- scrypt ---------------------------------------------------------------------------


def test_keystore_scrypt_cost(tmp_path: Path) -> None:
    path = tmp_path / "keys.enc"
    store = KeyStore(path, "pass phrase")
    store.ensure(["hub"])
    assert json.loads(path.read_text())["kdf"]["n"] >= 2**17


def test_old_keystore_is_read_then_upgraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.enc"
    monkeypatch.setattr(ks, "_SCRYPT", {"n": 2**15, "r": 8, "p": 1})  # a store of before
    KeyStore(path, "pw").ensure(["hub"])
    old_private = KeyStore(path, "pw").pair("hub").private
    assert json.loads(path.read_text())["kdf"]["n"] == 2**15
    monkeypatch.undo()
    store = KeyStore(path, "pw")
    assert store.pair("hub").private == old_private  # read with the N it names
    store.ensure(["hub", "dinkes/pkm"])  # the next write re-seals at today's cost
    doc = json.loads(path.read_text())
    assert doc["kdf"]["n"] == 2**17
    assert KeyStore(path, "pw").pair("hub").private == old_private


def test_tampered_scrypt_cost_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "keys.enc"
    KeyStore(path, "pw").ensure(["hub"])
    doc = json.loads(path.read_text())
    doc["kdf"]["n"] = 2**30  # would ask scrypt for 1 TiB
    path.write_text(json.dumps(doc))
    start = time.monotonic()
    with pytest.raises(KeystoreError, match="out of bounds"):
        KeyStore(path, "pw").pair("hub").private  # noqa: B018
    assert time.monotonic() - start < 2


# --- one YAML loader with limits --------------------------------------------------------

# 433 bytes: 9 levels of 10 aliases each expand to 10^9 values.
BOMB = "a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
)


def test_alias_bomb_in_the_lock_refused_quickly(spec_repo: Path) -> None:
    (spec_repo / LOCK_FILE).write_text(BOMB)
    start = time.monotonic()
    with pytest.raises(SpecErrors) as exc:
        load_spec(spec_repo)
    assert time.monotonic() - start < 5
    assert any(e.file == LOCK_FILE and "too many values" in e.message for e in exc.value.errors), (
        exc.value
    )


def test_snapshot_limits(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    deep = '{"target": "prod", "state": ' + "[" * 5000 + "]" * 5000 + "}"
    (state / "snapshot.json").write_text(deep)
    with pytest.raises(SnapshotError, match=r"deeper|not a readable"):
        read_snapshot(state, "prod")
    (state / "snapshot.json").write_bytes(b'{"target": "prod", "x": "' + b"y" * 5_000_000 + b'"}')
    with pytest.raises(SnapshotError, match="byte limit"):
        read_snapshot(state, "prod")


# --- bounded port ranges ------------------------------------------------------------------

PORT_CASES = [
    ("Gi1/0/1-2000000", "at most 5 digits"),
    ("Gi1/0/1-99999", "a range names at most 1024"),
    ("Gi1/0/1-1025", "a range names at most 1024"),
    ("Gi1/0/24-1", "from low to high"),
    ("Gi1/0/1234567", "at most 5 digits"),
    ("Gi1/0/" + "1" * 40, "at most 40 characters"),
]


@pytest.mark.parametrize(("ports", "why"), PORT_CASES)
def test_port_ranges_bounded(spec_repo: Path, ports: str, why: str) -> None:
    start = time.monotonic()
    assert_edit_refused(
        spec_repo,
        "site.yaml",
        "ports: [Te1/1/1-4, Gi1/0/1-8]",
        f"ports: [Te1/1/1-4, Gi1/0/1-8, {ports}]",
        "switches[0].ports",
        why,
    )
    assert time.monotonic() - start < 5


def test_too_many_ports_on_one_switch(spec_repo: Path) -> None:
    many = ", ".join(f"Gi{m}/0/1-1000" for m in range(1, 6))
    assert_edit_refused(
        spec_repo,
        "site.yaml",
        "ports: [Te1/1/1-4, Gi1/0/1-8]",
        f"ports: [Te1/1/1-4, {many}]",
        "switches[0].ports",
        "a switch has at most 4096",
    )


# --- control characters escaped in every message -----------------------------------------

ESCAPES = ["\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "\x9b31m", "\u202egnp.exe", "\x1bP+q\x1b\\"]


@pytest.mark.parametrize("seq", ESCAPES)
def test_control_characters_from_a_yaml_key_never_reach_the_terminal(
    spec_repo: Path, cli: CliRunner, seq: str
) -> None:
    key = json.dumps("sektor" + seq)  # a double-quoted YAML key carries any character
    f = spec_repo / "opd" / "bapenda.yaml"
    f.write_text(f.read_text().replace("sector: finance", f"sector: finance\n{key}: x", 1))
    for args in (["validate", str(spec_repo)], ["validate", str(spec_repo), "-o", "json"]):
        r = cli.invoke(app, args)
        assert r.exit_code == 1
        controls = [c for c in seq if not c.isprintable()]
        assert controls and not any(c in r.output for c in controls), repr(r.output)
        assert "sektor" in r.output


def test_control_characters_in_a_file_name_are_escaped(spec_repo: Path, cli: CliRunner) -> None:
    (spec_repo / "opd" / "x\x1b]0;t\x07.yaml").write_text("kind: [\n")
    r = cli.invoke(app, ["validate", str(spec_repo)])
    assert r.exit_code == 1 and "\x1b" not in r.output and "\\x1b" in r.output


def test_escape_helper_shows_what_was_there() -> None:
    from dcctl.spec.errors import printable

    assert printable("a\x1b[31mb") == "a\\x1b[31mb"
    assert printable("x\u202ey") == "x\\u202ey"
    assert printable("line\nnext", keep_newlines=True) == "line\nnext"
    assert printable("plain text") == "plain text"
