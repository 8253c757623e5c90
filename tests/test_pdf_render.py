"""Tests for app.printing (render, fonts, verify): embedded Chinese font, render errors, QR footer, verification codes."""

from __future__ import annotations

from xhtml2pdf import pisa as xhtml2pdf_pisa  # render imports it lazily; patch the module itself
import datetime as dt
import io
import logging
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import segno
from PIL import Image
from pypdf import PdfReader

from app.printing import render as render_mod
from app.printing.fonts import FONT_FAMILY, FONT_SHA256, font_path, missing_glyphs, register_fonts
from app.printing.render import PdfRenderError, pack_fields, render_pdf
from app.printing.verify import (
    CODE_LENGTH,
    canonical_json,
    check_code,
    fingerprint,
    make_code,
    normalize_code,
    qr_png,
    qr_png_data_uri,
)

SECRET = b"test-secret-0123456789abcdef"
VERIFY_URL = "https://ykt.example.cn/verify/7SBA25W0H1"

FORM = """{% extends "base.html" %}
{% block title %}用电申请表{% endblock %}
{% block content %}
<h2>一、客户基本信息</h2>
{{ fields_table(customer) }}
<h2>二、用电需求</h2>
<table class="form"><tr>
  <td class="label" width="18%">用电类别</td>
  <td class="value" width="82%">{{ checkbox(true, "居民生活") }}{{ checkbox(false, "一般工商业") }}</td>
</tr></table>
{{ fields_table(rest) }}
{% for i in range(appendix_pages) %}
<h2 style="page-break-before: always">附表 {{ i + 1 }}：设备清单</h2>
<table class="form" repeat="1">
<tr><th width="10%">序号</th><th width="50%">设备名称</th><th width="40%">容量（kW）</th></tr>
{% for j in range(5) %}<tr><td>{{ j + 1 }}</td><td>空调机组</td><td>7.2</td></tr>{% endfor %}
</table>
{% endfor %}
{{ signature_table(["客户（签章）", "受理人"]) }}
{% endblock %}"""


def form_context(**overrides):
    ctx = {
        "application_no": "YK2026110001",
        "model_version": "低压居民新装 v3",
        "printed_at": dt.datetime(2026, 11, 28, 9, 30, 5),
        "printed_by": "李四",
        "organization": "国网某某供电公司",
        "verify_url": VERIFY_URL,
        "customer": [
            ("客户名称", "张三"),
            ("证件号码", "110101199001011234"),
            ("用电地址", "北京市东城区某某街道某某小区 3 号楼 2 单元 501 室"),
            ("联系电话", "13800138000"),
        ],
        "rest": {
            "申请容量（kVA）": Decimal("8.00"),
            "一户一表": True,
            "期望接电日期": dt.date(2026, 12, 15),
            "计量方式": None,
        },
        "appendix_pages": 0,
    }
    ctx["verify_code"] = make_code({"application_no": ctx["application_no"]}, SECRET)
    ctx.update(overrides)
    return ctx


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    return render_pdf(FORM, form_context())


@pytest.fixture(scope="module")
def reader(pdf_bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf_bytes))


def page_fonts(page) -> list[dict]:
    """Every font of a page with its BaseFont and the descriptor holding the font file."""
    out = []
    for ref in page["/Resources"].get("/Font", {}).values():
        font = ref.get_object()
        descriptor = font.get("/FontDescriptor")
        if "/DescendantFonts" in font:
            descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        out.append(
            {
                "base": str(font.get("/BaseFont")),
                "subtype": str(font.get("/Subtype")),
                "descriptor": descriptor.get_object() if descriptor is not None else None,
            }
        )
    return out


# --- the PDF itself ---------------------------------------------------------


def test_output_is_a4_pdf(pdf_bytes, reader):
    assert pdf_bytes.startswith(b"%PDF-")
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    # A4 is 595.28 x 841.89 pt.
    assert abs(float(box.width) - 595.28) < 1 and abs(float(box.height) - 841.89) < 1


def test_chinese_text_is_extractable(reader):
    text = reader.pages[0].extract_text()
    for expected in ("用电申请表", "客户名称", "张三", "申请编号", "YK2026110001", "北京市东城区"):
        assert expected in text, expected
    # fields_table formatting: Decimal keeps its scale, bool as 是, None as blank.
    assert "8.00" in text and "是" in text and "2026-12-15" in text


def test_footer_fields_present(reader):
    text = reader.pages[0].extract_text()
    for expected in ("低压居民新装 v3", "2026-11-28 09:30:05", "李四", form_context()["verify_code"]):
        assert expected in text, expected
    assert "第 1 页，共 1 页" in text


def test_footer_on_every_page():
    pdf = render_pdf(FORM, form_context(appendix_pages=2))
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == 3
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert "YK2026110001" in text
        assert f"第 {number} 页，共 3 页" in text
        assert any(True for _ in page.images), f"no QR image on page {number}"


def test_cjk_font_is_embedded_as_subset(reader):
    fonts = page_fonts(reader.pages[0])
    cjk = [f for f in fonts if "WenQuanYi" in f["base"]]
    assert cjk, fonts
    for font in cjk:
        # ReportLab subsets a TrueType font into 256-glyph simple fonts,
        # each with a 6-letter subset tag and the glyf program in FontFile2.
        assert re.fullmatch(r"/[A-Z]{6}\+WenQuanYiMicroHei-\d+", font["base"]), font["base"]
        assert font["descriptor"] is not None and "/FontFile2" in font["descriptor"]
    # Nothing may fall back to a non-embedded CJK CID font (STSong-Light etc.).
    for font in fonts:
        assert "STSong" not in font["base"] and font["subtype"] != "/Type0", font
    # Any other font must be embedded or be a base-14 font drawing no CJK.
    # (ReportLab sets Helvetica as the initial font of every text object.)
    for font in fonts:
        if font in cjk:
            continue
        assert font["base"] in {"/Helvetica", "/Helvetica-Bold"}, font


def test_embedded_subset_is_small(pdf_bytes):
    # The whole 5 MB .ttc must not be embedded: a one-page form is tens of KB.
    assert len(pdf_bytes) < 300 * 1024, len(pdf_bytes)


def test_qr_image_encodes_verify_url(reader):
    images = list(reader.pages[0].images)
    assert len(images) == 1
    image = images[0].image.convert("L")
    # Compare every module of the expected symbol with the embedded bitmap:
    # a check of the QR's content that needs no QR decoder.
    matrix = segno.make_qr(VERIFY_URL, error="m").matrix
    size = len(matrix)
    border = 2
    module = image.width / (size + 2 * border)
    assert image.width == image.height
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            cx = int((x + border + 0.5) * module)
            cy = int((y + border + 0.5) * module)
            assert (image.getpixel((cx, cy)) < 128) == bool(dark), (x, y)


def test_qr_defaults_to_verify_code_without_url():
    ctx = form_context()
    del ctx["verify_url"]
    pdf = render_pdf(FORM, ctx)
    image = next(iter(PdfReader(io.BytesIO(pdf)).pages[0].images)).image
    expected = segno.make_qr(ctx["verify_code"], error="m")
    assert image.width == expected.symbol_size(scale=4, border=2)[0]


def test_values_are_autoescaped():
    pdf = render_pdf(FORM, form_context(printed_by="<b>王五</b> & 赵六"))
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "<b>王五</b> & 赵六" in text


# --- rasterised without any system font ------------------------------------

PDFTOPPM = shutil.which("pdftoppm")
needs_pdftoppm = pytest.mark.skipif(
    PDFTOPPM is None, reason="pdftoppm missing: apt-get install -y poppler-utils"
)


def rasterise_without_fonts(pdf: bytes, tmp_path: Path, dpi: int = 72) -> Image.Image:
    """Render page 1 with poppler under a fontconfig that knows no font at all."""
    empty = tmp_path / "no-fonts"
    empty.mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        f"<fontconfig><dir>{empty}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    src = tmp_path / "in.pdf"
    src.write_bytes(pdf)
    env = {"PATH": "/usr/bin:/bin", "FONTCONFIG_FILE": str(conf), "HOME": str(tmp_path)}
    subprocess.run(
        [PDFTOPPM, "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile", str(src), str(tmp_path / "out")],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Image.open(tmp_path / "out.png").convert("L")


def ink(image: Image.Image, box_mm: tuple[float, float, float, float], dpi: int = 72) -> float:
    """Share of dark pixels inside a box given in mm from the page's top-left corner."""
    px = [round(v / 25.4 * dpi) for v in box_mm]
    region = image.crop(tuple(px))
    dark = sum(1 for value in region.tobytes() if value < 128)
    return dark / (region.width * region.height)


# The header block: organisation line and 20 pt title, centred, 18-40 mm from the top.
TITLE_BOX = (60.0, 18.0, 150.0, 40.0)


@needs_pdftoppm
def test_embedded_font_renders_without_system_fonts(pdf_bytes, tmp_path):
    image = rasterise_without_fonts(pdf_bytes, tmp_path / "embedded")
    assert image.size[0] > 500
    whole = ink(image, (0, 0, 210, 297))
    assert whole > 0.01, f"page looks blank: {whole:.4f}"
    title = ink(image, TITLE_BOX)
    assert title > 0.03, f"title region has no glyphs: {title:.4f}"

    # The same form in ReportLab's non-embedded STSong-Light, under the same
    # font-less poppler, draws no Chinese at all: the difference is the font.
    cid_form = FORM.replace(
        "{% block title %}",
        "{% block styles %}html, body, h1, h2, td, th, span, div "
        "{ font-family: STSong-Light; }{% endblock %}{% block title %}",
    )
    cid_pdf = render_pdf(cid_form, form_context())
    assert b"STSong-Light" in cid_pdf
    cid_image = rasterise_without_fonts(cid_pdf, tmp_path / "cid")
    cid_title = ink(cid_image, TITLE_BOX)
    assert title > 5 * cid_title + 0.02, (title, cid_title)


@needs_pdftoppm
def test_glyph_shapes_are_not_tofu(tmp_path):
    # Tofu (a missing-glyph box) draws the same shape for every character;
    # real glyphs differ. Render two different characters big and compare.
    def glyph(ch: str) -> Image.Image:
        source = (
            '{% extends "base.html" %}{% block title %}' + ch + "{% endblock %}"
            "{% block styles %}h1 { font-size: 60pt; }{% endblock %}"
        )
        return rasterise_without_fonts(render_pdf(source, form_context()), tmp_path / f"g{ord(ch)}")

    a, b = glyph("电"), glyph("表")
    box = [round(v / 25.4 * 72) for v in (60, 18, 150, 50)]
    pa, pb = a.crop(box).tobytes(), b.crop(box).tobytes()
    differing = sum(1 for x, y in zip(pa, pb) if (x < 128) != (y < 128))
    assert sum(1 for v in pa if v < 128) > 100
    assert differing > 100, differing


# --- errors never produce a PDF --------------------------------------------


def test_syntax_error_raises():
    with pytest.raises(PdfRenderError, match="syntax"):
        render_pdf('{% extends "base.html" %}{% block content %}{% if %}{% endblock %}', form_context())


def test_undefined_macro_raises():
    source = '{% extends "base.html" %}{% block content %}{{ no_such_macro(1) }}{% endblock %}'
    with pytest.raises(PdfRenderError, match="no_such_macro"):
        render_pdf(source, form_context())


def test_missing_footer_field_raises():
    ctx = form_context()
    del ctx["printed_by"]
    with pytest.raises(PdfRenderError, match="printed_by"):
        render_pdf(FORM, ctx)


def test_unknown_template_name_raises():
    with pytest.raises(PdfRenderError, match="TemplateNotFound"):
        render_pdf("forms/does_not_exist.html", form_context())


def test_missing_glyph_refused_unless_allowed(caplog):
    # 䶮 (U+4DAE, CJK Ext. A, as in 刘䶮) is not in WenQuanYi Micro Hei.
    ctx = form_context(customer=[("客户名称", "刘䶮")])
    with pytest.raises(PdfRenderError, match="U\\+4DAE"):
        render_pdf(FORM, ctx)
    with caplog.at_level(logging.WARNING, logger="app.printing.render"):
        pdf = render_pdf(FORM, ctx, allow_missing_glyphs=True)
    assert pdf.startswith(b"%PDF-")
    assert "U+4DAE" in caplog.text


@pytest.mark.parametrize("family", ["NoSuchFont", "serif", "Helvetica"])
def test_font_family_without_chinese_raises(family):
    # An unknown family falls back to Helvetica and "serif" to Times: both
    # would print the Chinese as nothing, so the render is refused.
    source = (
        '{% extends "base.html" %}{% block content %}'
        f'<p style="font-family: {family}">客户名称</p>{{% endblock %}}'
    )
    with pytest.raises(PdfRenderError, match="print blank"):
        render_pdf(source, form_context())


def test_pisa_errors_raise(monkeypatch):
    class Result:
        err = 1
        log = [("error", 3, "cannot parse table", "<table>")]

    monkeypatch.setattr(xhtml2pdf_pisa, "CreatePDF", lambda *a, **k: Result())
    with pytest.raises(PdfRenderError, match="cannot parse table"):
        render_pdf(FORM, form_context())


def test_empty_output_raises(monkeypatch):
    class Result:
        err = 0
        log: list = []

    # pisa "succeeds" but writes nothing to dest.
    monkeypatch.setattr(xhtml2pdf_pisa, "CreatePDF", lambda *a, **k: Result())
    with pytest.raises(PdfRenderError, match="no PDF"):
        render_pdf(FORM, form_context())


def test_pisa_exception_is_wrapped(monkeypatch):
    def boom(*args, **kwargs):
        raise ValueError("layout exploded")

    monkeypatch.setattr(xhtml2pdf_pisa, "CreatePDF", boom)
    with pytest.raises(PdfRenderError, match="layout exploded") as info:
        render_pdf(FORM, form_context())
    assert isinstance(info.value.__cause__, ValueError)


def test_local_files_are_not_readable():
    # The resource policy denies every file and network read, so a template
    # cannot pull /etc/passwd (or anything from a CDN) into a PDF.
    source = '{% extends "base.html" %}{% block content %}<img src="/etc/hostname"/>{% endblock %}'
    pdf = render_pdf(source, form_context())
    assert len(list(PdfReader(io.BytesIO(pdf)).pages[0].images)) == 1  # only the QR


# --- fonts ------------------------------------------------------------------


def test_font_file_is_the_pinned_wqy_microhei():
    import hashlib

    assert hashlib.sha256(font_path().read_bytes()).hexdigest() == FONT_SHA256
    assert register_fonts() == FONT_FAMILY
    assert register_fonts() == FONT_FAMILY  # idempotent


def test_missing_glyphs():
    assert missing_glyphs("用电申请表 ABC 123，（）：“”") == []
    assert missing_glyphs("刘䶮䶮☑") == ["䶮", "☑"]


# --- fields_table layout ----------------------------------------------------


def test_pack_fields_pairs_and_wide_values():
    lines = pack_fields([("a", 1), ("b", 2), ("c", "x" * 30), ("d", None)], columns=2, wide_at=24)
    assert [[c.label for c in line] for line in lines] == [["a", "b"], ["c"], ["d", None]]
    assert lines[1][0].span == 2
    assert lines[2][0].value == ""


def test_pack_fields_accepts_mapping():
    lines = pack_fields({"容量": Decimal("10.50"), "日期": dt.date(2026, 1, 2)}, columns=1)
    assert [(c.label, c.value) for line in lines for c in line] == [("容量", "10.50"), ("日期", "2026-01-02")]


# --- verify -----------------------------------------------------------------


def test_make_code_is_short_stable_and_keyed():
    payload = {"application_no": "YK2026110001", "printed_at": dt.datetime(2026, 11, 28, 9, 30)}
    code = make_code(payload, SECRET)
    assert len(code) == CODE_LENGTH == 10
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{10}", code)
    assert make_code(dict(reversed(list(payload.items()))), SECRET) == code
    assert make_code({**payload, "application_no": "YK2026110002"}, SECRET) != code
    assert make_code(payload, SECRET + b"x") != code


def test_make_code_rejects_weak_secret():
    with pytest.raises(ValueError):
        make_code({"a": 1}, b"short")


def test_check_code_tolerates_paper_typos():
    payload = {"application_no": "YK2026110001"}
    code = make_code(payload, SECRET)
    typed = " ".join([code[:5], code[5:]]).lower().replace("0", "o").replace("1", "l")
    assert normalize_code(typed) == code
    assert check_code(payload, SECRET, typed)
    assert not check_code({"application_no": "YK2026110002"}, SECRET, code)


def test_fingerprint_canonical():
    a = {"b": Decimal("10.50"), "a": dt.date(2026, 1, 2), "c": [dt.datetime(2026, 1, 2, 3, 4, 5)]}
    b = {"c": [dt.datetime(2026, 1, 2, 3, 4, 5)], "a": dt.date(2026, 1, 2), "b": Decimal("10.50")}
    assert fingerprint(a) == fingerprint(b)
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint(a))
    assert canonical_json(a) == '{"a":"2026-01-02","b":"10.50","c":["2026-01-02T03:04:05"]}'
    # The scale of a Decimal is part of the value: 10.5 and 10.50 differ.
    assert fingerprint({**a, "b": Decimal("10.5")}) != fingerprint(a)
    assert canonical_json({"名称": "张三"}) == '{"名称":"张三"}'


def test_fingerprint_rejects_unknown_types():
    with pytest.raises(TypeError):
        fingerprint({"x": object()})


def test_qr_png_is_png_data_uri():
    assert qr_png("YK2026110001").startswith(b"\x89PNG\r\n\x1a\n")
    uri = qr_png_data_uri("YK2026110001")
    assert uri.startswith("data:image/png;base64,")
    with pytest.raises(ValueError):
        qr_png("")
