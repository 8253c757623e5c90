"""Embedded Chinese font for printed forms: locate it, register it with ReportLab and xhtml2pdf."""

from __future__ import annotations

import logging
import threading
from importlib.resources import files
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from xhtml2pdf import default as xhtml2pdf_default

log = logging.getLogger(__name__)

#: CSS ``font-family`` of the form font. base.html gets it as the Jinja global
#: ``pdf_font_family``; xhtml2pdf matches family names case-insensitively.
FONT_FAMILY = "YktSans"

#: WenQuanYi Micro Hei 0.2.0-beta (文泉驿微米黑) from the PyPI package
#: ``paperang-p2-fonts-cjk==0.1.0``. Why this one: it is TrueType (``glyf``
#: outlines, which ReportLab can subset and embed) and a normal text weight.
#: The PyPI Noto Sans/Serif SC wheels are CFF (``OTTO``), which ReportLab
#: cannot embed, and Google's variable NotoSansSC[wght].ttf draws its default
#: instance -- Thin -- because ReportLab ignores ``gvar``.
#: Licence: Apache-2.0 or GPL-3+ with font-embedding exception (the font's
#: name table and Debian's copyright file; the wheel's README says "OFL",
#: which is wrong). OS/2 fsType 8: editable embedding allowed.
#: The file is byte-identical to Debian's fonts-wqy-microhei 0.2.0-beta-3.1.
FONT_DISTRIBUTION = "paperang-p2-fonts-cjk"
FONT_PACKAGE = "paperang_p2_fonts_cjk"
FONT_RESOURCE = ("fonts", "wqy-microhei.ttc")
#: Face 0 of the collection is proportional "WenQuanYi Micro Hei"; face 1 is
#: the monospaced "WenQuanYi Micro Hei Mono".
FONT_SUBFONT_INDEX = 0
FONT_SHA256 = "2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3"

_lock = threading.Lock()
_face: TTFont | None = None


class FontUnavailableError(RuntimeError):
    """The form font package is missing or its file cannot be read."""


def font_path() -> Path:
    """Return the filesystem path of the bundled ``wqy-microhei.ttc``."""
    try:
        root = files(FONT_PACKAGE)
    except ModuleNotFoundError as exc:
        raise FontUnavailableError(
            f"Python package {FONT_DISTRIBUTION!r} is not installed "
            "(pip install -r requirements.txt)"
        ) from exc
    resource = root.joinpath(*FONT_RESOURCE)
    # ReportLab needs a real file name (it parses the TTC by path). A wheel
    # installs as plain files, so the Traversable is a Path already; a zipped
    # install is refused instead of silently extracting to a temp file.
    if not isinstance(resource, Path):
        raise FontUnavailableError(
            f"{FONT_DISTRIBUTION} is not installed as plain files: {resource!r}"
        )
    if not resource.is_file():
        raise FontUnavailableError(f"font file not found: {resource}")
    return resource


def register_fonts() -> str:
    """Register the form font once per process; return its CSS family name."""
    global _face
    with _lock:
        if _face is not None:
            return FONT_FAMILY
        path = font_path()
        face = TTFont(FONT_FAMILY, str(path), subfontIndex=FONT_SUBFONT_INDEX)
        pdfmetrics.registerFont(face)
        # The font has no bold or italic design. Map all four styles to the
        # one face so <b>, <th> and <strong> keep drawing Chinese instead of
        # falling back to Helvetica-Bold, which has no CJK glyphs; one face
        # also means one embedded subset per PDF.
        pdfmetrics.registerFontFamily(
            FONT_FAMILY,
            normal=FONT_FAMILY,
            bold=FONT_FAMILY,
            italic=FONT_FAMILY,
            boldItalic=FONT_FAMILY,
        )
        # registerFontFamily leaves the reverse map (ps name -> style) at
        # bold-italic, the last style it added; re-add the regular mapping so
        # that xhtml2pdf's ps2tt() sees the face as regular.
        addMapping(FONT_FAMILY, 0, 0, FONT_FAMILY)
        # xhtml2pdf copies DEFAULT_FONT into each document's font list, so a
        # font registered here is usable from CSS without an @font-face rule
        # (which would make xhtml2pdf re-read and re-hash the 5 MB file on
        # every render and could not select the TTC face).
        xhtml2pdf_default.DEFAULT_FONT[FONT_FAMILY.lower()] = FONT_FAMILY
        _face = face
        log.info("registered PDF font %s from %s", FONT_FAMILY, path)
        return FONT_FAMILY


def missing_glyphs(text: str) -> list[str]:
    """Return the distinct characters of ``text`` the form font cannot draw, in order of appearance."""
    register_fonts()
    assert _face is not None
    cmap = _face.face.charToGlyph
    seen: dict[str, None] = {}
    for ch in text:
        # Whitespace and control characters are laid out, not drawn.
        if ch in seen or ch.isspace() or ord(ch) < 0x20:
            continue
        if ord(ch) not in cmap:
            seen[ch] = None
    return list(seen)
