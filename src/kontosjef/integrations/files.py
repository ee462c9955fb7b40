"""Opening source files: plain, zipped or gzipped CSV, with one-line errors."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

import numpy as np
from django.conf import settings
from numpy.typing import NDArray

from kontosjef.integrations.batch import ImportFileError

READ_ERRORS = (zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError)


def require_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise ImportFileError(f"file not found: {path}")
    if not p.is_file():
        raise ImportFileError(f"not a file: {path}")
    return p


def max_bytes() -> int:
    return int(settings.KONTOSJEF_IMPORT_MAX_BYTES)


def max_rows() -> int:
    return int(settings.KONTOSJEF_IMPORT_MAX_ROWS)


def too_many_rows(name: str) -> ImportFileError:
    return ImportFileError(
        f"{name} holds more than {max_rows():,} rows: refused (the limit is the setting "
        "KONTOSJEF_IMPORT_MAX_ROWS)"
    )


def too_big(name: str) -> ImportFileError:
    return ImportFileError(
        f"{name} is larger than {max_bytes():,} bytes uncompressed: refused (the limit is the "
        "setting KONTOSJEF_IMPORT_MAX_BYTES)"
    )


class _Limited(io.RawIOBase):
    """A binary stream that refuses to yield more than `limit` bytes: decompression stops at the
    limit, so a zip or gzip bomb costs no more memory than an honest file of that size."""

    def __init__(self, raw: IO[bytes], limit: int, name: str) -> None:
        self.raw, self.left, self.name_ = raw, limit, name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(min(len(buffer), self.left + 1))
        if len(data) > self.left:
            raise too_big(self.name_)
        self.left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def limited(raw: IO[bytes], name: str) -> BinaryIO:
    return io.BufferedReader(_Limited(raw, max_bytes(), name))


@contextmanager
def open_binary(path: str | Path, *, member_suffix: str = ".csv") -> Iterator[BinaryIO]:
    """The bytes of `path`: a file, a .gz, or the one `member_suffix` file in a .zip, cut off
    with a one-line error beyond KONTOSJEF_IMPORT_MAX_BYTES."""
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
                # The declared size refuses a bomb at once; the limited stream catches a member
                # whose declared size lies.
                if archive.getinfo(members[0]).file_size > max_bytes():
                    raise too_big(p.name)
                with archive.open(members[0]) as raw:
                    yield limited(raw, p.name)
        elif p.name.lower().endswith(".gz"):
            with gzip.open(p, "rb") as raw:
                yield limited(raw, p.name)  # type: ignore[arg-type]
        else:
            if p.suffix == ".zip":
                raise ImportFileError(f"{p.name} is not a readable zip file (truncated?)")
            if p.stat().st_size > max_bytes():
                raise too_big(p.name)
            with p.open("rb") as raw:
                yield raw
    except READ_ERRORS as exc:
        raise ImportFileError(f"{p.name} cannot be read (truncated or corrupt?): {exc}") from exc


@contextmanager
def open_text(path: str | Path, *, member_suffix: str = ".csv") -> Iterator[IO[str]]:
    """A text stream of `path`: a file, a .gz, or the one `member_suffix` file in a .zip."""
    with open_binary(path, member_suffix=member_suffix) as raw:
        try:
            yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        except READ_ERRORS as exc:
            name = Path(path).name
            raise ImportFileError(f"{name} cannot be read (truncated or corrupt?): {exc}") from exc


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
        limit = max_rows() + 1
        try:
            for fields in reader:
                number += 1
                if number > limit:
                    raise too_many_rows("the file")
                yield number, fields
        except csv.Error as exc:
            raise ImportFileError(f"row {number + 1}: not valid CSV: {exc}") from exc
        except READ_ERRORS as exc:
            raise ImportFileError(
                f"the file ends abruptly after row {number} (truncated or corrupt?): {exc}"
            ) from exc

    return [h.strip() for h in header], rows()


@dataclass
class CsvTable:
    """A CSV file read column-wise, for importers that check and diff whole columns at once."""

    header: list[str]
    columns: list[NDArray[np.object_]]  # the strings of each header column, one per row
    numbers: NDArray[np.int64]  # each row's number in the file; the header is row 1
    rows: int  # data rows read, including the misfits
    misfits: list[tuple[int, int]] = field(default_factory=list)  # (row, fields): wrong width


def csv_table(path: str | Path, *, check_header: Callable[[list[str]], None]) -> CsvTable:
    """Read a CSV (plain, .gz, or the one .csv in a .zip) into columns of strings.

    `check_header` sees the header before any row is used. Rows whose width differs from the
    header's are left out of the columns and listed as misfits. pandas' C parser reads the file;
    a file it cannot take, or whose short rows it would pad, is read again with the csv module row
    by row, so that errors and misfits are exactly those `csv_rows` reports. One difference stays:
    pandas takes fields longer than the csv module's limit (131,072 characters).
    """
    table = _pandas_table(path)
    if table is None:
        return _csv_module_table(path, check_header)
    check_header(table.header)
    return table


def _pandas_table(path: str | Path) -> CsvTable | None:
    # Imported here: pandas takes a quarter of a second to import, and only this reader needs it.
    import pandas as pd  # type: ignore[import-untyped]  # pandas-stubs is not installed

    with open_text(path) as stream:
        try:
            frame = pd.read_csv(
                stream,
                header=None,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
            )
        except (*READ_ERRORS, pd.errors.ParserError, pd.errors.EmptyDataError):
            return None
    columns: list[NDArray[np.object_]] = [frame[c].to_numpy(dtype=object) for c in frame.columns]
    # pandas raises on a row that is too long, but pads a short row (or a blank line) with empty
    # fields: a short row ends in an empty field. If a row does, count the file's fields.
    if (columns[-1] == "").any() and not _all_rows_full(path, columns):
        return None
    n = len(frame) - 1
    if n > max_rows():
        raise too_many_rows(Path(path).name)
    return CsvTable(
        header=[str(c[0]).strip() for c in columns],
        columns=[c[1:] for c in columns],
        numbers=np.arange(2, n + 2, dtype=np.int64),
        rows=n,
    )


def _all_rows_full(path: str | Path, columns: list[NDArray[np.object_]]) -> bool:
    """Whether every row has as many fields as the first one: the commas of the file that are not
    inside a field must be exactly (width - 1) per row."""
    if len(columns) == 1:
        return False
    with open_text(path) as stream:
        text = stream.read()
    inside = sum("".join(c.tolist()).count(",") for c in columns)
    return text.count(",") - inside == len(columns[0]) * (len(columns) - 1)


def _csv_module_table(path: str | Path, check_header: Callable[[list[str]], None]) -> CsvTable:
    with open_text(path) as stream:
        header, rows = csv_rows(stream)
        check_header(header)
        width = len(header)
        kept: list[list[str]] = []
        numbers: list[int] = []
        misfits: list[tuple[int, int]] = []
        total = 0
        for number, fields in rows:
            total += 1
            if len(fields) == width:
                kept.append(fields)
                numbers.append(number)
            else:
                misfits.append((number, len(fields)))
    columns = [np.array(c, dtype=object) for c in zip(*kept, strict=True)] if kept else []
    if not columns:
        columns = [np.empty(0, dtype=object) for _ in header]
    return CsvTable(
        header=header,
        columns=columns,
        numbers=np.array(numbers, dtype=np.int64),
        rows=total,
        misfits=misfits,
    )
