"""The cctv_recorder role's variables: one recorder per camera, storage, secrets kept apart.

Why these tests: the NVR records whatever ``role_vars`` lists, sizes its check from
``cctv_recorder_required_gb`` and writes ``secret`` into 0600 files. So the example
must give exactly its cameras, storage must add up to the spec's own
``Camera.storage_gb``, the password must be in ``secret`` only and no value a spec or
a credential can hold may break out of the RTSP URL or systemd names.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pydantic
import pytest
import yaml

from dcctl.cctv import ansible as cctv_ansible
from dcctl.cctv.ansible import DEFAULT_CAMERA_USER, recorder_id, role_vars
from dcctl.cctv.storage import HEADROOM, recording_bytes_per_s, required_gb
from dcctl.engines.ansible.vars import collect
from dcctl.engines.credentials import CredentialError
from dcctl.plan.desired import desired_state
from dcctl.spec.cctv import Camera
from dcctl.spec.loader import Spec, load_spec
from tests.conftest import EXAMPLE, ROOT
from tests.helpers import camera_env_vars, domain_vars
from tests.specs import total

ROLE = ROOT / "playbooks" / "roles" / "cctv_recorder"
HOSTILE = "p@ss:w/rd %{{ lookup('pipe','id') }}\n$(reboot);'\"#?&=" + "\u00e9"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(EXAMPLE)


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch, spec: Spec) -> str:
    for name in camera_env_vars(spec):
        monkeypatch.setenv(name, HOSTILE)
    return HOSTILE


def _cameras(spec: Spec) -> dict[str, Camera]:
    return {f"{code}/{c.name}": c for code, opd in spec.opds.items() for c in opd.cameras}


def test_one_recorder_per_camera_of_the_example(spec: Spec, password: str) -> None:
    rv = domain_vars(role_vars, spec, spec.state_dir, "prod")
    cams = _cameras(spec)
    recorders = rv.public["cctv_recorder_cameras"]
    # at least two, so that the distinct-id check below is not vacuous
    assert len(cams) == total(spec, "cameras") >= 2
    assert sorted(r["key"] for r in recorders) == sorted(cams)
    assert len({r["id"] for r in recorders}) == len(recorders)
    state = desired_state(spec)["cctv"]
    for r in recorders:
        cam = cams[r["key"]]
        assert r["dir"] == f"/srv/cctv/{r['opd']}/{cam.name}"
        assert r["url"] == state[r["key"]]["url"]
        assert (r["retention_days"], r["bitrate_kbps"]) == (cam.retention_days, cam.bitrate_kbps)
        assert r["user"] == DEFAULT_CAMERA_USER
    assert rv.public["cctv_recorder_opds"] == sorted({r["opd"] for r in recorders})
    assert set(rv.secret["cctv_recorder_urls"]) == {r["id"] for r in recorders}
    assert rv.hosts == {} and rv.groups == {}


def test_storage_sums_match_the_spec(spec: Spec, password: str) -> None:
    rv = domain_vars(role_vars, spec, spec.state_dir, "prod")
    cams = _cameras(spec)
    for r in rv.public["cctv_recorder_cameras"]:
        assert r["storage_gb"] == round(cams[r["key"]].storage_gb(), 1)
    total = sum(c.storage_gb() for c in cams.values())
    assert rv.public["cctv_recorder_required_gb"] == math.ceil(total * (1 + HEADROOM))
    assert rv.public["cctv_recorder_required_gb"] >= total
    assert total <= spec.site.storage.recording_capacity_gb
    assert rv.public["cctv_recorder_bytes_per_s"] == sum(
        c.bitrate_kbps * 125 for c in cams.values()
    )


def test_required_gb_edges() -> None:
    assert required_gb([]) == 0
    one = {"bitrate_kbps": 1000, "retention_days": 1}  # 125 kB/s x 86400 s = 10.8 GB
    assert required_gb([one], headroom=0) == 11
    assert required_gb([one]) == math.ceil(10.8 * (1 + HEADROOM))
    assert recording_bytes_per_s([one, one]) == 250_000


def test_password_only_in_secret_and_exact_after_decoding(spec: Spec, password: str) -> None:
    rv = domain_vars(role_vars, spec, spec.state_dir, "prod")
    public = json.dumps(rv.public)
    assert password not in public
    assert "p@ss" not in public and "reboot" not in public
    for rid, url in rv.secret["cctv_recorder_urls"].items():
        parts = urlsplit(url)
        assert unquote(parts.password or "") == password
        assert parts.username == DEFAULT_CAMERA_USER
        rec = next(r for r in rv.public["cctv_recorder_cameras"] if r["id"] == rid)
        assert f"rtsp://{parts.hostname}:{parts.port}{parts.path}" == rec["url"]


def test_hostile_password_cannot_break_out(spec: Spec, password: str) -> None:
    """Nothing of the password survives that a URL, EnvironmentFile or Jinja would read."""
    rv = domain_vars(role_vars, spec, spec.state_dir, "prod")
    safe = re.compile(
        r"^rtsp://[A-Za-z0-9%._~-]+:[A-Za-z0-9%._~-]+@[0-9.]+:[0-9]+/[A-Za-z0-9_./-]*$"
    )
    for url in rv.secret["cctv_recorder_urls"].values():
        assert safe.fullmatch(url), url
        for bad in ("{", "}", "$", "\n", " ", "'", '"', "#", "?", "&", ";"):
            assert bad not in url


def test_lab_target_warns_and_uses_lab_secrets(spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []

    def fake(spec_: Spec, ref: str, target: Any) -> str:
        calls.append((ref, target.name))
        return "lab-secret"

    monkeypatch.setattr(cctv_ansible, "resolve_credential", fake)
    lab = domain_vars(role_vars, spec, spec.state_dir, "lab")
    prod = domain_vars(role_vars, spec, spec.state_dir, "prod")
    # Each OPD's reference is resolved once per run, by the run's target.
    refs = [f"env:{name}" for name in camera_env_vars(spec)]
    assert len(refs) >= 2
    assert sorted(calls) == sorted([(r, "lab") for r in refs] + [(r, "prod") for r in refs])
    assert lab.public["cctv_recorder_storage_enforce"] is False
    assert prod.public["cctv_recorder_storage_enforce"] is True
    assert lab.public["cctv_recorder_sandbox"] is False
    assert (
        lab.public["cctv_recorder_segment_seconds"] < prod.public["cctv_recorder_segment_seconds"]
    )
    assert lab.public["cctv_recorder_required_gb"] == prod.public["cctv_recorder_required_gb"]


def test_missing_credential_is_a_clear_error(spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in camera_env_vars(spec):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CredentialError, match=r"WSB_[A-Z]+_CAMERA_PASSWORD"):
        domain_vars(role_vars, spec, spec.state_dir, "prod")


def test_collected_with_the_other_domains(spec: Spec, password: str, tmp_path: Path) -> None:
    merged = collect(spec, tmp_path, "prod", providers={"cctv": "dcctl.cctv.ansible:role_vars"})
    assert all(k.startswith("cctv_recorder_") for k in [*merged.public, *merged.secret])
    assert "cctv_recorder_urls" in merged.secret


def test_default_user_is_the_lab_cameras_user() -> None:
    from dcctl.lab.plan import CAMERA_USER

    assert DEFAULT_CAMERA_USER == CAMERA_USER


@pytest.mark.parametrize("key", ["a/../b", "a/b c", "A/b", "a/b\n", "a", "a/b/c", "/b"])
def test_recorder_id_refuses_hostile_keys(key: str) -> None:
    with pytest.raises(ValueError):
        recorder_id(key)


def test_recorder_ids_are_unambiguous() -> None:
    assert recorder_id("a-b/c") != recorder_id("a/b-c")


@pytest.mark.parametrize(
    "url", ["rtsp://evil@10.0.0.1:554/s", "rtsp://10.0.0.1:554/s?x=1", "http://10.0.0.1:80/s"]
)
def test_unexpected_camera_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        cctv_ansible._url_with_credentials(url, "admin", "pw")


@pytest.mark.parametrize(
    "field,value",
    [("name", "../etc"), ("name", "cam;reboot"), ("rtsp_path", "/s m"), ("rtsp_path", "/a?b")],
)
def test_spec_refuses_hostile_camera_fields(field: str, value: str) -> None:
    good: dict[str, Any] = {
        "name": "cam",
        "location": "Lab",
        "port": "sw:Gi1/0/1",
        "credential": "env:X",
        "bitrate_kbps": 256,
        "retention_days": 1,
    }
    Camera(**good)
    with pytest.raises(pydantic.ValidationError):
        Camera(**{**good, field: value})


def test_every_task_using_the_secret_has_no_log() -> None:
    """``cctv_recorder_urls`` may only be read by tasks that never print their result."""
    for path in (ROLE / "tasks").glob("*.yml"):
        for task in yaml.safe_load(path.read_text()) or []:
            if "cctv_recorder_urls" in json.dumps(task) or "recorder.env" in json.dumps(task):
                if "assert" in json.dumps(task):
                    continue  # checks membership only (``item.id in ...``), prints no value
                assert task.get("no_log") is True, task.get("name")
