"""The dashboard's charts as inline SVG, drawn on the server: no script, no chart library,
nothing a page's content-security policy must let in."""

from __future__ import annotations

from html import escape
from typing import Any

from markupsafe import Markup

from recall_pipeline.verify.examination import EXAMINATION_DAYS

_W = 560
# The bars' length at full scale, and room beside them for the total.
_SPAN = 300
_TAIL = 60
_BAR = 18
_COLORS = {"accepted": "#2e7d32", "rejected": "#c62828", "open": "#9e9e9e", "needed": "#1565c0"}


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if out != out else out  # NaN: nothing to draw


def _label_width(labels: list[str]) -> float:
    """Room for the longest label at the charts' 12px: an SVG text does not wrap, and a
    label wider than its room is cut off at the chart's left edge."""
    widest = max(
        (sum(8.2 if c.isupper() or c.isdigit() else 6.8 for c in t) for t in labels), default=0
    )
    return max(widest, 60.0) + 12


def _svg(height: int, body: list[str], title: str, width: float = _W) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {width:.0f} {height}" width="{width:.0f}" '
        f'height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, color: str, label: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h}" fill="{color}">'
        f"<title>{escape(label)}</title></rect>"
    )


def stacked_bars(rows: list[tuple[str, dict[str, float]]], title: str) -> Markup:
    """One horizontal bar per row, its parts stacked in the order given."""
    top = max((sum(parts.values()) for _, parts in rows), default=0) or 1
    left = _label_width([label for label, _ in rows])
    span = _SPAN
    body = []
    for i, (label, parts) in enumerate(rows):
        y = 8 + i * (_BAR + 8)
        body.append(_text(left - 6, y + _BAR - 4, label, "end"))
        x = left
        for part, value in parts.items():
            w = span * value / top
            body.append(_rect(x, y, w, _BAR, _COLORS.get(part, "#616161"), f"{part}: {value:,.0f}"))
            x += w
        body.append(_text(x + 4, y + _BAR - 4, f"{sum(parts.values()):,.0f}"))
    return _svg(16 + len(rows) * (_BAR + 8), body, title, left + span + _TAIL)


def intervals(
    rows: list[tuple[str, float | None, float | None, float | None]], title: str
) -> Markup:
    """Per row a rate (0-1) as a dot with its interval as a line; rows with no rate say so."""
    left = _label_width([row[0] for row in rows])
    span = _SPAN
    body = [
        _text(left, 12, "0 %", "middle"),
        _text(left + span, 12, "100 %", "middle"),
    ]
    for i, (label, rate, low, high) in enumerate(rows):
        y = 24 + i * (_BAR + 8)
        mid = y + _BAR / 2
        body.append(_text(left - 10, y + _BAR - 4, label, "end"))
        if rate is None:
            body.append(_text(left + 4, y + _BAR - 4, "no ruling yet"))
            continue
        x0, x1, x = (left + span * _num(v) for v in (low, high, rate))
        body.append(
            f'<line x1="{x0:.1f}" y1="{mid:.1f}" x2="{x1:.1f}" y2="{mid:.1f}" '
            'stroke="#424242" stroke-width="2"/>'
        )
        body.append(
            f'<circle cx="{x:.1f}" cy="{mid:.1f}" r="5" fill="#2e7d32">'
            f"<title>{rate:.1%} ({_num(low):.1%}-{_num(high):.1%})</title></circle>"
        )
        body.append(_text(left + span + 8, y + _BAR - 4, f"{rate:.1%}"))
    return _svg(32 + len(rows) * (_BAR + 8), body, title, left + span + _TAIL)


def progress(value: float, target: float, label: str, title: str) -> Markup:
    """How far `value` has come towards `target`."""
    span = _W - 20
    share = min(_num(value) / target, 1.0) if target else 0.0
    body = [
        _rect(10, 10, span, _BAR, "#e0e0e0", f"target: {target:,.0f}"),
        _rect(10, 10, span * share, _BAR, _COLORS["accepted"], f"{label}: {value:,.0f}"),
        _text(10, 10 + _BAR + 16, f"{label}: {value:,.0f} of {target:,.0f} ({share:.1%})"),
    ]
    return _svg(10 + _BAR + 24, body, title)


def dashboard_charts(figures: dict[str, Any]) -> dict[str, Markup]:
    status = figures.get("status") or {}
    reasons = figures.get("reasons") or []
    bases = figures.get("bases") or []
    charts: dict[str, Markup] = {}
    # Only the reasons challenged: a row of zeros for each of a dozen reasons no one has
    # contested hides the few that have been.
    challenged = [
        r for r in reasons if _num(r["accepted"]) + _num(r["rejected"]) + _num(r["open_challenges"])
    ]
    if challenged:
        by_reason = [
            (
                r["reason_code"],
                {
                    "accepted": _num(r["accepted"]),
                    "rejected": _num(r["rejected"]),
                    "open": _num(r["open_challenges"]),
                },
            )
            for r in challenged
        ]
        charts["challenges"] = stacked_bars(by_reason, "Challenges by reason and outcome")
        charts["acceptance"] = intervals(
            [
                (
                    r["reason_code"],
                    None if r["acceptance_rate"] is None else _num(r["acceptance_rate"]),
                    r["acceptance_low"],
                    r["acceptance_high"],
                )
                for r in challenged
            ],
            "Acceptance rate by reason, 95 % interval",
        )
    charts["bases"] = stacked_bars(
        [(f"{b['basis']}", {"needed": _num(b["required"])}) for b in bases],
        "Signatures required under each basis",
    )
    to_flip = status.get("lines_to_flip")
    if to_flip:
        charts["flip"] = progress(
            _num(status.get("accepted")), _num(to_flip), "accepted", "Accepted towards the flip"
        )
    # Of the law's 60 days: elapsed and left both count the current day (it is begun and not
    # over), so their sum is one more.
    if status.get("examination_started") is not None:
        charts["clock"] = progress(
            _num(status.get("days_elapsed")),
            EXAMINATION_DAYS,
            "days elapsed",
            "The examination's clock",
        )
    return charts
