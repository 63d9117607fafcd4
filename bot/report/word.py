"""The report as a Word document (python-docx), laid out like the committee's own summary.

A4, official-document margins; title in 宋体 (SimSun) bold, headings in 黑体 (SimHei),
body in 宋体 with a two-character first-line indent; the figures table; the charts.
Every run names its East Asian font (w:eastAsia, by the English names Word and
LibreOffice both know) and the document's East Asian language is zh-CN, so Word uses
the Chinese fonts and LibreOffice substitutes a Simplified Chinese face (Noto Serif
CJK SC for SimSun, Noto Sans CJK SC for SimHei, with Debian's fonts-noto-cjk) where
they are not installed.
"""
from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from bot.report.words import ReportText
from domain.halfyear import Figure

LATIN = "Times New Roman"
TITLE_FONT, HEADING_FONT, BODY_FONT, TABLE_FONT = "SimSun", "SimHei", "SimSun", "SimSun"


def _fonts(run_or_style, east: str, size: float, bold: bool = False) -> None:
    font = run_or_style.font
    font.name, font.size, font.bold = LATIN, Pt(size), bold
    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):  # a theme font wins in Word
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi"):
        fonts.set(qn(attr), LATIN)
    fonts.set(qn("w:eastAsia"), east)


def _language(style) -> None:
    rpr = style.element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)


def _spacing(paragraph, line: float = 28, before: float = 0, after: float = 0, indent: bool = True) -> None:
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(line)
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if indent:
        fmt.first_line_indent = Pt(32)  # two characters of 16 pt


def new_document() -> Document:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    _fonts(normal, BODY_FONT, 16)
    _language(normal)
    _defaults(doc)
    _font_table(doc)
    _heading_styles(doc)
    return doc


def _heading_styles(doc) -> None:
    """Word's own Title and Heading 1 styles (so the navigation pane and a table of contents work), dressed as
    the committee's summary: 宋体 22 pt bold title, 黑体 16 pt headings, black, no rules or theme colours."""
    for name, east, size, bold in (("Title", TITLE_FONT, 22, True), ("Heading 1", HEADING_FONT, 16, False),
                                   ("Subtitle", "KaiTi", 14, False), ("Caption", HEADING_FONT, 10.5, False)):
        style = doc.styles[name]
        _fonts(style, east, size, bold)
        style.font.italic = False
        style.font.color.rgb = RGBColor(0, 0, 0) if name != "Caption" else RGBColor(0x33, 0x33, 0x33)
        rpr = style.element.get_or_add_rPr()
        for tag in ("w:color", "w:spacing", "w:kern", "w:u"):  # theme colour, letter spacing: the template's
            for el in rpr.findall(qn(tag)):
                if tag != "w:color":
                    rpr.remove(el)
        color = rpr.find(qn("w:color"))
        if color is not None:
            for attr in ("w:themeColor", "w:themeShade", "w:themeTint"):
                color.attrib.pop(qn(attr), None)
        ppr = style.element.get_or_add_pPr()
        for tag in ("w:pBdr", "w:numPr"):  # the stock Title's rule underneath, the stock Subtitle's numbering
            for el in ppr.findall(qn(tag)):
                ppr.remove(el)
        fmt = style.paragraph_format
        fmt.keep_together = True
        if name == "Heading 1":
            fmt.keep_with_next = True
            fmt.first_line_indent = Pt(32)
            fmt.space_before, fmt.space_after = Pt(6), Pt(0)
            fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(28)
        elif name in ("Title", "Subtitle"):
            fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
            fmt.first_line_indent = Pt(0)
        else:
            fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER


def properties(doc, title: str, author: str, comments: str, subject: str = "") -> None:
    """The document's own properties: the committee as its author, where the figures come from as comments."""
    core = doc.core_properties
    core.title, core.subject, core.author, core.last_modified_by = title, subject, author, author
    core.comments, core.category, core.language, core.keywords = comments, "工作总结", "zh-CN", "工作总结"


# Chinese fonts the document uses, with their GB2312 charset and panose numbers, so that a
# machine without them knows what they were meant to look like.
FONT_TABLE = {"SimSun": ("auto", "02010600030101010101"), "FangSong": ("modern", "02010609060101010101"),
              "KaiTi": ("modern", "02010609060101010101"), "SimHei": ("modern", "02010609060101010101")}


def _font_table(doc) -> None:
    part = next(rel.target_part for rel in doc.part.rels.values() if rel.reltype.endswith("/fontTable"))
    from docx.oxml import parse_xml

    root = parse_xml(part.blob)
    for name, (family, panose) in FONT_TABLE.items():
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        for tag, value in (("w:panose1", panose), ("w:charset", "86"), ("w:family", family),
                           ("w:pitch", "variable" if name == "SimSun" else "fixed")):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            font.append(child)
        root.append(font)
    from lxml import etree

    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _defaults(doc) -> None:
    """Document defaults: Chinese East Asian font and language (the stock template's are Japanese)."""
    rpr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = rpr.find(qn("w:rFonts"))
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    for attr, value in (("w:ascii", LATIN), ("w:hAnsi", LATIN), ("w:eastAsia", BODY_FONT), ("w:cs", LATIN)):
        fonts.set(qn(attr), value)
    rpr.find(qn("w:lang")).set(qn("w:eastAsia"), "zh-CN")


def _text(doc, text: str, east: str = BODY_FONT, size: float = 16, bold: bool = False, lead: str = "",
          lead_font: str = BODY_FONT, indent: bool = True, align=None, line: float = 28, before: float = 0,
          after: float = 0):
    p = doc.add_paragraph()
    _spacing(p, line, before, after, indent)
    if align is not None:
        p.alignment = align
    if lead:
        _fonts(p.add_run(lead), lead_font, size, bold=True)
    if text:
        _fonts(p.add_run(text), east, size, bold)
    return p


def _cell(cell, text: str, bold: bool = False, align=WD_ALIGN_PARAGRAPH.LEFT) -> None:
    cell.text = ""
    p = cell.paragraphs[0]
    p.alignment = align
    p.paragraph_format.space_before = p.paragraph_format.space_after = Pt(0)
    p.paragraph_format.line_spacing = 1.0
    _fonts(p.add_run(text), TABLE_FONT, 10, bold)


def _shade(cell, color: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), color)
    cell._tc.get_or_add_tcPr().append(shading)


def figures_table(doc, figures: list[Figure], headers: list[str]) -> None:
    """Every figure with its exact value, a shaded row naming each section."""
    table = doc.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for cell, text in zip(table.rows[0].cells, headers):
        _cell(cell, text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        _shade(cell, "BDD7EE")
    section = None
    for f in figures:
        if f.section != section:
            section = f.section
            row = table.add_row().cells
            merged = row[0].merge(row[2])
            _cell(merged, section, bold=True)
            _shade(merged, "EAF1F8")
        cells = table.add_row().cells
        _cell(cells[0], f.label)
        _cell(cells[1], f"{f.value:g}" if isinstance(f.value, float) else str(f.value), align=WD_ALIGN_PARAGRAPH.RIGHT)
        _cell(cells[2], f.unit, align=WD_ALIGN_PARAGRAPH.CENTER)
    widths = (Cm(10.8), Cm(2.6), Cm(2.2))
    for col, width in zip(table.columns, widths):
        col.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width


def _chart(doc, caption: str, png: bytes) -> None:
    """The picture and its caption, kept together (and only together: nothing before is tied to them)."""
    pic = doc.add_paragraph()
    pic.alignment = WD_ALIGN_PARAGRAPH.CENTER
    pic.paragraph_format.keep_with_next = True
    pic.paragraph_format.space_before = Pt(6)
    pic.add_run().add_picture(io.BytesIO(png), width=Cm(14.5))
    cap = doc.add_paragraph(style="Caption")
    cap.paragraph_format.space_after = Pt(8)
    _fonts(cap.add_run(caption), HEADING_FONT, 10.5)


def _styled(doc, text: str, style: str, east: str, size: float, bold: bool = False):
    p = doc.add_paragraph(style=style)
    if text:
        _fonts(p.add_run(text), east, size, bold)
    return p


CHART_ORDER = ("study", "volunteering", "services")  # 图1, 图2, 图3


def build(text: ReportText, figures: list[Figure], charts: dict[str, tuple[str, bytes]], headers: list[str],
          author: str = "", charts_heading: str = "附：图表"):
    doc = new_document()
    properties(doc, text.title + text.subtitle, author, text.provenance)
    title = _styled(doc, text.title, "Title", TITLE_FONT, 22, bold=True)
    _spacing(title, 36, after=6 if text.subtitle else 18, indent=False)
    if text.subtitle:
        _spacing(_styled(doc, text.subtitle, "Subtitle", "KaiTi", 14), 24, after=12, indent=False)
    _text(doc, text.intro)
    for section in text.sections:
        if section.key == "figures" and charts and charts_heading:
            # The charts after the text, not inside it: a chart that does not fit at the foot of a page would
            # go over to the next and leave up to half a page blank in the middle of the summary.
            _styled(doc, charts_heading, "Heading 1", HEADING_FONT, 16)
            for key in CHART_ORDER:
                if key in charts:
                    _chart(doc, *charts[key])
        _styled(doc, section.heading, "Heading 1", HEADING_FONT, 16)
        for para in section.paragraphs:
            _text(doc, para.text, lead=para.lead)
        if section.key == "figures":
            figures_table(doc, figures, headers)
            if text.provenance:
                _text(doc, text.provenance, BODY_FONT, 10.5, indent=False, line=16, before=6)
    return doc


def save(doc: Document, out) -> Path | bytes:
    """Write to a path, or return the bytes when out is None."""
    if out is None:
        buf = io.BytesIO()
        doc.save(buf)
        return buf.getvalue()
    doc.save(str(out))
    return Path(out)
