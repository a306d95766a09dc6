#!/usr/bin/env python3
"""Writes tests/fixtures/people.xls and people.ods (committed; not run in CI).

calamine reads these formats but no Rust crate we use writes them, so they
are made once with xlwt and odfpy:
    python3 -m venv /tmp/v && /tmp/v/bin/pip install xlwt odfpy
    /tmp/v/bin/python scripts/make-fixtures.py
Both hold the same sheet: a text ID with leading zeros, date cells, whole and
decimal numbers, and a fully blank row 3 that the reader must skip.
"""
import datetime
import xlwt
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import Style, TableCellProperties
from odf.number import DateStyle, Year, Month, Day, Text as NText
from odf.table import Table, TableRow, TableCell
from odf.text import P

HEADER = ["Employee ID", "First Name", "Last Name", "Email", "Region", "Role",
          "Hire Date", "Weekly Hours Target", "Hourly Rate"]
ROWS = [
    ["000123", "Ana", "Silva", "ana@example.com", "EMEA", "Guard",
     datetime.date(2024, 3, 1), 40, 18.5],
    None,  # a fully blank row
    [124, "Bob", "Stone", "bob@example.com", "NA-East", "Supervisor",
     datetime.date(2023, 12, 31), 37.5, 20],
]

def xls(path):
    book = xlwt.Workbook()
    sh = book.add_sheet("Staff")
    other = book.add_sheet("Other")
    other.write(0, 0, "not this one")
    date = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for c, h in enumerate(HEADER):
        sh.write(0, c, h)
    for r, row in enumerate(ROWS, start=1):
        if row is None:
            continue
        for c, v in enumerate(row):
            if isinstance(v, datetime.date):
                sh.write(r, c, v, date)
            else:
                sh.write(r, c, v)
    book.save(path)

def ods(path):
    doc = OpenDocumentSpreadsheet()
    ds = DateStyle(name="iso")
    ds.addElement(Year(style="long")); ds.addElement(NText(text="-"))
    ds.addElement(Month(style="long")); ds.addElement(NText(text="-"))
    ds.addElement(Day(style="long"))
    doc.automaticstyles.addElement(ds)
    cs = Style(name="d", family="table-cell", datastylename="iso")
    doc.automaticstyles.addElement(cs)
    t = Table(name="Staff")
    def cell(v):
        if isinstance(v, datetime.date):
            c = TableCell(valuetype="date", datevalue=v.isoformat(), stylename=cs)
            c.addElement(P(text=v.isoformat()))
        elif isinstance(v, (int, float)):
            c = TableCell(valuetype="float", value=v)
            c.addElement(P(text=str(v)))
        else:
            c = TableCell(valuetype="string")
            c.addElement(P(text=v))
        return c
    tr = TableRow()
    for h in HEADER:
        tr.addElement(cell(h))
    t.addElement(tr)
    for row in ROWS:
        tr = TableRow()
        if row is None:
            tr.addElement(TableCell())
        else:
            for v in row:
                tr.addElement(cell(v))
        t.addElement(tr)
    doc.spreadsheet.addElement(t)
    doc.save(path)

if __name__ == "__main__":
    xls("tests/fixtures/people.xls")
    ods("tests/fixtures/people.ods")
    print("wrote tests/fixtures/people.xls and people.ods")
