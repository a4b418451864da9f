"""Variables of the ``cctv_recorder`` role: one recorder per camera on the NVR VM.

Why it is shaped like this:

* Everything the role needs is derived from ``desired_state(spec)["cctv"]`` (the
  same layer the plan shows), so what is recorded is exactly what is planned.
* The camera password is the only secret. It goes into ``secret`` as part of the
  full RTSP URL, percent-encoded, so that no character of it can break out of the
  URL, the systemd EnvironmentFile or an Ansible template (``{`` becomes ``%7B``);
  ``public`` carries the URL without credentials and is safe for plan output.
* Recorder ids (``<opd>_<camera>``) name systemd instances, env files and
  directories; OPD and camera names are ``[a-z0-9-]`` so ``_`` keeps them
  unambiguous (``a-b``/``c`` and ``a``/``b-c`` differ).
* The lab target only warns when the recording file system is too small (lab
  containers share the machine's disk) and records in shorter segments so a lab
  run sees segments roll over within a minute.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dcctl.cctv.storage import HEADROOM, recording_bytes_per_s, required_gb
from dcctl.engines.ansible.vars import RoleVars, role_default
from dcctl.engines.credentials import resolve_credential
from dcctl.i18n import _
from dcctl.plan.desired import DesiredState
from dcctl.spec.loader import Spec
from dcctl.targets import Target

__all__ = [
    "DEFAULT_CAMERA_USER",
    "RECORDING_ROOT",
    "REHEARSAL_SEGMENT_SECONDS",
    "SEGMENT_SECONDS",
    "recorder_id",
    "role_vars",
]

#: Where recordings live on the NVR: <root>/<opd>/<camera>/<YYYYmmdd-HHMMSS>.mkv
#: (the role's default; its argument spec is the one home of the value).
RECORDING_ROOT: str = role_default("cctv_recorder", "cctv_recorder_root")
#: Segment length: 5 minutes in production (the role's default): a crash loses at
#: most the segment being written's unflushed tail, retention deletes in 5-minute
#: steps, and a day is 288 files per camera.
SEGMENT_SECONDS: int = role_default("cctv_recorder", "cctv_recorder_segment_seconds")
#: In a rehearsal 60 s, so tests see segments roll over.
REHEARSAL_SEGMENT_SECONDS = 60
#: The RTSP user when the spec names none (Camera has no ``username`` field yet);
#: the lab cameras are started with the same user (dcctl.lab.plan.CAMERA_USER).
DEFAULT_CAMERA_USER = "admin"

_ID_RE = re.compile(r"^[a-z][a-z0-9-]*_[a-z][a-z0-9-]*$")
# What a credential-free RTSP URL from desired_state may look like (IPv4, port, path).
_URL_RE = re.compile(r"^rtsp://(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})(/[A-Za-z0-9_./-]*)$")


def recorder_id(key: str) -> str:
    """``"dinkes/loket-dinkes"`` -> ``"dinkes_loket-dinkes"`` (systemd instance, file names)."""
    rid = key.replace("/", "_", 1)
    if not _ID_RE.fullmatch(rid):
        raise ValueError(_("camera {key!r} cannot name a recorder").format(key=key))
    return rid


def _url_with_credentials(url: str, user: str, password: str) -> str:
    """``rtsp://user:password@host:port/path`` with user and password percent-encoded."""
    m = _URL_RE.fullmatch(url)
    if m is None:
        raise ValueError(_("unexpected camera URL {url!r}").format(url=url))
    host, port, path = m.groups()
    return f"rtsp://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}{path}"


def role_vars(spec: Spec, state: DesiredState, state_dir: Path, target: Target) -> RoleVars:
    """Recorders, storage and secrets of the ``cctv_recorder`` role for ``target``."""
    del state_dir  # nothing of CCTV is kept in dcctl's state; the spec says it all
    cameras = state["cctv"]
    lab = target.rehearsal
    users = {
        f"{code}/{cam.name}": getattr(cam, "username", None) or DEFAULT_CAMERA_USER
        for code, opd in spec.opds.items()
        for cam in opd.cameras
    }
    refs = {
        f"{code}/{cam.name}": cam.credential
        for code, opd in spec.opds.items()
        for cam in opd.cameras
    }
    resolved: dict[str, str] = {}  # one lookup per reference (they are usually shared)
    recorders: list[dict[str, Any]] = []
    urls: dict[str, str] = {}
    for key in sorted(cameras):
        cam = cameras[key]
        rid = recorder_id(key)
        opd, name = key.split("/", 1)
        ref = refs[key]
        if ref not in resolved:
            resolved[ref] = resolve_credential(spec, ref, target)
        urls[rid] = _url_with_credentials(cam["url"], users[key], resolved[ref])
        recorders.append(
            {
                "id": rid,
                "key": key,
                "opd": opd,
                "camera": name,
                "url": cam["url"],  # without credentials
                "user": users[key],
                "dir": f"{RECORDING_ROOT}/{opd}/{name}",
                "bitrate_kbps": cam["bitrate_kbps"],
                "retention_days": cam["retention_days"],
                "storage_gb": cam["storage_gb"],
            }
        )
    public: dict[str, Any] = {
        "cctv_recorder_root": RECORDING_ROOT,
        "cctv_recorder_opds": sorted({r["opd"] for r in recorders}),
        "cctv_recorder_cameras": recorders,
        "cctv_recorder_segment_seconds": REHEARSAL_SEGMENT_SECONDS if lab else SEGMENT_SECONDS,
        "cctv_recorder_required_gb": required_gb(cameras.values()),
        "cctv_recorder_headroom": HEADROOM,
        "cctv_recorder_bytes_per_s": round(recording_bytes_per_s(cameras.values())),
        # Lab containers have no disk of their own: warn instead of failing.
        "cctv_recorder_storage_enforce": not lab,
        # systemd sandboxing needs mount namespaces, which lab containers lack.
        "cctv_recorder_sandbox": not lab,
    }
    return RoleVars(public=public, secret={"cctv_recorder_urls": urls})
