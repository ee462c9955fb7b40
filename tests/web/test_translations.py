"""Every user-facing string has a Norwegian Bokmål translation, and the compiled catalogue
matches the source catalogue."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
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


def msgids(po: Path) -> set[tuple[str, str, str]]:
    """The (context, msgid, plural) of every live entry of a .po file; obsolete `#~` entries and
    the header are left out. Strings stay as written in the file (escaped), which is enough to
    compare two files written by the same tools."""
    keys: set[tuple[str, str, str]] = set()
    entry: dict[str, str] = {}
    field = ""

    def flush() -> None:
        if entry.get("msgid"):
            keys.add((entry.get("msgctxt", ""), entry["msgid"], entry.get("msgid_plural", "")))
        entry.clear()

    for line in po.read_text(encoding="utf-8").splitlines():
        keyword = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', line)
        if keyword:
            field = keyword.group(1)
            if field in ("msgctxt", "msgid") and "msgid" in entry:
                flush()
            entry[field] = keyword.group(2)
        elif line.startswith('"') and field:
            entry[field] = entry.get(field, "") + line[1:-1]
        elif not line.strip() or line.startswith("#~"):
            field = ""
    flush()
    return keys


def copy_sources(source: Path, target: Path) -> None:
    """The files makemessages reads (Python, HTML and text templates), without the demo and
    the compiled catalogues."""

    def skipped(directory: str, names: list[str]) -> set[str]:
        return {
            name
            for name in names
            if name in ("demo", "locale", "__pycache__")
            or (
                Path(directory, name).is_file()
                and Path(name).suffix not in (".py", ".html", ".txt")
            )
        }

    shutil.copytree(source, target, ignore=skipped)


@pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msguniq") is None,
    reason="makemessages needs GNU gettext (xgettext, msguniq): apt-get install gettext",
)
def test_it_has_an_entry_for_every_string_marked_for_translation(tmp_path, monkeypatch, settings):
    """The committed .po is what `kontosjef makemessages -l nb --no-wrap --ignore 'demo/*'`
    (run in src/kontosjef) writes today: no string is marked in the code without an entry, and
    no entry is left over for a string the code no longer has."""
    package = tmp_path / "kontosjef"
    copy_sources(PO.parents[3], package)
    (package / "locale" / "nb" / "LC_MESSAGES").mkdir(parents=True)
    # makemessages writes into LOCALE_PATHS as well as ./locale: point it at the copy only.
    settings.LOCALE_PATHS = [package / "locale"]
    monkeypatch.chdir(package)

    call_command(
        "makemessages", locale=["nb"], no_wrap=True, ignore_patterns=["demo/*"], verbosity=0
    )

    fresh, committed = msgids(package / "locale" / "nb" / "LC_MESSAGES" / "django.po"), msgids(PO)
    missing = [msgid for _context, msgid, _plural in sorted(fresh - committed)]
    stale = [msgid for _context, msgid, _plural in sorted(committed - fresh)]
    assert not missing and not stale, (
        "django.po is out of date: in src/kontosjef run `kontosjef makemessages -l nb --no-wrap"
        " --ignore 'demo/*'`, translate, then `kontosjef compilemessages -l nb`.\n"
        f"Marked for translation but missing: {missing}\n"
        f"In django.po but gone from the code: {stale}"
    )
