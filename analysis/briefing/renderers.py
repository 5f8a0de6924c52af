"""The document model rendered: PNG charts (kaleido + the system Chromium), HTML and PDF printed from it, DOCX.

When Chromium is missing the DOCX and HTML are still written, without charts, with a visible warning.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import html
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from analysis.briefing.model import (
    CHROMIUM_ENV_VAR,
    DEFAULT_CHROMIUM,
    FORMATS,
    Briefing,
    Figure,
    Heading,
    Paragraph,
    Progress,
    Table,
    _clip,
    _cn_date,
    _ts,
)
from analysis.exports import CONTROL_CHARS


# -- rendering: PNG charts -------------------------------------------------------------------------------------
def chromium_path() -> str | None:
    """The system Chromium (OPINION_CHROMIUM or /usr/bin/chromium), or None when absent."""
    candidate = os.environ.get(CHROMIUM_ENV_VAR) or DEFAULT_CHROMIUM
    return candidate if Path(candidate).is_file() and os.access(candidate, os.X_OK) else None


PDF_FOOTER = ("<div style='width:100%;text-align:center;font-size:9pt;font-family:serif;'>"
              "— <span class='pageNumber'></span> —</div>")


def _browser_render(briefing: Briefing, pdf: bool, width: int = 860, scale: float = 2.0
                    ) -> tuple[dict[str, bytes], bytes | None]:
    """PNG charts, then (optionally) the PDF of the HTML with those charts, in one Chromium session.

    Printing through the DevTools protocol in the browser kaleido already started saves a second
    Chromium start-up (about 3 s) and adds page numbers. A PDF failure here returns None so the caller
    can fall back to `html_to_pdf`; a chart failure returns no images and a warning.
    """
    figures = briefing.figures()
    browser = chromium_path()
    if browser is None:
        if figures:
            briefing.warnings.append(f"未找到Chromium（{os.environ.get(CHROMIUM_ENV_VAR) or DEFAULT_CHROMIUM}），"
                                     "图表未生成，文档中仅保留表格和文字。")
        return {}, None
    try:
        import kaleido
    except ImportError:
        briefing.warnings.append("未安装kaleido，图表未生成，文档中仅保留表格和文字。")
        return {}, None
    images: dict[str, bytes] = {}

    async def print_pdf(k, html_text: str) -> bytes | None:
        with tempfile.TemporaryDirectory(prefix="briefing-") as tmp:
            source = Path(tmp) / "briefing.html"
            source.write_text(html_text, encoding="utf-8")
            tab = await k.create_tab("")
            try:
                await tab.send_command("Page.enable")
                loaded = tab.get_session().subscribe_once("Page.loadEventFired")
                await tab.send_command("Page.navigate", params={"url": source.as_uri()})
                await asyncio.wait_for(loaded, 120)
                response = await tab.send_command("Page.printToPDF", params={
                    "printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": True,
                    "headerTemplate": "<span></span>", "footerTemplate": PDF_FOOTER})
            finally:
                await k.close_tab(tab.target_id)
        return base64.b64decode(response["result"]["data"]) if "result" in response else None

    async def run() -> bytes | None:
        # mathjax=False: never reach for the CDN; plotly.js comes from the installed plotly package.
        async with kaleido.Kaleido(path=browser, mathjax=False, n=1) as k:
            for item in figures:
                fig = go.Figure(item.figure)
                fig.update_layout(width=width, paper_bgcolor="white")
                images[item.key] = await k.calc_fig(fig, opts={"format": "png", "width": width,
                                                               "height": fig.layout.height or 360, "scale": scale})
            if not pdf:
                return None
            try:
                return await print_pdf(k, to_html(briefing, images))
            except Exception:  # noqa: BLE001 - the subprocess printer is the fallback
                return None
    try:
        # A thread of its own: the caller's thread may already run an event loop (Playwright, Jupyter).
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return images, pool.submit(asyncio.run, run()).result()
    except Exception as exc:  # a broken browser must not cost the analyst the document
        briefing.warnings.append(f"图表渲染失败（{type(exc).__name__}: {_clip(str(exc), 120)}），"
                                 "文档中仅保留表格和文字。")
        return {}, None


# -- rendering: HTML (and PDF from it) ---------------------------------------------------------------------------
_CSS = """
@page { size: A4; margin: 25mm 22mm 22mm 24mm; }
body { font-family: "Noto Serif CJK SC", "Source Han Serif SC", "SimSun", serif; font-size: 11pt; color: #111;
       line-height: 1.75; margin: 0; }
.masthead { text-align: center; color: #c00000; font-size: 30pt; font-weight: bold; letter-spacing: 6pt;
            font-family: "Noto Serif CJK SC", "SimSun", serif; margin-top: 4mm; }
.issue { text-align: center; font-size: 12pt; margin: 2mm 0; }
.unitline { display: flex; justify-content: space-between; font-size: 11pt; }
.redline { border-top: 2.5pt solid #c00000; margin: 2mm 0 6mm 0; }
.period { text-align: center; font-size: 15pt; font-weight: bold; margin: 4mm 0;
          font-family: "Noto Sans CJK SC", "SimHei", sans-serif; }
h2 { font-family: "Noto Sans CJK SC", "SimHei", sans-serif; font-size: 13.5pt; margin: 6mm 0 2mm 0;
     break-after: avoid; page-break-after: avoid; }
h3 { font-family: "Noto Sans CJK SC", "SimHei", sans-serif; font-size: 11.5pt; margin: 4mm 0 1mm 0;
     break-after: avoid; page-break-after: avoid; }
p { text-indent: 2em; margin: 1mm 0; text-align: justify; }
p.note { font-size: 9.5pt; color: #333; text-indent: 0; }
p.warning { color: #b00000; text-indent: 0; font-weight: bold; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 1mm 0; font-size: 9pt; line-height: 1.4;
        page-break-inside: auto; }
th, td { border: 0.6pt solid #444; padding: 1mm 1.5mm; vertical-align: top; overflow-wrap: break-word; }
td.link { word-break: break-all; font-size: 8pt; }
td.id { white-space: nowrap; font-size: 8pt; }
td.nw { white-space: nowrap; }
th { background: #f0f0f0; white-space: nowrap; font-family: "Noto Sans CJK SC", "SimHei", sans-serif;
     font-weight: normal; }
tr { page-break-inside: avoid; }
.caption { text-align: center; font-size: 9pt; color: #333; text-indent: 0; margin-bottom: 3mm; }
figure { margin: 3mm 0; text-align: center; page-break-inside: avoid; }
figure img { width: 100%; }
.appendix { page-break-before: always; }
.filters td:first-child { width: 20%; white-space: nowrap; }
"""


def _e(value) -> str:
    """Escape anything for HTML: post text is data, never markup."""
    if value is None or (not isinstance(value, str | list) and pd.isna(value)):
        return ""
    return html.escape(CONTROL_CHARS.sub("", str(value)), quote=True)


def _safe_link(url) -> str:
    if not isinstance(url, str) or not re.match(r"^https?://", url.strip(), re.I):
        return _e(url)
    return f'<a href="{_e(url.strip())}">{_e(_clip(url, 48))}</a>'


def _post_rows(posts: pd.DataFrame) -> list[list]:
    rows = []
    for p in posts.itertuples():
        summary = p.title if isinstance(p.title, str) and p.title else p.text
        interactions = getattr(p, "interactions", None)
        rows.append([p.post_id, _ts(p.created_at), f"{p.channel}/{p.site}", _clip(summary, 50), p.sentiment_label,
                     "" if interactions is None or pd.isna(interactions) else int(interactions), p.url or ""])
    return rows


POST_TABLE_COLUMNS = ["帖子ID", "发布时间", "渠道/站点", "内容摘要", "情感", "互动量", "链接"]


def to_html(briefing: Briefing, images: dict[str, bytes] | None = None) -> str:
    images = images or {}
    out = ["<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
           f"<title>{_e(briefing.title)} {_e(briefing.code)}</title><style>{_CSS}</style></head><body>",
           f"<div class='masthead'>{_e(briefing.title)}</div>", f"<div class='issue'>{_e(briefing.issue)}</div>",
           f"<div class='unitline'><span>{_e(briefing.unit)}</span>"
           f"<span>{_e(_cn_date(briefing.generated_at.date()))}</span></div><div class='redline'></div>",
           f"<div class='period'>{_e(briefing.period_label)}</div>"]
    for warning in briefing.warnings:
        out.append(f"<p class='warning'>注意：{_e(warning)}</p>")
    for block in briefing.blocks:
        if isinstance(block, Heading):
            tag = "h2" if block.level == 1 else "h3"
            out.append(f"<{tag}>{_e(block.text)}</{tag}>")
        elif isinstance(block, Paragraph):
            out.append(f"<p class='{_e(block.style)}'>{_e(block.text)}</p>")
        elif isinstance(block, Table):
            out.append(_html_table(block.columns, block.rows))
            if block.caption:
                out.append(f"<p class='caption'>{_e(block.caption)}</p>")
        elif isinstance(block, Figure):
            if block.key in images:
                data = base64.b64encode(images[block.key]).decode("ascii")
                out.append(f"<figure><img alt='{_e(block.caption)}' src='data:image/png;base64,{data}'>"
                           f"<p class='caption'>{_e(block.caption)}</p></figure>")
            else:
                out.append(f"<p class='caption'>〔{_e(block.caption)}：图表未生成〕</p>")
    if briefing.appendix:
        out.append("<div class='appendix'><h2>附件：数据溯源</h2>")
        out.append("<p class='note'>下列每项列出正文数字所依据的查询条件和帖子（按所述顺序取前若干条），"
                   "可在台账中按同样条件复核。</p>")
        for entry in briefing.appendix:
            total = f"（共{entry.total_posts}条，列出{len(entry.posts)}条）" if entry.total_posts is not None else ""
            out.append(f"<h3>{_e(entry.ref)} {_e(entry.title)}{_e(total)}</h3>")
            out.append("<table class='filters'>" + "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>"
                                                           for k, v in entry.filters) + "</table>")
            if len(entry.posts):
                out.append(_html_table(POST_TABLE_COLUMNS, _post_rows(entry.posts), link_column=6))
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out)


def _html_table(columns: list[str], rows: list[list], link_column: int | None = None) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    ids = {i for i, c in enumerate(columns) if c in ("帖子ID", "事件编号", "源帖ID", "发布时间", "时间")}
    short = {i for i, c in enumerate(columns) if c in ("序号", "等级", "状态", "级别", "情感", "深度", "规模")}

    def cell(i: int, value) -> str:
        if i == link_column:
            return f"<td class='link'>{_safe_link(value)}</td>"
        if i in ids or i in short:
            return f"<td class='{'id' if i in ids else 'nw'}'>{_e(value)}</td>"
        return f"<td>{_e(value)}</td>"
    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class RendererMissing(RuntimeError):
    """No Chromium to print the PDF with."""


def html_to_pdf(html_text: str, path: Path, timeout: float = 120) -> Path:
    """Print HTML to PDF with headless Chromium (no network, throwaway profile)."""
    browser = chromium_path()
    if browser is None:
        raise RendererMissing("未找到Chromium，无法生成PDF")
    with tempfile.TemporaryDirectory(prefix="briefing-") as tmp:
        source = Path(tmp) / "briefing.html"
        source.write_text(html_text, encoding="utf-8")
        target = Path(path).resolve()
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
                   f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={target}", source.as_uri()]
        result = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        if not target.exists() or target.stat().st_size == 0:
            detail = _clip(result.stderr.decode(errors="replace"), 200)
            raise RuntimeError(f"Chromium生成PDF失败（退出码{result.returncode}）：{detail}")
    return target


# -- rendering: DOCX -----------------------------------------------------------------------------------------------
def to_docx(briefing: Briefing, path: Path, images: dict[str, bytes] | None = None) -> Path:
    """A Word document in the shape of a 红头 briefing: masthead, red rule, numbered sections, tables, charts."""
    from io import BytesIO

    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    images = images or {}
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)

    def fonts(run_or_style, east_asia: str, size: float | None = None, bold: bool | None = None, colour=None):
        font = run_or_style.font
        font.name = "Times New Roman"
        element = run_or_style.element if hasattr(run_or_style, "element") else run_or_style._element
        rpr = element.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            rfonts = OxmlElement("w:rFonts")
            rpr.append(rfonts)
        rfonts.set(qn("w:eastAsia"), east_asia)
        if size:
            font.size = Pt(size)
        if bold is not None:
            font.bold = bold
        if colour:
            font.color.rgb = RGBColor.from_string(colour)

    fonts(document.styles["Normal"], "仿宋", 12)
    for name, size in (("Heading 1", 15), ("Heading 2", 12.5)):
        style = document.styles[name]
        fonts(style, "黑体", size, True, "000000")
        style.paragraph_format.space_before, style.paragraph_format.space_after = Pt(10), Pt(4)

    def clean(value) -> str:
        if value is None or (not isinstance(value, str | list) and pd.isna(value)):
            return ""
        return CONTROL_CHARS.sub("", str(value))

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fonts(title.add_run(briefing.title), "宋体", 28, True, "C00000")
    issue = document.add_paragraph()
    issue.alignment = WD_ALIGN_PARAGRAPH.CENTER
    issue.add_run(briefing.issue)
    unit = document.add_paragraph()
    unit.paragraph_format.tab_stops.add_tab_stop(Cm(15.6), alignment=2)  # right-aligned tab
    unit.add_run(f"{briefing.unit}\t{_cn_date(briefing.generated_at.date())}")
    rule = unit._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "4"), ("w:color", "C00000")):
        bottom.set(qn(key), value)
    border.append(bottom)
    rule.append(border)
    period = document.add_paragraph()
    period.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fonts(period.add_run(briefing.period_label), "黑体", 14, True)

    for warning in briefing.warnings:
        fonts(document.add_paragraph().add_run(f"注意：{warning}"), "黑体", 11, True, "B00000")

    def table(columns: list[str], rows: list[list], size: float = 9):
        t = document.add_table(rows=1, cols=len(columns))
        t.style = "Table Grid"
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, name in zip(t.rows[0].cells, columns, strict=True):
            cell.text = ""
            fonts(cell.paragraphs[0].add_run(clean(name)), "黑体", size, True)
        for row in rows:
            cells = t.add_row().cells
            for cell, value in zip(cells, row, strict=True):
                fonts(cell.paragraphs[0].add_run(clean(value)), "仿宋", size)
        return t

    def caption(text: str):
        p = document.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        fonts(p.add_run(clean(text)), "仿宋", 9)

    for block in briefing.blocks:
        if isinstance(block, Heading):
            document.add_heading(clean(block.text), level=block.level)
        elif isinstance(block, Paragraph):
            p = document.add_paragraph()
            if block.style == "body":
                p.paragraph_format.first_line_indent = Pt(24)
            fonts(p.add_run(clean(block.text)), "仿宋", 10 if block.style == "note" else 12)
        elif isinstance(block, Table):
            table(block.columns, block.rows)
            if block.caption:
                caption(block.caption)
        elif isinstance(block, Figure):
            if block.key in images:
                document.add_picture(BytesIO(images[block.key]), width=Cm(15.5))
                document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
                caption(block.caption)
            else:
                caption(f"〔{block.caption}：图表未生成〕")
    if briefing.appendix:
        document.add_page_break()
        document.add_heading("附件：数据溯源", level=1)
        p = document.add_paragraph()
        fonts(p.add_run("下列每项列出正文数字所依据的查询条件和帖子（按所述顺序取前若干条），可在台账中按同样条件复核。"),
              "仿宋", 10)
        for entry in briefing.appendix:
            total = f"（共{entry.total_posts}条，列出{len(entry.posts)}条）" if entry.total_posts is not None else ""
            document.add_heading(f"{entry.ref} {entry.title}{total}", level=2)
            table(["条件", "取值"], [list(pair) for pair in entry.filters])
            if len(entry.posts):
                document.add_paragraph()
                table(POST_TABLE_COLUMNS, _post_rows(entry.posts), 8)
    document.save(path)
    return Path(path)


def write(briefing: Briefing, out_dir: Path, formats: tuple[str, ...] = ("docx", "pdf", "png", "html"),
          progress: Progress | None = None, charts: bool = True) -> dict[str, list[Path]]:
    """Render the briefing into `out_dir`; returns the files per format. Missing Chromium degrades, never raises.

    `charts=False` skips chart rendering (about 6 s of browser start-up plus 1 s a chart) and says so in the
    document.
    """
    say = progress or (lambda _message: None)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"未知的格式：{'、'.join(sorted(unknown))}（可选：{'、'.join(FORMATS)}）")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    timings: dict[str, float] = {}
    started = time.perf_counter()
    pdf_bytes = None
    if charts:
        say(f"渲染图表（{len(briefing.figures())}幅）" + ("并打印PDF" if "pdf" in formats else ""))
        images, pdf_bytes = _browser_render(briefing, pdf="pdf" in formats)
    else:
        images = {}
        if briefing.figures():
            briefing.warnings.append("按要求未生成图表（--no-charts），文档中仅保留表格和文字。")
    timings["png+pdf" if pdf_bytes else "png"] = time.perf_counter() - started
    if "png" in formats:
        written["png"] = []
        for number, item in enumerate(briefing.figures(), start=1):
            if item.key in images:
                target = out_dir / f"{briefing.stem}_fig{number}_{item.key}.png"
                target.write_bytes(images[item.key])
                written["png"].append(target)
    page = to_html(briefing, images) if {"html", "pdf"} & set(formats) else ""
    if "html" in formats:
        target = out_dir / f"{briefing.stem}.html"
        target.write_text(page, encoding="utf-8")
        written["html"] = [target]
    if "docx" in formats:
        say("生成DOCX")
        moment = time.perf_counter()
        written["docx"] = [to_docx(briefing, out_dir / f"{briefing.stem}.docx", images)]
        timings["docx"] = time.perf_counter() - moment
    if "pdf" in formats and pdf_bytes:
        target = out_dir / f"{briefing.stem}.pdf"
        target.write_bytes(pdf_bytes)
        written["pdf"] = [target]
    elif "pdf" in formats:
        say("生成PDF")
        moment = time.perf_counter()
        try:
            written["pdf"] = [html_to_pdf(page, out_dir / f"{briefing.stem}.pdf")]
        except (RendererMissing, RuntimeError, subprocess.TimeoutExpired) as exc:
            briefing.warnings.append(f"PDF未生成：{exc}")
            written["pdf"] = []
        timings["pdf"] = time.perf_counter() - moment
    briefing.timings.update(timings)
    return written
