"""Pinned SSH host keys: the file, and a real SSH server that must never get the password.

The impostor is a real SSH server (asyncssh, in this process) that records
every password offered to it. The switch engine connects through netmiko
exactly as in production; with the key unknown or changed the server must see
no password at all, and with the right key pinned (the control) it does, so
the test can tell a refusal from a broken server. Fingerprints are checked
against ``ssh-keygen -lf``, an oracle dcctl did not write.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dcctl import targets
from dcctl.engines.switches.engine import SwitchTarget, backup_switch
from dcctl.spec import load_spec
from dcctl.ssh.knownhosts import HostKeyError, KnownHosts, fingerprint, scan
from tests.conftest import EXAMPLE
from tests.sshserver import Impostor

asyncssh = pytest.importorskip("asyncssh")


@pytest.fixture
def impostor() -> Iterator[Impostor]:
    server = Impostor(asyncssh.generate_private_key("ssh-ed25519"))
    yield server
    server.stop()


def _target(server: Impostor, known: Path) -> SwitchTarget:
    return SwitchTarget(
        "sw-core",
        {"vendor": "cisco_ios"},
        "127.0.0.1",
        "admin",
        "the-switch-password",
        server.port,
        known_hosts=known,
    )


def test_unknown_key_gets_no_password(impostor: Impostor, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    res = backup_switch(_target(impostor, known), tmp_path / "backups")
    assert res.status == "failed"
    assert "sw-core: no pinned host key" in res.error and "dcctl hostkeys trust" in res.error
    assert impostor.passwords == []


def test_changed_key_is_refused_naming_the_device(impostor: Impostor, tmp_path: Path) -> None:
    known = KnownHosts(tmp_path / "known_hosts")
    real = asyncssh.generate_private_key("ssh-ed25519")
    real_line = real.export_public_key("openssh").decode()
    known.record("sw-core", "127.0.0.1", impostor.port, real_line)
    res = backup_switch(_target(impostor, known.path), tmp_path / "backups")
    assert res.status == "failed"
    assert "switch sw-core: HOST KEY CHANGED" in res.error, res.error
    assert fingerprint(real_line) in res.error and fingerprint(impostor.keyline) in res.error
    assert impostor.passwords == []


def test_control_the_pinned_key_is_accepted_and_the_login_proceeds(
    impostor: Impostor, tmp_path: Path
) -> None:
    known = KnownHosts(tmp_path / "known_hosts")
    known.record("sw-core", "127.0.0.1", impostor.port, impostor.keyline)
    res = backup_switch(_target(impostor, known.path), tmp_path / "backups")
    assert res.status == "failed"  # the impostor refuses every password
    assert "HOST KEY" not in res.error and "no pinned" not in res.error
    assert ("admin", "the-switch-password") in impostor.passwords


def test_scan_reads_the_offered_key_and_fingerprints_match_ssh_keygen(
    impostor: Impostor, tmp_path: Path
) -> None:
    if shutil.which("ssh-keyscan") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("openssh-client missing (apt-get install openssh-client)")
    keyline = scan("127.0.0.1", impostor.port)
    assert keyline.split()[:2] == impostor.keyline.split()[:2]
    pub = tmp_path / "key.pub"
    pub.write_text(keyline + "\n")
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[1] == fingerprint(keyline)


def test_record_pins_once_and_refuses_a_different_key(tmp_path: Path) -> None:
    a = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    b = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    known = KnownHosts(tmp_path / "ssh" / "known_hosts")
    assert known.record("sw-core", "10.255.0.11", 22, a) == "added"
    assert known.record("sw-core", "10.255.0.11", 22, a) == "same"
    with pytest.raises(HostKeyError, match=re.escape("sw-core: HOST KEY CHANGED at 10.255.0.11")):
        known.record("sw-core", "10.255.0.11", 22, b)
    assert known.get("sw-core").keyline == " ".join(a.split()[:2])  # type: ignore[union-attr]
    assert known.record("sw-core", "10.255.0.11", 22, b, replace=True) == "replaced"
    # Another device taking the address drops the old pin: one device per address.
    assert known.record("sw-new", "10.255.0.11", 22, a) == "added"
    assert set(known.entries()) == {"sw-new"}
    text = known.path.read_text()
    assert "sw-new,10.255.0.11 ssh-ed25519 " in text
    known.record("sw-alt", "127.0.0.1", 2222, b)
    assert "sw-alt,[127.0.0.1]:2222 ssh-ed25519 " in known.path.read_text()
    with pytest.raises(HostKeyError, match="no pinned host key"):
        known.check("sw-missing", "10.0.0.1", 22, a)
    with pytest.raises(HostKeyError, match=re.escape("pinned at [127.0.0.1]:2222, not 10.0.0.9")):
        known.check("sw-alt", "10.0.0.9", 22, b)
    known.check("sw-alt", "127.0.0.1", 2222, b)


@pytest.mark.parametrize(
    "bad",
    [
        "ssh-ed25519",  # no key
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP",  # a type dcctl does not pin
        "ssh-ed25519 not*base64",
        # An RSA blob presented as ed25519.
        "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQC7",
    ],
)
def test_malformed_keys_and_names_are_refused(tmp_path: Path, bad: str) -> None:
    known = KnownHosts(tmp_path / "known_hosts")
    with pytest.raises(HostKeyError):
        known.record("sw-core", "10.0.0.1", 22, bad)
    good = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    for name in ("sw core", "a,b", "\x1b[31m", ""):
        with pytest.raises(HostKeyError):
            known.record(name, "10.0.0.1", 22, good)
    with pytest.raises(HostKeyError):
        known.record("sw-core", "10.0.0.1 -oProxyCommand=x", 22, good)
    assert not known.path.exists()


def test_every_switch_the_layer_connects_to_is_pinned_against_the_targets_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dcctl.engines.switches.layer import switch_targets
    from dcctl.spec.credentials import credential_uses

    spec = load_spec(EXAMPLE)
    # The switches' passwords, and the radio key and Wi-Fi passphrases radios and APs
    # are configured with (issue 20): every env: reference of the spec.
    for use in credential_uses(spec.site, spec.opds):
        kind, _, var = use.ref.partition(":")
        if kind == "env":
            monkeypatch.setenv(var, "x")
    reachable, failed = switch_targets(spec, "prod")
    assert not failed and len(reachable) == len(spec.site.switches)
    expected = targets.get("prod").known_hosts(spec)
    assert expected == spec.state_dir / "ssh" / "known_hosts"
    assert {t.known_hosts for t in reachable} == {expected}


def test_hostkeys_list_reads_only_and_trust_refuses_unknown_devices(
    cli: Any, spec_repo: Path
) -> None:
    import json

    from dcctl.cli import app
    from dcctl.ssh.cli import hostkeys_app

    app.add_typer(hostkeys_app, name="hostkeys")  # what `run()` mounts for this command
    spec = load_spec(spec_repo)
    known = KnownHosts(targets.get("prod").known_hosts(spec))
    before = sorted(p.relative_to(spec_repo) for p in spec_repo.rglob("*"))
    res = cli.invoke(app, ["hostkeys", "list", str(spec_repo), "--output", "json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.output)["devices"]}
    assert {sw.name for sw in spec.site.switches} <= set(rows)
    assert not any(r["pinned"] for r in rows.values())
    assert sorted(p.relative_to(spec_repo) for p in spec_repo.rglob("*")) == before

    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()
    sw = spec.site.switches[0]
    known.record(sw.name, str(sw.mgmt_address), 22, key)
    res = cli.invoke(app, ["hostkeys", "list", str(spec_repo), "--output", "json"])
    rows = {r["name"]: r for r in json.loads(res.output)["devices"]}
    assert rows[sw.name]["fingerprint"] == fingerprint(key)

    res = cli.invoke(app, ["hostkeys", "trust", str(spec_repo), "no-such-device"])
    assert res.exit_code == 2 and "not an SSH device of the spec: no-such-device" in res.output
