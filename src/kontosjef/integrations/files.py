"""Opening source files: plain, zipped or gzipped CSV, with one-line errors."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from kontosjef.integrations.batch import ImportFileError

READ_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError)


def require_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise ImportFileError(f"file not found: {path}")
    if not p.is_file():
        raise ImportFileError(f"not a file: {path}")
    return p


@contextmanager
def open_text(path: str | Path, *, member_suffix: str = ".csv") -> Iterator[IO[str]]:
    """A text stream of `path`: a file, a .gz, or the one `member_suffix` file in a .zip."""
    p = require_file(path)
    try:
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as archive:
                members = [n for n in archive.namelist() if n.lower().endswith(member_suffix)]
                if len(members) != 1:
                    raise ImportFileError(
                        f"{p.name}: expected one {member_suffix} file in the zip, found "
                        f"{len(members)}"
                    )
                with archive.open(members[0]) as raw:
                    yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        elif p.suffix == ".gz":
            with gzip.open(p, "rt", encoding="utf-8-sig", newline="") as stream:
                yield stream
        else:
            if p.suffix == ".zip":
                raise ImportFileError(f"{p.name} is not a readable zip file (truncated?)")
            with p.open(encoding="utf-8-sig", newline="") as stream:
                yield stream
    except READ_ERRORS as exc:
        raise ImportFileError(f"{p.name} cannot be read (truncated or corrupt?): {exc}") from exc


def csv_rows(stream: IO[str]) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and an iterator of (row number, fields); row 1 is the header."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("the file is empty") from None
    except csv.Error as exc:
        raise ImportFileError(f"not a CSV file: {exc}") from exc

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 1
        try:
            for fields in reader:
                number += 1
                yield number, fields
        except csv.Error as exc:
            raise ImportFileError(f"row {number + 1}: not valid CSV: {exc}") from exc
        except READ_ERRORS as exc:
            raise ImportFileError(
                f"the file ends abruptly after row {number} (truncated or corrupt?): {exc}"
            ) from exc

    return [h.strip() for h in header], rows()
