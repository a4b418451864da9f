"""CCTV cameras of an OPD and the recording storage they imply."""

from __future__ import annotations

from pydantic import Field

from dcctl.spec.types import CredentialRef, IPv4, Name, RtspPath, Strict, SwitchPort, Text


class Camera(Strict):
    name: Name
    location: Text
    port: SwitchPort = Field(description="Access switch port the camera is plugged into")
    address: IPv4 | None = Field(None, description="Pin; otherwise IPAM allocates")
    rtsp_path: RtspPath = "/stream"
    rtsp_port: int = Field(554, ge=1, le=65535)
    credential: CredentialRef
    resolution: str = Field("1920x1080", pattern=r"^[0-9]{2,5}x[0-9]{2,5}$")
    bitrate_kbps: int = Field(ge=64, le=50_000)
    retention_days: int = Field(ge=1, le=365)

    def storage_gb(self) -> float:
        """Recording size at constant bitrate: kbit/s x seconds kept, in GB (10^9)."""
        return self.bitrate_kbps * 1000 / 8 * 86400 * self.retention_days / 1e9
