"""Wireless in the spec (issue 20): radio settings of a radio device, Wi-Fi per OPD, guest Wi-Fi.

Why these shapes: a radio or an access point is a managed device like a switch
(an entry of the Site's ``switches`` with ``role: radio`` or ``role: ap``, vendor
``mikrotik_routeros``), so the switch layer renders, diffs, pushes, verifies, saves
and rolls it back, the lab replicates it and monitoring probes it with no second
stack. A point-to-point radio link is a Site ``links`` entry with ``medium: radio``
between the two radios' wireless ports, so trunk pruning treats it as it treats
fiber. What is only wireless lives here:

* :class:`RadioSettings`: what each radio of a link is set to (band, channel width,
  frequency). Each end carries its own, as each box is configured on its own, so
  validation can check what a radio engineer checks first: both ends on the same
  band, width (and frequency), each within what its model offers, the link's
  distance within the model's reach (``ModelCaps.wireless``).
* :class:`OpdWifi`: an OPD's SSID, mapped to its staff LAN VLAN, with a WPA2/WPA3
  passphrase reference of that OPD (the key store holds the secret, never the spec).
* :class:`SiteWifi` / :class:`GuestWifi`: the regulatory country and the optional
  guest network: its own VLAN (reserved, never a tenant's) and subnet, which reaches
  the internet only, never an OPD network or management.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dcctl.i18n import _
from dcctl.spec.types import CredentialRef, Prefix, Ssid, Strict, VlanId

#: Bands dcctl plans radios and APs on: RouterOS's band names start with these.
Band = Literal["2ghz", "5ghz"]
#: Channel widths in MHz.
ChannelWidth = Literal[20, 40, 80]
#: Where each band's channel centres may lie (MHz), for a typo caught at validation.
BAND_FREQUENCIES: dict[str, tuple[int, int]] = {"2ghz": (2412, 2484), "5ghz": (5150, 5895)}
#: Wi-Fi security of an OPD SSID: WPA2-PSK, WPA3-SAE, or both (transition mode).
WifiSecurity = Literal["wpa2", "wpa3", "wpa2-wpa3"]


class RadioSettings(Strict):
    """One radio's own settings (a ``role: radio`` switch): both ends of a link must agree."""

    band: Band = Field(description="2ghz or 5ghz; both ends of the link must agree")
    channel_width_mhz: ChannelWidth = Field(description="20, 40 or 80; both ends must agree")
    frequency_mhz: int | None = Field(
        None,
        ge=2412,
        le=5895,
        description="Channel centre; unset: the bridge end picks, the station scans",
    )
    protocol: Literal["nv2", "802.11"] = Field(
        "nv2", description="nv2 (MikroTik TDMA, for point-to-point) or plain 802.11"
    )

    @model_validator(mode="after")
    def _frequency_in_band(self) -> RadioSettings:
        if self.frequency_mhz is not None:
            lo, hi = BAND_FREQUENCIES[self.band]
            if not lo <= self.frequency_mhz <= hi:
                raise ValueError(
                    _(
                        "frequency_mhz {frequency} is outside the {band} band ({lo}-{hi} MHz)"
                    ).format(frequency=self.frequency_mhz, band=self.band, lo=lo, hi=hi)
                )
        return self


class OpdWifi(Strict):
    """An OPD's Wi-Fi: one SSID on every AP of its buildings, landing on its staff LAN VLAN."""

    ssid: Ssid = Field(description="Network name staff see; unique in the regency")
    security: WifiSecurity = Field(
        "wpa2", description="wpa2, wpa3 (the AP model must offer it) or wpa2-wpa3"
    )
    passphrase: CredentialRef = Field(
        description="The OPD's Wi-Fi passphrase reference (env:WSB_<OPD>_WIFI_PASSPHRASE or "
        "file:secrets/<opd>/...), never the passphrase itself"
    )
    guest: bool = Field(
        False, description="Its APs also broadcast the site's guest SSID (Site wifi.guest)"
    )


class GuestWifi(Strict):
    """The site's guest network: internet only, on a VLAN no tenant ever gets."""

    ssid: Ssid
    vlan: VlanId = Field(description="Reserved for guests: IPAM never gives it to an OPD")
    prefix: Prefix = Field(
        description="Guest subnet (gateway: its first host); outside every site pool"
    )
    passphrase: CredentialRef | None = Field(
        None, description="WPA2 passphrase reference of the guest SSID; unset: an open network"
    )


class SiteWifi(Strict):
    """Site-wide Wi-Fi settings."""

    country: Literal["indonesia"] = Field(
        "indonesia", description="Regulatory domain radios and APs are set to"
    )
    guest: GuestWifi | None = None
