"""Secret material in switch config lines, masked wherever a line is shown.

Why here, and why per vendor: a running config carries the enable secret and
user hashes, SNMP communities, RADIUS/TACACS keys and (RouterOS) passwords and
WireGuard keys. The remediation and rollback lines the engine computes are
shown in `plan --target`, `--output json`, markdown, the audit log and error
messages; they must never carry those values (a hash is as good as a password
for an offline attack, a community string *is* the password). Each vendor's
driver has one ``mask(line)`` (the driver contract) built from the two shapes
here: IOS-style ``keyword [type] VALUE`` and RouterOS-style ``key=value``. The
engine masks every line and error of a result once, where the result is made,
so no output path can forget it; the lines pushed to the device are the real ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

__all__ = ["MASK", "generic_mask", "mask_key_values", "mask_keywords", "mask_text", "mask_word"]

#: What a secret value is replaced with.
MASK = "<masked>"

_TOKEN = re.compile(r"\S+")
_VALUE = r'"(?:[^"\\]|\\.)*"|\S+'


def mask_keywords(
    line: str,
    keywords: Collection[str],
    *,
    not_before: Collection[str] = (),
    skip: Callable[[list[str], int], int] | None = None,
) -> str:
    """Mask the value after each keyword (``secret 9 HASH`` -> ``secret 9 <masked>``).

    A single-digit encryption type after the keyword (IOS: 0, 5, 7, 8, 9) is
    kept, the value after it masked. `not_before`: words after a keyword that
    show it is not a secret (``crypto key generate``). `skip(tokens, i)`
    returns how many tokens after keyword `i` to step over before the value
    (``aes 128 VALUE``, ``secret level 15 5 VALUE``).
    """
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(line)]
    words = [line[a:b] for a, b in spans]
    hide: set[int] = set()
    for i, word in enumerate(words):
        if word.lower() not in keywords:
            continue
        j = i + 1 + (skip(words, i) if skip else 0)
        if j >= len(words) or words[j].lower() in not_before:
            continue
        if re.fullmatch(r"\d", words[j]) and j + 1 < len(words):
            if words[j + 1].lower() in keywords:
                continue  # `authentication-key 1 md5 X`: the value belongs to `md5`
            j += 1
        hide.add(j)
    return _replace(line, spans, hide)


def mask_word(line: str, index: int) -> str:
    """`line` with its `index`-th word (0-based, blank-separated) masked; as is if none."""
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(line)]
    return _replace(line, spans, {index} if 0 <= index < len(spans) else set())


def mask_key_values(line: str, secret_key: Callable[[str], bool]) -> str:
    """Mask ``key=value`` pairs whose key `secret_key` says is secret (quoted values too)."""

    def repl(m: re.Match[str]) -> str:
        return f"{m.group(1)}={MASK}" if secret_key(m.group(1)) else m.group(0)

    return re.sub(rf"([A-Za-z0-9][\w-]*)=({_VALUE})", repl, line)


def mask_text(text: str, mask: Callable[[str], str]) -> str:
    """`mask` applied to every line of a message (an error quoting config lines)."""
    return "\n".join(mask(line) for line in text.split("\n"))


def _replace(line: str, spans: list[tuple[int, int]], hide: set[int]) -> str:
    out, pos = [], 0
    for k in sorted(hide):
        a, b = spans[k]
        out += [line[pos:a], MASK]
        pos = b
    return "".join(out) + line[pos:]


_GENERIC_WORDS = frozenset(
    {"secret", "password", "key", "key-string", "community", "pre-shared-key", "cipher"}
)
_GENERIC_KEY = re.compile(r"(.*-)?(password|passphrase|secret|private-key|preshared-key|psk|key)")


def generic_mask(line: str) -> str:
    """Both shapes at once, for a driver that has no ``mask`` of its own (hides more)."""
    words = mask_keywords(line, _GENERIC_WORDS)
    return mask_key_values(words, lambda key: bool(_GENERIC_KEY.fullmatch(key)))
