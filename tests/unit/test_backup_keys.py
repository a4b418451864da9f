"""The backup keystore and the backup roles' variables: per-OPD keys, sealed, isolated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dcctl.backup.ansible import CLIENT_GROUP, REPOSITORY_GROUP, build_role_vars, open_keys
from dcctl.backup.keys import BackupKeys, KeystoreError, keys_dir, password_name, ssh_name


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCCTL_PASSPHRASE", "unit-test-passphrase")


def _state() -> dict[str, Any]:
    def repo(code: str, vm: str, host: str) -> dict[str, str]:
        path = f"/srv/backup/{code}"
        return {"vm": vm, "host": host, "path": path, "url": f"sftp:bk-{code}@{host}:{path}"}

    return {
        "backup": {
            "dinkes": {
                "opd": "dinkes",
                "user": "bk-dinkes",
                "key": password_name("dinkes"),
                "repositories": {
                    "primary": repo("dinkes", "kominfo/backup", "10.20.0.5"),
                    "offsite": repo("dinkes", "kominfo/backup-dr", "10.20.0.6"),
                },
                "vms": ["dinkes/simpus-db", "dinkes/simpus"],
            },
            "dpmd": {
                "opd": "dpmd",
                "user": "bk-dpmd",
                "key": password_name("dpmd"),
                "repositories": {"primary": repo("dpmd", "kominfo/backup", "10.20.0.5")},
                "vms": ["dpmd/siskeudes"],
            },
        },
        "vms": {
            "dinkes/simpus": {"opd": "dinkes", "role": "app",
                              "backup": {"schedule": "daily", "retention_days": 30,
                                         "repositories": ["primary", "offsite"]}},
            "dinkes/simpus-db": {"opd": "dinkes", "role": "db",
                                 "backup": {"schedule": "hourly", "retention_days": 14,
                                            "repositories": ["primary", "offsite"]}},
            "dpmd/siskeudes": {"opd": "dpmd", "role": "nvr",
                               "backup": {"schedule": "daily", "retention_days": 30,
                                          "repositories": ["primary"]}},
        },
    }  # fmt: skip


def test_keys_are_per_opd_sealed_and_checked(tmp_path: Path) -> None:
    store = BackupKeys(keys_dir(tmp_path, "lab"))
    made = store.ensure([password_name("dinkes"), ssh_name("dinkes"), password_name("dpmd")])
    assert len(made) == 3
    assert keys_dir(tmp_path, "lab") == tmp_path / "backup" / "lab"
    again = BackupKeys(keys_dir(tmp_path, "lab"))
    pw = again.pair(password_name("dinkes")).private
    assert len(pw) >= 40 and pw != again.pair(password_name("dpmd")).private
    assert again.public_key(password_name("dinkes")).startswith("sha256:")
    ssh = again.pair(ssh_name("dinkes"))
    assert ssh.public.startswith("ssh-ed25519 ") and "OPENSSH PRIVATE KEY" in ssh.private
    texts = {p.name: p.read_text() for p in again.paths}
    assert sorted(texts) == ["passwords.enc", "ssh.enc"]
    for path in again.paths:
        assert path.stat().st_mode & 0o777 == 0o600
    assert not any(pw in s or ssh.private.splitlines()[3] in s for s in texts.values())
    # A public half swapped in the file is detected (bound to the ciphertext).
    ssh_file = keys_dir(tmp_path, "lab") / "ssh.enc"
    doc = json.loads(ssh_file.read_text())
    doc["public"][ssh_name("dinkes")] = again.public_key(ssh_name("dinkes"))[:-4] + "AAAA"
    ssh_file.write_text(json.dumps(doc))
    with pytest.raises(KeystoreError):
        BackupKeys(keys_dir(tmp_path, "lab")).pair(ssh_name("dinkes"))
    with pytest.raises(KeystoreError, match="not a backup key name"):
        BackupKeys(tmp_path / "other").ensure(["hub"])


def test_reading_creates_no_key(tmp_path: Path) -> None:
    store = open_keys(_state(), tmp_path, "prod", create=False)
    assert store.has(password_name("dinkes")) and store.has(ssh_name("dpmd"))
    assert not (tmp_path / "backup").exists()


def test_role_vars_keep_each_opd_to_its_own_account(tmp_path: Path) -> None:
    state = _state()
    store = open_keys(state, tmp_path, "prod", create=True)
    rv = build_role_vars(state, store, {"kominfo-backup": "ssh-ed25519 AAAAprimary"})
    assert rv.groups == {
        REPOSITORY_GROUP: ["kominfo-backup", "kominfo-backup-dr"],
        CLIENT_GROUP: ["dinkes-simpus", "dinkes-simpus-db", "dpmd-siskeudes"],
    }
    accounts = {a["opd"]: a for a in rv.public["backup_repository_accounts"]}
    assert accounts["dinkes"]["public_key"] == store.public_key(ssh_name("dinkes"))
    assert accounts["dpmd"]["public_key"] == store.public_key(ssh_name("dpmd"))
    assert accounts["dinkes"]["hosts"] == ["kominfo-backup", "kominfo-backup-dr"]
    assert accounts["dpmd"]["hosts"] == ["kominfo-backup"]  # no off-site copy, no account there
    clients = {h: v["backup_client_host"] for h, v in rv.hostvars.items()}
    db = clients["dinkes-simpus-db"]
    assert db["schedule"] == "hourly" and db["retention_days"] == 14
    assert set(db["repositories"]) == {"primary", "offsite"}
    assert db["repositories"]["primary"]["host_key"] == "ssh-ed25519 AAAAprimary"
    assert db["repositories"]["offsite"]["host_key"] == ""  # not pinned: a strict login fails
    # One VM per repository creates it: the OPD's first VM using the most of them.
    made = {h: c["initialise"] for h, c in clients.items() if c["initialise"]}
    assert made == {"dinkes-simpus": ["offsite", "primary"], "dpmd-siskeudes": ["primary"]}
    # The OPD's first VM by name may be a publik one without the off-site copy: the
    # off-site repository is then still made by one VM only, with the primary before it.
    state["backup"]["dinkes"]["vms"].append("dinkes/info")
    state["vms"]["dinkes/info"] = {
        "opd": "dinkes",
        "role": "web",
        "backup": {"schedule": "daily", "retention_days": 7, "repositories": ["primary"]},
    }
    clients = {
        h: v["backup_client_host"] for h, v in build_role_vars(state, store, {}).hostvars.items()
    }
    made = {h: c["initialise"] for h, c in clients.items() if c["initialise"]}
    assert made == {"dinkes-simpus": ["offsite", "primary"], "dpmd-siskeudes": ["primary"]}
    assert clients["dpmd-siskeudes"]["excludes"] == ["/srv/cctv"]
    # Secrets only in the secret part; nothing secret in the public part.
    public = json.dumps(rv.public)
    for code in ("dinkes", "dpmd"):
        assert rv.secret["backup_client_passwords"][code] not in public
        assert store.pair(ssh_name(code)).private.splitlines()[1] not in public


def test_backup_vms_accept_sftp_from_exactly_their_clients() -> None:
    """The example: each backup VM's firewall opens SSH to the VMs backing up into it (and
    management) only; a DMZ VM with a policy may reach its backup VM's SFTP, nothing else."""
    import netaddr

    from dcctl.backup.repositories import sftp_clients
    from dcctl.firewall.flows import vm_flows
    from dcctl.lab.dmz import rules
    from dcctl.plan.desired import desired_state
    from dcctl.spec import load_spec
    from tests.conftest import EXAMPLE

    spec = load_spec(EXAMPLE)
    state = desired_state(spec)
    clients = sftp_clients(state)
    site = spec.site.backup
    assert site is not None and set(clients) == {site.vm, site.offsite_vm}
    # Only VMs keeping two copies reach the off-site VM.
    assert all(state["vms"][k]["backup"]["copies"] == 2 for k in clients[str(site.offsite_vm)])
    flows = vm_flows(spec, state)
    for repo_vm, keys in clients.items():
        (sftp,) = [f for f in flows[repo_vm] if f.why.startswith("SFTP")]
        allowed = netaddr.IPSet(sftp.sources)
        want = {state["vms"][k]["address"].split("/")[0] for k in keys}
        assert allowed == netaddr.IPSet(want), repo_vm
    # No other VM opens SSH beyond management.
    others = [k for k in flows if k not in clients]
    assert not any(f.why.startswith("SFTP") for k in others for f in flows[k])
    # The gateway: a public (DMZ) VM with a policy gets exactly one way in, its backup VM's SSH.
    primary = state["vms"][site.vm]["address"].split("/")[0] + "/32"
    dmz_clients = [
        state["vms"][k]["address"].split("/")[0] + "/32"
        for k in clients[site.vm]
        if state["vms"][k]["exposure"] == "public"
    ]
    assert dmz_clients
    holes = [r for r in rules(spec, state) if "--dport" in r and r[r.index("--dport") + 1] == "22"]
    assert {(r[1], r[3]) for r in holes} == {(c, primary) for c in dmz_clients}
