#!/usr/bin/env python3
"""Writes the small hostile-input files of tests/corpus/ (committed; not run in CI).

    python3 scripts/make-corpus.py

Standard library only. Each file is broken in one way on purpose; tests/hostile.rs
says what hrport must do with it. Files too big to commit (a 10 MB cell, 20,000
columns, zip bombs) are made by the test itself instead.
"""
import os
import struct
import zipfile
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus")

HEADER = "First Name,Last Name,Email,Region,Role"
ANA = "Ana,Silva,ana@example.com,EMEA,Guard"
BOB = "Bob,Stone,bob@example.com,EMEA,Guard"
CY = "Cy,Ray,cy@example.com,EMEA,Guard"


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def png():
    """A real 1x1 PNG image."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def elf():
    """The first bytes of a 64-bit Linux executable."""
    return (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00"
            + b"\x40\x10\x40\x00\x00\x00\x00\x00" + b"\x00" * 40)


def csv_files():
    write("png-renamed.csv", png())
    write("elf-renamed.csv", elf())
    text = "\r\n".join([HEADER, "Chloé,Müller,chloe@example.com,EMEA,Guard",
                        "Søren,Ødegård,soren@example.com,APAC,Guard"]) + "\r\n"
    write("utf16le-no-bom.csv", text.encode("utf-16-le"))
    write("nul-mid-file.csv",
          "\n".join([HEADER, ANA, "Bob,St\0one,bob@example.com,EMEA,Guard", CY]).encode() + b"\n")
    write("mixed-utf8-cp1252.csv",
          "\n".join([HEADER, "Chloé,Müller,chloe@example.com,EMEA,Guard"]).encode("utf-8")
          + b"\nZo\xe9,Caf\xe9,zoe@example.com,EMEA,Guard\n")
    write("header-only.csv", (HEADER + "\r\n").encode())
    write("blank-lines.csv", b"\n\r\n   \n,,,,\n\t\n")
    write("unclosed-quote.csv",
          "\n".join([HEADER, ANA, 'Bob,"Stone,bob@example.com,EMEA,Guard', CY]).encode() + b"\n")
    write("cr-only.csv",
          "\r".join([HEADER, ANA, "", "Bob,Stone,bob@example,EMEA,Guard", CY]).encode() + b"\r")
    write("ragged.csv", "\n".join([
        HEADER,
        "Ana",
        "Bob,Stone,bob@example.com",
        ANA + ",",
        CY + ",x,y",
        CY.replace("Cy", "Di").replace("cy@", "di@") + "," + ",".join(f"v{i}" for i in range(500)),
        "Ed,Eng,ed@example.com,EMEA,Guard",
    ]).encode() + b"\n")


# A minimal workbook, part by part, as Excel lays it out.
CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Staff" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def col(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def inline_rows(rows):
    """Sheet rows of inline-string cells (no sharedStrings needed)."""
    out = []
    for r, cells in enumerate(rows, start=1):
        cs = "".join(f'<c r="{col(c)}{r}" t="inlineStr"><is><t>{v}</t></is></c>'
                     for c, v in enumerate(cells) if v is not None)
        out.append(f'<row r="{r}">{cs}</row>')
    return "".join(out)


def sheet(body, dimension="A1:E3"):
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {NS}>'
            f'<dimension ref="{dimension}"/><sheetData>{body}</sheetData></worksheet>')


def shared(strings):
    items = "".join(f"<si><t>{s}</t></si>" for s in strings)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<sst {NS} count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>')


def xlsx(name, parts, skip=()):
    path = os.path.join(OUT, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for part, text in parts.items():
            if part not in skip:
                zi = zipfile.ZipInfo(part, date_time=(1980, 1, 1, 0, 0, 0))
                zi.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(zi, text)
    return path


def base_parts(sheet_xml, strings=None):
    return {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": RELS,
        "xl/workbook.xml": WORKBOOK,
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
        "xl/worksheets/sheet1.xml": sheet_xml,
        "xl/sharedStrings.xml": shared(strings or []),
    }


PEOPLE = [h.split(",") for h in [HEADER, ANA, BOB]]


def shared_rows(rows):
    """Sheet rows of shared-string cells, and the strings."""
    strings, out = [], []
    for r, cells in enumerate(rows, start=1):
        cs = []
        for c, v in enumerate(cells):
            strings.append(v)
            cs.append(f'<c r="{col(c)}{r}" t="s"><v>{len(strings) - 1}</v></c>')
        out.append(f'<row r="{r}">{"".join(cs)}</row>')
    return "".join(out), strings


def xlsx_files():
    body, strings = shared_rows(PEOPLE)
    valid = xlsx("valid.xlsx", base_parts(sheet(body), strings))
    with open(valid, "rb") as f:
        data = f.read()
    os.remove(valid)
    write("truncated.xlsx", data[: len(data) // 2])

    xlsx("garbage-sheet.xlsx", base_parts("<worksheet><sheetData><row r='1'></worksheet>\x01\x02<<<"))
    xlsx("no-shared-strings.xlsx", base_parts(sheet(body), strings), skip={"xl/sharedStrings.xml"})
    xlsx("missing-sheet.xlsx", base_parts(sheet(body), strings), skip={"xl/worksheets/sheet1.xml"})
    xlsx("absurd-dimensions.xlsx",
         base_parts(sheet(inline_rows(PEOPLE), dimension="A1:XFD1048576")))

    # Rows out of order, and a cell given twice: read as they stream, the
    # second made "AnaBob" of Ana's first name (and was sent as such).
    rows = [inline_rows([r]).replace('r="1"', f'r="{i}"').replace("1\"", f"{i}\"")
            for i, r in enumerate(PEOPLE, start=1)]
    xlsx("backwards-rows.xlsx", base_parts(sheet(rows[0] + rows[2] + rows[1])))
    twice = rows[1].replace("</row>", '<c r="A2" t="inlineStr"><is><t>Bob</t></is></c></row>')
    xlsx("repeated-cell.xlsx", base_parts(sheet(rows[0] + twice + rows[2])))

    # Row 2: formulas with cached values (what Excel shows is what is read).
    # Row 3: error values a broken formula leaves behind.
    head = inline_rows([PEOPLE[0] + ["Job Title", "Weekly Hours Target"]])
    row2 = ('<row r="2">'
            '<c r="A2" t="inlineStr"><is><t>Ana</t></is></c>'
            '<c r="B2" t="str"><f>UPPER("silva")</f><v>SILVA</v></c>'
            '<c r="C2" t="inlineStr"><is><t>ana@example.com</t></is></c>'
            '<c r="D2" t="inlineStr"><is><t>EMEA</t></is></c>'
            '<c r="E2" t="inlineStr"><is><t>Guard</t></is></c>'
            '<c r="F2"><f>1+1</f></c>'
            '<c r="G2"><f>20*2</f><v>40</v></c></row>')
    row3 = ('<row r="3">'
            '<c r="A3" t="inlineStr"><is><t>Bob</t></is></c>'
            '<c r="B3" t="inlineStr"><is><t>Stone</t></is></c>'
            '<c r="C3" t="e"><f>VLOOKUP(A3,Staff!A:C,3,FALSE)</f><v>#N/A</v></c>'
            '<c r="D3" t="inlineStr"><is><t>EMEA</t></is></c>'
            '<c r="E3" t="inlineStr"><is><t>Guard</t></is></c>'
            '<c r="F3" t="e"><f>#REF!</f><v>#REF!</v></c>'
            '<c r="G3" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>')
    xlsx("formula-errors.xlsx", base_parts(sheet(head + row2 + row3, dimension="A1:G3")))


def ods_files():
    src = os.path.join(OUT, "..", "fixtures", "people.ods")
    with open(src, "rb") as f:
        data = f.read()
    write("truncated.ods", data[: len(data) // 2])

    # people.ods plus one row repeated 6,000 times of one cell repeated 16,000
    # times: 2 KB asking calamine for 96 million cells (12 GB, minutes).
    book = zipfile.ZipFile(src)
    content = book.read("content.xml").decode()
    bomb = ('<table:table-row table:number-rows-repeated="6000">'
            '<table:table-cell office:value-type="string" table:number-columns-repeated="16000">'
            '<text:p>x</text:p></table:table-cell></table:table-row>')
    content = content.replace("</table:table>", bomb + "</table:table>", 1)
    with zipfile.ZipFile(os.path.join(OUT, "repeat-bomb.ods"), "w") as z:
        for name in book.namelist():
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            z.writestr(zi, content if name == "content.xml" else book.read(name))
    xls = os.path.join(OUT, "..", "fixtures", "people.xls")
    with open(xls, "rb") as f:
        data = f.read()
    write("truncated.xls", data[: len(data) // 2])


def xls_files():
    """people.xls with one thing broken that would make calamine take
    unbounded memory (each is refused before calamine reads it)."""
    with open(os.path.join(OUT, "..", "fixtures", "people.xls"), "rb") as f:
        base = f.read()

    def records(data, typ):
        """Offsets of BIFF records of a type (found by their header)."""
        out, i = [], 0
        while True:
            i = data.find(struct.pack("<H", typ), i)
            if i < 0:
                return out
            out.append(i)
            i += 1

    # The first sheet's DIMENSIONS: 4,294,967,294 rows by 65,535 columns.
    d = bytearray(base)
    dim = [i for i in records(d, 0x0200) if d[i + 2:i + 4] == b"\x0e\x00"][0]
    d[dim + 4:dim + 18] = struct.pack("<IIHHH", 0, 0xFFFFFFFE, 0, 0xFFFF, 0)
    write("absurd-dimensions.xls", d)

    # Two cells far apart: column 65,001 and row 65,536 (a 4-billion-cell box).
    d = bytearray(base)
    ssts = [i for i in records(d, 0x00FD) if d[i + 2:i + 4] == b"\x0a\x00"]
    d[ssts[0] + 6:ssts[0] + 8] = struct.pack("<H", 65000)
    d[ssts[1] + 4:ssts[1] + 6] = struct.pack("<H", 65535)
    write("far-cells.xls", d)

    # The directory's sector chain points back at itself: read for ever.
    d = bytearray(base)
    dir_start, fat0 = struct.unpack_from("<I", d, 48)[0], struct.unpack_from("<I", d, 76)[0]
    struct.pack_into("<I", d, 512 + fat0 * 512 + dir_start * 4, dir_start)
    write("looping-directory.xls", d)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    csv_files()
    xlsx_files()
    ods_files()
    xls_files()
