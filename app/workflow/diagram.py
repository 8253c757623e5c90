"""The SVG diagram of a workflow: stages in model order snaking 4 per row, transitions routed between them."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from .decision import TransitionSpec

if TYPE_CHECKING:  # machine imports this module, so Workflow is for annotations only
    from .machine import Workflow


def workflow_svg(wf: Workflow, current: str | None = None, english: bool = False) -> str:
    """The process as a standalone SVG (no scripts): stages in model order, snaking 4 per row; its
    labels, title and legend in Chinese, or in English when `english`."""
    return _Diagram(wf, english).render(current)


#: The legend and title words, (Chinese, English).
_WORDS = {
    "utility": ("供电企业环节", "Utility stage"),
    "customer": ("客户环节", "Customer stage"),
    "current": ("当前环节", "Current stage"),
    "cancel": ("未办结环节均可撤销至「{stage}」", "Any open stage can be cancelled to “{stage}”"),
    "title": ("{app} · {entity}流程", "{app} · {entity} process"),
    "join": ("；", "; "),
}


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_COLS, _BOX_W, _BOX_H, _GAP_X, _GAP_Y = 4, 150, 48, 70, 84
_LEFT, _TOP = 50, 56
_LANES = (0, -8, 8, -16, 16, -24, 24, -32, 32)
_PORTS = (-34, 34, -54, 54, -24, 24, 0)  # clear of the ±12 lanes of column neighbours
_FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, Source Han Sans SC, sans-serif"
_STYLE = {
    "utility": ("#eaf2fb", "#4a6fa5"),
    "customer": ("#fdf0dc", "#c7832b"),
}
_CURRENT = "#d62728"
_EDGE = "#5b6770"


def _text(value: str) -> str:
    return escape(_XML_INVALID.sub("", value))


def _attr(value: str) -> str:
    return quoteattr(_XML_INVALID.sub("", value))


def _width(text: str, size: float) -> float:
    return sum(size if ord(ch) > 0x2E7F else size * 0.58 for ch in text)


def _wrap(text: str, size: float, room: float, max_lines: int = 2) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if _width(line + ch, size) > room and line:
            lines.append(line)
            line = ""
        line += ch
    lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and _width(last + "…", size) > room:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


class _Diagram:
    def __init__(self, wf: Workflow, english: bool = False):
        self.english = english
        self.wf = wf
        self.keys = list(wf.stages)
        self.rows = (len(self.keys) + _COLS - 1) // _COLS
        self.pos: dict[str, tuple[int, int]] = {}
        for i, key in enumerate(self.keys):
            row, c = divmod(i, _COLS)
            self.pos[key] = (row, c if row % 2 == 0 else _COLS - 1 - c)
        self.channel_use: dict[int, int] = {}
        self.gutter_use: dict[int, int] = {}
        self.port_use: dict[tuple[str, str], int] = {}

    # geometry
    def box(self, key: str) -> tuple[float, float]:
        row, col = self.pos[key]
        return _LEFT + col * (_BOX_W + _GAP_X), _TOP + row * (_BOX_H + _GAP_Y)

    def centre(self, key: str) -> tuple[float, float]:
        x, y = self.box(key)
        return x + _BOX_W / 2, y + _BOX_H / 2

    def channel(self, index: int) -> float:
        """y of the horizontal channel above row `index` (index == rows: below the last row)."""
        n = self.channel_use.get(index, 0)
        self.channel_use[index] = n + 1
        return _TOP + index * (_BOX_H + _GAP_Y) - _GAP_Y / 2 + _LANES[n % len(_LANES)]

    def gutter(self, index: int) -> float:
        """x of the vertical gutter left of column `index` (index == _COLS: right of the last)."""
        n = self.gutter_use.get(index, 0)
        self.gutter_use[index] = n + 1
        return _LEFT + index * (_BOX_W + _GAP_X) - _GAP_X / 2 + _LANES[n % len(_LANES)] * 0.8

    def port(self, key: str, side: str) -> float:
        n = self.port_use.get((key, side), 0)
        self.port_use[key, side] = n + 1
        return self.centre(key)[0] + _PORTS[n % len(_PORTS)]

    def route(self, src: str, dest: str) -> list[tuple[float, float]]:
        (sr, sc), (dr, dc) = self.pos[src], self.pos[dest]
        (sx, sy), (dx, dy) = self.box(src), self.box(dest)
        (scx, scy), (dcx, dcy) = self.centre(src), self.centre(dest)
        if sr == dr and abs(sc - dc) == 1:  # neighbours in a row: straight, two lanes by direction
            y = scy - 8 if dc > sc else scy + 8
            return [(sx + _BOX_W if dc > sc else sx, y), (dx if dc > sc else dx + _BOX_W, y)]
        if sc == dc and abs(sr - dr) == 1:  # neighbours in a column
            x = scx - 12 if dr > sr else scx + 12
            return [(x, sy + _BOX_H if dr > sr else sy), (x, dy if dr > sr else dy + _BOX_H)]
        down = dr >= sr
        out_x = self.port(src, "bottom" if down else "top")
        start = (out_x, sy + _BOX_H if down else sy)
        ch = self.channel(sr + 1 if down else sr)
        points = [start, (out_x, ch)]
        if dr == sr or abs(dr - sr) == 1:
            in_side = "bottom" if dr == sr or not down else "top"
        else:
            g = self.gutter(dc if out_x <= dcx else dc + 1)
            ch = self.channel(dr if down else dr + 1)
            points += [(g, points[-1][1]), (g, ch)]
            in_side = "top" if down else "bottom"
        in_x = self.port(dest, in_side)
        end = (in_x, dy if in_side == "top" else dy + _BOX_H)
        points += [(in_x, points[-1][1]), end]
        return points

    def loop(self, key: str) -> str:
        x, y = self.box(key)
        a, b = x + _BOX_W - 40, x + _BOX_W - 14
        return f"M{a:.1f},{y:.1f} C{a - 4:.1f},{y - 30:.1f} {b + 4:.1f},{y - 30:.1f} {b:.1f},{y:.1f}"

    # words
    def word(self, key: str) -> str:
        return _WORDS[key][1 if self.english else 0]

    def label(self, item) -> str:
        return item.label_en if self.english else item.label_zh

    # drawing
    def render(self, current: str | None) -> str:
        wf = self.wf
        width = _LEFT * 2 + _COLS * _BOX_W + (_COLS - 1) * _GAP_X
        legend_y = _TOP + self.rows * (_BOX_H + _GAP_Y) - _GAP_Y / 2 + 40
        height = legend_y + 30
        app_name = wf.model.app.name_en if self.english else wf.model.app.name_zh
        entity = wf.model.entities.get(wf.definition.entity)
        title = self.word("title").format(app=app_name, entity=self.label(entity)) if entity else app_name
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img" '
            f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'font-family={_attr(_FONT)} aria-label={_attr(title)}>',
            f"<title>{_text(title)}</title>",
            "<defs>",
            f'<marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{_EDGE}"/></marker>',
            "</defs>",
            f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
        ]
        edges: dict[tuple[str, str], list[TransitionSpec]] = {}
        for spec in wf.transitions:
            for src in spec.sources:
                edges.setdefault((src, spec.dest), []).append(spec)
        out.append('<g class="edges" fill="none">')
        for (src, dest), specs in edges.items():
            # The tooltip names the steps in words only (the keys stay in data-triggers).
            label = self.word("join").join(self.label(s) for s in specs)
            triggers = " ".join(s.trigger for s in specs)
            if src == dest:
                d, cls = self.loop(src), "edge reflexive"
            else:
                d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in self.route(src, dest))
                cls = "edge"
            out.append(f'<g class="{cls}" data-source={_attr(src)} data-dest={_attr(dest)} '
                       f'data-triggers={_attr(triggers)}><title>{_text(label)}</title>'
                       f'<path d="{d}" stroke="{_EDGE}" stroke-width="1.4" marker-end="url(#wf-arrow)"/></g>')
        out.append("</g>")
        out.append('<g class="stages">')
        for key in self.keys:
            out.append(self.stage(key, key == current))
        out.append("</g>")
        out.append(self.legend(legend_y, width))
        out.append("</svg>")
        return "\n".join(out)

    def stage(self, key: str, is_current: bool) -> str:
        st = self.wf.stages[key]
        fill, stroke = _STYLE.get(st.side, _STYLE["utility"])
        x, y = self.box(key)
        classes = ["stage", f"side-{st.side}"] + (["terminal"] if st.terminal else []) + \
            (["current"] if is_current else [])
        rx = _BOX_H / 2 if st.terminal else 6
        extra = ' aria-current="step"' if is_current else ""
        sw, colour = (3, _CURRENT) if is_current else (1.5, stroke)
        dash = ' stroke-dasharray="5 3"' if st.side == "customer" else ""
        lines = _wrap(self.label(st), 14, _BOX_W - 14)
        first = y + _BOX_H / 2 + 5 - (len(lines) - 1) * 8
        weight = ' font-weight="bold"' if is_current else ""
        text = "".join(f'<tspan x="{x + _BOX_W / 2:.1f}" y="{first + i * 16:.1f}">{_text(line)}</tspan>'
                       for i, line in enumerate(lines))
        return (f'<g class="{" ".join(classes)}" id={_attr("stage-" + key)} data-stage={_attr(key)}{extra}>'
                f"<title>{_text(self.label(st))}</title>"
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{_BOX_W}" height="{_BOX_H}" rx="{rx:.0f}" '
                f'fill="{fill}" stroke="{colour}" stroke-width="{sw}"{dash}/>'
                f'<text text-anchor="middle" font-size="14" fill="#1f2933"{weight}>{text}</text></g>')

    def legend(self, y: float, width: float) -> str:
        items = [(kind, self.word(kind)) for kind in ("utility", "customer", "current")]
        c = self.wf.definition.cancellation
        note = ""
        if c is not None and c.stage in self.wf.stages:
            note = (f'<text x="{width - _LEFT:.0f}" y="{y:.1f}" text-anchor="end" class="cancel-note">'
                    f"{_text(self.word('cancel').format(stage=self.label(self.wf.stages[c.stage])))}</text>")
        parts = ['<g class="legend" font-size="12" fill="#1f2933">']
        x = _LEFT
        for kind, label in items:
            fill, stroke = _STYLE.get(kind, ("#ffffff", _CURRENT))
            dash = ' stroke-dasharray="5 3"' if kind == "customer" else ""
            sw = 3 if kind == "current" else 1.5
            parts.append(f'<rect x="{x}" y="{y - 11:.1f}" width="22" height="14" rx="3" fill="{fill}" '
                         f'stroke="{stroke}" stroke-width="{sw}"{dash}/>'
                         f'<text x="{x + 28}" y="{y:.1f}">{_text(label)}</text>')
            x += 130
        parts.append(note + "</g>")
        return "".join(parts)
