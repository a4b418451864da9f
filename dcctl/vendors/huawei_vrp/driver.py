"""Huawei VRP: hier-config (platform HUAWEI_VRP) computes the delta, ntc-templates
parse what we verify (`display vlan`, `display port vlan`).

Shaped like the IOS driver, with VRP's differences kept here:

* VLANs exist through `vlan batch`, which the device prints as one line for
  all its VLANs (whoever made them). That line is not diffed as text (a new
  list would be `undo vlan batch <old>` first: every VLAN gone for a moment);
  the driver adds `vlan batch <missing>` before and `undo vlan batch <unwanted
  in scope>` after the hier-config lines, so VLANs outside dcctl's scope are
  never touched and ports have left a VLAN before it goes.
* A trunk allows VLAN 1 unless told `undo port trunk allow-pass vlan 1`, and
  `port trunk allow-pass vlan` adds to the list (hier-config negates the old
  list, then adds the new one).
* Sections end with `quit`, the session with `return` (user view `<name>`),
  and `save` asks `Continue? [Y/N]` (netmiko's `huawei` driver answers it).
* Every refusal starts with `Error:` (often after a caret line); any other
  reply is a failure too unless listed in `ALLOWED` (default-deny).
"""

from __future__ import annotations

import re
from typing import Any

from hier_config import (
    HConfig,
    Platform,
    WorkflowRemediation,
    get_hconfig,
)

from dcctl.engines.switches import hconfig
from dcctl.engines.switches.hconfig import flatten, hconfig_driver, mgmt_vlans
from dcctl.engines.switches.masking import mask_keywords, mask_word
from dcctl.engines.switches.ntc import parse_show
from dcctl.engines.switches.session import paste
from dcctl.i18n import _
from dcctl.render.switch import render_switch
from dcctl.vendors.huawei_vrp.interfaces import canonical, is_physical, vrp_ids, vrp_list

PLATFORM = Platform.HUAWEI_VRP
#: VRP refuses a line with `Error: ...` (tests/fixtures/devices/huawei_vrp/errors.yaml).
ERROR_PATTERN = r"^Error:[^\n]*"
_ERROR = re.compile(ERROR_PATTERN, re.M)
#: Replies that mean success besides silence.
ALLOWED = re.compile(
    r"Enter system view, return user view with Ctrl\+Z\."
    r"|Info: This operation may take a few seconds\. Please wait for a moment\.*(?:done\.)?"
    r"|Info: The configuration takes effect on the current user terminal interface only\."
)
#: `<name>` (user view), `[name]`, `[name-vlan110]`, `[name-GigabitEthernet0/0/1]`;
#: VRP 8 adds `~`/`*` after `[` for its two-stage commit.
_PROMPT = re.compile(r"(?:<[^\s<>\[\]]+>|\[[~*]?[^\s<>\[\]]+\])")
#: User view: where `return` must leave the session.
EXEC_PROMPT = re.compile(r"<[^\s<>\[\]]+>")
_BATCH = re.compile(r"^vlan batch (.+)$")


def _driver() -> Any:
    return hconfig_driver(
        PLATFORM,
        "sysname ",
        ("description ", "port link-type ", "port default vlan "),
        vlan_name=True,
    )


def clean_running(text: str) -> str:
    """`display current-configuration` without its banner, `#` separators and `return`."""
    keep = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s == "#" or s == "return" or s.startswith("!"):
            continue
        keep.append(line.rstrip())
    return "\n".join(keep) + "\n"


def _split_batch(text: str) -> tuple[set[int], HConfig]:
    """The VLANs of the `vlan batch` lines, and the rest of the config parsed."""
    ids: set[int] = set()
    rest = []
    for line in clean_running(text).splitlines():
        m = _BATCH.match(line)
        if m:
            ids |= vrp_ids(m[1])
        else:
            rest.append(line)
    return ids, get_hconfig(_driver(), "\n".join(rest))


#: Top-level lines of the management plane that full mode never changes (how the
#: switch is reached and who may log in), as for IOS; ACLs are kept whole.
PROTECTED = (
    "aaa", "user-interface ", "local-user ", "stelnet ", "ssh ", "telnet ", "http ",
    "snmp-agent", "radius-server", "hwtacacs-server", "ip route-static ", "rsa ", "dsa ",
    "ecc ", "pki ", "acl ", "ntp-service authentication", "info-center ",
)  # fmt: skip
#: Words whose next value is a secret (`password irreversible-cipher X`,
#: `snmp-agent community read cipher X`, `shared-key cipher X`, `password simple X`).
SECRET_WORDS = {"cipher", "irreversible-cipher", "simple"}


def mask(line: str) -> str:
    """VRP: the value after each :data:`SECRET_WORDS` word, and a plain SNMP community."""
    out = mask_keywords(line, SECRET_WORDS)
    words = out.split()
    i = 1 if words[:1] == ["undo"] else 0
    community = words[i : i + 2] == ["snmp-agent", "community"]
    plain = words[i + 2 : i + 3] in (["read"], ["write"]) and words[i + 3 : i + 4] not in (
        ["cipher"],
        ["simple"],
    )
    return mask_word(out, i + 3) if community and plain else out


def protected_lines(config: HConfig, mgmt_vlans: set[int]) -> set[str]:
    """Top-level lines full mode leaves alone: :data:`PROTECTED`, the management Vlanif."""
    svis = {f"interface Vlanif{vid}" for vid in mgmt_vlans}
    return {c.text for c in config.children if c.text.startswith(PROTECTED) or c.text in svis}


def scope(
    config: HConfig,
    managed_vlans: set[int],
    ports: set[str],
    full: bool,
    protect: set[str] | None = None,
) -> HConfig:
    """The part of a config dcctl owns; in full mode, everything but `protect`."""
    return hconfig.scope(config, _driver(), "sysname ", managed_vlans, ports, full, protect)


def remediation(running: str, intended: str, managed_vlans: set[int], full: bool) -> list[str]:
    """VRP lines that turn `running` into `intended` within dcctl's scope."""
    cur_ids, current_all = _split_batch(running)
    want_ids, target = _split_batch(intended)
    ports = {
        c.text.split(maxsplit=1)[1] for c in target.children if c.text.startswith("interface ")
    }
    in_scope = managed_vlans | want_ids
    mgmt = mgmt_vlans(target) | mgmt_vlans(current_all)
    protect = protected_lines(current_all, mgmt) | protected_lines(target, mgmt) if full else set()
    current = scope(current_all, in_scope, ports, full, protect)
    if full:
        target = scope(target, set(), set(), True, protect)
        wanted = {c.text for c in target.children}
        for child in current.children:
            word, _, name = child.text.partition(" ")
            if word == "interface" and is_physical(name) and child.text not in wanted:
                target.add_child(child.text).add_child("shutdown")
    lines = [
        line
        for line in flatten(WorkflowRemediation(current, target).remediation_config, "quit")
        if not re.fullmatch(r"undo vlan \d+", line)  # VLANs go with `undo vlan batch` below
    ]
    add = want_ids - cur_ids
    drop = {v for v in cur_ids if (full or v in in_scope)} - want_ids - mgmt - {1}
    return (
        ([f"vlan batch {vrp_list(add)}"] if add else [])
        + lines
        + ([f"undo vlan batch {vrp_list(drop)}"] if drop else [])
    )


def intended_config(name: str, intent: dict[str, Any]) -> str:
    """Render the template with the lists already in VRP's notation."""
    vids = [int(v) for v in intent["vlans"]]
    sw = {
        **intent,
        "vlan_batch": vrp_list(vids) if vids else "",
        "ports": {
            port: {
                **p,
                "allow_pass": vrp_list({int(v) for v in p.get("trunk_vlans", [])} - {1}),
            }
            for port, p in intent["ports"].items()
        },
    }
    return render_switch(name, sw)


def _trunk_list(items: list[str] | str) -> set[int]:
    """The VLANs of a parsed `Trunk VLAN List` (items like `1`, `249-255`)."""
    if isinstance(items, str):
        items = [items]
    parts = [p for p in items if p and p != "-"]
    return vrp_ids(" ".join(parts)) if parts else set()


def verify(display_vlan: str, display_port_vlan: str, intent: dict[str, Any]) -> list[str]:
    """Compare parsed `display vlan` / `display port vlan` with the intent."""
    problems: list[str] = []
    vlans = {
        str(r.get("vlan_id")): r for r in parse_show("huawei_vrp", "display vlan", display_vlan)
    }
    for vid in intent["vlans"]:
        row = vlans.get(str(vid))
        if row is None:
            problems.append(_("vlan {vid}: not on the device").format(vid=vid))
        elif row.get("vlan_status") and row["vlan_status"] != "enable":
            problems.append(
                _("vlan {vid}: status {status}").format(vid=vid, status=row["vlan_status"])
            )
    ports = {
        canonical(r["interface"]): r
        for r in parse_show("huawei_vrp", "display port vlan", display_port_vlan)
    }
    for port, want in intent["ports"].items():
        got = ports.get(port)
        if got is None:
            problems.append(_("{port}: not reported by the device").format(port=port))
            continue
        kind = got.get("link_type", "")
        if want["mode"] == "access":
            if kind != "access" or str(got.get("vlan_id")) != str(want["vlan"]):
                problems.append(
                    _("{port}: expected access vlan {vlan}, device has {mode} {got}").format(
                        port=port, vlan=want["vlan"], mode=kind, got=got.get("vlan_id")
                    )
                )
        else:
            try:
                allowed = _trunk_list(got.get("trunk_vlan_list") or [])
            except ValueError:
                problems.append(
                    _("{port}: trunk list {raw!r} unreadable").format(
                        port=port, raw=got.get("trunk_vlan_list")
                    )
                )
                continue
            if kind != "trunk" or allowed != {int(v) for v in want["trunk_vlans"]}:
                problems.append(
                    _("{port}: expected trunk {vlans}, device has {mode} {got}").format(
                        port=port, vlans=sorted(want["trunk_vlans"]), mode=kind, got=sorted(allowed)
                    )
                )
    return problems


class VrpDriver:
    """netmiko `huawei` device handling for the switch engine."""

    device_type = "huawei"
    #: The device's error forms and the replies that mean success (contract tests).
    errors = _ERROR
    allowed = ALLOWED

    def prepare(self, conn: Any) -> None:
        """Make netmiko's "am I in system view?" check wait for the prompt, not for silence.

        netmiko's `huawei` driver reads that answer by timing (about 2 s of quiet
        per check), and its `disconnect` asks it once: 2.2 s per switch, more than
        the whole change takes. Reading up to the next `>`/`]` prompt answers the
        same question at once.
        """
        from netmiko.base_connection import BaseConnection

        def check_config_mode(
            check_string: str = "]", pattern: str = "", force_regex: bool = False
        ) -> bool:
            return bool(
                BaseConnection.check_config_mode(
                    conn, check_string="]", pattern=r"[>\]]\s*$", force_regex=False
                )
            )

        conn.check_config_mode = check_config_mode
        # netmiko sends `screen-length 0 temporary` at login and clears the buffer
        # after a fixed 0.3 s; a device slower than that answers later ("Info: The
        # configuration takes effect ..."), and the next `find_prompt` takes that
        # line for the prompt. One fresh prompt read to the end leaves nothing behind.
        conn.write_channel(conn.RETURN)
        conn.read_until_pattern(
            pattern=rf"<{re.escape(conn.base_prompt)}>\s*$", re_flags=re.M, read_timeout=20
        )

    def intended(self, name: str, intent: dict[str, Any]) -> str:
        return intended_config(name, intent)

    def read_running(self, conn: Any) -> str:
        return clean_running(conn.send_command("display current-configuration", read_timeout=60))

    def remediation(
        self, running: str, intended: str, managed_vlans: set[int], full: bool
    ) -> list[str]:
        return remediation(running, intended, managed_vlans, full)

    def restore(self, running: str, backup: str) -> list[str]:
        """Lines that bring the device back to `backup` exactly (every line)."""
        return remediation(running, backup, set(), True)

    def mask(self, line: str) -> str:
        """`line` with its secret values masked (cipher passwords, keys, communities)."""
        return mask(line)

    def push(self, conn: Any, lines: list[str]) -> str:
        """Paste into system view; `return` must land in user view. A new sysname
        changes the prompt, so it is re-learnt afterwards."""
        out = paste(
            conn,
            ["system-view", *lines, "return"],
            _PROMPT,
            _ERROR,
            allowed=ALLOWED,
            final_prompt=EXEC_PROMPT,
        )
        if any(line.startswith("sysname ") for line in lines):
            conn.set_base_prompt()
        return out

    def verify(self, conn: Any, intent: dict[str, Any]) -> list[str]:
        return verify(
            conn.send_command("display vlan"), conn.send_command("display port vlan"), intent
        )

    def save(self, conn: Any) -> None:
        """`save`, answering its `Continue? [Y/N]`; anything but success raises."""
        out = conn.save_config()
        if "successfully" not in out or _ERROR.search(out):
            raise RuntimeError(_("save failed: {reply}").format(reply=" ".join(out.split())[:200]))


#: What :func:`dcctl.plugins.vendor_driver` hands the switch engine.
DRIVER = VrpDriver()
