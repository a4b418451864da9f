"""Vendor limits at validation, and model capabilities in what dcctl writes (issue 16).

Generated VLAN names (OPD code + -LAN/-SRV/-CCTV) must fit every vendor, else a
spec validates and then never converges; an ISL-capable Catalyst needs
`switchport trunk encapsulation dot1q` before `switchport mode trunk`.
"""

from __future__ import annotations

import re
from typing import Any

from dcctl import plugins
from dcctl.spec.checks import vlan_name
from dcctl.spec.interfaces import limits, model_caps, vlan_name_max
from dcctl.vendors.cisco_ios.lab import IosConfig, IosSession


def test_every_vendor_states_its_limits() -> None:
    for vendor in plugins.vendors():
        lim = limits(vendor)
        assert 8 <= lim.vlan_name_max <= 255 and lim.description_max >= 80
    assert vlan_name_max() <= 32, "IOS allows 32 characters"


def test_long_opd_codes_give_vlan_names_that_fit_deterministically_and_uniquely() -> None:
    short = vlan_name("dinkes", "cctv")
    assert short == "DINKES-CCTV"
    a = "dinas-kependudukan-dan-catatan-si"  # 32 characters, the longest code
    b = "dinas-kependudukan-dan-catatan-sx"[:32]
    names = {vlan_name(code, net) for code in (a, b) for net in ("servers", "cctv", "lan")}
    assert len(names) == 6, "two codes sharing a start still get distinct names"
    for name in names:
        assert len(name) <= vlan_name_max()
        for vendor in plugins.vendors():
            lim = limits(vendor)
            assert re.fullmatch(f"[{lim.vlan_name_chars}]+", name), (vendor, name)
    assert vlan_name(a, "cctv") == vlan_name(a, "cctv")
    assert vlan_name(a, "cctv").startswith("DINAS-KEPENDUDUKAN") and vlan_name(a, "cctv").endswith(
        "-CCTV"
    )


def test_the_model_table_marks_isl_capable_catalysts() -> None:
    assert model_caps("cisco_ios", "Catalyst 3560-24PS") is not None
    assert model_caps("cisco_ios", "Catalyst 3750-24TS").dot1q_encapsulation  # type: ignore[union-attr]
    assert not model_caps("cisco_ios", "Catalyst 9300-24S").dot1q_encapsulation  # type: ignore[union-attr]
    assert model_caps("cisco_ios", "Nexus 9000") is None
    assert model_caps("cisco_ios", None) is None


def _trunk_intent(encapsulation: bool) -> dict[str, Any]:
    intent: dict[str, Any] = {
        "vendor": "cisco_ios",
        "vlans": {"110": "A-LAN"},
        "ports": {"GigabitEthernet0/1": {"mode": "trunk", "trunk_vlans": [110], "description": ""}},
    }
    if encapsulation:
        intent["dot1q_encapsulation"] = True
    return intent


class _Switch:
    """What the IOS dialect asks of its switch here: the model."""

    def __init__(self, model: str, cfg: IosConfig) -> None:
        self.model, self.config = model, cfg


def _push(model: str, text: str) -> list[str]:
    cfg = IosConfig.factory("Switch", ["GigabitEthernet0/1"])
    session = IosSession(_Switch(model, cfg), "admin")  # type: ignore[arg-type]
    session.mode = "config"
    return [out for line in text.splitlines() if (out := session.handle(line).output)]


def test_an_isl_capable_catalyst_gets_the_encapsulation_line_first() -> None:
    drv: Any = plugins.vendor_driver("cisco_ios")
    with_encap = drv.intended("sw", _trunk_intent(True))
    lines = with_encap.splitlines()
    assert lines.index(" switchport trunk encapsulation dot1q") < lines.index(
        " switchport mode trunk"
    )
    assert _push("Catalyst 3560-24PS", with_encap) == []
    # Without it, the lab's 3560 refuses the trunk as the real one does ...
    refused = _push("Catalyst 3560-24PS", drv.intended("sw", _trunk_intent(False)))
    assert refused and refused[0].startswith("Command rejected: An interface whose trunk")
    # ... and a 9200 (no ISL) does not know the keyword at all.
    unknown = _push("Catalyst 9200-24T", with_encap)
    assert unknown and "% Invalid input" in unknown[0]
    assert "encapsulation" not in drv.intended("sw", _trunk_intent(False))


def test_generated_port_descriptions_always_fit_every_vendor() -> None:
    """Descriptions are `LAN <code> <building>`, `CCTV <code> <camera>`, `FO <link> <peer>`,
    `HV <node>`: two names of at most 32 characters and a short word, so the longest
    is 4 + 32 + 1 + 32 = 69 characters, within every vendor's limit; the names'
    character set (lowercase, digits, '-') is a subset of every vendor's too."""
    from dcctl.spec.types import _NAME_RE

    longest = "a" + "b" * 31
    assert _NAME_RE.fullmatch(longest) and not _NAME_RE.fullmatch(longest + "c")
    worst = f"CCTV {longest} {longest}"
    for vendor in plugins.vendors():
        assert len(worst) <= limits(vendor).description_max, vendor
