"""apxl.io.opc: big parts are deflated on several threads and read ahead on another; the zip stays one any reader opens."""
import zipfile
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from apxl.io import opc
from apxl.io.opc import Package, PartPreload, deflate_parallel


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000), piece=st.integers(1, 700), level=st.sampled_from([1, 6]))
def test_pieces_deflated_apart_inflate_as_one_stream(data, piece, level):
    raw = deflate_parallel(data, level, workers=3, piece_bytes=piece)
    assert zlib.decompress(raw, -15) == data


def _sheet(rows: int) -> bytes:
    body = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>{r % 97}</v></c><c r="B{r}"><v>{45600 + r % 300}</v></c></row>' for r in range(1, rows + 1))
    return f'<worksheet xmlns="{opc.MAIN_NS}"><sheetData>{body}</sheetData></worksheet>'.encode()


@pytest.fixture
def workbook(tmp_path):
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(opc.CONTENT_TYPES, "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", _sheet(20_000))
        z.writestr("xl/worksheets/sheet2.xml", _sheet(10))
        z.writestr("docProps/app.xml", "<Properties/>")
    return path


def test_a_big_part_written_in_pieces_is_a_member_every_zip_reader_checks_clean(monkeypatch, workbook, tmp_path):
    monkeypatch.setattr(opc, "PARALLEL_DEFLATE_BYTES", 1024)  # the fixture's sheet is ~1 MB: take the parallel path
    monkeypatch.setattr(opc, "_PIECE_BYTES", 64 * 1024)
    changed = _sheet(20_000).replace(b"<v>5</v>", b"<v>6</v>")
    with Package(workbook) as pkg:
        pkg.write("xl/worksheets/sheet1.xml", changed)
        pkg.write("xl/worksheets/sheet3.xml", b"<worksheet/>")  # small: zipfile's own writer
        pkg.save(tmp_path / "out.xlsx")
    with zipfile.ZipFile(tmp_path / "out.xlsx") as z:
        assert z.testzip() is None  # every member's CRC checks
        assert z.read("xl/worksheets/sheet1.xml") == changed
        assert z.read("xl/worksheets/sheet2.xml") == _sheet(10)
        assert z.read("xl/worksheets/sheet3.xml") == b"<worksheet/>"
        assert [i.filename for i in z.infolist()][0] == opc.CONTENT_TYPES
        big = z.getinfo("xl/worksheets/sheet1.xml")
        assert big.compress_type == zipfile.ZIP_DEFLATED and big.compress_size < big.file_size / 5


def test_preloaded_parts_are_what_the_package_reads(workbook):
    preload = PartPreload(workbook, min_bytes=1024)
    with Package(workbook, preloaded=preload) as pkg:
        assert pkg.read("xl/worksheets/sheet1.xml") == _sheet(20_000)
        assert pkg.read("xl/worksheets/sheet2.xml") == _sheet(10)  # small: read by the package itself
    assert set(preload._parts) == {"xl/worksheets/sheet1.xml"}


def test_a_preload_of_another_file_is_not_used(workbook, tmp_path):
    other = tmp_path / "other.xlsx"
    with zipfile.ZipFile(other, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(opc.CONTENT_TYPES, "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", _sheet(19_999))
    with Package(workbook, preloaded=PartPreload(other, min_bytes=1024)) as pkg:
        assert pkg.read("xl/worksheets/sheet1.xml") == _sheet(20_000)


def test_a_preload_of_an_unreadable_file_reads_nothing(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    assert PartPreload(bad).get("xl/worksheets/sheet1.xml", zipfile.ZipInfo("xl/worksheets/sheet1.xml")) is None


def test_untouched_parts_are_copied_compressed_as_they_were(tmp_path):
    """Parts apxl does not change keep their compressed bytes (no inflate and deflate again), and check clean."""
    workbook = tmp_path / "book.xlsx"
    with zipfile.ZipFile(workbook, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(opc.CONTENT_TYPES, "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", _sheet(20_000), compresslevel=1)  # not the level apxl would choose
        z.writestr("xl/worksheets/sheet2.xml", _sheet(10))
    with Package(workbook) as pkg:
        pkg.write("xl/worksheets/sheet2.xml", b"<worksheet/>")
        pkg.save(tmp_path / "out.xlsx")

    def compressed(path, name):
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(name)
            with open(path, "rb") as fh:
                fh.seek(info.header_offset + 26)
                skip = int.from_bytes(fh.read(2), "little") + int.from_bytes(fh.read(2), "little")
                fh.seek(skip, 1)
                return info.CRC, fh.read(info.compress_size)

    assert compressed(tmp_path / "out.xlsx", "xl/worksheets/sheet1.xml") == compressed(workbook, "xl/worksheets/sheet1.xml")
    with zipfile.ZipFile(tmp_path / "out.xlsx") as z:
        assert z.testzip() is None
        assert z.read("xl/worksheets/sheet1.xml") == _sheet(20_000) and z.read("xl/worksheets/sheet2.xml") == b"<worksheet/>"


@settings(max_examples=30, deadline=None)
@given(head=st.binary(max_size=300), body=st.binary(max_size=3000), tail=st.binary(max_size=300), piece=st.integers(1, 500))
def test_a_stream_left_open_can_be_followed_by_more_pieces(head, body, tail, piece):
    raw = deflate_parallel(head, 1, final=False) + deflate_parallel(body, 1, workers=2, piece_bytes=piece, final=False) + deflate_parallel(tail, 6)
    assert zlib.decompress(raw, -15) == head + body + tail


def test_a_sheet_rewritten_around_its_cells_reuses_the_cells_deflated_by_the_preload(monkeypatch, workbook, tmp_path):
    """Highlights change a sheet's head and tail, never its cells: the save takes the cells as the preload deflated them."""
    monkeypatch.setattr(opc, "PARALLEL_DEFLATE_BYTES", 1024)
    monkeypatch.setattr(opc, "_PIECE_BYTES", 64 * 1024)
    preload = PartPreload(workbook, min_bytes=1024, deflate_cells=True)
    preload.wait()
    assert len(preload._cells) == 1  # sheet1 only: sheet2 is below min_bytes
    taken = []
    real = preload.deflated_cells
    monkeypatch.setattr(preload, "deflated_cells", lambda piece: taken.append(len(piece)) or real(piece))
    with Package(workbook, preloaded=preload) as pkg:
        doc, holder, cells = opc.split_sheet(pkg.read("xl/worksheets/sheet1.xml"))
        doc.root.append(opc.Element(opc.qn(opc.MAIN_NS, "conditionalFormatting"), {"sqref": "A5"}))
        pkg.set_doc("xl/worksheets/sheet1.xml", doc)
        pkg.save(tmp_path / "out.xlsx")
        expected = doc.serialize()
    assert real(cells) is not None and len(cells) in taken
    with zipfile.ZipFile(tmp_path / "out.xlsx") as z:
        assert z.testzip() is None
        written = z.read("xl/worksheets/sheet1.xml")
    assert written == expected and cells in written and written.endswith(b'<conditionalFormatting sqref="A5"/></worksheet>')


def test_only_the_very_cells_the_preload_read_are_taken_deflated(monkeypatch, workbook):
    monkeypatch.setattr(opc, "PARALLEL_DEFLATE_BYTES", 1024)
    preload = PartPreload(workbook, min_bytes=1024, deflate_cells=True)
    _, _, cells = opc.split_sheet(_sheet(20_000))
    _, _, edited = opc.split_sheet(_sheet(20_000).replace(b"<v>5</v>", b"<v>6</v>"))
    assert len(edited) == len(cells) and edited != cells
    assert zlib.decompress(preload.deflated_cells(cells) + zlib.compress(b"", 1)[2:-4], -15) == cells
    assert preload.deflated_cells(edited) is None  # same size, other cells: compressed at the save
    assert PartPreload(workbook, min_bytes=1024).deflated_cells(cells) is None  # not asked to deflate
