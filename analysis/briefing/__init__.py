"""Briefings (舆情日志/周报/月报/专报) as a document model from the analysis functions, rendered to DOCX/PDF/PNG/HTML.

Every sentence is a template filled with measured values; nothing is generated. Every number points to an
appendix entry (附1, 附2 …) that states the query filters and lists the posts behind it, so a reader can
trace any figure back to posts. The same model renders to every format:

- DOCX through python-docx (charts embedded as PNG);
- HTML (all text escaped: post text is never trusted) and PDF printed from that HTML by headless Chromium;
- PNG charts through kaleido driving the system Chromium (never a downloaded browser).

When Chromium is missing the DOCX and HTML are still written, without charts, with a visible warning.
The 台账 (ledger) exports live here too; every exported cell passes `neutralise_cell`.

The modules, each importing only those before it: `model` (the document, periods, formatting), `content` (what
each kind of briefing says, from the analysis functions), `renderers` (PNG, HTML, PDF, DOCX) and `ledger` (the
台账 exports and the `brief` / `export` verbs). The names callers use are importable from the package itself.
"""

from analysis.briefing.content import build, build_incident, build_period
from analysis.briefing.ledger import cli_brief, cli_export, export_ledger, ledger_frames
from analysis.briefing.model import (
    CHROMIUM_ENV_VAR,
    DEFAULT_UNIT,
    FORMATS,
    KIND_TITLES,
    KINDS,
    AppendixEntry,
    Briefing,
    Figure,
    Heading,
    Paragraph,
    Period,
    Table,
    day_period,
    default_period,
    month_period,
    week_period,
)
from analysis.briefing.renderers import RendererMissing, chromium_path, html_to_pdf, to_docx, to_html, write

__all__ = [
    "AppendixEntry",
    "Briefing",
    "CHROMIUM_ENV_VAR",
    "DEFAULT_UNIT",
    "FORMATS",
    "Figure",
    "Heading",
    "KINDS",
    "KIND_TITLES",
    "Paragraph",
    "Period",
    "RendererMissing",
    "Table",
    "build",
    "build_incident",
    "build_period",
    "chromium_path",
    "cli_brief",
    "cli_export",
    "day_period",
    "default_period",
    "export_ledger",
    "html_to_pdf",
    "ledger_frames",
    "month_period",
    "to_docx",
    "to_html",
    "week_period",
    "write",
]
