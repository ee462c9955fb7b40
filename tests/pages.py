"""Checks every page test can make on rendered HTML."""

from __future__ import annotations

import re

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def assert_no_inline_script(html: str) -> None:
    """Every <script> either loads a file (src=) or is a JSON data block, which browsers never run:
    the page needs nothing from the Content-Security-Policy beyond 'self'."""
    for attrs, body in _SCRIPT.findall(html):
        if 'type="application/json"' in attrs:
            continue
        assert "src=" in attrs and not body.strip(), f"inline script: <script{attrs}>{body[:80]}"
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, re.I), "inline event handler"
