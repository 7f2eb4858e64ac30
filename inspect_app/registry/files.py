"""Reading a registry file: an XLSX workbook (streamed, read-only, with caps against zip
bombs) or a CSV (UTF-8 or GB18030, comma or tab), its tables found by their header rows and
every row checked; never touches the database."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from .cells import _match_header
from .report import Progress, Report, Unreadable, _NoProgress
from .rows import ParsedFile, _Reader
from .tables import BATCH, MAX_ROWS, TABLES, TEMPLATE_NOTE_SHEET

# A workbook is a zip; these caps stop a small upload from inflating into gigabytes of XML
# (openpyxl keeps the shared strings in memory even in read-only mode).
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 256 * 1024 * 1024
HEADER_SCAN_ROWS = 10


def _check_xlsx_size(source: IO[bytes]) -> None:
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise Unreadable("文件不是有效的 Excel 工作簿（.xlsx），请检查文件是否损坏") from None
    finally:
        source.seek(0)
    total = sum(i.file_size for i in infos)
    shared = sum(i.file_size for i in infos if i.filename.lower().endswith("sharedstrings.xml"))
    if total > MAX_UNCOMPRESSED_BYTES or shared > MAX_SHARED_STRINGS_BYTES:
        raise Unreadable("工作簿解压后过大，请拆分成多个文件分批导入")
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise Unreadable("文件不是有效的 Excel 工作簿（.xlsx）")


def _xlsx_sheets(source: IO[bytes]) -> Iterator[tuple[str, Iterator[Sequence[Any]], int | None]]:
    """Each worksheet as (name, rows of cell values, estimated row count or None)."""
    from openpyxl import load_workbook

    _check_xlsx_size(source)
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a broken workbook
        raise Unreadable("无法读取 Excel 工作簿（.xlsx），请在 Excel 中另存后重试") from err
    try:
        for sheet in workbook.worksheets:
            try:
                # Read-only sheets only know their size when the file records it; asking
                # for it otherwise would read the whole sheet once more.
                estimate = sheet.max_row if sheet.calculate_dimension() else None
            except (ValueError, TypeError):
                estimate = None
            yield sheet.title, _guarded(sheet.title, sheet.iter_rows(values_only=True)), estimate
    finally:
        workbook.close()


def _guarded(title: str, rows: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """The sheet's rows, with damage found while streaming them (bad XML, a bad zip entry)
    turned into one message for the user."""
    try:
        yield from rows
    except Exception as err:  # openpyxl, zipfile and the XML parser raise many kinds
        raise Unreadable(f"工作表“{title}”已损坏，无法读取，请在 Excel 中另存后重试") from err


def _decode_csv(source: IO[bytes]) -> io.TextIOBase:
    """The CSV as text: UTF-8 (with or without BOM) or, as Excel saves it on Chinese Windows,
    GB18030."""
    head = source.read(256 * 1024)
    source.seek(0)
    if b"\x00" in head:
        raise Unreadable("文件不是 .xlsx 或 .csv 表格文件")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "gb18030"
    return io.TextIOWrapper(source, encoding=encoding, errors="strict", newline="")


def _csv_sheet(source: IO[bytes], name: str) -> tuple[str, Iterator[Sequence[Any]], int | None]:
    lines = 0
    for chunk in iter(lambda: source.read(1 << 20), b""):
        lines += chunk.count(b"\n")
    source.seek(0)
    text = _decode_csv(source)
    try:
        first = text.readline()
    except UnicodeDecodeError:  # the guess read only the head; the first line may end past it
        raise Unreadable("CSV 文件的编码无法识别，请另存为“CSV UTF-8”格式") from None
    text.seek(0)
    delimiter = "\t" if first.count("\t") > first.count(",") else ","

    def rows() -> Iterator[Sequence[Any]]:
        try:
            yield from csv.reader(text, delimiter=delimiter)
        except UnicodeDecodeError:
            raise Unreadable("CSV 文件的编码无法识别，请另存为“CSV UTF-8”格式") from None
        except csv.Error as err:
            raise Unreadable(f"CSV 文件格式有误：{err}") from None

    return name, rows(), lines


def _kind(head: bytes, filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        # Old .xls workbooks and password-protected .xlsx files are both OLE2 containers.
        raise Unreadable(
            "不支持旧版 .xls 格式或加密的工作簿，请在 Excel 中“另存为”不加密的 .xlsx 后再导入"
        )
    if suffix in (".xlsx", ".xlsm"):
        raise Unreadable("文件不是有效的 Excel 工作簿（.xlsx），请检查文件是否损坏")
    if suffix not in ("", ".csv", ".txt"):
        raise Unreadable(f"不支持的文件类型“{suffix}”，请上传 .xlsx 或 .csv 文件")
    return "csv"


def read_file(
    source: str | Path | IO[bytes],
    *,
    filename: str = "",
    max_rows: int = MAX_ROWS,
    progress: Progress | None = None,
) -> ParsedFile:
    """Read and check every row of the file; never touches the database.

    ``source`` is a path or a seekable binary file; ``filename`` (for a file object) only
    helps to name the file type in messages. The result's report lists every problem; a
    file that cannot be read at all yields one problem without row or column.
    """
    progress = progress or _NoProgress()
    report = Report()
    parsed = ParsedFile(report)
    if isinstance(source, str | Path):
        filename = filename or str(source)
        with open(source, "rb") as handle:
            return read_file(handle, filename=filename, max_rows=max_rows, progress=progress)
    try:
        head = source.read(8)
        source.seek(0)
        if not head:
            raise Unreadable("文件是空的")
        kind = _kind(head, filename)
        if kind == "xlsx":
            sheets: Iterable = _xlsx_sheets(source)
        else:
            sheets = [_csv_sheet(source, Path(filename).stem or "CSV")]
        _read_sheets(sheets, parsed, max_rows, progress)
    except Unreadable as err:
        report.add(None, None, None, str(err))
    finally:
        progress.end()
    if not report.problem_count and not parsed.tables:
        report.add(
            None, None, None, "文件中没有找到区域、楼栋或用户表：表头需与模板一致（例如“楼栋编码”）"
        )
    return parsed


def _read_sheets(sheets: Iterable, parsed: ParsedFile, max_rows: int, progress: Progress) -> None:
    report = parsed.report
    for sheet, rows, estimate in sheets:
        if sheet == TEMPLATE_NOTE_SHEET:
            continue  # the template's notes list the headers, but are no table
        reader = None
        read = 0
        for number, cells in enumerate(rows, 1):
            if reader is None:
                if number > HEADER_SCAN_ROWS:
                    break
                reader = _start_table(sheet, number, cells, parsed, estimate, progress)
                continue
            # Blank rows (a sheet formatted far below its data) do not count towards the limit.
            if reader.row(number, cells[: reader.width]):
                report.rows += 1
                if report.rows > max_rows:
                    message = f"文件超过 {max_rows} 行数据，请拆分成多个文件分批导入"
                    report.add(None, None, None, message)
                    return
            read += 1
            if read % BATCH == 0:
                progress.advance(BATCH)
        progress.advance(read % BATCH)


def _start_table(sheet, number, cells, parsed: ParsedFile, estimate, progress):
    """The reader for this sheet if ``cells`` is a table's header row, else None."""
    report = parsed.report
    for table in TABLES:
        positions = _match_header(table, cells)
        if positions is None:
            continue
        if table.kind in parsed.tables:
            report.add(
                sheet,
                number,
                None,
                f"文件中已有{table.title}表（工作表“"
                f"{parsed.tables[table.kind].sheet}”），每种表只能有一张",
            )
            return None
        reader = _Reader(table, sheet, number, cells, positions, report)
        parsed.tables[table.kind] = reader.parsed
        progress.end()
        progress.begin(f"校验{table.title}表", None if estimate is None else estimate - number)
        return reader
    return None
