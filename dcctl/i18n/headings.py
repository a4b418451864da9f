"""Table headings of data keys, in the language in force: one list for `show`, `report` and more.

Why: the data keys (``memory_gb``, ``server_room``) are the JSON interface and stay
English; a person reads a heading. Unknown keys fall back to the key with spaces.
"""

from __future__ import annotations

from dcctl.i18n import N_, _

HEADINGS: dict[str, str] = {
    "opds": N_("OPDs"),
    "networks": N_("Networks"),
    "vms": N_("VMs"),
    "offices": N_("Offices"),
    "cameras": N_("Cameras"),
    "storage": N_("Storage"),
    "switches": N_("Switches"),
    "ports": N_("Ports"),
    "links": N_("Links"),
    "buildings": N_("Buildings"),
    "code": N_("code"),
    "name": N_("name"),
    "sector": N_("sector"),
    "class": N_("class"),
    "vcpu": N_("vCPU"),
    "memory_gb": N_("memory GB"),
    "disk_gb": N_("disk GB"),
    "server_room": N_("server room"),
    "network": N_("network"),
    "vlan": N_("VLAN"),
    "prefix": N_("prefix"),
    "gateway": N_("gateway"),
    "vm": N_("VM"),
    "address": N_("address"),
    "exposure": N_("exposure"),
    "node": N_("node"),
    "backup": N_("backup"),
    "office": N_("office"),
    "router": N_("router"),
    "wan": N_("WAN"),
    "lan": N_("LAN"),
    "tunnel": N_("tunnel"),
    "camera": N_("camera"),
    "bitrate_kbps": N_("bitrate kbps"),
    "retention_days": N_("retention days"),
    "storage_gb": N_("storage GB"),
    "opd": N_("OPD"),
    "vm_disk_gb": N_("VM disk GB"),
    "recording_gb": N_("recording GB"),
    "check": N_("check"),
    "status": N_("status"),
    "detail": N_("detail"),
    "fix": N_("fix"),
}


def heading(key: str) -> str:
    """The heading of data key ``key`` (``memory_gb`` -> ``memory GB`` / ``memori GB``)."""
    msgid = HEADINGS.get(key)
    return _(msgid) if msgid is not None else key.replace("_", " ")
