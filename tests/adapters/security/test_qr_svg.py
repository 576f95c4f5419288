"""The TOTP enrolment QR code: an inline SVG that needs nothing from outside (no URL, script or inline style, so
the page's CSP ``default-src 'self'`` draws it) and draws exactly the QR code of the provisioning URI."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import segno

from onyx_adapters.security import PyotpTotp, qr_svg


def _uri() -> str:
    totp = PyotpTotp()
    return totp.provisioning_uri(totp.new_secret(), "ada@example.com", "Onyx")


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own output, not untrusted input


def _dark_modules(svg: ET.Element) -> set[tuple[int, int]]:
    """The dark modules a segno SVG path draws: ``M x y.5`` then ``h n`` (draw) and ``m dx dy`` (move) steps."""
    (path,) = [p for p in svg.iter("path") if p.get("stroke") == "#000"]
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for cmd, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path.get("d", "")):
        if cmd == "M":
            x, y = float(a), float(b)
        elif cmd == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark.update((int(x) + i, int(y)) for i in range(int(a)))
            x += float(a)
    return dark


def test_the_svg_draws_the_qr_code_of_the_uri() -> None:
    uri = _uri()
    svg = _parse(qr_svg(uri))
    expected = segno.make(uri, error="m", micro=False)
    border = 4
    want = {
        (col + border, row + border)
        for row, line in enumerate(expected.matrix)
        for col, module in enumerate(line)
        if module & 1
    }
    assert _dark_modules(svg) == want
    assert expected.error in {"M", "Q", "H"}  # at least M


def test_the_svg_is_self_contained_and_needs_no_inline_style() -> None:
    text = qr_svg(_uri())
    svg = _parse(text)
    assert svg.tag == "svg"
    assert not text.startswith("<?xml")
    assert {el.tag for el in svg.iter()} <= {"svg", "title", "g", "path"}
    for el in svg.iter():
        for name, value in el.attrib.items():
            assert name != "style"
            assert "href" not in name
            assert not name.startswith("on")
            assert "url(" not in value
    assert "<script" not in text
    assert "http" not in text  # no namespace URL either: HTML5 needs none inline
    title = svg.find("title")
    assert title is not None
    assert title.text == "QR code to scan with your authenticator app"
    # a white quiet zone under the dark modules, so it scans on a dark page too
    assert any(p.get("fill") == "#fff" for p in svg.iter("path"))


def test_a_title_is_escaped() -> None:
    svg = _parse(qr_svg("otpauth://totp/x?secret=AAAA", title='<script>alert("x")</script>'))
    assert [el.tag for el in svg.iter()].count("script") == 0
    assert svg.findtext("title") == '<script>alert("x")</script>'
