"""Credential references have an owner and a kind, and `file:` ones resolve in one place.

Issue 15: a camera credential could name the switch password or the secrets
passphrase, and the Proxmox program read `file:` references from the current
directory while every other engine read them from the spec root. Each case is
a hostile reference that must be refused (at validation, naming file and field,
or at resolution, with no secret in the message).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dcctl import targets
from dcctl.engines.pulumi.hypervisors import proxmox
from dcctl.spec import load_spec
from dcctl.spec.credentials import (
    CredentialError,
    credential_uses,
    read_reference,
    secret_file,
)
from tests.helpers import assert_edit_refused, edit_file, spec_error

CAM = "credential: env:WSB_DINKES_CAMERA_PASSWORD"
SW = "credential: env:WSB_SWITCH_PASSWORD\n    owner: dinkes"  # sw-dinkes's
PVE = "credential: env:WSB_PVE_API_TOKEN"

DINKES_REG = "- {ref: env:WSB_DINKES_CAMERA_PASSWORD, kind: camera}"
SITE_REG = "- {ref: env:WSB_PVE_API_TOKEN, kind: hypervisor"
NOT_DINKES = "not in OPD dinkes's credential registry"
NOT_SITE = "not in the site's credential registry"


# (id, file, old, new, field, message fragment)
CASES: list[tuple[str, str, str, str, str, str]] = [
    # A use of a reference its owner did not declare, or another owner's, or of another kind.
    ("camera-uses-switch-password", "opd/dinkes.yaml", CAM,
     "credential: env:WSB_SWITCH_PASSWORD", "cameras[0].credential", "is the site's"),
    ("camera-uses-passphrase", "opd/dinkes.yaml", CAM,
     "credential: env:DCCTL_PASSPHRASE", "cameras[0].credential", NOT_DINKES),
    ("camera-uses-pulumi-passphrase", "opd/dinkes.yaml", CAM,
     "credential: env:PULUMI_CONFIG_PASSPHRASE", "cameras[0].credential", NOT_DINKES),
    ("camera-uses-other-opd", "opd/dinkes.yaml", CAM,
     "credential: env:WSB_SETDA_CAMERA_PASSWORD", "cameras[0].credential", "is OPD setda's"),
    ("camera-undeclared-with-its-own-code", "opd/dinkes.yaml", CAM,
     "credential: env:WSB_DINKES_OTHER_SECRET", "cameras[0].credential", NOT_DINKES),
    ("camera-file-in-state", "opd/dinkes.yaml", CAM,
     "credential: file:state/vpn/keys.json", "cameras[0].credential", NOT_DINKES),
    ("camera-file-absolute", "opd/dinkes.yaml", CAM,
     "credential: file:/etc/shadow", "cameras[0].credential", NOT_DINKES),
    ("camera-file-site-folder", "opd/dinkes.yaml", CAM,
     "credential: file:secrets/site/switch", "cameras[0].credential", NOT_DINKES),
    ("switch-names-an-opd", "site.yaml", SW,
     "credential: env:WSB_DINKES_CAMERA_PASSWORD\n    owner: dinkes", "switches[4].credential",
     "is OPD dinkes's"),
    ("switch-uses-passphrase", "site.yaml", SW,
     "credential: env:DCCTL_PASSPHRASE\n    owner: dinkes", "switches[4].credential", NOT_SITE),
    ("switch-file-in-opd-folder", "site.yaml", SW,
     "credential: file:secrets/dinkes/pw\n    owner: dinkes", "switches[4].credential", NOT_SITE),
    ("switch-uses-hypervisor-token", "site.yaml", SW,
     "credential: env:WSB_PVE_API_TOKEN\n    owner: dinkes", "switches[4].credential",
     "declared as hypervisor, used here as switch"),
    ("enable-secret-uses-passphrase", "site.yaml", SW,
     SW + "\n    enable_credential: env:DCCTL_PASSPHRASE", "switches[4].enable_credential",
     NOT_SITE),
    ("enable-secret-is-a-camera-password", "site.yaml", SW,
     SW + "\n    enable_credential: env:WSB_DINKES_CAMERA_PASSWORD",
     "switches[4].enable_credential", "is OPD dinkes's"),
    ("enable-secret-is-the-login-reference-of-another-kind", "site.yaml", SW,
     SW + "\n    enable_credential: env:WSB_SWITCH_PASSWORD", "switches[4].enable_credential",
     "declared as switch, used here as switch_enable"),
    ("hypervisor-uses-ssh-agent", "site.yaml", PVE,
     "credential: env:SSH_AUTH_SOCK", "hypervisors.credential", NOT_SITE),
    ("hypervisor-file-in-state", "site.yaml", PVE,
     "credential: file:state/audit.log", "hypervisors.credential", NOT_SITE),
    # A declaration an owner may not make.
    ("declares-the-passphrase", "opd/dinkes.yaml", DINKES_REG,
     "- {ref: env:DCCTL_PASSPHRASE, kind: camera}", "credentials[0].ref",
     "dcctl's, the engines'"),
    ("declares-the-pulumi-passphrase", "opd/dinkes.yaml", DINKES_REG,
     "- {ref: env:PULUMI_CONFIG_PASSPHRASE, kind: camera}", "credentials[0].ref", "dcctl's"),
    ("declares-the-switch-password", "opd/dinkes.yaml", DINKES_REG,
     "- {ref: env:WSB_SWITCH_PASSWORD, kind: camera}", "credentials[0].ref",
     "already declared by the site"),
    ("declares-a-state-file", "opd/dinkes.yaml", DINKES_REG,
     "- {ref: file:state/vpn/keys.json, kind: camera}", "credentials[0].ref",
     "under secrets/dinkes/"),
    ("declares-an-absolute-file", "opd/dinkes.yaml", DINKES_REG,
     "- {ref: file:/etc/shadow, kind: camera}", "credentials[0].ref", "relative path"),
    ("declares-a-dotdot-file", "opd/dinkes.yaml", DINKES_REG,
     "- {ref: file:secrets/dinkes/../../state/x, kind: camera}", "credentials[0].ref", "'..'"),
    ("declares-the-site-folder", "opd/dinkes.yaml", DINKES_REG,
     "- {ref: file:secrets/site/switch, kind: camera}", "credentials[0].ref",
     "under secrets/dinkes/"),
    ("declares-another-kind", "opd/dinkes.yaml", DINKES_REG,
     "- {ref: env:WSB_DINKES_CAMERA_PASSWORD, kind: switch}", "cameras[0].credential",
     "declared as switch, used here as camera"),
    ("declares-an-unknown-kind", "opd/dinkes.yaml", DINKES_REG,
     "- {ref: env:WSB_DINKES_CAMERA_PASSWORD, kind: root}", "credentials[0].kind", "camera"),
    ("declares-a-secret", "opd/dinkes.yaml", DINKES_REG,
     "- {ref: hunter2, kind: camera}", "credentials[0].ref", "reference"),
    ("site-declares-ssh-agent", "site.yaml", SITE_REG,
     "- {ref: env:SSH_AUTH_SOCK, kind: hypervisor", "credentials[0].ref", "dcctl's"),
    ("site-declares-opd-folder", "site.yaml", SITE_REG,
     "- {ref: file:secrets/dinkes/x, kind: hypervisor", "credentials[0].ref",
     "under secrets/site/"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_credential_outside_its_owner_refused(
    case: tuple[str, str, str, str, str, str], spec_repo: Path
) -> None:
    assert_edit_refused(spec_repo, *case[1:])


def test_every_reference_of_the_example_has_an_owner_and_a_kind(spec_repo: Path) -> None:
    spec = load_spec(spec_repo)
    uses = list(credential_uses(spec.site, spec.opds))
    kinds = {(u.owner, u.kind) for u in uses}
    assert ("site", "hypervisor") in kinds and ("site", "switch") in kinds
    assert {o for o, k in kinds if k == "camera"} == {
        code for code, opd in spec.opds.items() if opd.cameras
    }
    # one owner and one kind per reference
    by_ref: dict[str, set[tuple[str, str]]] = {}
    for u in uses:
        by_ref.setdefault(u.ref, set()).add((u.owner, u.kind))
    assert all(len(v) == 1 for v in by_ref.values())


def test_file_secret_of_an_opd_validates(spec_repo: Path) -> None:
    edit_file(spec_repo, "opd/dinkes.yaml", CAM, "credential: file:secrets/dinkes/kamera")
    # Undeclared, the reference is refused; declared by dinkes, it validates.
    assert "not in OPD dinkes's credential registry" in spec_error(spec_repo, "registry").message
    edit_file(
        spec_repo,
        "opd/dinkes.yaml",
        DINKES_REG,
        "- {ref: file:secrets/dinkes/kamera, kind: camera}",
    )
    load_spec(spec_repo)


# --- resolution: one place, against the spec root, inside secrets/ ----------------------


def _secret(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_file_reference_resolves_against_the_spec_root_not_cwd(
    spec_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _secret(spec_repo, "secrets/site/pve", "root@pam!dcctl=from-the-spec\n")
    # A same-named file where the process runs must not be the one read.
    elsewhere = tmp_path / "cwd"
    _secret(elsewhere, "secrets/site/pve", "root@pam!dcctl=from-the-cwd\n")
    monkeypatch.chdir(elsewhere)
    assert read_reference(spec_repo, "file:secrets/site/pve") == "root@pam!dcctl=from-the-spec"
    spec = load_spec(spec_repo)
    assert targets.get("prod").credential(spec, "file:secrets/site/pve").endswith("from-the-spec")
    # The Proxmox program reads it through the same resolver, with the spec root.
    monkeypatch.setattr(proxmox, "_under_mocks", lambda: False)
    token = proxmox.api_token("file:secrets/site/pve", str(spec_repo))
    assert token is not None


def test_proxmox_missing_file_token_names_the_spec_path(
    spec_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _secret(tmp_path, "secrets/site/pve", "token-in-cwd")  # must not be found
    monkeypatch.setattr(proxmox, "_under_mocks", lambda: False)
    with pytest.raises(proxmox.CredentialError, match=str(spec_repo)):
        proxmox.api_token("file:secrets/site/pve", str(spec_repo))


@pytest.mark.parametrize(
    ("link_to", "why"),
    [("../../state/vpn/keys", "outside the secrets"), ("/etc/hostname", "outside the secrets")],
)
def test_symlink_out_of_the_secrets_dir_refused(spec_repo: Path, link_to: str, why: str) -> None:
    _secret(spec_repo, "state/vpn/keys", "private-key-material")
    (spec_repo / "secrets" / "site").mkdir(parents=True)
    os.symlink(link_to, spec_repo / "secrets" / "site" / "pve")
    with pytest.raises(CredentialError, match=why) as exc:
        read_reference(spec_repo, "file:secrets/site/pve")
    assert "private-key-material" not in str(exc.value)


def test_secrets_dir_that_is_state_refused(spec_repo: Path) -> None:
    _secret(spec_repo, "state/x/pw", "state-secret")
    os.symlink("state", spec_repo / "secrets")
    with pytest.raises(CredentialError, match="outside the secrets directory"):
        secret_file(spec_repo, "file:secrets/x/pw")


@pytest.mark.parametrize("ref", ["file:/etc/passwd", "file:../x", "file:state/a", "file:~/.ssh"])
def test_file_reference_outside_secrets_never_read(spec_repo: Path, ref: str) -> None:
    with pytest.raises(CredentialError):
        secret_file(spec_repo, ref)


def test_empty_secrets_are_errors(spec_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _secret(spec_repo, "secrets/site/empty", "\n")
    with pytest.raises(CredentialError, match="is empty"):
        read_reference(spec_repo, "file:secrets/site/empty")
    monkeypatch.setenv("WSB_EMPTY", "")
    with pytest.raises(CredentialError, match="not set or empty"):
        read_reference(spec_repo, "env:WSB_EMPTY")


def test_secrets_dir_from_the_environment(
    spec_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = tmp_path / "run-secrets"
    _secret(vault, "site/pve", "from-the-vault")
    monkeypatch.setenv("DCCTL_SECRETS_DIR", str(vault))
    assert read_reference(spec_repo, "file:secrets/site/pve") == "from-the-vault"
