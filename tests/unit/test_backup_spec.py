"""Backup policy in the spec (issue 18): class minimums, stricter-never-weaker, repositories.

The rules are checked on edits of the example (where a reader sees the real file, line
and field) and on small specs built here, whose numbers follow from their own lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dcctl.cli import app
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from dcctl.spec.backup import WEAKER_HINT
from tests.helpers import assert_edit_refused, edit_file, spec_error
from tests.specs import OpdSpec, VmSpec, build_spec

#: The example's rahasia database policy (opd/dinkes.yaml, vms[1]).
DB_POLICY = "backup: {schedule: hourly, retention_days: 14, paths: [/var/lib/postgresql]}"


def test_the_examples_policies_follow_class_minimums(spec_repo: Path) -> None:
    vms = desired_state(load_spec(spec_repo))["vms"]
    # rahasia: the VM's own hourly/14 (stricter than daily), and the class's two copies.
    assert vms["dinkes/simpus-db"]["backup"] == {
        "schedule": "hourly",
        "retention_days": 14,
        "copies": 2,
        "offsite": True,
        "encrypted": True,
        "repositories": ["primary", "offsite"],
        "paths": ["/etc", "/home", "/root", "/srv", "/var/backups", "/var/lib/postgresql"],
        "stale_after_s": 7200,
    }
    # rahasia with its own longer retention; the class's schedule and copies.
    assert vms["dinkes/simpus"]["backup"]["retention_days"] == 30
    assert vms["dinkes/simpus"]["backup"]["copies"] == 2
    # publik with nothing of its own: the publik minimum, one copy.
    info = vms["dinkes/info-sehat"]["backup"]
    assert (info["schedule"], info["retention_days"], info["copies"]) == ("weekly", 28, 1)
    assert info["repositories"] == ["primary"] and info["stale_after_s"] == 14 * 86400
    # terbatas NVR: the class's daily minimum (no more opting out with schedule: none).
    assert vms["kominfo/nvr"]["backup"]["schedule"] == "daily"
    # The backup VMs are not backed up into themselves.
    for key in ("kominfo/backup", "kominfo/backup-dr"):
        assert vms[key]["backup"]["schedule"] == "none"
        assert vms[key]["backup"]["repositories"] == []


def test_each_opd_has_its_own_repositories_account_and_key(spec_repo: Path) -> None:
    state = desired_state(load_spec(spec_repo))
    layer, vms = state["backup"], state["vms"]
    primary = vms["kominfo/backup"]["address"].split("/")[0]
    offsite = vms["kominfo/backup-dr"]["address"].split("/")[0]
    dinkes = layer["dinkes"]
    assert dinkes["user"] == "bk-dinkes" and dinkes["key"] == "backup/dinkes"
    assert dinkes["vms"] == ["dinkes/info-sehat", "dinkes/simpus", "dinkes/simpus-db"]
    assert dinkes["repositories"] == {
        "primary": {
            "vm": "kominfo/backup",
            "host": primary,
            "path": "/srv/backup/dinkes",
            "url": f"sftp:bk-dinkes@{primary}:/srv/backup/dinkes",
        },
        "offsite": {
            "vm": "kominfo/backup-dr",
            "host": offsite,
            "path": "/srv/backup/dinkes",
            "url": f"sftp:bk-dinkes@{offsite}:/srv/backup/dinkes",
        },
    }
    # A terbatas OPD keeps one copy: no off-site repository of its own.
    assert list(layer["disdik"]["repositories"]) == ["primary"]
    # No two OPDs share an account, a key or a path.
    for field in ("user", "key"):
        values = [rec[field] for rec in layer.values()]
        assert len(values) == len(set(values))
    # Every VM with a policy is in exactly its own OPD's record.
    listed = [k for rec in layer.values() for k in rec["vms"]]
    with_policy = [k for k, v in vms.items() if v["backup"]["schedule"] != "none"]
    assert sorted(listed) == sorted(with_policy)
    assert all(k.split("/")[0] == code for code, rec in layer.items() for k in rec["vms"])


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        (
            DB_POLICY,
            DB_POLICY.replace("hourly", "weekly"),
            "vms[1].backup.schedule",
            "schedule weekly is weaker than the rahasia minimum (site.yaml "
            "backup.policy.rahasia): daily",
        ),
        (
            DB_POLICY,
            DB_POLICY.replace("14", "7"),
            "vms[1].backup.retention_days",
            "retention_days 7 is weaker than the rahasia minimum",
        ),
        (
            DB_POLICY,
            DB_POLICY.replace("retention_days: 14", "offsite: false"),
            "vms[1].backup.offsite",
            "offsite false is weaker than the rahasia minimum",
        ),
        (
            DB_POLICY,
            DB_POLICY.replace("hourly, retention_days: 14", "none"),
            "vms[1].backup.schedule",
            "schedule none is weaker than the rahasia minimum",
        ),
    ],
)
def test_a_weaker_vm_policy_is_refused_naming_the_rule(
    spec_repo: Path, old: str, new: str, field: str, fragment: str
) -> None:
    line = _line_of(spec_repo / "opd/dinkes.yaml", old)
    err = assert_edit_refused(spec_repo, "opd/dinkes.yaml", old, new, field, fragment)
    assert err.line == line
    assert err.hint == WEAKER_HINT


def _line_of(path: Path, text: str) -> int:
    """The 1-based line of `path` holding `text` (the example's layout may move)."""
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def test_validate_refuses_a_weaker_policy_with_file_line_and_rule(
    spec_repo: Path, cli: CliRunner
) -> None:
    line = _line_of(spec_repo / "opd/dinkes.yaml", "backup: {schedule: daily, retention_days: 30}")
    edit_file(
        spec_repo,
        "opd/dinkes.yaml",
        "backup: {schedule: daily, retention_days: 30}",
        "backup: {schedule: weekly, retention_days: 30}",
    )
    before = sorted(p.name for p in spec_repo.rglob("*"))
    result = cli.invoke(app, ["validate", str(spec_repo)])
    assert result.exit_code == 1
    out = result.output
    assert f"opd/dinkes.yaml:{line}:" in out and "vms[0].backup.schedule" in out
    assert "VM simpus schedule weekly is weaker than the rahasia minimum" in out
    assert "Traceback" not in out
    assert sorted(p.name for p in spec_repo.rglob("*")) == before  # nothing written


def test_a_stricter_vm_policy_is_accepted(spec_repo: Path) -> None:
    text = (spec_repo / "opd/setda.yaml").read_text()
    assert "backup: {schedule: daily, retention_days: 30}" in text  # publik minimum is weekly/28
    vms = desired_state(load_spec(spec_repo))["vms"]
    assert vms["setda/portal"]["backup"]["schedule"] == "daily"
    assert vms["setda/portal"]["backup"]["retention_days"] == 30


def test_production_needs_a_vzdump_storage(spec_repo: Path) -> None:
    edit_file(spec_repo, "site.yaml", "  proxmox_storage: pbs-dc\n", "")
    err = spec_error(spec_repo, "backup.proxmox_storage names no Proxmox VE storage")
    assert err.file == "site.yaml" and err.line is not None and err.path == "backup"
    assert "have a backup policy" in err.message


def test_a_second_copy_needs_the_offsite_vm(spec_repo: Path) -> None:
    edit_file(spec_repo, "site.yaml", "  offsite_vm: kominfo/backup-dr", "")
    err = spec_error(spec_repo, "backup.offsite_vm names no off-site backup VM")
    assert err.file == "site.yaml" and err.path == "backup"
    assert "dinkes/simpus" in err.message


def test_an_unknown_backup_vm_is_refused(spec_repo: Path) -> None:
    assert_edit_refused(
        spec_repo,
        "site.yaml",
        "  vm: kominfo/backup\n",
        "  vm: kominfo/bakcup\n",
        "backup.vm",
        "unknown VM 'kominfo/bakcup'",
    )


def test_rahasia_is_encrypted_always(spec_repo: Path) -> None:
    assert_edit_refused(
        spec_repo,
        "site.yaml",
        "offsite: true, encrypted: true}",
        "offsite: true, encrypted: false}",
        "backup.policy",
        "rahasia data is encrypted always",
    )


def test_an_offsite_copy_is_a_second_copy(spec_repo: Path) -> None:
    assert_edit_refused(
        spec_repo,
        "opd/dpmd.yaml",
        "backup: {schedule: daily, retention_days: 30}",
        "backup: {schedule: daily, copies: 1, offsite: true}",
        "vms[0].backup",
        "offsite: true needs copies: 2",
    )


def test_a_backup_vm_is_not_backed_up_into_itself(spec_repo: Path) -> None:
    assert_edit_refused(
        spec_repo,
        "opd/kominfo.yaml",
        "disk_gb: 500, node: pve1}",
        "disk_gb: 500, node: pve1, backup: {schedule: daily}}",
        "vms[3].backup",
        "is a backup VM",
    )


def test_without_a_site_backup_a_vm_policy_is_an_error(tmp_path: Path) -> None:
    root = build_spec(
        tmp_path,
        opds=[OpdSpec("dinkes", vms=[VmSpec("db", extra={"backup": {"schedule": "hourly"}})])],
    )
    err = spec_error(root, "the Site names no backup repository")
    assert err.file == "opd/dinkes.yaml" and err.path == "vms[0].backup"


def test_without_a_site_backup_no_vm_is_promised_a_backup(tmp_path: Path) -> None:
    root = build_spec(tmp_path, opds=[OpdSpec("dinkes", vms=[VmSpec("db")])])
    state = desired_state(load_spec(root))
    assert state["vms"]["dinkes/db"]["backup"]["schedule"] == "none"
    assert state["backup"] == {}


def test_a_built_spec_with_backup_counts_its_own_repositories(tmp_path: Path) -> None:
    root = build_spec(
        tmp_path,
        opds=[
            OpdSpec("dinkes", vms=[VmSpec("db")], classification="rahasia"),
            OpdSpec("dishub", vms=[VmSpec("web")], classification="publik"),
            OpdSpec("dc"),
        ],
        services="dc",
        backup=True,
    )
    layer = desired_state(load_spec(root))["backup"]
    # dc's service VMs (terbatas) are backed up too; its backup VMs are not.
    assert layer["dc"]["vms"] == ["dc/monitor", "dc/nvr", "dc/vpn-gw"]
    assert {code: sorted(rec["repositories"]) for code, rec in layer.items()} == {
        "dc": ["primary"],
        "dinkes": ["offsite", "primary"],
        "dishub": ["primary"],
    }


def test_a_weaker_policy_is_refused_in_indonesian_too(spec_repo: Path) -> None:
    from dcctl import i18n

    edit_file(
        spec_repo,
        "opd/dinkes.yaml",
        DB_POLICY,
        DB_POLICY.replace("14", "7"),
    )
    i18n.set_language("id")
    try:
        err = spec_error(spec_repo, "lebih lemah")
    finally:
        i18n.set_language("en")
    assert err.message == (
        "VM simpus-db: retention_days 7 lebih lemah daripada minimum rahasia "
        "(site.yaml backup.policy.rahasia): 14"
    )
    assert (
        err.hint == "kebijakan cadangan VM boleh lebih ketat daripada klasifikasinya, "
        "tidak pernah lebih lemah"
    )


def test_the_offsite_backup_vm_on_the_primarys_node_is_refused(spec_repo: Path) -> None:
    """Two copies on one node are one copy: a lost node loses both."""
    edit_file(
        spec_repo, "opd/kominfo.yaml", "disk_gb: 500, node: pve2}", "disk_gb: 500, node: pve1}"
    )
    err = spec_error(spec_repo, "like the backup VM kominfo/backup: one lost node loses both")
    assert (err.file, err.path) == ("site.yaml", "backup.offsite_vm") and err.line is not None
    assert "runs on node pve1" in err.message


def test_an_unpinned_offsite_backup_vm_is_refused(spec_repo: Path) -> None:
    edit_file(spec_repo, "opd/kominfo.yaml", "disk_gb: 500, node: pve2}", "disk_gb: 500}")
    err = spec_error(spec_repo, "are not both pinned to a node")
    assert (err.file, err.path) == ("site.yaml", "backup.offsite_vm") and err.line is not None


@pytest.mark.parametrize(
    ("paths", "fragment"),
    [
        ("[var/lib/x]", "must be an absolute path"),
        ("[/var/lib/../../etc/shadow]", "must be an absolute path"),
        ("['/srv/a b']", "must be an absolute path"),
        ("['/srv/*']", "must be an absolute path"),
        ("['/srv/x;rm -rf /']", "must be an absolute path"),
        ('["/srv/\\x1b[2J"]', "must be an absolute path"),
        ("[/proc/1]", "proc is a kernel or runtime tree"),
        ("[/run]", "run is a kernel or runtime tree"),
        ("[/]", "must be an absolute path"),
    ],
)
def test_a_bad_data_path_is_refused(spec_repo: Path, paths: str, fragment: str) -> None:
    assert_edit_refused(
        spec_repo,
        "opd/dinkes.yaml",
        "paths: [/var/lib/postgresql]",
        f"paths: {paths}",
        "vms[1].backup.paths",
        fragment,
    )


def test_data_paths_reach_the_state_and_the_vms_backup_settings(
    spec_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dcctl.backup.ansible import build_role_vars, open_keys

    edit_file(
        spec_repo,
        "opd/dinkes.yaml",
        "paths: [/var/lib/postgresql]",
        "paths: [/var/lib/postgresql, /etc/ssl, /opt/simpus]",
    )
    state = desired_state(load_spec(spec_repo))
    want = ["/etc", "/home", "/root", "/srv", "/var/backups", "/var/lib/postgresql", "/opt/simpus"]
    assert state["vms"]["dinkes/simpus-db"]["backup"]["paths"] == want  # /etc/ssl is in /etc
    assert state["vms"]["dinkes/simpus"]["backup"]["paths"] == want[:5]
    assert "paths" not in state["vms"]["kominfo/backup"]["backup"]  # not backed up
    monkeypatch.setenv("DCCTL_PASSPHRASE", "unit-test-passphrase")
    store = open_keys(state, tmp_path, "prod", create=True)
    clients = {
        h: v["backup_client_host"]
        for h, v in build_role_vars(state, store, {}).hostvars.items()
        if "backup_client_host" in v
    }
    assert clients["dinkes-simpus-db"]["paths"] == want
    assert clients["dinkes-simpus"]["paths"] == want[:5]
