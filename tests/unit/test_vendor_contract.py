"""The contract every switch vendor keeps, run over every vendor the registry finds.

Like NAPALM's shared getter tests: a vendor folder under dcctl/vendors/ is tested
the moment it exists. Each vendor must have all its parts (driver, templates,
lab dialect, interface-name table), and the real switch engine, over real SSH
(netmiko) into that vendor's lab dialect, must converge a switch of the example
regency from factory defaults, verify it, and then find nothing left to change.
The device-output parsers are pinned to public captures elsewhere
(test_interface_names, test_switch_engine's ntc-templates checks).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from netmiko.ssh_dispatcher import CLASS_MAPPER

from dcctl import plugins
from dcctl.engines.switches.engine import SwitchTarget, change_all
from dcctl.engines.switches.layer import managed_vlans
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from dcctl.spec.interfaces import canonical_port, is_physical
from dcctl.spec.loader import Spec
from tests.helpers import free_port, start_switchd, stop_process, write_switchd_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wonosobo"
VENDORS = plugins.vendors()
DRIVER_METHODS = (
    "intended", "read_running", "remediation", "restore", "push", "verify", "save", "mask",
)  # fmt: skip

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(EXAMPLE)


def _switch_of(spec: Spec, vendor: str) -> str:
    names = [s.name for s in spec.site.switches if s.vendor == vendor]
    if not names:
        pytest.fail(
            f"the example regency has no {vendor} switch: add one so the contract covers it"
        )
    return names[0]


def test_the_registry_finds_the_vendors_the_spec_accepts() -> None:
    from typing import get_args

    from dcctl.spec.site import Vendor

    assert {"cisco_ios", "mikrotik_routeros"} <= set(VENDORS)
    assert get_args(Vendor) == VENDORS


@pytest.mark.parametrize("vendor", VENDORS)
def test_vendor_folder_has_every_part(vendor: str, spec: Spec) -> None:
    folder = plugins.vendor_dir(vendor)
    assert (folder / "templates" / "switch.j2").is_file()
    driver = plugins.vendor_driver(vendor)
    for method in DRIVER_METHODS:
        assert callable(getattr(driver, method, None)), f"{vendor} driver lacks {method}()"
    assert getattr(driver, "device_type", None) in CLASS_MAPPER, "not a netmiko platform"
    dialect = plugins.vendor_lab(vendor).VENDOR
    assert dialect.name == vendor
    # mask() hides secrets only: dcctl's own config lines (no secret in them) show as they are.
    from dcctl.plan.desired import desired_state

    name = _switch_of(spec, vendor)
    intended = driver.intended(name, desired_state(spec)["switches"][name])
    assert [ln for ln in intended.splitlines() if driver.mask(ln) != ln] == []
    # The interface table knows every port the example's switch of this vendor has.
    sw = next(s for s in spec.site.switches if s.name == _switch_of(spec, vendor))
    for port in sw.port_names():
        assert canonical_port(vendor, port) == port, "spec ports are stored canonical"
        assert is_physical(vendor, port), f"{vendor}: {port} is not a hardware port"


@pytest.mark.parametrize("vendor", VENDORS)
def test_engine_converges_the_vendors_lab_switch_and_then_changes_nothing(
    vendor: str, spec: Spec, tmp_path: Path
) -> None:
    name = _switch_of(spec, vendor)
    sw = next(s for s in spec.site.switches if s.name == name)
    intent = desired_state(spec)["switches"][name]
    password = "c-" + secrets.token_urlsafe(12)
    pw = tmp_path / "password"
    pw.write_text(password + "\n")
    os.chmod(pw, 0o600)
    state = tmp_path / "state"
    state.mkdir()
    port = free_port()
    config = write_switchd_config(
        tmp_path / "switchd.json",
        name="factory",
        vendor=vendor,
        bridge="nobr",
        ports={p: f"p{i}" for i, p in enumerate(sw.port_names())},
        listen="127.0.0.1",
        port=port,
        password_file=pw,
        state_dir=state,
    )
    proc = start_switchd(name, config, state, "127.0.0.1", port, no_ovs=True)
    try:
        target = SwitchTarget(name, intent, "127.0.0.1", "admin", password, port)
        vlans = managed_vlans(spec)
        [plan] = change_all([target], vlans, None, dry_run=True)
        assert plan.status == "planned" and plan.lines, plan
        [applied] = change_all([target], vlans, tmp_path / "backups", dry_run=False)
        # "changed" means the engine pushed, read back and verified the intent.
        assert applied.status == "changed", applied
        assert applied.lines == plan.lines, "the apply did other than the plan said"
        assert (tmp_path / "backups" / f"{name}.cfg").is_file()
        [again] = change_all([target], vlans, None, dry_run=True)
        assert (again.status, again.lines) == ("unchanged", []), again
        assert password not in repr(target) + repr(applied)
    finally:
        stop_process(proc)
