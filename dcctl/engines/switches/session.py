"""Sending a block of config lines in a few writes, still checked line by line.

netmiko's `send_config_set(cmd_verify=True)` waits for each line's echo and
prompt before typing the next one: one round trip, two fresh regexes and a
polling loop per line. On a 40-line delta that was most of a switch's time
and of the engine's CPU. `paste` writes a chunk of lines at once, then reads
the session back and walks it line by line: every line's echo must appear in
order (the same guarantee as cmd_verify) and each line's own output is checked
for the vendor's error pattern, so an error is pinned on the line that caused
it. A chunk with an error stops the push; lines already in that chunk have
run, which is why the engine restores the backup after any push error.

Replies are judged default-deny: a config line's reply that is not empty (the
echo and the next prompt only) is a failure of that line unless the vendor
whitelists its wording (`allowed`), because devices reject lines in many
wordings (`Command rejected:`, `% Bad ...`, `Error: ...`) and a new one must
never be taken for success. `final_prompt` is the mode the session must be in
after the last line (IOS: exec after `end`); any other prompt fails the push.
"""

from __future__ import annotations

import re
import time
from typing import Any

from netmiko.exceptions import ConfigInvalidException, ReadException, ReadTimeout

from dcctl.i18n import _

#: Lines per write; small enough for a device's input buffer, big enough that
#: a typical delta needs one or two round trips.
PASTE_LINES = 40


def paste(
    conn: Any,
    lines: list[str],
    prompt: re.Pattern[str],
    error: re.Pattern[str],
    read_timeout: float = 60.0,
    chunk: int = PASTE_LINES,
    allowed: re.Pattern[str] | None = None,
    final_prompt: re.Pattern[str] | None = None,
) -> str:
    """Type `lines` into the session; raise ConfigInvalidException at the first error.

    `prompt` matches any prompt of the device (a hostname change inside the
    block changes it). `error` names the device's known error forms (for the
    message); with `allowed` given, any reply line it does not fully match is
    an error too. Returns the session text that came back.
    """
    out: list[str] = []
    last = ""
    for start in range(0, len(lines), chunk):
        part = lines[start : start + chunk]
        conn.write_channel("".join(conn.normalize_cmd(line) for line in part))
        replies, last = read_replies_and_prompt(conn, part, prompt, read_timeout)
        for cmd, reply in zip(part, replies, strict=True):
            out.append(f"{cmd}\n{reply}")
            problem = reply_error(reply, error, allowed)
            if problem:
                raise ConfigInvalidException(
                    _("Invalid input detected at command: {cmd}, matched error: {problem}").format(
                        cmd=cmd, problem=problem
                    )
                )
    if final_prompt is not None and lines and not final_prompt.fullmatch(last):
        raise ConfigInvalidException(
            _("after {line} the device is at prompt {prompt}, not the expected mode").format(
                line=repr(lines[-1]), prompt=repr(last)
            )
        )
    return "\n".join(out)


def reply_error(reply: str, error: re.Pattern[str], allowed: re.Pattern[str] | None) -> str:
    """The error text in one line's reply, or "" when the reply means success.

    A known error form is reported as matched; otherwise, with a whitelist,
    the first line it does not allow (a caret line `   ^` points at the word
    and is reported with the line after it).
    """
    lines = [line.strip() for line in reply.splitlines() if line.strip()]
    if allowed is not None:
        lines = [line for line in lines if not allowed.fullmatch(line)]
    found = error.search("\n".join(lines))
    if found:
        return found.group(0)
    if allowed is None or not lines:
        return ""
    if set(lines[0]) == {"^"} and len(lines) > 1:  # a caret under the word, then why
        return _("unexpected reply: {reply}").format(reply=lines[1])
    return _("unexpected reply: {reply}").format(reply=lines[0])


def _is_echo(line: str, cmd: str, prompt: re.Pattern[str], first: bool) -> bool:
    """Is `line` the device echoing `cmd`?

    The device prints its prompt, then echoes the next typed line, so every
    echo but the first comes after a prompt on the same line; the first one's
    prompt was already read with the previous command's reply. Requiring the
    prompt keeps a reply that happens to quote a later command from being
    taken for that command's echo.
    """
    text = line.strip()
    m = prompt.match(text)
    if m:
        text = text[m.end() :].strip()
    elif not first:
        return False
    return text == cmd.strip()


def read_replies(
    conn: Any, cmds: list[str], prompt: re.Pattern[str], read_timeout: float
) -> list[str]:
    """Each command's output, once every echo and a final prompt have come back."""
    return read_replies_and_prompt(conn, cmds, prompt, read_timeout)[0]


def read_replies_and_prompt(
    conn: Any, cmds: list[str], prompt: re.Pattern[str], read_timeout: float
) -> tuple[list[str], str]:
    """`read_replies`, and the prompt the device showed after the last command."""
    replies: list[list[str]] = [[] for _cmd in cmds]
    seen = -1  # index of the last command whose echo was read
    tail = ""
    deadline = time.monotonic() + read_timeout
    while True:
        data = conn.read_channel()
        if data:
            *complete, tail = (tail + data).split("\n")
            for raw in complete:
                line = raw.rstrip("\r")
                if seen + 1 < len(cmds) and _is_echo(line, cmds[seen + 1], prompt, seen < 0):
                    seen += 1
                elif seen >= 0:
                    replies[seen].append(line)
            if seen == len(cmds) - 1 and prompt.fullmatch(tail.strip()):
                return ["\n".join(r) for r in replies], tail.strip()
        elif _closed(conn):
            raise ReadException(
                _("session closed by the device after {count} lines").format(count=seen + 1)
            )
        else:
            time.sleep(0.005)
        if time.monotonic() > deadline:  # also when a device keeps talking without a prompt
            raise ReadTimeout(
                _(
                    "no echo and prompt for {cmd} within {seconds} s "
                    "({confirmed}/{total} lines confirmed)"
                ).format(
                    cmd=cmds[seen + 1] if seen + 1 < len(cmds) else "prompt",
                    seconds=f"{read_timeout:.0f}",
                    confirmed=seen + 1,
                    total=len(cmds),
                )
            )


def _closed(conn: Any) -> bool:
    chan = getattr(conn, "remote_conn", None)
    if chan is None:
        return False
    if getattr(chan, "closed", False):
        return True
    transport = getattr(chan, "get_transport", lambda: None)()
    return transport is not None and not transport.is_active()
