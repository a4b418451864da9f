"""Recording storage the NVR needs, from the cameras' bitrate x retention.

Why a module of its own: the same figure sizes the NVR VM's recording disk (the
Pulumi program) and is checked against the recording file system on the NVR
(the Ansible role), so both must compute it the same way, from the desired
state alone (no spec objects, no secrets).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["HEADROOM", "recording_bytes_per_s", "required_gb"]

#: Extra space on top of bitrate x retention: bitrate peaks above the nominal value
#: (scene changes, night noise), the segment being written while the oldest waits for
#: the next retention run, and file-system reserve/metadata (ext4 keeps 5% for root).
HEADROOM = 0.15


def recording_bytes_per_s(cameras: Iterable[Mapping[str, Any]]) -> float:
    """Bytes per second all cameras write together, at their nominal bitrate."""
    return sum(int(c["bitrate_kbps"]) * 1000 / 8 for c in cameras)


def required_gb(cameras: Iterable[Mapping[str, Any]], headroom: float = HEADROOM) -> int:
    """GB (10^9 bytes) of recording file system for ``desired_state(spec)["cctv"].values()``.

    Each camera keeps ``bitrate x retention`` (the spec's ``Camera.storage_gb``); the sum
    gets :data:`HEADROOM` and is rounded up to a whole GB, the unit Proxmox disks take.
    """
    total = sum(
        int(c["bitrate_kbps"]) * 1000 / 8 * 86400 * int(c["retention_days"]) / 1e9 for c in cameras
    )
    return math.ceil(total * (1 + headroom)) if total > 0 else 0
