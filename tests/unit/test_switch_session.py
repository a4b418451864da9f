"""`paste`'s reading of a session: echoes in order, replies pinned on their line.

A scripted channel stands in for the SSH session so the byte boundaries can be
chosen (a read may end inside an echo, a prompt or a reply); the conversation
with real switch daemons is tested in test_switch_engine.py.
"""

from __future__ import annotations

import re

import pytest
from netmiko.exceptions import ConfigInvalidException, ReadException, ReadTimeout

from dcctl.engines.switches.session import paste, read_replies

PROMPT = re.compile(r"[A-Za-z0-9][\w.-]*(?:\([\w-]+\))?[#>]")
ERROR = re.compile(r"% ?Invalid input", re.M)


class Channel:
    """Hands out the scripted text in the given pieces; records what was written."""

    def __init__(self, pieces: list[str], closed_after: bool = False) -> None:
        self.pieces = list(pieces)
        self.written: list[str] = []
        self.remote_conn = self
        self.closed = False
        self.closed_after = closed_after

    def normalize_cmd(self, cmd: str) -> str:
        return cmd + "\n"

    def write_channel(self, text: str) -> None:
        self.written.append(text)

    def read_channel(self) -> str:
        if self.pieces:
            return self.pieces.pop(0)
        self.closed = self.closed_after
        return ""


SESSION = (
    "configure terminal\n"
    "Enter configuration commands, one per line.  End with CNTL/Z.\n"
    "Switch(config)#hostname sw-a\n"
    "sw-a(config)#vlan 110\n"
    "sw-a(config-vlan)#name DINKES\n"
    "sw-a(config-vlan)#exit\n"
    "sw-a(config)#end\n"
    "sw-a#"
)
CMDS = ["configure terminal", "hostname sw-a", "vlan 110", "name DINKES", "exit", "end"]


@pytest.mark.parametrize("size", [1, 3, 7, len(SESSION)])
def test_replies_are_split_per_command_whatever_the_read_boundaries(size: int) -> None:
    pieces = [SESSION[i : i + size] for i in range(0, len(SESSION), size)]
    replies = read_replies(Channel(pieces), CMDS, PROMPT, 5)
    assert replies[0] == "Enter configuration commands, one per line.  End with CNTL/Z."
    assert replies[1:] == ["", "", "", "", ""]


def test_an_error_is_pinned_on_the_line_that_caused_it_and_later_chunks_are_not_sent() -> None:
    text = (
        "configure terminal\nSwitch(config)#vlan 110\nSwitch(config-vlan)#nmae X\n"
        "                   ^\n% Invalid input detected at '^' marker.\n\nSwitch(config-vlan)#"
    )
    chan = Channel([text])
    with pytest.raises(ConfigInvalidException, match="at command: nmae X"):
        paste(chan, ["configure terminal", "vlan 110", "nmae X", "exit", "end"], PROMPT, ERROR,
              read_timeout=5, chunk=3)  # fmt: skip
    assert chan.written == ["configure terminal\nvlan 110\nnmae X\n"], "second chunk never typed"


def test_a_reply_that_does_not_finish_times_out_naming_the_missing_line() -> None:
    chan = Channel(["configure terminal\nSwitch(config)#vlan 110\n"])
    with pytest.raises(ReadTimeout, match=r"name X.*2/3 lines"):
        read_replies(chan, ["configure terminal", "vlan 110", "name X"], PROMPT, 0.3)


def test_a_device_that_keeps_talking_without_a_prompt_times_out() -> None:
    class Chatty(Channel):
        def read_channel(self) -> str:
            return "%LINK-3-UPDOWN: flapping\n"

    with pytest.raises(ReadTimeout, match="vlan 110"):
        read_replies(Chatty([]), ["vlan 110"], PROMPT, 0.3)


def test_a_closed_session_is_reported_at_once() -> None:
    chan = Channel(["configure terminal\nSwitch(config)#"], closed_after=True)
    with pytest.raises(ReadException, match="closed by the device after 1 lines"):
        read_replies(chan, ["configure terminal", "vlan 110"], PROMPT, 30)


def test_a_reply_quoting_the_next_command_is_not_taken_for_its_echo() -> None:
    # The reply to `show x` contains a line reading `exit`, but with no prompt
    # in front of it: only the prompted `Switch#exit` is the second echo.
    text = "show x\nexit\nSwitch#exit\nSwitch#"
    replies = read_replies(Channel([text]), ["show x", "exit"], PROMPT, 5)
    assert replies == ["exit", ""]


SHOW_VLAN = """
VLAN Name                             Status    Ports
---- -------------------------------- --------- -------------------------------
1    default                          active    Gi1/0/3, Gi1/0/4
110  DINKES-SRV                       active    Gi1/0/1
120  DUKCAPIL-SRV                     active    Gi1/0/2
"""
SHOW_SWITCHPORT = """Name: Gi1/0/1
Switchport: Enabled
Administrative Mode: static access
Operational Mode: static access
Administrative Trunking Encapsulation: dot1q
Negotiation of Trunking: Off
Access Mode VLAN: 110 (DINKES-SRV)
Trunking Native Mode VLAN: 1 (default)
Trunking VLANs Enabled: ALL
Pruning VLANs Enabled: 2-1001

Name: Te1/1/1
Switchport: Enabled
Administrative Mode: trunk
Operational Mode: trunk
Administrative Trunking Encapsulation: dot1q
Negotiation of Trunking: Off
Access Mode VLAN: 1 (default)
Trunking Native Mode VLAN: 1 (default)
Trunking VLANs Enabled: 110,120
Pruning VLANs Enabled: 2-1001
"""


@pytest.mark.parametrize(
    ("command", "text"),
    [("show vlan brief", SHOW_VLAN), ("show interfaces switchport", SHOW_SWITCHPORT)],
)
def test_cached_templates_parse_exactly_like_ntc_templates(command: str, text: str) -> None:
    from ntc_templates.parse import parse_output

    from dcctl.engines.switches.ntc import parse_show

    want = parse_output(platform="cisco_ios", command=command, data=text)
    assert len(want) >= 2
    first = parse_show("cisco_ios", command, text)
    again = parse_show("cisco_ios", command, text)  # the compiled template is reset between uses
    assert first == want and again == want


# --------------------------------------------------------------------------
# Default-deny replies and the exec prompt after `end` (issue 16)


def _ios() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    from dcctl.vendors.cisco_ios import driver

    return driver._PROMPT, driver._ERROR, driver.ALLOWED, driver.EXEC_PROMPT


@pytest.mark.parametrize(
    "reply",
    [
        "% Hostname contains one or more illegal characters.",
        "Command rejected: Bad VLAN list - character #4 is a non-numeric",
        "Hostname refused by policy",  # a wording nobody listed
    ],
)
def test_a_rejected_hostname_in_any_wording_fails_the_push(reply: str) -> None:
    prompt, error, allowed, exec_prompt = _ios()
    text = (
        "configure terminal\nEnter configuration commands, one per line.  End with CNTL/Z.\n"
        f"Switch(config)#hostname sw-renamed\n{reply}\nSwitch(config)#end\nSwitch#"
    )
    with pytest.raises(ConfigInvalidException, match="at command: hostname sw-renamed"):
        paste(Channel([text]), ["configure terminal", "hostname sw-renamed", "end"], prompt,
              error, read_timeout=5, allowed=allowed, final_prompt=exec_prompt)  # fmt: skip


def test_whitelisted_replies_pass() -> None:
    prompt, error, allowed, exec_prompt = _ios()
    text = (
        "configure terminal\nEnter configuration commands, one per line.  End with CNTL/Z.\n"
        "Switch(config)#interface Gi1/0/1\nSwitch(config-if)#switchport access vlan 120\n"
        "% Access VLAN does not exist. Creating vlan 120\nSwitch(config-if)#end\n"
        "*Mar  1 00:12:45.123: %SYS-5-CONFIG_I: Configured from console by admin on vty0\n"
        "Switch#"
    )
    cmds = ["configure terminal", "interface Gi1/0/1", "switchport access vlan 120", "end"]
    paste(Channel([text]), cmds, prompt, error, read_timeout=5, allowed=allowed,
          final_prompt=exec_prompt)  # fmt: skip


def test_a_config_prompt_after_end_fails_the_push() -> None:
    prompt, error, allowed, exec_prompt = _ios()
    text = "configure terminal\nSwitch(config)#vlan 110\nSwitch(config-vlan)#end\nSwitch(config)#"
    with pytest.raises(ConfigInvalidException, match=r"prompt 'Switch\(config\)#'"):
        paste(Channel([text]), ["configure terminal", "vlan 110", "end"], prompt, error,
              read_timeout=5, allowed=allowed, final_prompt=exec_prompt)  # fmt: skip
