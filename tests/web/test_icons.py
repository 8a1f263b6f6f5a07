"""Icons need no emoji or symbol font: a plain Debian desktop has DejaVu Sans and little else, and it
draws 📁, ⧉ or ⬑ as empty boxes. The pages' icons are inline SVG (templates/_icons.html); the words
may use only characters DejaVu Sans draws. A character outside this list must be checked against
DejaVu Sans before it is added here, or drawn as an icon instead."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.instance import build_app, instance_env

WEB = Path(__file__).resolve().parents[2] / "src" / "mediaparser" / "web"

# Typography and the few symbols DejaVu Sans has (fc-list ':charset=…' on Debian).
DRAWN_BY_DEJAVU = set("—–…·“”‘’«»°×÷±→←↑↓‹›✓✕★▶⌘€£äöüÄÖÜßéèêàâçñ")


def _page_files() -> list[Path]:
    return sorted([*WEB.glob("templates/*.html"), *WEB.glob("static/js/*.js"), *WEB.glob("static/css/*.css")])


def test_the_pages_use_no_character_that_needs_an_emoji_or_symbol_font():
    found = []
    for path in _page_files():
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for ch in set(re.findall(r"[^\x00-\x7f]", line)) - DRAWN_BY_DEJAVU:
                found.append(f"{path.relative_to(WEB)}:{no}: {ch!r} (U+{ord(ch):04X})")
    assert not found, "characters a plain Debian desktop draws as boxes (use an icon from _icons.html):\n" + "\n".join(found)


def test_every_icon_used_is_in_the_sprite():
    sprite = (WEB / "templates" / "_icons.html").read_text(encoding="utf-8")
    have = set(re.findall(r'<symbol id="i-([a-z-]+)"', sprite))
    used = set()
    for path in _page_files():
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bicon\(\s*["\']([a-z-]+)["\']', text))
        used |= set(re.findall(r"icons\.icon\(\s*'([a-z-]+)'", text))
    assert used, "the pages use icons"
    assert used <= have, f"icons without a drawing: {sorted(used - have)}"


@pytest.mark.slow
def test_an_icon_draws_with_the_text_colour_and_a_label_names_it(tmp_path, live_server, page):
    """In the browser: the sprite's drawing shows (it has a size and its lines take the text's colour),
    and an icon that is a button's only content leaves the name to the button."""
    server = live_server(build_app(instance_env(tmp_path)))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server.url + "/jobs")
    button = page.get_by_role("button", name="Menu")
    icon = button.locator("svg.icon-menu")
    expect(icon).to_be_visible()
    box = icon.bounding_box()
    assert box["width"] >= 14 and box["height"] >= 14, box
    drawn = page.evaluate("""() => {
        const use = document.querySelector('#menu-toggle svg.icon-menu use');
        const path = document.querySelector(use.getAttribute('href') + ' path');
        return { stroke: getComputedStyle(use).stroke, colour: getComputedStyle(document.querySelector('#menu-toggle')).color,
                 hasPath: !!path, hidden: use.closest('svg').getAttribute('aria-hidden') };
    }""")
    assert drawn["hasPath"] and drawn["hidden"] == "true", drawn
    assert drawn["stroke"] == drawn["colour"], drawn
