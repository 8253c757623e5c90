"""Render Jinja2 HTML templates to A4 PDF bytes with xhtml2pdf and the embedded Chinese font."""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import jinja2

from app.printing.fonts import FONT_FAMILY, missing_glyphs, register_fonts
from app.printing.verify import qr_png_data_uri

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "pdf_templates"

#: What a rendering document may fetch: nothing. Forms carry their images as
#: data: URIs (the QR code) and the font is registered in-process, so no file
#: read or network fetch is ever legitimate -- and the machines that print
#: have no network beyond package registries anyway. server() also turns on
#: the size, depth and time limits.
def _resource_policy():
    """Imported on first render: xhtml2pdf/ReportLab take about half a second to import, which
    a worker should not pay at start-up."""
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    return ResourceAccessPolicy.server(base_dir=None, allow_remote=False)

#: xhtml2pdf (0.2.28, context.py) only *warns* when text falls back to a font
#: that has no glyph for it -- an unknown font-family falls back to Helvetica,
#: a generic one such as "serif" to Times. On a Chinese form that prints blank
#: boxes, so render_pdf treats these two warnings as errors. Matched on the
#: start of xhtml2pdf's message templates; the test
#: test_font_family_without_chinese_raises catches a wording change on upgrade.
FONT_FALLBACK_WARNINGS = ("None of the font families", "No font this document has can draw")


class PdfRenderError(RuntimeError):
    """A form could not be rendered; the message says why. No PDF is returned."""


class FieldCell(NamedTuple):
    """One label/value pair of fields_table; ``label`` None is a filler cell."""

    label: str | None
    value: str
    span: int


def format_value(value: Any) -> str:
    """Format a field value for paper: blanks for None, 是/否 for booleans, ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        # format() keeps the stored scale and never switches to 1E+3 notation.
        return format(value, "f")
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return "、".join(format_value(item) for item in items)
    return str(value)


def format_datetime(value: Any) -> str:
    """Format the printed-at time: datetimes to the second, strings unchanged."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return format_value(value)


def pack_fields(
    rows: Mapping[str, Any] | Iterable[tuple[str, Any]], columns: int = 2, wide_at: int = 24
) -> list[list[FieldCell]]:
    """Lay out label/value pairs ``columns`` to a line; long values take a whole line."""
    if columns < 1:
        raise ValueError("columns must be >= 1")
    pairs = rows.items() if isinstance(rows, Mapping) else rows
    lines: list[list[FieldCell]] = []
    current: list[FieldCell] = []

    def flush() -> None:
        if current:
            # Pad a half-filled line with empty cells so the grid stays square.
            current.extend(FieldCell(None, "", 1) for _ in range(columns - len(current)))
            lines.append(list(current))
            current.clear()

    for pair in pairs:
        label, value = pair
        text = format_value(value)
        if columns > 1 and len(text) > wide_at:
            flush()
            lines.append([FieldCell(str(label), text, columns)])
            continue
        current.append(FieldCell(str(label), text, 1))
        if len(current) == columns:
            flush()
    flush()
    return lines


def _make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        # Every template here is HTML, including ones given as source strings,
        # so escape unconditionally rather than by file extension.
        autoescape=True,
        # A missing context key must fail the print, not leave a blank box on
        # an official form.
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["pdf_font_family"] = FONT_FAMILY
    env.globals["pack_fields"] = pack_fields
    env.filters["field_value"] = format_value
    env.filters["pdf_datetime"] = format_datetime
    env.filters["qr_data_uri"] = qr_png_data_uri
    return env


environment = _make_environment()


def _looks_like_source(text: str) -> bool:
    # A template name is a short path such as "forms/apply.html"; anything
    # with markup, Jinja syntax or a newline is template source.
    return any(marker in text for marker in ("<", "{", "\n"))


def render_html(template_name_or_source: str, context: Mapping[str, Any]) -> str:
    """Render the Jinja2 template (a name under templates/ or template source) to HTML."""
    try:
        if _looks_like_source(template_name_or_source):
            template = environment.from_string(template_name_or_source)
        else:
            template = environment.get_template(template_name_or_source)
        return template.render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise PdfRenderError(
            f"template syntax error in {exc.name or '<source>'} line {exc.lineno}: {exc.message}"
        ) from exc
    except jinja2.TemplateError as exc:
        # UndefinedError (missing context key, unknown macro), TemplateNotFound, ...
        raise PdfRenderError(f"template error: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        # A filter or a value's __str__ failed; keep one error type for callers
        # and the original exception as the cause.
        raise PdfRenderError(f"template rendering failed: {type(exc).__name__}: {exc}") from exc


def html_to_pdf(html: str, *, allow_missing_glyphs: bool = False) -> bytes:
    """Convert HTML to PDF with xhtml2pdf; raise PdfRenderError instead of returning a broken PDF."""
    register_fonts()
    missing = missing_glyphs(html)
    if missing:
        detail = "、".join(f"{ch} (U+{ord(ch):04X})" for ch in missing)
        if not allow_missing_glyphs:
            # A missing glyph prints as an empty box, and on a form that is
            # usually a customer's name: refuse rather than print it wrong.
            raise PdfRenderError(f"characters not in the embedded font: {detail}")
        log.warning("rendering with characters the embedded font lacks: %s", detail)

    buffer = io.BytesIO()
    try:
        from xhtml2pdf import pisa

        result = pisa.CreatePDF(
            html,
            dest=buffer,
            encoding="utf-8",
            resource_policy=_resource_policy(),
            raise_exception=True,
        )
    except Exception as exc:
        raise PdfRenderError(f"xhtml2pdf failed: {type(exc).__name__}: {exc}") from exc

    # xhtml2pdf logs its warnings itself (formatted); its result.log keeps
    # only the unformatted message and the markup fragment it came from.
    errors = [(msg, fragment) for mode, _line, msg, fragment in result.log if mode == "error"]
    # With allow_missing_glyphs the caller accepted the characters found
    # above; xhtml2pdf warns about those same characters, so only the
    # unknown-family warning still counts.
    fatal = FONT_FALLBACK_WARNINGS[:1] if allow_missing_glyphs else FONT_FALLBACK_WARNINGS
    # The message templates hold %r placeholders; the matching prefix and the
    # fragment say enough. dict.fromkeys de-duplicates in order.
    font_problems = list(
        dict.fromkeys(
            f"{next(p for p in fatal if msg.startswith(p))} ... at {fragment}"
            for mode, _line, msg, fragment in result.log
            if mode == "warning" and msg.startswith(fatal)
        )
    )
    if result.err or errors:
        raise PdfRenderError(
            f"xhtml2pdf reported {result.err} error(s): "
            + ("; ".join(f"{msg} at {fragment}" for msg, fragment in errors) or "no details")
        )
    if font_problems:
        raise PdfRenderError(
            "text would print blank: a font-family other than the embedded "
            f"{FONT_FAMILY} is used: " + "; ".join(font_problems)
        )
    pdf = buffer.getvalue()
    if not pdf.startswith(b"%PDF-") or b"%%EOF" not in pdf[-1024:]:
        raise PdfRenderError(f"xhtml2pdf produced no PDF ({len(pdf)} bytes)")
    return pdf


def render_pdf(
    template_name_or_source: str,
    context: Mapping[str, Any],
    *,
    allow_missing_glyphs: bool = False,
) -> bytes:
    """Render a template (name under app/printing/pdf_templates/ or Jinja source) with ``context`` to PDF bytes.

    Raises PdfRenderError on any template error, missing context key, character
    the embedded font cannot draw (unless ``allow_missing_glyphs``), xhtml2pdf
    error or empty output.
    """
    started = time.perf_counter()
    name = (
        "<source>" if _looks_like_source(template_name_or_source) else template_name_or_source
    )
    html = render_html(template_name_or_source, context)
    pdf = html_to_pdf(html, allow_missing_glyphs=allow_missing_glyphs)
    log.info(
        "rendered %s: %d bytes in %.0f ms", name, len(pdf), (time.perf_counter() - started) * 1000
    )
    return pdf
