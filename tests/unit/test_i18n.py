"""Bahasa Indonesia as a first-class language: one catalogue, complete in both languages.

Issue 19: `--lang id|en` and LANG=id_ID.UTF-8 select it; every msgid of the source
has a translation in both .po files; user-facing strings of the most-read surfaces
are wrapped; enum values accept Indonesian words with a "did you mean" over both
languages; numbers and dates follow the language; the HTML report is entirely in it.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from dcctl import i18n
from dcctl.cli import app
from dcctl.report.consolidation import render_report_html, report
from dcctl.spec import load_spec
from dcctl.spec.errors import SpecErrors
from tests.conftest import EXAMPLE, ROOT


def _source_msgids() -> set[str]:
    """Every msgid the source uses, found by Babel's extractors as `scripts/i18n` finds them."""
    methods = [("dcctl/**.py", "python"), ("dcctl/report/templates/**.j2", "jinja2")]
    return {
        msg
        for _file, _line, msg, _c, _ctx in extract_from_dir(
            str(ROOT), methods, keywords={"_": None, "N_": None}
        )
        if isinstance(msg, str)
    }


@pytest.mark.parametrize("lang", ["en", "id"])
def test_catalogue_is_complete(lang: str) -> None:
    """Every msgid of the source has a non-empty translation; no stale or broken entries."""
    used = _source_msgids()
    assert len(used) > 150
    _assert_complete(lang, "dcctl", used)


def _assert_complete(lang: str, domain: str, used: set[str]) -> dict[str, str]:
    """`domain`'s .po of `lang` translates every msgid of `used`, and nothing else, with
    the same placeholders (so .format() never fails in one language only)."""
    path = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as fh:
        translated = {m.id: m.string for m in read_po(fh, locale=lang) if m.id}
    missing = sorted(m for m in used if not translated.get(m))
    assert not missing, f"{lang}: untranslated (run scripts/i18n, then translate): {missing}"
    stale = sorted(set(translated) - used)
    assert not stale, f"{lang}: msgids no longer in the source (run scripts/i18n): {stale}"
    for msgid, text in translated.items():
        assert set(re.findall(r"\{[^}]*\}", msgid)) == set(re.findall(r"\{[^}]*\}", text)), msgid
    return translated


def test_compiled_catalogue_matches_the_po_and_english_is_identity() -> None:
    """dcctl reads id's dcctl.mo; it must say what dcctl.po says (run scripts/i18n)."""
    import gettext

    mo = i18n.LOCALE_DIR / "id" / "LC_MESSAGES" / "dcctl.mo"
    with mo.open("rb") as fh:
        version = gettext.GNUTranslations(fh).info()["project-id-version"]
    po = (mo.with_suffix(".po")).read_bytes()
    import hashlib

    assert version.endswith(hashlib.sha256(po).hexdigest()), "stale dcctl.mo: run scripts/i18n"
    i18n.catalogue.cache_clear()
    assert i18n.catalogue("id") == i18n.read_po_catalogue("id")
    assert len(i18n.catalogue("id")) > 150
    en = i18n.read_po_catalogue("en")
    assert en and all(k == v for k, v in en.items())  # so English needs no lookup


def test_every_wrapped_literal_is_extracted() -> None:
    """`_("...")` inside an f-string is invisible to the extractor: it must not exist."""
    used = _source_msgids()
    hidden = []
    for path in sorted((ROOT / "dcctl").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in ("_", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and node.args[0].value not in used
            ):
                hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.args[0].value!r}")
    assert not hidden, "move these out of f-strings:\n" + "\n".join(hidden)


def test_no_function_shadows_the_translator() -> None:
    """`a, _, b = x.partition(":")` makes `_` a local: a `_("...")` in that function fails.

    Found twice while wrapping messages (ports.resolve, ipam's prefix claim); checked
    everywhere the catalogue is imported.
    """
    bad = []
    for path in sorted((ROOT / "dcctl").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            stores = calls = False
            for node in ast.walk(fn):
                if isinstance(node, ast.Name) and node.id == "_":
                    if isinstance(node.ctx, ast.Store):
                        stores = True
                    elif isinstance(node.ctx, ast.Load):
                        calls = True
            if stores and calls:
                bad.append(f"{path.relative_to(ROOT)}:{getattr(fn, 'lineno', 0)}")
    assert not bad, "rename the `_` variable in: " + ", ".join(bad)


#: The surfaces done thoroughly (issue 19): validate errors, plan, show, report, tickets' CLI.
SCANNED = [
    "dcctl/output.py",
    "dcctl/spec/source.py",
    "dcctl/plan/render.py",
    "dcctl/report/consolidation.py",
    "dcctl/i18n/headings.py",
    "dcctl/tickets/gitops.py",
    "dcctl/tickets/errors.py",
    "dcctl/spec/loader.py",
    "dcctl/spec/ports.py",
    "dcctl/spec/checks.py",
    "dcctl/tickets/edit.py",
    "dcctl/gitops/lockcheck.py",
    "dcctl/doctor.py",
    "dcctl/tickets/cli.py",
    "dcctl/tickets/status.py",
    "dcctl/engines/switches/cli.py",
    "dcctl/lab/cli.py",
    "dcctl/lab/faults.py",
    "dcctl/lab/preflight.py",
    "dcctl/cli.py",
    "dcctl/vpn/keystore.py",
    "dcctl/engines/credentials.py",
    "dcctl/ssh/knownhosts.py",
    "dcctl/ssh/vmkeys.py",
    "dcctl/plan/saved.py",
    "dcctl/engines/orchestrate.py",
    "dcctl/tickets/parse.py",
    "dcctl/engines/lock.py",
    "dcctl/engines/interrupt.py",
    "dcctl/engines/layer.py",
    "dcctl/vpn/cli.py",
    "dcctl/vpn/ansible.py",
    "dcctl/backup/cli.py",
    "dcctl/lab/runner.py",
    "dcctl/lab/reconcile.py",
    "dcctl/lab/processes.py",
    "dcctl/lab/offices.py",
    "dcctl/lab/edge.py",
    "dcctl/lab/dmz.py",
    "dcctl/lab/integration.py",
    "dcctl/spec/wireless_checks.py",
    "dcctl/spec/site.py",
    "dcctl/spec/ipam.py",
    "dcctl/spec/backup.py",
    "dcctl/spec/wireless.py",
    "dcctl/spec/vlanlist.py",
    "dcctl/spec/discovery.py",
    "dcctl/spec/types.py",
    "dcctl/spec/schema.py",
    "dcctl/spec/tenancy.py",
    "dcctl/spec/cctv.py",
    "dcctl/spec/compute.py",
    "dcctl/spec/credentials.py",
    "dcctl/spec/gitops.py",
    "dcctl/spec/vpn.py",
    "dcctl/spec/age.py",
    "dcctl/spec/errors.py",
    "dcctl/spec/interfaces.py",
    "dcctl/plan/diff.py",
    "dcctl/targets.py",
    "dcctl/engines/pulumi/layer.py",
    "dcctl/engines/ansible/layer.py",
    "dcctl/engines/switches/session.py",
    "dcctl/engines/switches/engine.py",
    "dcctl/engines/pulumi/stack.py",
    "dcctl/engines/ansible/runner.py",
    "dcctl/lab/status.py",
    "dcctl/lab/secrets.py",
    "dcctl/lab/topology.py",
    "dcctl/lab/host.py",
    "dcctl/lab/net.py",
    "dcctl/lab/podman.py",
    "dcctl/lab/plan.py",
    "dcctl/engines/ansible/vars.py",
    "dcctl/engines/switches/ntc.py",
    "dcctl/lab/planners/fabric.py",
    "dcctl/lab/planners/opds.py",
    "dcctl/lab/planners/wireless.py",
    "dcctl/lab/hypervisor/machine.py",
    "dcctl/lab/hypervisor/inputs.py",
    "dcctl/engines/pulumi/program.py",
    "dcctl/lab/hypervisor/program.py",
    "dcctl/engines/pulumi/hypervisors/proxmox.py",
    "dcctl/plugins.py",
    "dcctl/files.py",
    "dcctl/gitops/git.py",
    "dcctl/report/inventory.py",
    "dcctl/cctv/ansible.py",
    "dcctl/backup/state.py",
    "dcctl/backup/keys.py",
    "dcctl/backup/live.py",
    "dcctl/backup/ansible.py",
    "dcctl/render/switch.py",
    "dcctl/cliopts.py",
    "dcctl/i18n/helptext.py",
    "dcctl/plan/switching.py",
    "dcctl/engines/switches/hconfig.py",
    "dcctl/engines/switches/secrets.py",
    "dcctl/lab/switchd/__main__.py",
    "dcctl/lab/switchd/ovs.py",
    "dcctl/vpn/routeros.py",
    "dcctl/backup/drill.py",
    "dcctl/gitops/codeowners.py",
    "dcctl/tickets/render.py",
    "dcctl/monitoring/targets.py",
    "dcctl/monitoring/ansible.py",
    "dcctl/monitoring/config.py",
    "dcctl/firewall/nft.py",
    "dcctl/firewall/flows.py",
    "dcctl/vendors/cisco_ios/driver.py",
    "dcctl/vendors/huawei_vrp/driver.py",
    "dcctl/vendors/mikrotik_routeros/driver.py",
    "dcctl/vendors/mikrotik_routeros/interfaces.py",
    "dcctl/vendors/mikrotik_routeros/wireless.py",
    "dcctl/vendors/mikrotik_routeros/wifi.py",
    "dcctl/lab/switchd/air.py",
]


def _name(func: ast.expr) -> str | None:
    """The called name of `f(...)` or `mod.f(...)`."""
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _unwrapped(path: Path) -> list[tuple[int, str]]:
    """String literals printed or returned as text that are not inside _()/N_()."""
    tree = ast.parse(path.read_text())
    wrapped: set[int] = set()
    docstrings: set[int] = set()
    help_nodes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_", "N_"):
            for sub in ast.walk(node):
                wrapped.add(id(sub))
        # `--help` texts (help=, metavar=, epilog=, examples(...)) are built by Typer at
        # import time, before --lang is read: not messages, and still English (issue 19).
        if isinstance(node, ast.Call) and _name(node.func) == "examples":
            help_nodes.update(id(sub) for sub in ast.walk(node))
        if isinstance(node, ast.keyword) and node.arg in ("help", "metavar", "epilog"):
            help_nodes.update(id(sub) for sub in ast.walk(node.value))
        # A spec model's Field(description=, pattern=): the JSON Schema's words for an
        # editor (examples/dcctl.schema.json, one English file kept in sync), not messages.
        if isinstance(node, ast.keyword) and node.arg in ("description", "pattern"):
            help_nodes.update(id(sub) for sub in ast.walk(node.value))
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module)
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) in wrapped or id(node) in docstrings or id(node) in help_nodes:
            continue
        text = node.value.strip()
        # Words for a person: two or more words of letters with a space between
        # (identifiers, keys and YAML tags have none).
        if " " not in text or len(re.findall(r"[A-Za-z]{2,}", text)) < 2:
            continue
        # markup, encodings, pydantic's prefix that is stripped
        if re.fullmatch(r"(\[/?[a-z ]+\]\s*)+|UTF-(16|32) [LB]E|Value error,", text):
            continue
        out.append((node.lineno, text))
    return out


#: Reviewed exceptions: (file, text) that are not shown to a person as a sentence.
_ALLOWED = {
    # EXIT_CODES: the epilog of every command's --help, translated by the help catalogue
    # (dcctl_help.po, paragraph by paragraph), not by the message catalogue.
    ("dcctl/output.py", "Exit codes (every command):"),
    # TypeErrors of the YAML escaper: a template bug, raised at a developer.
    ("dcctl/tickets/edit.py", "dq quotes strings only"),
    ("dcctl/tickets/edit.py", "cannot render"),
    ("dcctl/tickets/edit.py", "into YAML"),
    # Commands to type, the same in every language; a data key of host.report().
    ("dcctl/gitops/lockcheck.py", "git fetch origin"),
    ("dcctl/doctor.py", "apt-get install -y"),
    ("dcctl/doctor.py", "lab needs"),
    # A commit trailer dcctl searches for and a git log format: read by git, not a person.
    ("dcctl/tickets/status.py", "Rendered-by: dcctl ticket render"),
    ("dcctl/tickets/status.py", "--format=%H %cI"),
    # The audit log's and the apply lock's name of the action (data, not a sentence).
    ("dcctl/engines/switches/cli.py", "switch push"),
    # Python run by the system interpreter to probe GStreamer; a command to type.
    ("dcctl/lab/preflight.py", "import gi; "),
    ("dcctl/lab/preflight.py", "apt-get install -y"),
    # The mounted groups' --help summaries (still English, like every --help text).
    ("dcctl/cli.py", "The lab: a replica of the physical estate"),
    ("dcctl/cli.py", "OPD request tickets to reviewed spec changes"),
    ("dcctl/cli.py", "One switch at a time: backup, diff, push"),
    ("dcctl/cli.py", "Office VPN: keys, rotation, MikroTik configs"),
    ("dcctl/cli.py", "Pinned SSH host keys: list, trust"),
    ("dcctl/cli.py", "Backups of every OPD's data: status, restore drills"),
    # The apply lock's name of the action.
    ("dcctl/cli.py", "snapshot adopt"),
    # What OpenSSH and Ansible print (matched, not shown); the known_hosts file's header.
    ("dcctl/ssh/knownhosts.py", "no_log: true"),
    ("dcctl/ssh/knownhosts.py", "Host key verification failed"),
    ("dcctl/ssh/knownhosts.py", "HOST IDENTIFICATION HAS CHANGED"),
    # Mitogen's host-key refusal (its hostkey_failed_msg), matched in its output.
    ("dcctl/ssh/knownhosts.py", "SSH reported an unrecognized or mismatching host key"),
    ("dcctl/ssh/knownhosts.py", "is known for"),
    ("dcctl/ssh/knownhosts.py", "HAS CHANGED"),
    ("dcctl/ssh/knownhosts.py", "# SSH host keys pinned by dcctl"),
    # A sudoers rule in cloud-init; a key-parsing ValueError no caller shows.
    ("dcctl/ssh/vmkeys.py", "ALL=(ALL) NOPASSWD:ALL"),
    ("dcctl/ssh/vmkeys.py", "not an Ed25519 key"),
    # A caller's bug (the CLI offers only known layers and actions), raised at a developer.
    ("dcctl/engines/orchestrate.py", "unknown layer(s)"),
    ("dcctl/engines/orchestrate.py", "; choose from"),
    ("dcctl/engines/orchestrate.py", "unknown action"),
    # WAITING: an item's action compared by the CLI and kept in the JSON (data).
    ("dcctl/engines/layer.py", "not reachable yet"),
    # Commands to type and the audit log's names of actions.
    ("dcctl/vpn/cli.py", "dcctl vpn keys init"),
    ("dcctl/vpn/cli.py", "dcctl vpn render"),
    ("dcctl/vpn/cli.py", "--export FILE"),
    ("dcctl/vpn/cli.py", "vpn rotate"),
    ("dcctl/vpn/cli.py", "vpn keys init"),
    # `ip -batch` lines, iptables rules and a podman format: read by the tools, not a person.
    ("dcctl/lab/runner.py", "netns del"),
    ("dcctl/lab/runner.py", "link del"),
    ("dcctl/lab/reconcile.py", "netns "),
    ("dcctl/lab/reconcile.py", "link "),
    ("dcctl/lab/reconcile.py", "type veth peer name"),
    ("dcctl/lab/reconcile.py", "type bridge"),
    ("dcctl/lab/reconcile.py", "addr add"),
    ("dcctl/lab/reconcile.py", "route "),
    ("dcctl/lab/edge.py", " -j ACCEPT"),
    ("dcctl/lab/edge.py", "-m conntrack --ctstate RELATED,ESTABLISHED"),
    ("dcctl/lab/integration.py", "{{.Names}} {{.ID}} {{.State}}"),
    # The lock file's own header comment (a committed file, the same in every language)
    # and the regular expressions that read the lock as written.
    ("dcctl/spec/ipam.py", "# IPAM allocations made by dcctl."),
    ("dcctl/spec/ipam.py", "(vlans|prefixes|addresses|disks)"),
    ("dcctl/spec/ipam.py", "([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+): "),
    # The OpenSSH public key line's regular expression.
    ("dcctl/spec/site.py", "^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256) "),
    # An SSID's regular expression; the JSON Schema's title (data for an editor).
    ("dcctl/spec/types.py", "^[A-Za-z0-9._-]([A-Za-z0-9 ._-]{0,30}"),
    ("dcctl/spec/schema.py", "dcctl spec document"),
    # An engine's step word: a key of the op table, translated where shown (op_word).
    ("dcctl/engines/layer.py", "would change"),
    ("dcctl/engines/ansible/layer.py", "would change"),
    # What paramiko says of a host key not in known_hosts (matched, not shown).
    ("dcctl/engines/switches/engine.py", "not found in known_hosts"),
    # ssh options Ansible passes on (typed, not read).
    ("dcctl/engines/ansible/runner.py", "-o "),
    # doctor's row key, and the row's status doctor compares with "ok" (it shows its own hint).
    ("dcctl/lab/host.py", "lab needs"),
    ("dcctl/lab/host.py", "lab up will raise it"),
    # An RTSP request, a shell command and a sudoers rule: read by a camera, sh and sudo.
    ("dcctl/lab/net.py", "OPTIONS rtsp://"),
    ("dcctl/lab/net.py", "RTSP/1.0"),
    ("dcctl/lab/podman.py", "mount --bind /proc/sys/net"),
    ("dcctl/lab/podman.py", "ALL=(ALL) NOPASSWD:ALL"),
    # The generated role defaults file's header (a committed file, read by developers).
    ("dcctl/engines/ansible/vars.py", "# Rendered from meta/argument_specs.yml"),
    ("dcctl/engines/ansible/vars.py", "# edit the spec, not this file"),
    ("dcctl/engines/ansible/vars.py", "# applies only these defaults"),
    # What a lab link or a claimed port is, kept in lab.json (data, like the lab's names).
    ("dcctl/lab/planners/fabric.py", " -> "),
    ("dcctl/lab/planners/wireless.py", " -> WAN"),
    ("dcctl/lab/planners/wireless.py", "Wi-Fi client o"),
    ("dcctl/lab/planners/opds.py", "LAN host"),
    # An OpenSSH key line's regular expression and the marker of a private key it looks for.
    ("dcctl/lab/hypervisor/inputs.py", "^(ssh-(ed25519|rsa|dss)"),
    ("dcctl/lab/hypervisor/inputs.py", "PRIVATE KEY"),
    # What the Proxmox program hands Proxmox VE: cloud-init user data, firewall rule and
    # pool comments, the vzdump notes template (shown in Proxmox's own English UI).
    ("dcctl/engines/pulumi/hypervisors/proxmox.py", "#cloud-config"),
    ("dcctl/engines/pulumi/hypervisors/proxmox.py", "dcctl: exposure public"),
    ("dcctl/engines/pulumi/hypervisors/proxmox.py", "dcctl: WireGuard from remote offices"),
    ("dcctl/engines/pulumi/hypervisors/proxmox.py", "(managed by dcctl)"),
    ("dcctl/engines/pulumi/hypervisors/proxmox.py", "{{guestname}} (OPD"),
    # The spec path's --help text (help texts have their own catalogue, dcctl_help.po).
    ("dcctl/cliopts.py", "Spec repo, or a file or folder inside it"),
    # The help formatter's own msgids (of dcctl_help.po) and the place they are listed under.
    ("dcctl/i18n/helptext.py", "default: {default}"),
    ("dcctl/i18n/helptext.py", "Show this message and exit."),
    ("dcctl/i18n/helptext.py", "help formatter"),
    # A port description and a config line on the device (sent to and read from it).
    ("dcctl/plan/switching.py", "WIFI guest"),
    ("dcctl/engines/switches/hconfig.py", "name MGMT"),
    # The HMAC's domain-separation prefix (hashed, never shown).
    ("dcctl/engines/switches/secrets.py", "dcctl device secret v1"),
    # The switch daemon's argparse name and its log (read by developers, not the CLI's user).
    ("dcctl/lab/switchd/__main__.py", "python -m dcctl.lab.switchd"),
    ("dcctl/lab/switchd/ovs.py", "ovs-vsctl list Interface:"),
    # The RouterOS script an office technician pastes (its comments and the masked key's
    # placeholder are part of the script, the same in every language).
    ("dcctl/vpn/routeros.py", "<private-key: masked, use --export FILE>"),
    ("dcctl/vpn/routeros.py", "# dcctl: WireGuard for office"),
    # The ticket's commit message and its trailers: Git history, one language for everyone
    # (the trailer is also searched for by tickets/status.py).
    ("dcctl/tickets/render.py", "Rendered-by: dcctl ticket render"),
    ("dcctl/tickets/render.py", "new VM"),
    ("dcctl/tickets/render.py", "GB memory,"),
    ("dcctl/tickets/render.py", "GB disk)"),
    ("dcctl/tickets/render.py", "join office"),
    ("dcctl/tickets/render.py", ") to the VPN"),
    ("dcctl/tickets/render.py", "Wi-Fi in building"),
    ("dcctl/tickets/render.py", "on access point"),
    ("dcctl/tickets/render.py", "resize VM"),
    ("dcctl/tickets/render.py", "new camera(s):"),
    ("dcctl/tickets/render.py", "stricter backup policy for VM"),
    ("dcctl/tickets/render.py", "memory GB"),
    ("dcctl/tickets/render.py", "disk GB"),
    ("dcctl/tickets/render.py", "retention days"),
    # The generated CODEOWNERS file's comments (a committed file, read by GitLab/GitHub).
    ("dcctl/gitops/codeowners.py", "# Generated by `dcctl codeowners`"),
    ("dcctl/gitops/codeowners.py", "# Each section is its own approval rule"),
    ("dcctl/gitops/codeowners.py", "# and that OPD (turn on"),
    ("dcctl/gitops/codeowners.py", "# The last matching line owns a file"),
    ("dcctl/gitops/codeowners.py", "# 'Require review from Code Owners'"),
    ("dcctl/gitops/codeowners.py", "# its reviewer must approve"),
    ("dcctl/gitops/codeowners.py", "# no reviewer contact (infra team only):"),
    # Prometheus and Alertmanager configuration: alert summaries and descriptions are
    # rule annotations in the rendered config (PromQL beside them), and a target's detail
    # goes into them; one configuration whatever language rendered it.
    ("dcctl/monitoring/targets.py", ", radio link"),
    ("dcctl/monitoring/targets.py", ", access point"),
    ("dcctl/monitoring/config.py", "Node exporter of"),
    ("dcctl/monitoring/config.py", "Access point"),
    ("dcctl/monitoring/config.py", "no scrape of node exporter at {addr}"),
    ("dcctl/monitoring/config.py", "no TCP connection to"),
    ("dcctl/monitoring/config.py", "no ICMP echo from the tunnel address {addr}"),
    ("dcctl/monitoring/config.py", "the site"),
    ("dcctl/monitoring/config.py", "or absent("),
    ("dcctl/monitoring/config.py", "the off-site repository"),
    ("dcctl/monitoring/config.py", "the backup repository"),
    ("dcctl/monitoring/config.py", "is down"),
    ("dcctl/monitoring/config.py", "WireGuard tunnel of office"),
    ("dcctl/monitoring/config.py", "of OPD"),
    ("dcctl/monitoring/config.py", "has no recent handshake"),
    ("dcctl/monitoring/config.py", "The hub saw no handshake from"),
    ("dcctl/monitoring/config.py", "for more than"),
    ("dcctl/monitoring/config.py", "Restore drill of VM"),
    ("dcctl/monitoring/config.py", "is overdue"),
    ("dcctl/monitoring/config.py", "No successful"),
    ("dcctl/monitoring/config.py", "s); run dcctl backup drill."),
    ("dcctl/monitoring/config.py", "Backup of VM"),
    ("dcctl/monitoring/config.py", "is stale"),
    ("dcctl/monitoring/config.py", "backup of"),
    ("dcctl/monitoring/config.py", "s), or none recorded at all."),
    ("dcctl/monitoring/config.py", "on the monitoring VM"),
    ("dcctl/monitoring/config.py", "Prometheus cannot scrape"),
    ("dcctl/monitoring/config.py", "; probes or notifications are not working."),
    # The VM's nftables file (loaded by nft) and the flows' names, which are its rules'
    # comments and the Proxmox firewall's.
    ("dcctl/firewall/nft.py", "nd-neighbor-solicit"),
    ("dcctl/firewall/nft.py", "meta nfproto ipv4"),
    ("dcctl/firewall/nft.py", "accept comment"),
    ("dcctl/firewall/nft.py", "#!/usr/sbin/nft -f"),
    ("dcctl/firewall/nft.py", "# Replaces only this table"),
    ("dcctl/firewall/nft.py", "# dcctl VM firewall of"),
    ("dcctl/firewall/nft.py", "chain input {"),
    ("dcctl/firewall/nft.py", "type filter hook input"),
    ("dcctl/firewall/nft.py", "ct state "),
    ("dcctl/firewall/nft.py", 'iif "lo" accept'),
    ("dcctl/firewall/nft.py", "counter comment"),
    ("dcctl/firewall/nft.py", "ip saddr {"),
    ("dcctl/firewall/nft.py", ": default deny inbound, rendered from the spec."),
    ("dcctl/firewall/nft.py", "table inet"),
    ("dcctl/firewall/nft.py", "icmpv6 type {"),
    ("dcctl/firewall/nft.py", "} ip6 hoplimit 255 accept"),
    ("dcctl/firewall/flows.py", "ssh from management"),
    ("dcctl/firewall/flows.py", "echo from management, monitoring, own OPD"),
    ("dcctl/firewall/flows.py", "node exporter from monitoring"),
    ("dcctl/firewall/flows.py", "Prometheus and Alertmanager from management"),
    ("dcctl/firewall/flows.py", "WireGuard from offices"),
    ("dcctl/firewall/flows.py", "exposure public: HTTP/HTTPS"),
    ("dcctl/firewall/flows.py", "SFTP from the VMs backing up here"),
    # Switch drivers: config lines and commands sent to the device, the device's own
    # replies they match (regular expressions) and the config header lines they drop.
    ("dcctl/vendors/cisco_ios/driver.py", "^% ?(?:Invalid input"),
    ("dcctl/vendors/cisco_ios/driver.py", "Enter configuration commands, one per line"),
    ("dcctl/vendors/cisco_ios/driver.py", "ip ssh"),
    ("dcctl/vendors/cisco_ios/driver.py", "ip scp"),
    ("dcctl/vendors/cisco_ios/driver.py", "ip domain"),
    ("dcctl/vendors/cisco_ios/driver.py", "ip name-server"),
    ("dcctl/vendors/cisco_ios/driver.py", "ip default-gateway"),
    ("dcctl/vendors/cisco_ios/driver.py", "ip route 0.0.0.0 0.0.0.0"),
    ("dcctl/vendors/cisco_ios/driver.py", "ip http"),
    ("dcctl/vendors/cisco_ios/driver.py", "key chain"),
    ("dcctl/vendors/cisco_ios/driver.py", "ntp authentication"),
    ("dcctl/vendors/cisco_ios/driver.py", "service password-encryption"),
    ("dcctl/vendors/cisco_ios/driver.py", "Building configuration"),
    ("dcctl/vendors/cisco_ios/driver.py", "Current configuration"),
    ("dcctl/vendors/cisco_ios/driver.py", "Last configuration change"),
    ("dcctl/vendors/cisco_ios/driver.py", "switchport "),
    ("dcctl/vendors/cisco_ios/driver.py", "interface Vlan"),
    ("dcctl/vendors/cisco_ios/driver.py", "show vlan brief"),
    ("dcctl/vendors/cisco_ios/driver.py", "show interfaces switchport"),
    ("dcctl/vendors/cisco_ios/driver.py", "show running-config"),
    ("dcctl/vendors/cisco_ios/driver.py", "configure terminal"),
    ("dcctl/vendors/cisco_ios/driver.py", "aaa new-model"),
    ("dcctl/vendors/huawei_vrp/driver.py", "Enter system view, return user view"),
    ("dcctl/vendors/huawei_vrp/driver.py", "^vlan batch (.+)$"),
    ("dcctl/vendors/huawei_vrp/driver.py", "ip route-static"),
    ("dcctl/vendors/huawei_vrp/driver.py", "ntp-service authentication"),
    ("dcctl/vendors/huawei_vrp/driver.py", "port link-type"),
    ("dcctl/vendors/huawei_vrp/driver.py", "port default vlan"),
    ("dcctl/vendors/huawei_vrp/driver.py", "interface Vlanif"),
    ("dcctl/vendors/huawei_vrp/driver.py", "display vlan"),
    ("dcctl/vendors/huawei_vrp/driver.py", "display port vlan"),
    ("dcctl/vendors/huawei_vrp/driver.py", "display current-configuration"),
    ("dcctl/vendors/huawei_vrp/driver.py", "undo vlan"),
    ("dcctl/vendors/huawei_vrp/driver.py", "vlan batch"),
    ("dcctl/vendors/mikrotik_routeros/driver.py", "/interface bridge"),
    ("dcctl/vendors/mikrotik_routeros/driver.py", "/system identity"),
    ("dcctl/vendors/mikrotik_routeros/driver.py", "/snmp community"),
    ("dcctl/vendors/mikrotik_routeros/driver.py", "/export terse"),
    ("dcctl/vendors/mikrotik_routeros/driver.py", "(failure:|syntax error|bad command name"),
    ("dcctl/vendors/mikrotik_routeros/driver.py", "[find "),
    ("dcctl/vendors/mikrotik_routeros/driver.py", "set name="),
    ("dcctl/vendors/mikrotik_routeros/driver.py", "export terse show-sensitive"),
    ("dcctl/vendors/mikrotik_routeros/driver.py", "remove [find "),
    ("dcctl/vendors/mikrotik_routeros/driver.py", "set [find "),
    ("dcctl/vendors/mikrotik_routeros/driver.py", "by RouterOS"),
    # Radio and access point model names (the vendor's product names).
    ("dcctl/vendors/mikrotik_routeros/interfaces.py", "LHG XL 5 ac"),
    ("dcctl/vendors/mikrotik_routeros/interfaces.py", "LHG 5 ac"),
    ("dcctl/vendors/mikrotik_routeros/interfaces.py", "SXTsq 5 ac"),
    ("dcctl/vendors/mikrotik_routeros/interfaces.py", "NetMetal ac2"),
    ("dcctl/vendors/mikrotik_routeros/interfaces.py", "SXTsq Lite2"),
    ("dcctl/vendors/mikrotik_routeros/interfaces.py", "cAP ac"),
    ("dcctl/vendors/mikrotik_routeros/interfaces.py", "wAP ac"),
    ("dcctl/vendors/mikrotik_routeros/interfaces.py", "cAP ax"),
    ("dcctl/vendors/mikrotik_routeros/interfaces.py", "hAP ax2"),
    ("dcctl/vendors/mikrotik_routeros/interfaces.py", "hAP ax3"),
    # A successful drill's detail in state/backup/records.json (data, never shown).
    ("dcctl/backup/drill.py", "changed since, check ok"),
    # RouterOS console commands of the radios' and APs' wireless and wifi packages (device lines).
    ("dcctl/vendors/mikrotik_routeros/wireless.py", "/interface wireless"),
    ("dcctl/vendors/mikrotik_routeros/wireless.py", "/interface wireless security-profiles"),
    ("dcctl/vendors/mikrotik_routeros/wireless.py", "[find default-name="),
    ("dcctl/vendors/mikrotik_routeros/wireless.py", "[find name="),
    ("dcctl/vendors/mikrotik_routeros/wireless.py", "add name="),
    ("dcctl/vendors/mikrotik_routeros/wireless.py", "remove [find name="),
    ("dcctl/vendors/mikrotik_routeros/wireless.py", "set [ find default-name="),
    ("dcctl/vendors/mikrotik_routeros/wireless.py", "set [find"),
    ("dcctl/vendors/mikrotik_routeros/wireless.py", "set [find name="),
    ("dcctl/vendors/mikrotik_routeros/wifi.py", "/interface wifi"),
    ("dcctl/vendors/mikrotik_routeros/wifi.py", "add name="),
    ("dcctl/vendors/mikrotik_routeros/wifi.py", "remove [find name="),
    ("dcctl/vendors/mikrotik_routeros/wifi.py", "security set [find name="),
    ("dcctl/vendors/mikrotik_routeros/wifi.py", "set [ find default-name="),
    ("dcctl/vendors/mikrotik_routeros/wifi.py", "set [find name="),
    # The switch daemon's log line (its log file, for a developer).
    ("dcctl/lab/switchd/air.py", "air %s: unreadable %s: %s"),
}


def test_user_facing_strings_of_the_main_surfaces_are_wrapped() -> None:
    """A sentence printed by validate, plan, show or report without _() fails here."""
    offenders = []
    for rel in SCANNED:
        for line, text in _unwrapped(ROOT / rel):
            if any(text.startswith(a) or a in text for f, a in _ALLOWED if f == rel):
                continue
            offenders.append(f"{rel}:{line}: {text[:70]!r}")
    assert not offenders, "wrap these in _() and run scripts/i18n:\n" + "\n".join(offenders)


def test_html_report_is_indonesian_unless_a_language_is_chosen(spec_repo: Path) -> None:
    """Its readers are the Kepala Dinas and the Sekda; messages stay English by default."""
    data = report(load_spec(spec_repo))
    assert i18n.chosen() is None and i18n.language() == "en"  # LANG=C.UTF-8 (conftest)
    assert '<html lang="id">' in render_report_html(data)
    i18n.set_language("en")
    assert '<html lang="en">' in render_report_html(data)
    assert '<html lang="id">' in render_report_html(data, "id")


def test_language_from_flag_and_environment() -> None:
    assert i18n.from_env({"LANG": "id_ID.UTF-8"}) == "id"
    assert i18n.env_language({"LANG": "C.UTF-8"}) is None
    assert i18n.env_language({"LANG": "POSIX"}) is None
    assert i18n.from_env({"LANG": "en_US.UTF-8"}) == "en"
    assert i18n.from_env({"LANG": "C.UTF-8"}) == "en"
    assert i18n.from_env({"LC_ALL": "id_ID.UTF-8", "LANG": "en_US.UTF-8"}) == "id"
    assert i18n.from_env({"LC_MESSAGES": "id_ID", "LANG": "C"}) == "id"
    assert i18n.from_env({}) == "en"


def test_numbers_and_dates_per_language() -> None:
    i18n.set_language("id")
    assert i18n.number(8550) == "8.550"
    assert i18n.number(331.84) == "331,8"
    assert i18n.percent(50) == "50,0 %"
    assert i18n.date(dt.date(2026, 12, 1)) == "1 Desember 2026"
    when = dt.datetime(2026, 12, 1, 14, 5, tzinfo=dt.UTC)
    assert i18n.datetime(when) == "1 Desember 2026 14.05 UTC"
    i18n.set_language("en")
    assert i18n.number(8550) == "8,550"
    assert i18n.percent(50) == "50.0%"
    assert i18n.date(dt.date(2026, 12, 1)) == "December 1, 2026"


def _broken(spec_repo: Path, old: str, new: str, file: str = "opd/dpmd.yaml") -> Path:
    f = spec_repo / file
    text = f.read_text()
    assert old in text
    f.write_text(text.replace(old, new, 1))
    return spec_repo


def test_indonesian_validate_error(
    spec_repo: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    _broken(spec_repo, "sector: village_government", "sector: pertanain")
    r = cli.invoke(app, ["--lang", "id", "validate", str(spec_repo)])
    assert r.exit_code == 1
    assert "sector: 'pertanain' bukan salah satu dari: agriculture, " in r.output
    assert "(petunjuk: maksud Anda 'pertanian' (agriculture)?)" in r.output
    assert "1 kesalahan; tidak ada yang diubah." in r.output
    assert re.search(r"^kesalahan \S*opd/dpmd\.yaml:6:1: ", r.output, re.M)
    # LANG=id_ID.UTF-8 selects it too; --lang en wins over it.
    monkeypatch.setenv("LANG", "id_ID.UTF-8")
    r = cli.invoke(app, ["validate", str(spec_repo)])
    assert "bukan salah satu dari" in r.output
    r = cli.invoke(app, ["--lang", "en", "validate", str(spec_repo)])
    assert "is not one of: agriculture" in r.output
    assert "hint: did you mean 'pertanian' (agriculture)?" in r.output


def test_indonesian_enum_aliases_are_accepted_and_stored_canonically(spec_repo: Path) -> None:
    _broken(spec_repo, "sector: village_government", "sector: Pemerintahan_Desa")
    _broken(spec_repo, "server_room: {status: closed}", "server_room: {status: ditutup}")
    _broken(spec_repo, "classification: terbatas", "classification: restricted")
    opd = load_spec(spec_repo).opds["dpmd"]
    assert (opd.sector, opd.server_room.status, opd.classification) == (
        "village_government",
        "closed",
        "terbatas",
    )


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("pertanain", "did you mean 'pertanian' (agriculture)?"),
        ("agricultre", "did you mean 'agriculture'?"),
        ("kesehetan", "did you mean 'kesehatan' (health)?"),
        ("xyz", "Indonesian words are accepted too: pertanian, "),
    ],
)
def test_did_you_mean_covers_both_languages(spec_repo: Path, value: str, hint: str) -> None:
    _broken(spec_repo, "sector: village_government", f"sector: {value}")
    with pytest.raises(SpecErrors) as exc:
        load_spec(spec_repo)
    (err,) = exc.value.errors
    assert err.path == "sector" and hint in (err.hint or "")


def test_schema_accepts_the_aliases() -> None:
    schema = json.loads((ROOT / "examples" / "dcctl.schema.json").read_text())
    text = json.dumps(schema)
    assert '"pertanian"' in text and '"ditutup"' in text


def test_indonesian_plan(spec_repo: Path, cli: CliRunner) -> None:
    r = cli.invoke(app, ["--lang", "id", "plan", str(spec_repo)])
    assert r.exit_code == 0, r.output
    assert re.search(r"^Rencana: \d+ dibuat, 0 diubah, 0 diganti, 0 dihapus\.$", r.output, re.M)
    assert "\njaringan\n" in r.output and "\nswitch\n" in r.output  # layer titles
    md = cli.invoke(app, ["--lang", "id", "plan", str(spec_repo), "-o", "markdown"]).output
    assert "### Rencana dcctl: wonosobo" in md and "| | lapisan | sumber daya | rincian |" in md
    assert "| + buat | vms |" in md


def test_indonesian_show_and_report_text(spec_repo: Path, cli: CliRunner) -> None:
    wide = {"COLUMNS": "250"}
    r = cli.invoke(app, ["--lang", "id", "show", str(spec_repo), "dinkes"], env=wide)
    assert r.exit_code == 0, r.output
    assert (
        "Jaringan" in r.output
        and "331,8" in r.output
        and "memori GB" in r.output
        and "Penyimpanan" in r.output
    )
    # The whole estate's storage table ends with the site's capacity, named in the language;
    # the JSON keeps the English row name (data).
    r = cli.invoke(app, ["--lang", "id", "show", str(spec_repo)], env=wide)
    assert r.exit_code == 0 and "TOTAL (kapasitas situs)" in r.output, r.output
    r = cli.invoke(app, ["--lang", "id", "show", str(spec_repo), "-o", "json"], env=wide)
    assert json.loads(r.stdout)["storage"][-1]["opd"] == "TOTAL (site capacity)"
    r = cli.invoke(app, ["--lang", "id", "report", str(spec_repo), "-o", "markdown"], env=wide)
    assert "### Laporan konsolidasi: wonosobo" in r.output
    assert "| dinkes | Dinas Kesehatan | rahasia | 3/6 | 9/16 | 18/32 | 720/1.500 | 331,8 |" in (
        r.output
    )
    assert "6 ditutup, 3 migrasi, 3 berjalan" in r.output


def test_html_report_entirely_in_indonesian(spec_repo: Path, tmp_path: Path) -> None:
    i18n.set_language("id")
    data = report(load_spec(spec_repo))
    html = render_report_html(data)
    assert '<html lang="id">' in html
    # badges, totals and number formats in Indonesian, consistent between table and chart
    assert '<span class="status closed">ditutup</span>' in html
    assert '<span class="status running">berjalan</span>' in html
    assert "6 ditutup, 3 migrasi, 3 berjalan" in html
    t = data["totals"]
    assert t["disk_gb"] > 999  # so grouping shows: 8.550, never 8,550
    disk = f"{t['disk_gb']:,} / {t['vm_capacity_gb']:,} GB".replace(",", ".")
    assert disk in html and "ruang server ditutup (50,0 %)" in html
    assert "<td>331,8</td>" in html and ">331,8 GB</text>" in html  # table and chart agree
    assert "Dibuat " in html and re.search(r"Dibuat \d{1,2} [A-Z][a-z]+ \d{4} \d\d\.\d\d UTC", html)
    # no English word of the page's own text is left
    words = re.sub(r"<[^>]+>", " ", html.split("</style>")[1])
    for english in ("running", "migrating", "closed", "servers", "used", "quota", "Generated"):
        assert not re.search(rf"\b{english}\b", words), english
    # the English page says it in English
    i18n.set_language("en")
    en = render_report_html(data)
    assert (
        f"{t['disk_gb']:,} / {t['vm_capacity_gb']:,} GB" in en
        and '<span class="status closed">closed</span>' in en
    )


def test_html_report_names_the_spec_commit(tmp_path: Path) -> None:
    from tests.helpers import git, git_init_commit

    repo = tmp_path / "spec"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state"))
    git_init_commit(repo)
    head = git(repo, "rev-parse", "HEAD").strip()
    data = report(load_spec(repo))
    assert data["commit"] == head
    assert f"<code>{head[:12]}</code>" in render_report_html(data)


def test_indonesian_ticket_refusal(spec_repo: Path, cli: CliRunner) -> None:
    """A refused ticket says why in Indonesian (the ticket keys already are)."""
    ticket = ROOT / "examples" / "tickets" / "vm-baru.yaml"
    from dcctl.tickets.cli import ticket_app

    i18n.set_language("id")  # what `dcctl --lang id` does before the sub-command runs
    r = cli.invoke(ticket_app, ["render", str(ticket), "-r", str(spec_repo)])
    assert r.exit_code == 1
    assert "ditolak tiket KOM-2025-0117: tidak dapat dipenuhi seperti yang tertulis" in r.output
    assert "tidak berada di dalam working tree Git" in r.output
    assert "(petunjuk: jalankan di clone repo spesifikasi, atau pakai --no-branch)" in r.output
    assert r.output.rstrip().endswith("Tidak ada yang diubah.")


def test_pydantic_messages_in_indonesian(spec_repo: Path) -> None:
    """Range and type errors come from pydantic in English; they are translated too."""
    _broken(spec_repo, "vcpu: 2, memory_gb: 4", "vcpu: 0, memory_gb: empat")
    i18n.set_language("id")
    with pytest.raises(SpecErrors) as exc:
        load_spec(spec_repo)
    got = {e.path: e.message for e in exc.value.errors}
    assert got["vms[0].vcpu"] == "harus lebih besar dari atau sama dengan 1"
    assert got["vms[0].memory_gb"] == "harus bilangan bulat (didapat str)"


def test_indonesian_collision_and_quota_errors(spec_repo: Path, cli: CliRunner) -> None:
    """The cross-document checks a ticket or an edit trips most often, in Indonesian."""
    f = spec_repo / "opd" / "dinkes.yaml"
    text = f.read_text()
    assert "lan_ports: [Gi1/0/3]" in text
    f.write_text(text.replace("lan_ports: [Gi1/0/3]", "lan_ports: [Gi1/0/5]"))
    _broken(spec_repo, "vms: 2, cameras: 0", "vms: 0, cameras: 0")
    r = cli.invoke(app, ["--lang", "id", "validate", str(spec_repo)], env={"COLUMNS": "250"})
    assert r.exit_code == 1
    assert "sudah dipakai oleh" in r.output
    assert "(petunjuk: setiap port switch menyambung satu perangkat)" in r.output
    assert "kuota terlampaui: vms 1 > 0" in r.output
    assert "naikkan kuota (perlu persetujuan) atau kecilkan permintaan" in r.output


def test_indonesian_ticket_field_refusal(tmp_path: Path) -> None:
    """A ticket with a wrong field is refused in Indonesian, naming the ticket's own field."""
    from dcctl.tickets import TicketRefused, load_ticket

    t = tmp_path / "t.json"
    t.write_text(
        json.dumps(
            {
                "nomor_tiket": "KOM-2025-0001",
                "judul": "x",
                "opd": "dinkes",
                "pemohon": {"nama": "A", "jabatan": "B", "email": "a@b.id"},
                "jenis": "vm_baruu",
                "permintaan": {},
            }
        )
    )
    i18n.set_language("id")
    with pytest.raises(TicketRefused) as exc:
        load_ticket(t)
    (r,) = exc.value.refusals
    assert (r.field, r.reason) == ("jenis", "jenis permintaan 'vm_baruu' tidak dikenal")
    assert r.hint is not None and r.hint.startswith("salah satu dari: vm_baru")


def test_a_stale_compiled_catalogue_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge that changed dcctl.po but not dcctl.mo: the .po's words win."""
    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale)
    po = locale / "id" / "LC_MESSAGES" / "dcctl.po"
    po.write_text(po.read_text().replace('msgstr "kesalahan"', 'msgstr "galat"', 1))
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    i18n.catalogue.cache_clear()
    try:
        assert i18n.catalogue("id")["error"] == "galat"
    finally:
        i18n.catalogue.cache_clear()


def test_indonesian_spec_checks_and_ticket_edit_refusals(spec_repo: Path, cli: CliRunner) -> None:
    """The cross-document checks (addresses, renames) and a ticket's edit refusal in id."""
    from dcctl.tickets.edit import remove_item
    from dcctl.tickets.errors import TicketRefused

    _broken(spec_repo, "wan_address: 198.51.100.41", "wan_address: 127.0.0.5")
    _broken(spec_repo, "{name: siskeudes, ", "{name: siskeudes, renamed_from: siskeudes, ")
    r = cli.invoke(app, ["--lang", "id", "validate", str(spec_repo)])
    assert r.exit_code == 1
    assert "alamat WAN 127.0.0.5 adalah alamat loopback" in r.output
    assert "VM siskeudes memakai renamed_from 'siskeudes', tetapi VM 'siskeudes' masih ada" in (
        r.output
    )
    r = cli.invoke(app, ["--lang", "en", "validate", str(spec_repo)])
    assert "WAN address 127.0.0.5 is a loopback address" in r.output
    text = (spec_repo / "opd/dpmd.yaml").read_text()
    with i18n.using("id"), pytest.raises(TicketRefused) as exc:
        remove_item(text, "opd/dpmd.yaml", "vms", "nosuch")
    assert str(exc.value) == "permintaan.nama: 'nosuch' tidak ditemukan di opd/dpmd.yaml vms"


def test_indonesian_lock_and_doctor(spec_repo: Path, cli: CliRunner) -> None:
    """`lock` says what it did and `doctor` groups its checks in Indonesian; JSON keeps its keys."""
    lock = spec_repo / "dcctl.lock.yaml"
    lock.write_text(
        "".join(ln for ln in lock.read_text().splitlines(True) if "dinkes/lan" not in ln)
    )
    r = cli.invoke(app, ["--lang", "id", "lock", str(spec_repo)])
    assert r.exit_code == 0, r.output
    assert "dcctl.lock.yaml diperbarui: 2 dialokasikan, 0 dipindah, 0 dilepas" in r.output
    r = cli.invoke(app, ["--lang", "id", "lock", str(spec_repo)])
    assert "dcctl.lock.yaml sudah mutakhir" in r.output
    r = cli.invoke(app, ["--lang", "id", "doctor"])
    assert "Wajib (validate, plan, apply)" in r.output and "mesin pulumi" in r.output
    assert "Opsional (lab dan gladinya)" in r.output and "pemeriksaan" in r.output
    assert re.search(r"wajib: (semua ada|tidak ada .+); opsional: \d+ dari \d+ ada", r.output)
    r = cli.invoke(app, ["--lang", "id", "doctor", "-o", "json"])
    assert "pulumi engine" in {x["check"] for x in json.loads(r.stdout)["required"]}


def test_indonesian_vpn_messages(spec_repo: Path, cli: CliRunner) -> None:
    """`vpn show` before the first apply and an unknown office, in Indonesian."""
    from dcctl.vpn.cli import vpn_app

    i18n.set_language("id")  # vpn is a sub-app `dcctl` mounts at run time
    r = cli.invoke(vpn_app, ["show", str(spec_repo)])
    assert r.exit_code == 0, r.output
    assert "Peer VPN (lab)" in r.output
    assert re.search(r"^hub \S+ \S+ tunnel \S+ kunci ", r.output, re.MULTILINE), r.output
    assert re.search(
        r"belum ada pasangan kunci untuk \d+ di antaranya: dibuat oleh apply", r.output
    )
    r = cli.invoke(vpn_app, ["render", str(spec_repo), "nosuch"])
    assert r.exit_code != 0
    assert "'nosuch' bukan kantor dalam spec; yang dikenal: " in r.output


def test_indonesian_hostkeys_messages(spec_repo: Path, cli: CliRunner) -> None:
    """`hostkeys list` and an unknown device, in Indonesian."""
    from dcctl.ssh.cli import hostkeys_app

    i18n.set_language("id")  # hostkeys is a sub-app `dcctl` mounts at run time
    r = cli.invoke(hostkeys_app, ["list", str(spec_repo)])
    assert r.exit_code == 0, r.output
    assert "Kunci host SSH (prod: " in r.output and "belum disematkan" in r.output
    r = cli.invoke(hostkeys_app, ["trust", str(spec_repo), "nosuch"])
    assert r.exit_code == 2
    assert "kesalahan: bukan perangkat SSH dalam spec: nosuch; yang dikenal: " in r.output


def test_indonesian_switch_messages(spec_repo: Path, cli: CliRunner) -> None:
    """`dcctl switch`: usage errors, an unknown switch, the summary table; JSON keeps its keys."""
    from rich.console import Console

    from dcctl.cli import _mount_subcommands
    from dcctl.engines.switches.cli import summary_table
    from dcctl.engines.switches.engine import SwitchResult

    _mount_subcommands()  # `run()` mounts `switch` when the command line names it
    r = cli.invoke(app, ["--lang", "id", "switch", "diff", str(spec_repo)])
    assert r.exit_code == 1
    assert "kesalahan: berikan NAME switch atau --all (bukan keduanya)" in r.output
    r = cli.invoke(app, ["--lang", "id", "switch", "diff", str(spec_repo), "sw-nope"])
    assert r.exit_code == 1
    assert "switch tidak dikenal: sw-nope; yang dikenal: " in r.output
    r = cli.invoke(app, ["--lang", "id", "switch", "diff", "sw-nope", "--spec", str(spec_repo)])
    assert "catatan: --spec sudah usang; berikan path spec di depan" in r.output
    i18n.set_language("id")
    results = [
        SwitchResult("sw-core", "unchanged"),
        SwitchResult("sw-dinkes", "rolled_back", ["vlan 104"], error="timeout", seconds=2.5),
    ]
    con = Console(width=200, record=True)
    con.print(summary_table(results))
    text = con.export_text()
    assert "Switch" in text and "baris" in text and "detik" in text and "rincian" in text
    assert "tidak berubah" in text and "di-rollback" in text and "2,5" in text
    assert results[1].to_dict()["status"] == "rolled_back"
    i18n.set_language("en")
    con = Console(width=200, record=True)
    con.print(summary_table(results))
    text = con.export_text()
    assert "unchanged" in text and "rolled_back" in text and "seconds" in text


def test_indonesian_lab_messages(
    spec_repo: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dcctl lab`: operator errors (no root, bad lab id, bad fault) and the result line in id."""
    import os
    from types import SimpleNamespace

    from dcctl.lab import cli as lab_cli
    from dcctl.output import Output

    i18n.set_language("id")  # lab is a sub-app `dcctl` mounts at run time
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    r = cli.invoke(lab_cli.lab_app, ["up", str(spec_repo), "--lab-id", "t01"])
    assert r.exit_code == 1
    assert "kesalahan: dcctl lab memerlukan root: perintah ini membuat network namespace" in (
        r.output
    )
    assert "petunjuk: jalankan sebagai root, mis. `sudo .venv/bin/dcctl lab up`" in r.output
    r = cli.invoke(lab_cli.lab_app, ["down", str(spec_repo), "--lab-id", "TOO-LONG"])
    assert "lab id 'TOO-LONG' harus tepat 3 karakter dari a-z dan 0-9" in r.output
    assert "petunjuk: perbaiki spec, atau pilih --lab-id lain" in r.output
    fault = ["fault", "camera", str(spec_repo), "dishub/terminal", "meledak"]
    r = cli.invoke(lab_cli.lab_app, fault)
    assert r.exit_code == 1
    assert "ACTION kamera adalah salah satu dari stop, start, pause, resume, bukan 'meledak'" in (
        r.output
    )
    r = cli.invoke(lab_cli.lab_app, ["fault", "switch", str(spec_repo), "sw-nope", "--delay", "1"])
    assert r.exit_code == 1
    assert "kesalahan: tidak ada switch 'sw-nope'" in r.output and "yang dikenal: " in r.output
    r = cli.invoke(lab_cli.lab_app, ["fault", "switch", str(spec_repo), "--delay", "-1", "x"])
    assert "kesalahan: --delay harus >= 0" in r.output
    done = SimpleNamespace(
        lab_id="wsb", action="up", changes=[], warnings=["w"], elapsed=12.34, to_dict=dict
    )
    with monkeypatch.context() as m:
        printed: list[str] = []
        m.setattr(lab_cli, "console", lambda: SimpleNamespace(print=printed.append))
        m.setattr(lab_cli, "err_console", lambda: SimpleNamespace(print=printed.append))
        lab_cli._print_result(done, Output.text)
        i18n.set_language("en")
        lab_cli._print_result(done, Output.text)
    assert printed[1] == "lab wsb aktif: tidak ada yang perlu diubah (12,3 dtk)"
    assert printed[3] == "lab wsb up: nothing to change (12.3s)"
    assert "peringatan" in printed[0] and "warning" in printed[2]


def test_indonesian_keystore_host_key_and_credential_errors(
    spec_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors raised deep in the VPN keystore, the pinned host keys and the credential
    references reach the engineer through the CLI: they are in Indonesian too."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from dcctl.engines.credentials import CredentialError, passphrase
    from dcctl.spec.credentials import read_reference
    from dcctl.ssh.knownhosts import HostKeyError, KnownHosts, openssh_refusal
    from dcctl.vpn import keystore as ks

    i18n.set_language("id")
    monkeypatch.setattr(ks, "_SCRYPT", {"n": 2**4, "r": 8, "p": 1})  # cheap for a test
    path = tmp_path / "keys.enc"
    ks.KeyStore(path, "pw").ensure(["hub"])
    with pytest.raises(ks.KeystoreError, match="tidak dapat didekripsi \\(passphrase salah"):
        ks.KeyStore(path, "salah").pair("hub")
    with pytest.raises(ks.KeystoreError, match="tidak ada pasangan kunci untuk 'nope' di "):
        ks.KeyStore(path, "pw").public_key("nope")
    (tmp_path / "junk.enc").write_text('{"version": 0}')
    with pytest.raises(ks.KeystoreError, match="bukan keystore dcctl \\(format tidak dikenal\\)"):
        ks.KeyStore(tmp_path / "junk.enc", "pw")

    def keyline() -> str:
        key = Ed25519PrivateKey.generate().public_key()
        return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()

    known = KnownHosts(tmp_path / "known_hosts")
    known.record("sw-core", "10.255.0.11", 22, keyline())
    with pytest.raises(HostKeyError) as exc:
        known.check("sw-core", "10.255.0.11", 22, keyline())
    assert "sw-core: KUNCI HOST BERUBAH di 10.255.0.11: disematkan SHA256:" in str(exc.value)
    assert "; koneksi ditolak (tidak ada yang dikirim)" in str(exc.value)
    assert str(exc.value).endswith("`dcctl hostkeys trust sw-core --replace`")
    with pytest.raises(HostKeyError, match="belum ada kunci host yang disematkan"):
        known.check("sw-dinkes", "10.255.0.12", 22, keyline())
    said = openssh_refusal("vm-x", "Host key verification failed.", tmp_path / "none")
    assert said is not None and said.startswith("vm-x: tidak ada kunci host SSH yang disematkan")

    monkeypatch.delenv("DCCTL_NOPE", raising=False)
    with pytest.raises(CredentialError) as cred:
        read_reference(spec_repo, "env:DCCTL_NOPE")
    assert (
        str(cred.value)
        == "env:DCCTL_NOPE: variabel lingkungan DCCTL_NOPE belum disetel atau kosong"
    )
    monkeypatch.setenv("DCCTL_PASSPHRASE", "   ")
    with pytest.raises(CredentialError, match=r"^DCCTL_PASSPHRASE kosong; enkripsi dengannya"):
        passphrase()
    i18n.set_language("en")
    with pytest.raises(CredentialError, match=r"^DCCTL_PASSPHRASE is blank; refusing to encrypt"):
        passphrase()


def _help_msgids() -> set[str]:
    """Every help text of the command tree, as `scripts/i18n` collects them."""
    import typer

    from dcctl.cli import _mount_subcommands
    from dcctl.i18n.helptext import help_texts

    _mount_subcommands()
    return {msgid for _where, msgid in help_texts(typer.main.get_command(app))}


@pytest.mark.parametrize("lang", ["en", "id"])
def test_help_catalogue_is_complete(lang: str) -> None:
    """Every `--help` text (summaries, option helps, epilogs' words) has a translation."""
    from dcctl.i18n.helptext import HELP_DOMAIN

    used = _help_msgids()
    assert len(used) > 100 and "Examples:" in used
    translated = _assert_complete(lang, HELP_DOMAIN, used)
    for msgid, text in translated.items():
        # option names and commands in back-quotes stay as the engineer types them
        for word in re.findall(r"--[a-z][a-z-]*|`[^`]*`", msgid):
            assert word in text, (msgid, word)


def _help(*args: str, env: dict[str, str] | None = None) -> str:
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES")}
    out = subprocess.run(
        [sys.executable, "-m", "dcctl.cli", *args],
        capture_output=True, text=True, timeout=60, env={**base, **(env or {})}, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_help_is_in_indonesian_with_lang_id_or_lang_env() -> None:
    """`--lang id` anywhere on the line, or LANG=id_ID.UTF-8, gives the help in Indonesian:
    summary, headings, option helps, the examples' heading; the example lines as typed."""
    for text in (
        _help("validate", "-h", "--lang", "id"),
        _help("validate", "--help", env={"LANG": "id_ID.UTF-8"}),
    ):
        assert "Validasi repo spesifikasi; laporkan semua galat sekaligus" in text
        assert "Penggunaan:" in text and "Opsi:" in text and "Argumen:" in text
        assert "Tampilkan pesan ini lalu keluar." in text
        assert "Contoh:\n    dcctl validate\n" in text
        assert "Examples:" not in text and "Show this message" not in text
    top = _help("--lang", "id", "-h")
    assert "Perintah:" in top and "Infrastruktur deklaratif" in top
    english = _help("validate", "-h")
    assert "Validate a spec repo" in english and "Examples:" in english and "Options:" in english


def test_indonesian_ticket_file_and_field_value_refusals(tmp_path: Path) -> None:
    """A ticket refused for its file (YAML features, size) or a field's value, in Indonesian."""
    from dcctl.tickets import TicketRefused, load_ticket

    base = {
        "nomor_tiket": "KOM-2025-0001",
        "judul": "x",
        "opd": "dinkes",
        "pemohon": {"nama": "A", "jabatan": "B", "email": "a@b.id"},
        "jenis": "vm_baru",
        "permintaan": {},
    }
    i18n.set_language("id")
    t = tmp_path / "t.yaml"
    t.write_text("nomor_tiket: &n KOM-2025-0001\njudul: *n\n")
    with pytest.raises(TicketRefused) as exc:
        load_ticket(t)
    reasons = [r.reason for r in exc.value.refusals]
    assert "anchor YAML &n tidak diperbolehkan" in reasons
    assert "alias YAML *n tidak diperbolehkan" in reasons
    t.write_text(json.dumps({**base, "diterima": "2025-02-03T08:15:00"}))
    with pytest.raises(TicketRefused) as exc:
        load_ticket(t)
    got = {r.field: r.reason for r in exc.value.refusals}
    assert got["diterima"] == "harus menyertakan selisih UTC-nya, mis. 2025-02-03T08:15:00+07:00"
    t.write_text(json.dumps({**base, "nomor_tiket": "-x"}))
    with pytest.raises(TicketRefused) as exc:
        load_ticket(t)
    got = {r.field: r.reason for r in exc.value.refusals}
    assert got["nomor_tiket"].startswith("harus 1-40 huruf, angka, '.', '_' atau '-'")


def test_indonesian_lock_interrupt_and_engine_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A held apply lock, the first SIGTERM's notice and a reasonless engine failure in id."""
    import signal

    from dcctl.engines import interrupt
    from dcctl.engines.layer import LayerResult
    from dcctl.engines.lock import LockedError, apply_lock

    i18n.set_language("id")
    with (
        apply_lock(tmp_path, "apply"),
        pytest.raises(LockedError) as exc,
        apply_lock(tmp_path, "apply"),
    ):
        pass
    assert str(exc.value).startswith("dcctl apply lain sedang memegang ")
    assert str(exc.value).endswith("; tunggu sampai selesai")
    monkeypatch.setattr(interrupt, "_received", [])
    interrupt._handler(signal.SIGTERM, None)
    assert "dcctl: SIGTERM diterima: berhenti di titik aman berikutnya" in capsys.readouterr().err
    assert LayerResult.broken("vms", "").errors == ["vms: gagal, dan engine tidak memberi alasan"]


def test_indonesian_vpn_key_creation_note(
    spec_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The note an apply prints when it creates the WireGuard key pairs, in Indonesian."""
    from dcctl.plan.desired import desired_state
    from dcctl.vpn import keystore as ks
    from dcctl.vpn.ansible import prepare

    monkeypatch.setattr(ks, "_SCRYPT", {"n": 2**4, "r": 8, "p": 1})  # cheap for a test
    monkeypatch.setenv("DCCTL_PASSPHRASE", "a test passphrase")
    spec = load_spec(spec_repo)
    i18n.set_language("id")
    (note,) = prepare(spec, desired_state(spec), tmp_path, "lab")
    assert note.startswith("pasangan kunci WireGuard dibuat: ") and note.endswith(", hub")


def test_indonesian_backup_drill_lines(
    spec_repo: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dcctl backup drill`: its result line, a failure and a usage error in Indonesian."""
    from dcctl.backup import drill as drill_mod
    from dcctl.backup.cli import backup_app

    def fake(spec: object, target: str, vm: str, **kw: object) -> drill_mod.DrillResult:
        ok = vm.endswith("simpus-db")
        report = {"snapshot": "ab12", "snapshot_time": "t", "files": 3, "matched": 3}
        return drill_mod.DrillResult(
            "dinkes", vm, target, ok, 12.34, "t0", {**report, "changed_since": 0}, "" if ok else "x"
        )

    monkeypatch.setattr(drill_mod, "drill", fake)
    monkeypatch.setattr(drill_mod, "record", lambda spec, target, result: Path("state/x.json"))
    i18n.set_language("id")  # backup is a sub-app `dcctl` mounts at run time
    args = ["drill", str(spec_repo), "dinkes/simpus-db", "--target", "lab"]
    r = cli.invoke(backup_app, args, env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert "gladi pemulihan dinkes/simpus-db (lab, primary) berhasil dalam 12,3 detik: " in (
        r.output
    )
    assert "3 berkas dipulihkan, 3 identik dengan sumbernya" in r.output
    assert "dicatat di state/x.json" in r.output
    r = cli.invoke(backup_app, [*args[:2], "dinkes/web", "--target", "lab"])
    assert r.exit_code == 1 and "gladi pemulihan dinkes/web gagal setelah 12,3 detik: x" in r.output
    r = cli.invoke(backup_app, ["drill", str(spec_repo), "--target", "lab"])
    assert "berikan satu OPD/VM (setelah path spec, jika ada)" in r.output


def test_indonesian_lab_steps_changes_and_operator_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lab up`/`down`'s spinner steps, what they changed, their warnings and the operator
    errors (iptables, GStreamer, the lab not up) in Indonesian; English unchanged. The
    kernel and the tools are stood in for: no root, nothing created."""
    from types import SimpleNamespace

    from dcctl.lab import edge, host, net, offices, processes, reconcile, runner
    from dcctl.lab.base import LabError, Result, UpRun
    from dcctl.lab.integration import LabNotReady, lab_site_inputs
    from dcctl.lab.topology import build_plan
    from dcctl.plan.desired import desired_state

    spec = load_spec(EXAMPLE)
    plan = build_plan(spec, "t01", state_dir=tmp_path / "state")
    monkeypatch.setattr(runner, "require_root", lambda: None)
    monkeypatch.setattr(runner, "switchd_available", lambda: False)
    monkeypatch.setattr(net, "netns_list", lambda: ["dlt01-gw"])
    monkeypatch.setattr(net, "netns_pids", lambda ns: [])
    monkeypatch.setattr(net, "pids_with", lambda marker: [4242])
    monkeypatch.setattr(net, "stop_pids", lambda pids, grace=5.0: list(pids))
    monkeypatch.setattr(net, "ip_batch", lambda *a, **kw: None)
    monkeypatch.setattr(
        net, "which", lambda cmd: "/usr/bin/ovs-vsctl" if cmd == "ovs-vsctl" else None
    )
    monkeypatch.setattr(net, "ovs_running", lambda: False)
    monkeypatch.setattr(net, "ip_json", lambda *a: [])
    monkeypatch.setattr(net, "links", lambda ns: {})
    monkeypatch.setattr(host, "release", lambda holder: ["vm.max_map_count"])
    monkeypatch.setattr(processes, "gst_problem", lambda: "no module gi")
    monkeypatch.setenv("DCCTL_LAB_ROOT", str(tmp_path / "labs"))

    def lab(lang: str) -> tuple[list[str], Result, UpRun, list[str]]:
        steps: list[str] = []
        i18n.set_language(lang)
        down = runner.down("t01", plan.state_dir, SimpleNamespace(step=steps.append))
        run = UpRun(plan, Result("up", "t01"))
        with monkeypatch.context() as m:
            m.setattr(net, "netns_list", lambda: [])
            reconcile.namespaces(run)
        run.started = [("switch", "sw-core"), ("camera", "dinkes/loket-dinkes")]
        processes.wait_ready(run, 0)
        offices.office_routers(run)  # podman missing: a warning, not an error
        errors = []
        for step in (offices.vpn_gateway, edge.edge, lambda r: processes.cameras(r, {})):
            with pytest.raises(LabError) as exc:
                step(run)
            errors.append(str(exc.value))
        with pytest.raises(LabNotReady) as not_up:
            lab_site_inputs(spec, desired_state(spec))
        errors.append(str(not_up.value))
        return steps, down, run, errors

    try:
        steps, down, run, errors = lab("id")
    finally:
        i18n.set_language("en")
    assert steps == [
        "menghentikan proses", "VM lab", "namespace", "bridge OVS", "antarmuka", "pengaturan host"
    ]  # fmt: skip
    assert down.changes == [
        "1 proses dihentikan",
        "1 namespace dihapus",
        "pengaturan host vm.max_map_count",
    ]
    assert down.warnings == [
        "Open vSwitch tidak berjalan: bridge lab mungkin masih tersisa di basis datanya",
        "masih ada: dlt01-gw",
    ]
    assert run.res.changes == [f"{len(plan.namespaces)} namespace dibuat"]
    assert run.res.warnings == [
        "switch sw-core sudah dijalankan tetapi tidak menjawab setelah 0 dtk",
        "kamera dinkes/loket-dinkes sudah dijalankan tetapi tidak menjawab setelah 0 dtk",
        "podman tidak terpasang: router kantor Linux tidak memiliki host SSH",
    ]
    assert errors[0] == "port forward VPN memerlukan iptables"
    assert errors[1] == "aturan edge gateway memerlukan iptables"
    assert errors[2].startswith("kamera memerlukan server RTSP GStreamer untuk ")
    assert errors[2].endswith(": no module gi")
    assert errors[3].startswith("lab belum aktif; jalankan `dcctl lab up ")
    assert down.action == "down"  # the JSON's action stays English

    steps, down, run, errors = lab("en")
    assert steps[0] == "stopping processes" and steps[-1] == "host settings"
    assert down.changes == [
        "stopped 1 processes",
        "deleted 1 namespaces",
        "host setting vm.max_map_count",
    ]
    assert run.res.changes == [f"{len(plan.namespaces)} namespaces created"]
    assert run.res.warnings[0] == "switch sw-core started but does not answer after 0s"
    assert errors[:2] == [
        "the VPN port forward needs iptables",
        "the gateway's edge rules need iptables",
    ]


def test_indonesian_wireless_and_site_spec_errors(tmp_path: Path) -> None:
    """A radio engineer's mistakes (wireless checks) and a Site model's own refusal in id."""
    from tests.helpers import spec_error
    from tests.unit.test_wireless_spec import RADIO_FAR, RF, _set, write

    def mistakes(site: dict[str, object], opds: dict[str, dict[str, object]]) -> None:
        _set(("switches", RADIO_FAR, "radio", "channel_width_mhz"), 20)(site, opds)
        _set(("links", RF, "length_m"), 45_000)(site, opds)
        _set(("buildings", 0, "access_points"), ["ap-dinkes"], "dishub")(site, opds)

    root = write(tmp_path / "a", mistakes)
    bare = write(tmp_path / "b", _set(("switches", RADIO_FAR, "radio"), None))
    i18n.set_language("id")
    try:
        err = spec_error(root, "kedua ujungnya berbeda lebar kanal (radio-dc: 40, radio-far: 20)")
        assert err.message.endswith("kedua ujung harus memakai lebar kanal yang sama")
        assert err.hint == "setel radio.channel_width_mhz yang sama pada kedua radio"
        err = spec_error(root, "link radio rf-far sepanjang 45000 m; ")
        assert err.message.endswith("hanya menjangkau 40000 m")
        assert err.hint == "pakai model dengan jangkauan lebih jauh (antena dish), atau relay"
        err = spec_error(root, "access point ap-dinkes milik dinkes, bukan milik dishub")
        assert err.file == "opd/dishub.yaml"
        err = spec_error(bare, "radio (role: radio) memerlukan pengaturan radionya")
        assert err.file == "site.yaml"
    finally:
        i18n.set_language("en")
    assert spec_error(root, "disagree on channel width").hint == (
        "set the same radio.channel_width_mhz on both radios"
    )


def test_indonesian_ipam_errors(spec_repo: Path) -> None:
    """A pinned prefix outside its pool and a VLAN switch vendors reserve, in Indonesian."""
    _broken(spec_repo, "{vlan: 140}", "{vlan: 1002, prefix: 8.8.8.0/24}", "opd/disdukcapil.yaml")
    i18n.set_language("id")
    try:
        with pytest.raises(SpecErrors) as exc:
            load_spec(spec_repo)
    finally:
        i18n.set_language("en")
    said = [(e.message, e.hint) for e in exc.value.errors]
    assert any(
        "disdukcapil/servers: prefiks tersemat 8.8.8.0/24 berada di luar ipam.server_pool " in m
        and h == "sematkan prefiks di dalam ipam.server_pool, atau hapus sematannya"
        for m, h in said
    ), said
    assert any(
        m.endswith(
            "disdukcapil/servers: VLAN 1002 adalah VLAN cadangan vendor switch (1002-1005) "
            "dan tidak pernah diberikan kepada tenant"
        )
        for m, _h in said
    ), said


def test_indonesian_replacement_reasons_target_and_vlan_lists(tmp_path: Path) -> None:
    """A plan's "forces replacement" reasons (the hypervisors' own, from their REPLACES,
    and the engine preview's), an unknown target, a VLAN list and a radio frequency
    outside its band, in Indonesian."""
    from dcctl import plugins, targets
    from dcctl.engines.pulumi.stack import classify_step
    from dcctl.plan.diff import diff_states
    from dcctl.spec.vlanlist import parse_vlan_list
    from tests.helpers import spec_error
    from tests.unit.test_wireless_spec import RADIO_FAR, _set, write

    old = {"vms": {"dinkes/simpus": {"image": "debian-12", "vlan": 110, "disk_gb": 20}}}
    new = {"vms": {"dinkes/simpus": {"image": "rocky-9", "vlan": 111, "disk_gb": 20}}}
    root = write(tmp_path, _set(("switches", RADIO_FAR, "radio", "frequency_mhz"), 2437))
    i18n.set_language("id")
    try:
        (prod,) = diff_states(old, new, plugins.hypervisor_replaces("proxmox"))
        (lab,) = diff_states(old, new, plugins.hypervisor_replaces("lab"))
        with pytest.raises(ValueError) as target:
            targets.get("nope")
        with pytest.raises(ValueError) as vlans:
            parse_vlan_list("10,5000")
        band = spec_error(root, "frequency_mhz 2437 berada di luar band 5ghz (")
        step = classify_step("replace", "proxmoxve:index/vmLegacy:VmLegacy", ["image"])
    finally:
        i18n.set_language("en")
    assert prod.reasons == ["image berubah: VM harus diganti (disk sistem diimpor dari image)"]
    assert "vlan berubah: VM harus diganti (port VM disambungkan saat mulai)" in lab.reasons
    assert str(target.value) == "target 'nope' tidak dikenal; pilih dari prod, lab"
    assert str(vlans.value) == "VLAN '5000' di luar rentang 1-4094"
    assert band.file == "site.yaml" and band.message.endswith(" MHz)")
    assert step["reason"] == "image berubah: harus diganti"  # the engine's preview step
    assert step["data_loss"] == "VM diganti dengan VM baru yang disknya kosong"
    (prod,) = diff_states(old, new, plugins.hypervisor_replaces("proxmox"))
    assert prod.reasons == [
        "image changes: forces replacement (the system disk is imported from the image)"
    ]


def test_pydantic_pattern_message_in_indonesian(spec_repo: Path) -> None:
    """A value that does not match a field's pattern: pydantic's English in en, id in id."""
    _broken(spec_repo, "alert_email: noc@wonosobokab.go.id", "alert_email: noc", "site.yaml")
    pattern = "'^[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+$'"
    for lang, said in (
        ("id", f"teks harus cocok dengan pola {pattern}"),
        ("en", f"String should match pattern {pattern}"),  # pydantic's own words
    ):
        i18n.set_language(lang)
        try:
            with pytest.raises(SpecErrors) as exc:
                load_spec(spec_repo)
        finally:
            i18n.set_language("en")
        got = {e.path: e.message for e in exc.value.errors}
        assert got["monitoring.alert_email"] == said, got


def test_indonesian_engine_words_notes_and_errors(
    spec_repo: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engines' step words and per-layer counts, the notes they store as data (nothing
    applied yet, plays not started), a VM's data loss and the Proxmox token error in id;
    the JSON keys and classes stay English."""
    from dcctl.engines.ansible import layer as hosts_layer
    from dcctl.engines.layer import count_text, op_word
    from dcctl.engines.pulumi.hypervisors.proxmox import CredentialError, api_token
    from dcctl.engines.pulumi.stack import classify_step
    from tests.helpers import stop_hosts_after_first_play

    stop_hosts_after_first_play(monkeypatch)
    monkeypatch.delenv("DCCTL_NOPE", raising=False)
    spec = load_spec(spec_repo)
    plays = len(hosts_layer._plays())
    vm = "proxmoxve:index/vmLegacy:VmLegacy"
    i18n.set_language("id")
    try:
        assert [count_text(k, n) for k, n in (("create", 3), ("delete", 1), ("same", 9))] == [
            "3 dibuat", "1 dihapus", "9 sudah sesuai"
        ]  # fmt: skip
        assert count_text("moved", 2) == "2 moved"  # a word no engine table lists
        assert [op_word(w) for w in ("create", "would change", "repaired", "moved")] == [
            "buat", "akan berubah", "diperbaiki", "moved"
        ]  # fmt: skip
        r = cli.invoke(
            app, ["--lang", "id", "drift", str(spec_repo), "--target", "prod", "--layer", "vms"]
        )
        assert r.exit_code == 0, r.output
        assert "vms: belum ada yang diterapkan ke prod" in r.output
        report = hosts_layer.run_hosts(spec, "prod", None, check=True, converge=True)
        assert report.failures["(playbook)"] == (
            f"dihentikan (SIGINT): {plays - 1} dari {plays} play belum dimulai"
        )
        replaced = classify_step("replace", vm, ["image"])
        assert replaced["class"] == "replace"  # JSON: the class stays English
        assert replaced["data_loss"] == "VM diganti dengan VM baru yang disknya kosong"
        assert classify_step("delete", vm, None)["data_loss"] == "VM dihapus"
        with pytest.raises(CredentialError, match=r"^token API Proxmox tidak ada: env:DCCTL_NOPE"):
            api_token("env:DCCTL_NOPE", str(spec_repo))
    finally:
        i18n.set_language("en")
    assert count_text("create", 3) == "3 create" and op_word("would change") == "would change"
    assert classify_step("delete", vm, None)["data_loss"] == "VM deleted"


def test_indonesian_switch_session_and_pulumi_engine_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A switch left alone after a stop, a device's unexpected reply, the file backend's
    repairs and an engine failure with nothing printed, in Indonesian; English unchanged."""
    import re
    import signal

    from dcctl.engines import interrupt
    from dcctl.engines.pulumi.stack import _failure, repair_file_backend
    from dcctl.engines.switches.engine import SwitchTarget, change_switch
    from dcctl.engines.switches.session import reply_error

    monkeypatch.delenv("DCCTL_PULUMI_BACKEND", raising=False)
    root = tmp_path / "pulumi" / ".pulumi"
    (root / "stacks").mkdir(parents=True)
    (root / "stacks" / "prod.json.attrs").write_text("")  # a sidecar truncated by a kill
    (root / "x.tmp").write_text("")  # an interrupted write
    monkeypatch.setattr(interrupt, "_received", [int(signal.SIGTERM)])
    target = SwitchTarget("sw-core", {"vendor": "cisco_ios"}, "127.0.0.1", "admin", "pw")
    caret = "   ^\n% Ambiguous command"
    error, allowed = re.compile(r"% Invalid input"), re.compile(r"ok")
    i18n.set_language("id")
    try:
        repairs = repair_file_backend(tmp_path)
        skipped = change_switch(target, set(), None)
        said = reply_error(caret, error, allowed)
        failure = _failure(ValueError(), [], [])
    finally:
        i18n.set_language("en")
    assert repairs == [
        "berkas metadata terpotong pulumi/.pulumi/stacks/prod.json.attrs dihapus",
        "berkas sementara pulumi/.pulumi/x.tmp dari penulisan yang terputus dihapus",
    ]
    assert skipped.status == "skipped"  # JSON: the status stays English
    from dcctl.engines.switches.layer import layer_result

    i18n.set_language("id")
    try:
        (layer_error,) = layer_result([skipped]).errors
    finally:
        i18n.set_language("en")
    assert layer_error.startswith("switch sw-core: dilewati: tidak dimulai: ")
    assert skipped.error == "tidak dimulai: proses dihentikan (tidak ada baris yang di-push)"
    assert said == "balasan tak terduga: % Ambiguous command"
    assert failure == "ValueError (engine tidak mencetak apa pun)"
    english = change_switch(target, set(), None).error
    assert english == "not started: the run was interrupted (no line was pushed)"
    assert reply_error(caret, error, allowed) == "unexpected reply: % Ambiguous command"


def test_indonesian_lab_status_details_and_secrets(tmp_path: Path) -> None:
    """`lab status`'s details (no switch daemon, a camera or WAN link faulted on purpose,
    where a building's host sits) and a missing lab secret, in Indonesian; states stay
    English (JSON)."""
    from dcctl.lab import status as lab_status
    from dcctl.lab.base import set_fault
    from dcctl.lab.secrets import LabSecretError, lab_secret
    from dcctl.lab.topology import build_plan

    plan = build_plan(load_spec(EXAMPLE), "t01", state_dir=tmp_path / "state")
    cam, office = plan.cameras[0], plan.offices[0]
    set_fault(plan.state_dir, "camera", cam.key, "stopped")
    set_fault(plan.state_dir, "wan", office.key, "down")
    i18n.set_language("id")
    try:
        switch = lab_status._switch_item(plan, plan.switches[0], False)
        camera = lab_status._camera_item(plan, cam)
        items = {(i.kind, i.name): i for i in lab_status._site_items(plan, {})}
        with pytest.raises(LabSecretError) as exc:
            lab_secret(plan.state_dir, "env:DCCTL_NOPE")
    finally:
        i18n.set_language("en")
    assert (switch.state, switch.detail) == ("n/a", "daemon switch belum terpasang")
    assert camera.state == "fault" and camera.detail.startswith("stopped (gangguan lab); rtsp://")
    assert items[("office", office.key)].detail == "link WAN mati (gangguan lab)"
    b = plan.buildings[0]
    building = items[("building", f"{b.opd}/{b.name}")]
    assert (building.state, building.detail) == ("missing", f"{b.address} di {b.switch_port}")
    assert str(exc.value).startswith(
        "tidak ada secret lab untuk env:DCCTL_NOPE; jalankan `dcctl lab up` terlebih dahulu"
    )
    assert lab_status._switch_item(plan, plan.switches[0], False).detail == (
        "switch daemon not installed yet"
    )


def test_indonesian_lab_lookups_commands_and_vm_policy(tmp_path: Path) -> None:
    """An unknown lab camera or office, a command the lab needs but lacks, a 'rahasia' VM
    made public and a VM on an unknown node, refused in Indonesian; English unchanged."""
    from dcctl.engines.pulumi.program import ExposurePolicyError, assert_exposure_allowed
    from dcctl.lab import net
    from dcctl.lab.topology import build_plan

    plan = build_plan(load_spec(EXAMPLE), "t01", state_dir=tmp_path / "state")
    public = {"exposure": "public", "classification": "rahasia"}
    i18n.set_language("id")
    try:
        with pytest.raises(KeyError) as camera:
            plan.camera("nope")
        with pytest.raises(KeyError) as office:
            plan.office("nope")
        with pytest.raises(net.NetError) as missing:
            net.run(["dcctl-no-such-command", "x"])
        with pytest.raises(ExposurePolicyError) as policy:
            assert_exposure_allowed("dinkes/rekam", public)
    finally:
        i18n.set_language("en")
    assert camera.value.args[0].startswith("tidak ada kamera 'nope'; yang dikenal: ")
    assert office.value.args[0].startswith("tidak ada kantor 'nope'; yang dikenal: ")
    assert str(missing.value) == "dcctl-no-such-command: perintah tidak ditemukan"
    assert str(policy.value) == (
        "dinkes/rekam: VM 'rahasia' tidak boleh memiliki exposure 'public'; "
        "tidak ada resource yang dibuat"
    )
    with pytest.raises(KeyError, match="no camera 'nope'; known: "):
        plan.camera("nope")
    from dcctl.lab.hypervisor.program import lab_names

    i18n.set_language("id")
    try:
        with pytest.raises(ValueError, match=r"^lab_id 'BAD!': 1-8 huruf kecil/angka$"):
            lab_names("BAD!", "dinkes/simpus")
    finally:
        i18n.set_language("en")


def test_indonesian_lab_vm_input_refusals() -> None:
    """A lab VM's inputs the provider refuses before touching the host, in Indonesian."""
    from dcctl.lab.hypervisor.inputs import check_inputs

    bad = {"name": "Bad Name", "vlan": 5000, "gateway": "nope", "ssh_pubkey": "x"}
    i18n.set_language("id")
    try:
        said = {f.property: f.reason for f in check_inputs(bad).failures}
    finally:
        i18n.set_language("en")
    assert said["name"] == (
        "name harus berupa nama container (huruf kecil, angka, _ . -), diberikan 'Bad Name'"
    )
    assert said["vlan"] == "vlan harus bilangan bulat dalam 1..4094, diberikan 5000"
    assert said["gateway"] == "gateway harus alamat IPv4, diberikan 'nope'"
    assert said["image"] == "image wajib diisi"  # missing: the last word on it
    english = {f.property: f.reason for f in check_inputs(bad).failures}
    assert english["vlan"] == "vlan must be an integer in 1..4094, got 5000"


def test_indonesian_program_input_errors() -> None:
    """The Pulumi program's typed inputs refused (a wrong shape, a missing lab key) in id."""
    from dcctl.engines.pulumi.program import ProgramInputError
    from dcctl.lab.hypervisor.program import lab_site

    i18n.set_language("id")
    try:
        with pytest.raises(ProgramInputError) as shape:
            lab_site({"lab_id": "t01", "lab_image": "img", "lab_memory_mb": "lots"})
        with pytest.raises(ProgramInputError) as missing:
            lab_site({"lab_id": "t01"})
    finally:
        i18n.set_language("en")
    assert str(shape.value) == (
        "site.lab_memory_mb: seharusnya int atau sebuah mapping, diberikan str 'lots'"
    )
    assert str(missing.value) == (
        "site.lab_image tidak ada; target lab memerlukannya (jalankan scripts/build-lab-image)"
    )


def test_indonesian_registry_driver_verify_and_render_refusals(tmp_path: Path) -> None:
    """The registry's unknown names, a switch driver's verify mismatches, a refused
    RouterOS value, a monitoring label, a symlink write and a backup record time in id."""
    from dcctl import plugins
    from dcctl.backup.state import parse_time
    from dcctl.files import UnsafePathError, safe_target
    from dcctl.monitoring.targets import UnsafeValue, label_value
    from dcctl.vendors.cisco_ios.driver import verify
    from dcctl.vpn import routeros

    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    intent = {"vlans": {"10": "STAFF"}, "ports": {"GigabitEthernet1/0/1": {"mode": "access"}}}
    i18n.set_language("id")
    try:
        with pytest.raises(KeyError, match="vendor switch 'nope' tidak dikenal; yang dikenal: "):
            plugins.vendor_dir("nope")
        with pytest.raises(ValueError, match=r"^hypervisor 'nope' tidak dikenal; yang dikenal: "):
            plugins.hypervisor("nope")
        assert verify("", "", intent) == [
            "vlan 10: diharapkan nama STAFF, perangkat memiliki None",
            "GigabitEthernet1/0/1: tidak dilaporkan oleh perangkat",
        ]
        with pytest.raises(routeros.RenderError, match=r"^port listen 0 bukan port UDP$"):
            routeros._port(i18n._("listen port"), 0)
        with pytest.raises(UnsafeValue, match=r"^pemantauan: kode OPD 'a b' bukan nilai label"):
            label_value("a b", i18n._("OPD code"))
        with pytest.raises(UnsafePathError, match="adalah tautan simbolik; dcctl tidak menulis"):
            safe_target(link)
        with pytest.raises(ValueError, match="waktu catatan harus menyertakan offset-nya"):
            parse_time("2026-12-07T03:00:05")
    finally:
        i18n.set_language("en")
    assert verify("", "", intent)[1] == "GigabitEthernet1/0/1: not reported by the device"


def test_indonesian_refusal_to_change_without_a_person(spec_repo: Path, cli: CliRunner) -> None:
    """A change nobody can confirm (no terminal, no --auto-approve) is refused in the
    chosen language before anything is done."""
    r = cli.invoke(app, ["--lang", "id", "destroy", str(spec_repo), "--target", "lab"])
    assert r.exit_code == 1, r.output
    assert "kesalahan: bukan terminal; berikan --auto-approve untuk destroy" in r.output
    r = cli.invoke(app, ["--lang", "en", "destroy", str(spec_repo), "--target", "lab"])
    assert "error: not a terminal; pass --auto-approve to destroy" in r.output
