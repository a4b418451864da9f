"""Bahasa Indonesia and English from one message catalogue (gettext .po files read by Babel).

Why this shape: the engineers and the Kepala Dinas read Indonesian, pipelines and
upstream tools read English, and a message that exists in one language only is a
bug. So every user-facing string is an English msgid wrapped in :func:`_`; its
translations live in ``locale/<lang>/LC_MESSAGES/dcctl.po`` (the gettext format
every translator's tool reads; ``pybabel extract -F babel.cfg`` finds the msgids,
``tests/unit/test_i18n.py`` fails when either catalogue lacks one). The catalogues
are read with Babel at first use (no compile step, so a checkout and a wheel
behave alike: the .po files ship as package data).

The language: ``--lang id|en`` (:func:`set_language`), else ``LC_ALL``,
``LC_MESSAGES``, ``LANG`` (``id_ID.UTF-8`` -> id), else English; the HTML report,
read by the regency's officials, is Indonesian unless a language was chosen
(:func:`report_language`). Numbers and dates
go through Babel's CLDR data for the language (:func:`number`, :func:`percent`,
:func:`date`), so id-ID reads ``8.550``, ``50,0 %`` and ``1 Desember 2026``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

LANGS = ("en", "id")
#: Babel locale of each language (numbers, dates).
LOCALES = {"en": "en_US", "id": "id_ID"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "dcctl"

_state: dict[str, str] = {}


def env_language(environ: dict[str, str] | None = None) -> str | None:
    """The language the environment names (first of LC_ALL, LC_MESSAGES, LANG), if any.

    None for no setting or the C/POSIX locale (a pipeline's default, not a choice);
    a language dcctl does not have reads as English.
    """
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            code = value.split(".")[0].split("_")[0].lower()
            if code in ("c", "posix"):
                return None
            return code if code in LANGS else "en"
    return None


def from_env(environ: dict[str, str] | None = None) -> str:
    """The language of the environment, English when it names none."""
    return env_language(environ) or "en"


def set_language(lang: str | None) -> str:
    """Use ``lang`` (id or en) from now on; None: the environment's. Returns the one in force."""
    chosen = lang if lang in LANGS else env_language()
    _state["chosen"] = chosen or ""
    _state["lang"] = chosen or "en"
    return _state["lang"]


def chosen() -> str | None:
    """The language someone chose (``--lang`` or a LANG naming one), None if nobody did.

    The HTML report is read by the Kepala Dinas and the Sekda: unless a language was
    chosen it is in Indonesian (`report_language`), while messages default to English.
    """
    language()
    return _state["chosen"] or None


def report_language() -> str:
    """The language of documents for the regency's readers: the chosen one, else id."""
    return chosen() or "id"


@contextmanager
def using(lang: str) -> Iterator[None]:
    """Run a block in ``lang`` (a document in its reader's language), then switch back."""
    language()
    before = dict(_state)
    _state["lang"] = lang
    try:
        yield
    finally:
        _state.update(before)


def language() -> str:
    """The language in force (the environment's until :func:`set_language` is called)."""
    if "lang" not in _state:
        set_language(None)
    return _state["lang"]


@cache
def catalogue(lang: str, domain: str = DOMAIN) -> dict[str, str]:
    """msgid -> translation of one language.

    From the compiled ``dcctl.mo`` (written by ``scripts/i18n`` with Babel, read by the
    standard library's gettext in a millisecond); from the ``.po`` with Babel when
    there is no .mo (importing Babel's catalogue code costs ~0.2 s, too much for
    an offline command). ``tests/unit/test_i18n.py`` keeps the two equal.
    """
    import gettext
    import hashlib

    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    mo = folder / f"{domain}.mo"
    if mo.exists():
        with mo.open("rb") as fh:
            compiled = gettext.GNUTranslations(fh)
        # A .mo left behind by a merge that changed the .po is ignored, never trusted.
        digest = "po-sha256:" + hashlib.sha256((folder / f"{domain}.po").read_bytes()).hexdigest()
        if compiled.info().get("project-id-version", "").endswith(digest):
            table = compiled._catalog  # type: ignore[attr-defined]
            return {k: v for k, v in table.items() if isinstance(k, str) and k and v}
    return read_po_catalogue(lang, domain)


def read_po_catalogue(lang: str, domain: str = DOMAIN) -> dict[str, str]:
    """msgid -> translation as the ``.po`` file (the source of truth) has it, via Babel."""
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang, domain=domain)
    return {m.id: m.string for m in cat if m.id and isinstance(m.id, str) and m.string}


def _(msgid: str) -> str:
    """The translation of ``msgid`` in the language in force (the msgid itself if missing).

    English msgids are the English text (en.po translates each to itself, checked by
    the completeness test), so English needs no catalogue at all.
    """
    lang = language()
    if lang == "en":
        return msgid
    return catalogue(lang).get(msgid, msgid)


def N_(msgid: str) -> str:
    """Mark a constant for extraction; it is translated where it is shown (``_(CONST)``)."""
    return msgid


def locale() -> str:
    return LOCALES[language()]


def number(value: float, decimals: int | None = None) -> str:
    """``value`` with the language's grouping and decimal signs (id: 8.550 / 12,5)."""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 1
    if language() == "en":  # en-US is Python's own format; no CLDR lookup on the hot path
        return f"{round(float(value), decimals):,.{decimals}f}"
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(round(float(value), decimals), format=pattern, locale=locale())


def percent(value: float, decimals: int = 1) -> str:
    """A percentage given as 0-100 (id: ``50,0 %``, en: ``50.0%``)."""
    text = number(value, decimals)
    return f"{text} %" if language() == "id" else f"{text}%"


def date(value: dt.date | dt.datetime) -> str:
    """A date in words (id: ``1 Desember 2026``, en: ``December 1, 2026``)."""
    from babel.dates import format_date

    day = value.date() if isinstance(value, dt.datetime) else value
    return format_date(day, format="long", locale=locale())


def datetime(value: dt.datetime) -> str:
    """Date in words and the time with its zone (``1 Desember 2026 14.05 UTC``)."""
    from babel.dates import format_time

    time = format_time(value, format="short", locale=locale())
    zone = value.tzname() or ""
    return f"{date(value)} {time} {zone}".strip()
