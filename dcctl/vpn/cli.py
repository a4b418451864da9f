"""`dcctl vpn show|rotate|render`: the office VPN keys and MikroTik configs.

Why commands of their own: a key rotation is a deliberate, reviewable act (one
office's key is suspected leaked, a router was replaced), separate from apply;
the next `dcctl apply` pushes the new keys to the hub and Linux offices. MikroTik
offices are not reachable by dcctl, so their config is rendered for a technician,
with the private key masked unless exported to a 0600 file outside the repo.
Nothing here prints a private key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.markup import escape
from rich.table import Table

from dcctl import cliopts, targets
from dcctl.cliopts import OutputOpt, SpecPath, TargetOpt, examples
from dcctl.i18n import N_, _
from dcctl.output import (
    Output,
    Target,
    confirm_or_exit,
    console,
    emit,
    fail,
    print_spec_errors,
)
from dcctl.spec.errors import SpecErrors
from dcctl.vpn.keystore import HUB, KeyStore, KeystoreError, keystore_path

if TYPE_CHECKING:
    from dcctl.spec.loader import Spec
    from dcctl.vpn.ansible import Peer

vpn_app = cliopts.app(help="Office VPN: WireGuard peers, key rotation, MikroTik configs.")


#: `[PATH] OFFICE`: the spec path first like every command, and left out inside a repo.
OfficeWords = Annotated[
    list[str],
    typer.Argument(
        metavar="[PATH] OFFICE",
        help="Spec repo (default: the repo around the current folder), then the office "
        "as OPD/NAME (or NAME if unique)",
        autocompletion=cliopts.complete_office,
        show_default=False,
    ),
]


def _load(path: Path, as_json: bool = False) -> Spec:
    from dcctl.spec import load_spec

    try:
        spec = load_spec(path)
    except SpecErrors as exc:
        print_spec_errors(exc, as_json)
        raise typer.Exit(1) from None
    if spec.site.vpn is None:
        raise _fail(_("the Site has no vpn hub"))
    return spec


def _fail(message: str) -> typer.Exit:
    return cast(typer.Exit, fail(message))  # JSON/YAML on stderr under -o json|yaml


#: What a read shows for a key pair no apply has created yet.
NOT_YET = N_("(created by the first apply)")


def _peers(spec: Spec, target: Target) -> tuple[list[Peer], str, set[str]]:
    """Peers and the hub's public key, read only; and the names that have no keys yet.

    Keys missing from the store are stand-ins made in memory (nothing is written,
    no passphrase is made): a read never creates secrets, and two engineers'
    `vpn show` never make different production keys.
    """
    from dcctl.engines.credentials import CredentialError
    from dcctl.vpn.ansible import open_keystore, peers

    try:
        store = open_keystore(spec, spec.state_dir, target.value, create=False)
        saved = set(KeyStore(store.path).names())
        found = peers(spec, store)
        missing = {n for n in (HUB, *(p.key for p in found)) if n not in saved}
        return found, store.public_key(HUB), missing
    except (KeystoreError, CredentialError) as exc:
        raise _fail(str(exc)) from None


def _find(all_peers: list[Peer], ref: str) -> Peer:
    exact = [p for p in all_peers if p.key == ref]
    named = [p for p in all_peers if p.name == ref]
    if exact or len(named) == 1:
        return (exact or named)[0]
    known = ", ".join(p.key for p in all_peers)
    if named:
        raise _fail(_("{ref!r} is ambiguous; known: {known}").format(ref=ref, known=known))
    raise _fail(
        _("{ref!r} is not an office of the spec; known: {known}").format(ref=ref, known=known)
    )


def _office_words(words: list[str]) -> tuple[Path, str]:
    path, rest = cliopts.split_spec_words(words)
    if len(rest) != 1:
        raise _fail(_("give one OFFICE (after the spec path, if any)"))
    return path, rest[0]


@vpn_app.command(
    "show",
    epilog=examples("dcctl vpn show", "dcctl vpn show examples/wonosobo --target prod -o json"),
)
def show(
    path: SpecPath = Path("."), target: TargetOpt = Target.lab, output: OutputOpt = Output.text
) -> None:
    """The hub and every office peer: addresses, allowed networks, public keys only."""
    from dcctl.vpn.ansible import hub_facts

    spec = _load(path, output.data)
    all_peers, hub_pub, missing = _peers(spec, target)
    hub = hub_facts(spec)
    store = KeyStore(keystore_path(spec.state_dir, target.value))

    def key(name: str, public: str) -> str:
        return NOT_YET if name in missing else public

    if output.data:
        emit(
            {
                "target": target.value,
                "hub": {
                    "vm": hub["vm"],
                    "endpoint": hub["endpoint"],
                    "address": hub["cidr"],
                    "public_key": key(HUB, hub_pub),
                },
                "peers": [
                    {
                        "office": p.key,
                        "opd": p.opd,
                        "router": p.router,
                        "wan_address": p.wan_address,
                        "tunnel_address": p.tunnel_address,
                        "lan_prefix": p.lan_prefix,
                        "allowed_networks": list(p.allowed_networks),
                        "public_key": key(p.key, p.public_key),
                        "key_created": store.created(p.key) or None,
                    }
                    for p in all_peers
                ],
            },
            output,
        )
        return
    out = console()
    out.print(
        _("hub {vm} {endpoint} tunnel {cidr} key {key}").format(
            vm=escape(str(hub["vm"])),
            endpoint=escape(str(hub["endpoint"])),
            cidr=escape(str(hub["cidr"])),
            key=escape(key(HUB, hub_pub)),
        )
    )
    table = Table(title=_("VPN peers ({target})").format(target=target.value), title_justify="left")
    for col in (_("office"), _("router"), _("tunnel"), _("LAN"), _("reaches"), _("public key")):
        table.add_column(col, overflow="fold")
    for p in all_peers:
        table.add_row(
            escape(p.key),
            p.router,
            p.tunnel_address,
            p.lan_prefix,
            ", ".join(p.allowed_networks),
            escape(key(p.key, p.public_key)),
        )
    out.print(table)
    if missing:
        out.print(
            _("no key pairs yet for {n} of them: {why} (or `{command}`)").format(
                n=len(missing),
                why=_(NOT_YET)[1:-1],
                command=f"dcctl vpn keys init {path} --target {target.value}",
            )
        )


def _need_keys(missing: set[str], names: tuple[str, ...], path: Path, target: Target) -> None:
    lacking = [n for n in names if n in missing]
    if lacking:
        raise _fail(
            _(
                "no key pair yet for {names} ({target}): the first apply creates them, "
                "or `{command}`"
            ).format(
                names=", ".join(lacking),
                target=target.value,
                command=f"dcctl vpn keys init {path} --target {target.value}",
            )
        )


@vpn_app.command(
    "rotate",
    epilog=examples(
        "dcctl vpn rotate examples/wonosobo dinkes/pkm-garung --target lab",
        "dcctl vpn rotate pkm-garung --target prod   # inside the spec repo",
    ),
)
def rotate(
    words: OfficeWords,
    target: TargetOpt = Target.lab,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Do not ask (production asks otherwise)")
    ] = False,
    output: OutputOpt = Output.text,
) -> None:
    """Replace one office's key pair; the next apply (or render) uses the new keys.

    In production this asks first (or needs --auto-approve) and is written to the
    audit log, started and finished, like every production change.
    """
    from dcctl.engines.audit import audited

    path, office = _office_words(words)
    spec = _load(path)
    all_peers, _hub, missing = _peers(spec, target)
    peer = _find(all_peers, office)
    _need_keys(missing, (HUB, peer.key), path, target)
    if target == Target.prod:
        confirm_or_exit(
            auto_approve,
            "rotate",
            _("Rotate the WireGuard keys of {office} in prod?").format(office=peer.key),
        )
    store = KeyStore(keystore_path(spec.state_dir, target.value))
    with audited(spec.state_dir, spec.root, "vpn rotate", target.value, office=peer.key) as rec:
        try:
            old = store.public_key(peer.key)
            new = store.rotate(peer.key)
        except KeystoreError as exc:
            rec.finish(False, {"errors": [str(exc)]})
            raise _fail(str(exc)) from None
        rec.finish(True, {"public_key": {"old": old, "new": new}})
    if output.data:
        emit(
            {"office": peer.key, "target": target.value, "public_key": {"old": old, "new": new}},
            output,
        )
        return
    out = console()
    out.print(
        _("rotated {office} ({target}): {old} -> {new}").format(
            office=escape(peer.key), target=target.value, old=escape(old), new=escape(new)
        )
    )
    if peer.router == "mikrotik":
        command = f"dcctl vpn render {path} {peer.key} --export FILE"
        out.print(_("next: `{command}` for the router,").format(command=command))
        out.print(_("      then `dcctl apply` so the hub knows the new public key"))
    else:
        out.print(_("next: `dcctl apply` pushes the new keys to the hub and the office router"))


keys_app = cliopts.app(help="The VPN key store: create the key pairs before the first apply.")
vpn_app.add_typer(keys_app, name="keys")


@keys_app.command(
    "init", epilog=examples("dcctl vpn keys init", "dcctl vpn keys init . --target prod")
)
def keys_init(
    path: SpecPath = Path("."), target: TargetOpt = Target.lab, output: OutputOpt = Output.text
) -> None:
    """Create the key pairs the spec needs and the store lacks (apply does this too).

    Reads (`vpn show`, `vpn render`, plans) never create keys; this is the
    explicit way to have them before the first apply, e.g. to export a MikroTik
    office's config. Existing pairs are kept.
    """
    from dcctl.engines.audit import audited
    from dcctl.engines.credentials import CredentialError
    from dcctl.plan.desired import desired_state
    from dcctl.vpn.ansible import prepare

    spec = _load(path)
    with audited(spec.state_dir, spec.root, "vpn keys init", target.value) as rec:
        try:
            made = prepare(spec, desired_state(spec), spec.state_dir, targets.get(target.value))
        except (KeystoreError, CredentialError) as exc:
            rec.finish(False, {"errors": [str(exc)]})
            raise _fail(str(exc)) from None
        rec.finish(True, {"created": made})
    if output.data:
        emit({"target": target.value, "created": made}, output)
        return
    console().print(
        "; ".join(made)
        if made
        else _("every key pair exists already ({target})").format(target=target.value)
    )


@vpn_app.command(
    "render",
    epilog=examples(
        "dcctl vpn render examples/wonosobo dinkes/pkm-garung",
        "dcctl vpn render . pkm-garung --target prod --export /root/pkm-garung.rsc",
    ),
)
def render_cmd(
    words: OfficeWords,
    target: TargetOpt = Target.lab,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="Write the config WITH its private key to this file (0600, outside the repo)",
        ),
    ] = None,
    output: OutputOpt = Output.text,
) -> None:
    """The RouterOS v7 WireGuard config of a MikroTik office (private key masked).

    `-o json|yaml` gives the office, target and the (masked) config as data.
    """
    from dcctl.engines.credentials import CredentialError
    from dcctl.vpn import routeros
    from dcctl.vpn.ansible import hub_facts

    path, office = _office_words(words)
    spec = _load(path)
    all_peers, hub_pub, missing = _peers(spec, target)
    peer = _find(all_peers, office)
    hub = hub_facts(spec)
    try:
        if export is None:
            text = routeros.render(hub, hub_pub, peer)
            # Stand-ins for keys no apply created yet are never shown as if real.
            for name, public in ((HUB, hub_pub), (peer.key, peer.public_key)):
                if name in missing:
                    text = text.replace(
                        public,
                        "<"
                        + _("{name} public key: {why}").format(name=name, why=_(NOT_YET)[1:-1])
                        + ">",
                    )
            if output.data:
                body = {"office": peer.key, "target": target.value, "private_key": "masked"}
                emit({**body, "config": text}, output)
                return
            console().print(escape(text), end="", soft_wrap=True)
            return
        _need_keys(missing, (HUB, peer.key), path, target)
        store = KeyStore(keystore_path(spec.state_dir, target.value))
        text = routeros.render(hub, hub_pub, peer, store.pair(peer.key).private)
        dest = routeros.export(text, export, spec.root)
    except (routeros.RenderError, KeystoreError, CredentialError) as exc:
        raise _fail(str(exc)) from None
    if output.data:
        emit({"office": peer.key, "target": target.value, "exported": str(dest)}, output)
        return
    console().print(
        _("wrote {file} (0600; holds the private key of {office})").format(
            file=escape(str(dest)), office=peer.key
        )
    )
