#!/usr/bin/env python3
"""Writes the XLSX and ODS fixtures of crates/sheet/tests/sheet.rs with independent tools
(openpyxl for XLSX, odfpy for ODS): `pip install openpyxl odfpy`, then run from the repository
root. The generated files are committed; CI does not run this script."""

import datetime
import os

from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import CoveredTableCell, Table, TableCell, TableColumn, TableRow
from odf.text import P, S
import xlsxwriter
from openpyxl import Workbook

OUT = os.path.join("crates", "sheet", "tests", "fixtures")
os.makedirs(OUT, exist_ok=True)


def xlsx_table():
    wb = Workbook()
    ws = wb.active
    ws.title = "Dati"
    # Column E is left without a header or values: a gap; F follows it.
    ws["A1"], ws["B1"], ws["C1"], ws["D1"], ws["F1"] = "nome", "n", "prezzo", "attivo", "data"
    rows = [
        ("Perché Città", 42, 3.14, True, datetime.date(2024, 12, 31)),
        ("Roma", 7, 0.5, False, datetime.date(2025, 1, 1)),
        ("Milano", None, 2.25, True, datetime.date(1900, 3, 1)),
    ]
    for i, (a, b, c, d, f) in enumerate(rows, start=2):
        ws.cell(row=i, column=1, value=a)
        if b is not None:
            ws.cell(row=i, column=2, value=b)
        ws.cell(row=i, column=3, value=c)
        ws.cell(row=i, column=4, value=d)
        ws.cell(row=i, column=6, value=f).number_format = "yyyy-mm-dd"
    # Row 5 is missing altogether; row 6 has data.
    ws.cell(row=6, column=1, value="Napoli")
    ws.cell(row=6, column=2, value=-3)
    ws.cell(row=6, column=3, value=10)
    ws.cell(row=6, column=4, value=False)
    ws.cell(row=6, column=6, value=datetime.date(2000, 2, 29)).number_format = "dd/mm/yyyy"
    other = wb.create_sheet("Ignorato")
    other["A1"] = "non letto"
    other["A2"] = 1
    wb.save(os.path.join(OUT, "table.xlsx"))


def xlsx_formula():
    # XlsxWriter (unlike openpyxl) writes a shared-strings part, rich text runs and a formula's
    # cached value.
    wb = xlsxwriter.Workbook(os.path.join(OUT, "formula.xlsx"))
    ws = wb.add_worksheet("Conti")
    bold = wb.add_format({"bold": True})
    day = wb.add_format({"num_format": "d mmm yyyy"})
    ws.write_string("A1", "voce")
    ws.write_string("B1", "importo")
    ws.write_string("C1", "giorno")
    ws.write_rich_string("A2", "Perché ", bold, "Città")
    ws.write_number("B2", 1.5)
    ws.write_datetime("C2", datetime.datetime(2024, 2, 29), day)
    ws.write_string("A3", "b & c <d>")
    ws.write_number("B3", 2)
    ws.write_datetime("C3", datetime.datetime(2023, 6, 15), day)
    ws.write_string("A4", "totale")
    ws.write_formula("B4", "=SUM(B2:B3)", None, 3.5)
    wb.add_worksheet("Altro").write_string("A1", "ignorato")
    wb.close()


def ods_cell(value_type=None, value=None, text=None, repeat=None, formula=None, **attrs):
    kw = {}
    if value_type:
        kw["valuetype"] = value_type
    if value is not None:
        kw["value"] = value
    if repeat:
        kw["numbercolumnsrepeated"] = repeat
    if formula:
        kw["formula"] = formula
    kw.update(attrs)
    c = TableCell(**kw)
    if text is not None:
        for i, part in enumerate(text if isinstance(text, list) else [text]):
            p = P()
            if isinstance(part, tuple):
                for piece in part:
                    if isinstance(piece, int):
                        p.addElement(S(c=piece))
                    else:
                        p.addText(piece)
            else:
                p.addText(part)
            c.addElement(p)
    return c


def ods_table():
    doc = OpenDocumentSpreadsheet()
    t = Table(name="Foglio1")
    t.addElement(TableColumn(numbercolumnsrepeated=1024))
    header = TableRow()
    for h in ["nome", "n", "prezzo", "attivo", "data"]:
        header.addElement(ods_cell("string", text=h))
    header.addElement(ods_cell(repeat=1019))
    t.addElement(header)

    r = TableRow()
    r.addElement(ods_cell("string", text=[("Perché", 2, "Città")]))
    r.addElement(ods_cell("float", value="42", text="42"))
    r.addElement(ods_cell("float", value="3.14", text="3,14"))
    r.addElement(ods_cell("boolean", booleanvalue="true", text="VERO"))
    r.addElement(ods_cell("date", datevalue="2024-12-31", text="31/12/2024"))
    r.addElement(ods_cell(repeat=1019))
    t.addElement(r)

    # Two equal rows written once, repeated.
    r = TableRow(numberrowsrepeated=2)
    r.addElement(ods_cell("string", text=["riga", "doppia"]))
    r.addElement(ods_cell("float", value="7", text="7"))
    r.addElement(ods_cell("float", value="0.5", text="0,5"))
    r.addElement(ods_cell("boolean", booleanvalue="false", text="FALSO"))
    r.addElement(ods_cell("date", datevalue="2025-01-01T10:30:00", text="01/01/2025 10:30"))
    r.addElement(ods_cell(repeat=1019))
    t.addElement(r)

    # Three empty rows, then a row whose first two cells are one repeated empty run.
    t.addElement(TableRow(numberrowsrepeated=3))
    r = TableRow()
    r.addElement(ods_cell("string", text="Ultima"))
    r.addElement(ods_cell(repeat=2))
    r.addElement(ods_cell("boolean", booleanvalue="true", text="VERO"))
    r.addElement(
        ods_cell("date", datevalue="2025-02-03", formula="of:=DATE(2025;2;3)", text="03/02/2025")
    )
    r.addElement(CoveredTableCell(numbercolumnsrepeated=1019))
    t.addElement(r)

    # LibreOffice pads a sheet with a huge empty trailing run.
    filler = TableRow(numberrowsrepeated=1048570)
    filler.addElement(ods_cell(repeat=1024))
    t.addElement(filler)
    doc.spreadsheet.addElement(t)

    t2 = Table(name="Foglio2")
    r = TableRow()
    r.addElement(ods_cell("string", text="ignorato"))
    t2.addElement(r)
    doc.spreadsheet.addElement(t2)
    doc.save(os.path.join(OUT, "table.ods"))


xlsx_table()
xlsx_formula()
ods_table()
print("wrote", sorted(os.listdir(OUT)))
