"""Constrained strings: the trailing-newline trap of `$` and friends stay closed."""

from __future__ import annotations

import pytest

from dcctl.spec import types


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (types._name, "dinkes\n"),
        (types._text, "Kantor\n"),
        (types._text, "\n"),
        (types._port, "Gi1/0/1\n"),
        (types._cred, "env:X\n"),
        (types._rtsp, "/stream\n"),
        (types._email, "a@b.go.id\n"),
        (types._hostname, "dc.go.id\n"),
        (types._switch_port, "sw:Gi1/0/1\n"),
    ],
)
def test_trailing_newline_rejected(check, value: str) -> None:
    with pytest.raises(ValueError):
        check(value)


def test_free_text_accepts_ordinary_indonesian_addresses() -> None:
    for ok in ("Jl. Sabuk Alu No. 2, Wonosobo", "RSUD KRT Setjonegoro (IGD)", "Dinas P&K"):
        assert types._text(ok) == ok
