"""Benchmark for app.printing.render.render_pdf: median time and size of a one-page and a three-page form."""

from __future__ import annotations

import datetime as dt
import io
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # runnable as `python bench/bench_pdf.py` from anywhere
from bench.common import print_header  # noqa: E402

RUNS = 10
TARGET_MS = 500
TARGET_KB = 300

FORM = """{% extends "base.html" %}
{% block title %}用电申请表{% endblock %}
{% block content %}
<h2>一、客户基本信息</h2>
{{ fields_table(customer) }}
<h2>二、用电需求</h2>
<table class="form"><tr>
  <td class="label" width="18%">用电类别</td>
  <td class="value" width="82%">{{ checkbox(true, "居民生活") }}{{ checkbox(false, "一般工商业") }}{{ checkbox(false, "大工业") }}{{ checkbox(false, "农业生产") }}</td>
</tr></table>
{{ fields_table(demand) }}
<h2>三、其他信息</h2>
{{ fields_table(rest) }}
{% for i in range(appendices) %}
<h2>附表 {{ i + 1 }}：用电设备清单</h2>
<table class="form" repeat="1">
<tr><th width="8%">序号</th><th width="32%">设备名称</th><th width="20%">型号</th><th width="15%">数量</th><th width="25%">容量（kW）</th></tr>
{% for j in range(18) %}<tr><td align="center">{{ j + 1 }}</td><td>空调机组（商用）</td><td>KFR-72LW/{{ j }}</td><td align="center">2</td><td align="right">{{ "%.2f"|format(7.2 + j) }}</td></tr>{% endfor %}
</table>
{% endfor %}
<div class="note">注：本表一式两份，供电企业与客户各执一份。客户应对所提供资料的真实性负责。</div>
{{ signature_table(["客户（签章）", "受理人", "审核人"]) }}
{% endblock %}"""


def context(appendices: int) -> dict:
    from app.printing.verify import make_code

    ctx = {
        "application_no": "YK2026110001",
        "model_version": "低压居民新装 v3.2",
        "printed_at": dt.datetime(2026, 11, 28, 9, 30, 5),
        "printed_by": "李四（营业厅受理员）",
        "organization": "国网某某供电公司 营销服务中心",
        "form_no": "YK-F-001",
        "verify_url": "https://ykt.example.cn/verify/7SBA25W0H1",
        "customer": [
            ("客户名称", "张三"), ("证件类型", "居民身份证"), ("证件号码", "110101199001011234"),
            ("联系电话", "13800138000"), ("用电地址", "北京市东城区某某街道某某小区 3 号楼 2 单元 501 室"),
            ("邮政编码", "100010"), ("电子邮箱", "zhangsan@example.com"),
        ],
        "demand": {
            "申请容量（kVA）": Decimal("8.00"), "供电电压": "220V", "用电性质": "居民生活",
            "是否一户一表": True, "期望接电日期": dt.date(2026, 12, 15), "计量方式": None,
        },
        "rest": [
            ("受理渠道", "营业厅"), ("受理时间", dt.datetime(2026, 11, 27, 14, 5)),
            ("备注", "客户要求尽快安装，已告知办理时限为 3 个工作日，现场勘查时请提前电话联系。"),
        ],
        "appendices": appendices,
    }
    ctx["verify_code"] = make_code({"application_no": ctx["application_no"]}, b"bench-secret-0123456789")
    return ctx


def main() -> None:
    print_header()

    # Cold start: importing xhtml2pdf/ReportLab and parsing the 5 MB font file
    # happen once per worker process, so they are reported apart.
    t0 = time.perf_counter()
    from app.printing.fonts import register_fonts
    from app.printing.render import render_pdf
    from pypdf import PdfReader
    import xhtml2pdf
    import reportlab
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    register_fonts()
    t_font = time.perf_counter() - t0
    print(f"libs:    xhtml2pdf {xhtml2pdf.__version__}, reportlab {reportlab.Version}")
    print(f"cold:    import {t_import * 1e3:.0f} ms, font registration {t_font * 1e3:.0f} ms")

    # The page total ("共 n 页") makes xhtml2pdf lay out the document twice;
    # the last case measures the same form with page numbers only.
    no_total = FORM.replace(
        "{% block title %}", "{% block page_number %}第 <pdf:pagenumber/> 页{% endblock %}{% block title %}"
    )
    cases = (
        ("one-page form", FORM, 0),
        ("three-page form", FORM, 3),
        ("three-page form, no page total", no_total, 3),
    )
    for label, form, appendices in cases:
        ctx = context(appendices)
        t0 = time.perf_counter()
        pdf = render_pdf(form, ctx)
        first = time.perf_counter() - t0
        times, cpu_times = [], []
        for _ in range(RUNS):
            t0, c0 = time.perf_counter(), time.process_time()
            pdf = render_pdf(form, ctx)
            times.append(time.perf_counter() - t0)
            # CPU time too: on a shared 2-core VM wall time swings with the
            # neighbours' load, CPU time much less.
            cpu_times.append(time.process_time() - c0)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        median_ms = statistics.median(times) * 1e3
        size_kb = len(pdf) / 1024
        ok = median_ms < TARGET_MS and size_kb < TARGET_KB
        print(f"{label}: {pages} page(s), median of {RUNS} {median_ms:.0f} ms wall "
              f"(min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}), "
              f"{statistics.median(cpu_times) * 1e3:.0f} ms CPU; first render {first * 1e3:.0f} ms; "
              f"{len(pdf):,} bytes = {size_kb:.1f} KB -> "
              f"target <{TARGET_MS} ms and <{TARGET_KB} KB: {'MET' if ok else 'NOT MET'}")


if __name__ == "__main__":
    main()
