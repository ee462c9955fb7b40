"""Every user-facing string has a Norwegian Bokmål translation, and the compiled catalogue
matches the source catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

import kontosjef

PO = Path(kontosjef.__file__).parent / "locale" / "nb" / "LC_MESSAGES" / "django.po"


def entries() -> list[tuple[str, str]]:
    pairs = []
    for block in PO.read_text().split("\n\n"):
        single = re.search(r'^msgid "(.+)"\nmsgstr "(.*)"$', block, re.M)
        if single:
            pairs.append((single.group(1), single.group(2)))
    return pairs


def test_it_translates_every_string():
    text = PO.read_text()
    assert "#, fuzzy" not in text
    empty = [msgid for msgid, msgstr in entries() if not msgstr]
    assert empty == []
    assert not re.search(r'msgstr\[\d\] ""', text)


def test_it_ships_a_compiled_catalogue_that_matches_the_source():
    with translation.override("nb"):
        for msgid, msgstr in entries():
            assert translation.gettext(msgid.replace('\\"', '"')) == msgstr.replace('\\"', '"')
