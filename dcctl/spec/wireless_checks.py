"""Cross-document checks of radios, radio links, access points and Wi-Fi (issue 20).

What a radio engineer checks first, before anything is pushed: each radio link
joins two radios on their wireless ports, both ends on the same band, channel
width (and frequency, where both name one), each within what its model offers,
and the path distance within the models' reach. For Wi-Fi: each access point
hangs off one access-switch port of the building that lists it, serves one OPD,
its model offers the security the OPD asks for, SSIDs are unique, and the guest
network is a network of its own (its VLAN never a tenant's, its subnet outside
every pool). An AP no building lists yet is allowed: Diskominfo installs it, an
OPD's ticket (``wifi_baru``) puts it in a building; until then it carries only
management and broadcasts nothing. Kept apart from :mod:`dcctl.spec.checks` so the wireless domain's
rules read in one place; :func:`dcctl.spec.checks.check_spec` calls them.
"""

from __future__ import annotations

from collections.abc import Callable

from dcctl.i18n import N_, _
from dcctl.spec.errors import SpecError
from dcctl.spec.interfaces import WirelessCaps, canonical_port, model_caps, wpa3_models
from dcctl.spec.site import Link, Site, Switch
from dcctl.spec.source import SourceDoc
from dcctl.spec.tenancy import Opd

#: Roles of the wireless devices.
WIRELESS_ROLES = ("radio", "ap")
#: The one vendor whose firewall dcctl renders for a gateway.
GATEWAY_VENDOR = "mikrotik_routeros"


def wireless_caps(sw: Switch) -> WirelessCaps | None:
    """The radio/AP capabilities of `sw`'s model (None: unknown model or a wired switch)."""
    caps = model_caps(sw.vendor, sw.model)
    return caps.wireless if caps is not None else None


def is_wireless_port(sw: Switch, port: str) -> bool:
    """Whether `port` of `sw` is one of its model's wireless interfaces (wlan1, ...)."""
    caps = wireless_caps(sw)
    return caps is not None and canonical_port(sw.vendor, port) in caps.interfaces()


def ap_uplinks(site: Site) -> dict[str, tuple[int, Link, str]]:
    """``{AP name: (link index, link, the switch at its other end)}`` for every wired AP link."""
    roles = {s.name: s.role for s in site.switches}
    out: dict[str, tuple[int, Link, str]] = {}
    for i, link in enumerate(site.links):
        a, b = link.a.partition(":")[0], link.b.partition(":")[0]
        for mine, peer in ((a, b), (b, a)):
            if roles.get(mine) == "ap" and link.medium != "radio":
                out.setdefault(mine, (i, link, peer))
    return out


def ap_buildings(opds: dict[str, Opd]) -> dict[str, list[tuple[str, int, int]]]:
    """``{AP name: [(OPD code, building index, index in access_points)]}``."""
    out: dict[str, list[tuple[str, int, int]]] = {}
    for code, opd in opds.items():
        for i, b in enumerate(opd.buildings):
            for j, ap in enumerate(b.access_points):
                out.setdefault(ap, []).append((code, i, j))
    return out


def wireless_errors(
    site: Site, opds: dict[str, Opd], sources: dict[str, SourceDoc]
) -> list[SpecError]:
    """Every wireless rule of the module docstring, each error with its file, line and field."""
    errors: list[SpecError] = []
    sd = sources["site"]
    sws = {s.name: s for s in site.switches}
    _devices(site, sd, errors.append)
    _gateways(site, sd, errors.append)
    _radio_links(site, sws, sd, errors.append)
    _access_points(site, opds, sws, sources, errors.append)
    _wifi(site, opds, sources, errors.append)
    return errors


def _devices(site: Site, sd: SourceDoc, err: Callable[[SpecError], None]) -> None:
    for i, sw in enumerate(site.switches):
        caps = wireless_caps(sw)
        if sw.role in WIRELESS_ROLES and caps is None:
            err(
                sd.error(
                    ("switches", i, "model"),
                    _(
                        "{name} is a {role} but {model} is not a radio or AP model of {vendor}"
                    ).format(
                        name=sw.name,
                        role=_("radio") if sw.role == "radio" else _("access point"),
                        model=sw.model or _("no model"),
                        vendor=sw.vendor,
                    ),
                    _(
                        "name a model of the vendor's model table with radios (e.g. LHG XL 5 ac, "
                        "cAP ac for mikrotik_routeros)"
                    ),
                )
            )
            continue
        if sw.role not in WIRELESS_ROLES and caps is not None:
            err(
                sd.error(
                    ("switches", i, "role"),
                    _(
                        "{model} is a radio or access point model: give {name} role radio or ap"
                    ).format(model=sw.model, name=sw.name),
                )
            )
            continue
        if caps is None or sw.radio is None:
            continue
        r = sw.radio
        if r.band not in caps.bands:
            err(
                sd.error(
                    ("switches", i, "radio", "band"),
                    _("a {model} has no {band} radio (it has {bands})").format(
                        model=sw.model, band=r.band, bands=", ".join(caps.bands)
                    ),
                )
            )
        if r.channel_width_mhz not in caps.widths_mhz:
            err(
                sd.error(
                    ("switches", i, "radio", "channel_width_mhz"),
                    _("a {model} offers channel widths {widths} MHz, not {width}").format(
                        model=sw.model,
                        widths=", ".join(str(w) for w in caps.widths_mhz),
                        width=r.channel_width_mhz,
                    ),
                )
            )
        missing = [p for p in caps.interfaces() if p not in sw.port_names()]
        if missing:
            err(
                sd.error(
                    ("switches", i, "ports"),
                    _("{name} lists no {ports}: its radio's interface").format(
                        name=sw.name, ports=", ".join(missing)
                    ),
                    _("add it to ports"),
                )
            )


def _gateways(site: Site, sd: SourceDoc, err: Callable[[SpecError], None]) -> None:
    """The gateway (edge policy, :mod:`dcctl.plan.edge`): one per site, and RouterOS,
    the one firewall dcctl renders; its WAN port one of its ports."""
    first: str | None = None
    for i, sw in enumerate(site.switches):
        if sw.role != "gateway":
            continue
        if sw.vendor != GATEWAY_VENDOR:
            err(
                sd.error(
                    ("switches", i, "vendor"),
                    _(
                        "{name} is a gateway: dcctl renders a gateway's firewall for {vendor} only"
                    ).format(name=sw.name, vendor=GATEWAY_VENDOR),
                )
            )
        if first is not None:
            err(
                sd.error(
                    ("switches", i, "role"),
                    _("{name} is a second gateway: the site's gateway is {first}").format(
                        name=sw.name, first=first
                    ),
                    _("a site has one gateway; give {name} another role").format(name=sw.name),
                )
            )
        first = first or sw.name
        if sw.wan_port is not None and canonical_port(sw.vendor, sw.wan_port) not in (
            canonical_port(sw.vendor, p) for p in sw.port_names()
        ):
            err(
                sd.error(
                    ("switches", i, "wan_port"),
                    _("{name} lists no port {port}").format(name=sw.name, port=sw.wan_port),
                )
            )


def _radio_links(
    site: Site, sws: dict[str, Switch], sd: SourceDoc, err: Callable[[SpecError], None]
) -> None:
    ends: dict[str, str] = {}  # radio name -> the radio link it is an end of
    for i, link in enumerate(site.links):
        for side in ("a", "b"):
            sw_name, _sep, port = getattr(link, side).partition(":")
            sw = sws.get(sw_name)
            if sw is None:
                continue  # the port checks name unknown switches
            wireless_port = is_wireless_port(sw, port)
            if link.medium != "radio":
                if wireless_port:
                    err(
                        sd.error(
                            ("links", i, side),
                            _(
                                "{port} of {switch} is a wireless interface: a {medium} "
                                "link plugs into a wired port"
                            ).format(port=port, switch=sw_name, medium=link.medium),
                            _("use the radio's ether port, or medium: radio"),
                        )
                    )
                continue
            if sw.role != "radio" or not wireless_port:
                err(
                    sd.error(
                        ("links", i, side),
                        _(
                            "a radio link joins the wireless interfaces of two radios; "
                            "{switch}:{port} is not one ({switch} is role {role})"
                        ).format(switch=sw_name, port=port, role=sw.role),
                        _("name a role: radio switch and its wlan port"),
                    )
                )
                continue
            if sw_name in ends:
                err(
                    sd.error(
                        ("links", i, side),
                        _(
                            "radio {switch} is already an end of radio link {link}; "
                            "a point-to-point radio has one link"
                        ).format(switch=sw_name, link=ends[sw_name]),
                    )
                )
            ends.setdefault(sw_name, link.name)
        if link.medium == "radio":
            _radio_pair(i, link, sws, sd, err)
    for i, sw in enumerate(site.switches):
        if sw.role == "radio" and sw.name not in ends:
            err(
                sd.error(
                    ("switches", i, "role"),
                    _("radio {name} is the end of no radio link (links with medium: radio)").format(
                        name=sw.name
                    ),
                )
            )


def _radio_pair(
    i: int, link: Link, sws: dict[str, Switch], sd: SourceDoc, err: Callable[[SpecError], None]
) -> None:
    """Both ends agree (band, width, frequency, protocol) and the distance is in reach."""
    a, b = sws[link.a.partition(":")[0]], sws[link.b.partition(":")[0]]
    if a.radio is None or b.radio is None or a.role != "radio" or b.role != "radio":
        return
    for field, what in (
        ("band", N_("band")),
        ("channel_width_mhz", N_("channel width")),
        ("protocol", N_("protocol")),
    ):
        va, vb = getattr(a.radio, field), getattr(b.radio, field)
        if va != vb:
            err(
                sd.error(
                    ("links", i),
                    _(
                        "radio link {link}: the ends disagree on {what} ({a}: {va}, "
                        "{b}: {vb}); both ends must use the same {what}"
                    ).format(link=link.name, what=_(what), a=a.name, va=va, b=b.name, vb=vb),
                    _("set the same radio.{field} on both radios").format(field=field),
                )
            )
    fa, fb = a.radio.frequency_mhz, b.radio.frequency_mhz
    if fa is not None and fb is not None and fa != fb:
        err(
            sd.error(
                ("links", i),
                _(
                    "radio link {link}: the ends are on different frequencies "
                    "({a}: {fa} MHz, {b}: {fb} MHz)"
                ).format(link=link.name, a=a.name, fa=fa, b=b.name, fb=fb),
            )
        )
    reaches = [(c.reach_m, s) for s in (a, b) if (c := wireless_caps(s)) and c.reach_m]
    if link.length_m is not None and reaches:
        reach, short = min(reaches, key=lambda r: r[0])
        if link.length_m > reach:
            err(
                sd.error(
                    ("links", i, "length_m"),
                    _(
                        "radio link {link} is {length} m long; a {model} ({name}) reaches {reach} m"
                    ).format(
                        link=link.name,
                        length=link.length_m,
                        model=short.model,
                        name=short.name,
                        reach=reach,
                    ),
                    _("use a model with more reach (a dish), or a relay"),
                )
            )


def _access_points(
    site: Site,
    opds: dict[str, Opd],
    sws: dict[str, Switch],
    sources: dict[str, SourceDoc],
    err: Callable[[SpecError], None],
) -> None:
    sd = sources["site"]
    uplinks = ap_uplinks(site)
    placed = ap_buildings(opds)
    for code, opd in opds.items():
        od = sources[f"opd/{code}"]
        for i, b in enumerate(opd.buildings):
            for j, name in enumerate(b.access_points):
                where = ("buildings", i, "access_points", j)
                sw = sws.get(name)
                if sw is None or sw.role != "ap":
                    known = sorted(s.name for s in site.switches if s.role == "ap")
                    err(
                        od.error(
                            where,
                            _(
                                "{name!r} is not an access point of the site "
                                "(a switch with role: ap)"
                            ).format(name=name),
                            _("known: {known}").format(known=", ".join(known))
                            if known
                            else _("none defined"),
                        )
                    )
                    continue
                if sw.owner is not None and sw.owner != code:
                    err(
                        od.error(
                            where,
                            _("access point {name} is {owner}'s, not {opd}'s").format(
                                name=name, owner=sw.owner, opd=code
                            ),
                        )
                    )
                if len(placed.get(name, [])) > 1:
                    err(
                        od.error(
                            where,
                            _(
                                "access point {name} is listed in more than one building ({opds})"
                            ).format(
                                name=name, opds=", ".join(sorted({c for c, _b, _j in placed[name]}))
                            ),
                        )
                    )
                up = uplinks.get(name)
                if up is not None and up[2] != b.switch:
                    err(
                        od.error(
                            where,
                            _(
                                "access point {name} hangs off {peer} (link {link}), not off "
                                "this building's switch {switch}"
                            ).format(name=name, peer=up[2], link=up[1].name, switch=b.switch),
                        )
                    )
                if opd.wifi is None:
                    err(
                        od.error(
                            where,
                            _(
                                "building {building} has access point {name} but {opd} has no wifi"
                            ).format(building=b.name, name=name, opd=code),
                            _("add wifi: ssid, passphrase (the OPD's Wi-Fi)"),
                        )
                    )
    for i, sw in enumerate(site.switches):
        if sw.role != "ap":
            continue
        if sw.name not in uplinks:
            err(
                sd.error(
                    ("switches", i, "name"),
                    _("access point {name} has no link to an access switch port").format(
                        name=sw.name
                    ),
                    _(
                        "add a links entry (medium: copper) from the building switch's port to "
                        "{name}:ether1"
                    ).format(name=sw.name),
                )
            )
        else:
            li, _link, peer = uplinks[sw.name]
            peer_sw = sws.get(peer)
            if peer_sw is not None and peer_sw.role != "access":
                err(
                    sd.error(
                        ("links", li),
                        _(
                            "access point {name} hangs off {peer} (role {role}); an "
                            "access point sits on an access switch port"
                        ).format(name=sw.name, peer=peer, role=peer_sw.role),
                    )
                )


def _wifi(
    site: Site,
    opds: dict[str, Opd],
    sources: dict[str, SourceDoc],
    err: Callable[[SpecError], None],
) -> None:
    sd = sources["site"]
    guest = site.wifi.guest if site.wifi is not None else None
    sws = {s.name: s for s in site.switches}
    ssids: dict[str, str] = {}
    if guest is not None:
        ssids[guest.ssid.casefold()] = _("the guest network")
        if guest.vlan == site.management.vlan:
            err(
                sd.error(
                    ("wifi", "guest", "vlan"),
                    _("VLAN {vlan} is the management VLAN; guests get a VLAN of their own").format(
                        vlan=guest.vlan
                    ),
                )
            )
        if 1002 <= guest.vlan <= 1005:
            err(
                sd.error(
                    ("wifi", "guest", "vlan"),
                    _("VLAN {vlan} is reserved by vendors").format(vlan=guest.vlan),
                )
            )
    for code, opd in opds.items():
        if opd.wifi is None:
            continue
        od = sources[f"opd/{code}"]
        seen = ssids.get(opd.wifi.ssid.casefold())
        if seen is not None:
            err(
                od.error(
                    ("wifi", "ssid"),
                    _("SSID {ssid} is already {owner}'s").format(ssid=opd.wifi.ssid, owner=seen),
                )
            )
        ssids.setdefault(opd.wifi.ssid.casefold(), code)
        if opd.wifi.guest and guest is None:
            err(
                od.error(
                    ("wifi", "guest"),
                    _("the site has no guest network (site.yaml wifi.guest)"),
                    _("ask Diskominfo to define one, or set guest: false"),
                )
            )
        if not opd.buildings:
            err(
                od.error(
                    ("wifi",),
                    _("{opd} has wifi but no building (the staff LAN it lands on)").format(
                        opd=code
                    ),
                )
            )
        if opd.wifi.security != "wpa2":
            for i, b in enumerate(opd.buildings):
                for j, name in enumerate(b.access_points):
                    caps = wireless_caps(sws[name]) if name in sws else None
                    if caps is not None and not caps.wpa3:
                        err(
                            od.error(
                                ("buildings", i, "access_points", j),
                                _(
                                    "wifi security {security} needs WPA3; access point "
                                    "{name} ({model}) offers WPA2 only"
                                ).format(
                                    security=opd.wifi.security, name=name, model=sws[name].model
                                ),
                                _(
                                    "set wifi.security: wpa2, or use an AP model with WPA3 "
                                    "({models})"
                                ).format(models=", ".join(wpa3_models(sws[name].vendor))),
                            )
                        )


def guest_lock_errors(
    site: Site, sources: dict[str, SourceDoc], locked: dict[str, int]
) -> list[SpecError]:
    """The guest VLAN may not be a VLAN the lock already gave a tenant.

    IPAM never hands the guest VLAN out, and a locked tenant VLAN that becomes
    reserved would be renumbered; a guest VLAN chosen onto an OPD's is refused
    instead, naming whose it is (an OPD is never renumbered by a site change).
    """
    guest = site.wifi.guest if site.wifi is not None else None
    if guest is None:
        return []
    holders = sorted(k for k, v in locked.items() if v == guest.vlan)
    if not holders:
        return []
    return [
        sources["site"].error(
            ("wifi", "guest", "vlan"),
            _(
                "VLAN {vlan} is already {owner}'s (dcctl.lock.yaml); the guest VLAN is "
                "never a tenant's"
            ).format(vlan=guest.vlan, owner=holders[0]),
            _("choose a free VLAN for guests"),
        )
    ]
