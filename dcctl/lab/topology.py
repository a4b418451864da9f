"""Pure planning of the lab: which namespaces, bridges, veths, addresses and processes
replicate the PHYSICAL estate of a spec, before dcctl configures anything.

Why a separate, side-effect-free module: every name and address the lab will use
is decided here, deterministically, from the spec alone. That makes the plan
unit-testable without root, lets `up` be idempotent (it compares this plan with
what exists), and lets `down` find everything again by the lab prefix even when
no plan or state survived a crash.

Naming. A lab has a 3-character id (`[a-z0-9]{3}`, default from the site name,
override with `--lab-id` / `DCCTL_LAB_ID`); its prefix is `dl` + id, e.g.
`dlwon`. Linux interface names are limited to 15 characters, so they are the
prefix plus a short code:

    dlwons3           OVS bridge of switch #3 (index in site.switches)
    dlwons3p12        switch #3 port #12 (index in port_names()), the OVS side
    dlwons3p12d       the device side of that port (host, camera, node bridge, unplugged)
    dlwonh0           OVS bridge of hypervisor node #0 (VLAN-aware, like vmbr0)
    dlwonv104         gateway access port for VLAN 104 on node #0's bridge
    dlwonv104g        ... its peer in the gateway namespace
    dlwonmr / mrb     root namespace <-> management bridge
    dlwonmg / mgb     gateway <-> management bridge
    dlwonmbr          the management Linux bridge (in <prefix>-mgmt)
    dlwonwg / wgb     gateway <-> WAN bridge
    dlwonwbr          the WAN Linux bridge (in <prefix>-wan)
    dlwono2w / o2wb   office #2 router <-> WAN bridge (the WAN fault knob)
    dlwono2l / o2h    office #2 router LAN side / LAN host

A fiber link is one veth pair whose two ends are the two switch port ends. Every
port of every switch exists (unused ones as unplugged veths without carrier),
so the switch daemon knows all of its ports. Namespaces are `<prefix>-gw`,
`-mgmt`, `-wan`, `-b-<opd>-<building>`, `-o-<opd>-<office>` (office router),
`-oh-<opd>-<office>` (office LAN host) and `-c-<opd>-<camera>`.

The plan's elements are in `dcctl.lab.plan`, and each section of it (links, nodes,
management, WAN, buildings, offices, cameras, ...) has its own planner in
`dcctl.lab.planners` (`fabric`, `opds`); this module names the lab and runs the planners in order.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from dcctl.i18n import _
from dcctl.lab import dmz
from dcctl.lab.plan import LabPlan, LabPlanError
from dcctl.lab.planners import fabric, opds, wireless
from dcctl.lab.planners.wiring import Wiring
from dcctl.spec import Spec

IF_PREFIX = "dl"
LAB_ID_RE = re.compile(r"^[a-z0-9]{3}$")
IFNAME_MAX = 15
DEFAULT_STATE_ROOT = Path("/var/lib/dcctl/lab")


# --------------------------------------------------------------------------
# Lab identity


def default_lab_id(site_name: str) -> str:
    """First three letters/digits of the site name (`wonosobo` -> `won`)."""
    clean = re.sub(r"[^a-z0-9]", "", site_name.lower())
    if len(clean) >= 3:
        return clean[:3]
    return (clean + hashlib.sha1(site_name.encode()).hexdigest())[:3]


def resolve_lab_id(site_name: str | None, explicit: str | None = None) -> str:
    """--lab-id, else $DCCTL_LAB_ID, else derived from the site name."""
    lab_id = explicit or os.environ.get("DCCTL_LAB_ID") or ""
    if not lab_id:
        if site_name is None:
            raise LabPlanError(_("no lab id: give --lab-id or a loadable spec"))
        lab_id = default_lab_id(site_name)
    if not LAB_ID_RE.match(lab_id):
        raise LabPlanError(
            _("lab id {lab_id} must be exactly 3 characters of a-z and 0-9").format(
                lab_id=repr(lab_id)
            )
        )
    return lab_id


def lab_prefix(lab_id: str) -> str:
    return IF_PREFIX + lab_id


def state_root() -> Path:
    return Path(os.environ.get("DCCTL_LAB_ROOT") or DEFAULT_STATE_ROOT)


def lab_state_dir(lab_id: str) -> Path:
    return state_root() / lab_id


# --------------------------------------------------------------------------
# Building the plan


def build_plan(spec: Spec, lab_id: str | None = None, state_dir: Path | None = None) -> LabPlan:
    """Compute the whole lab for `spec`; raises LabPlanError on an unbuildable spec.

    The order of the sections is the order of the plan's lists (and of `lab.json`).
    """
    lab_id = resolve_lab_id(spec.site.name, lab_id)
    plan = LabPlan(
        lab_id=lab_id,
        prefix=lab_prefix(lab_id),
        site=spec.site.name,
        state_dir=state_dir or lab_state_dir(lab_id),
    )
    w = Wiring.start(spec, plan)
    fabric.plan_core_namespaces(w)
    fabric.plan_links(w)
    fabric.plan_nodes(w)
    fabric.plan_gateway_networks(w)
    fabric.plan_management(w)
    fabric.plan_wan(w)
    for code, opd in spec.opds.items():
        opds.plan_buildings(w, code, opd)
        opds.plan_offices(w, code, opd)
        opds.plan_cameras(w, code, opd)
    opds.plan_vpn_gateway(w)
    wireless.plan_guest_gateway(w)
    wireless.plan_radio_air(w)
    wireless.plan_stations(w)
    wireless.plan_edge(w)
    plan.dmz_filter = dmz.rules(spec)
    fabric.plan_unplugged(w)
    fabric.plan_switches(w)
    fabric.plan_credentials(w)
    _check(plan)
    return plan


def _check(plan: LabPlan) -> None:
    """Invariants the kernel would otherwise report one confusing error at a time."""
    names = plan.ifnames()
    too_long = [n for n in names if len(n) > IFNAME_MAX]
    if too_long:
        raise LabPlanError(
            _("interface names over {max} characters: {names}").format(
                max=IFNAME_MAX, names=too_long
            )
        )
    bad = [n for n in names if not re.match(r"^[a-z0-9]+$", n)]
    if bad:
        raise LabPlanError(
            _("interface names with unexpected characters: {names}").format(names=bad)
        )
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise LabPlanError(_("interface names used twice: {names}").format(names=dup))
    ns_names = [n.name for n in plan.namespaces]
    dup = sorted({n for n in ns_names if ns_names.count(n) > 1})
    if dup:
        raise LabPlanError(_("namespace names used twice: {names}").format(names=dup))
    known = set(ns_names)
    for e in plan.ends():
        if e.netns is not None and e.netns not in known:
            raise LabPlanError(
                _("{ifname} refers to unknown namespace {netns}").format(
                    ifname=e.ifname, netns=e.netns
                )
            )
