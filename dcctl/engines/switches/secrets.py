"""Secrets a device config carries (radio link keys, Wi-Fi passphrases), resolved for a push.

Why a tag: RouterOS v7 hides keys in ``/export`` (``show-sensitive`` would write them
into the backups under state/), so a key cannot be compared with the device. dcctl
names each security profile it owns after a short tag of its secret instead:
``HMAC-SHA256(device login password, reference + value)``. A new key gives a new
tag, hence a new profile name, which the diff sees; the tag says nothing about the
key to anyone without the device's login password (which the device never exports).
The value reaches only the lines pushed to the device; every line shown is masked
by the driver (``wpa2-pre-shared-key=<masked>``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

#: Hex digits of the tag in a profile name: enough that a changed key never keeps it.
TAG_LENGTH = 10


@dataclass(frozen=True)
class DeviceSecret:
    """One resolved secret: its value (never in a repr) and the tag that names it."""

    value: str = field(repr=False)
    tag: str


def secret_tag(login_password: str, ref: str, value: str) -> str:
    """The tag of `value` (behind reference `ref`) on a device with `login_password`."""
    msg = f"dcctl device secret v1\0{ref}\0{value}".encode()
    return hmac.new(login_password.encode(), msg, hashlib.sha256).hexdigest()[:TAG_LENGTH]


def secret_refs(intent: dict[str, Any]) -> Iterator[str]:
    """Every credential reference an intent's wireless settings name (keys, passphrases)."""
    for settings in intent.get("wireless", {}).values():
        if settings.get("key"):
            yield settings["key"]
        for ssid in settings.get("ssids", []):
            if ssid.get("passphrase"):
                yield ssid["passphrase"]


def device_secrets(
    intent: dict[str, Any], login_password: str, resolve: Callable[[str], str]
) -> dict[str, DeviceSecret]:
    """``{reference: DeviceSecret}`` for `intent`; `resolve` raises CredentialError."""
    out: dict[str, DeviceSecret] = {}
    for ref in secret_refs(intent):
        if ref not in out:
            value = resolve(ref)
            out[ref] = DeviceSecret(value, secret_tag(login_password, ref, value))
    return out
