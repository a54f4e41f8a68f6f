"""The dashboard's charts as inline SVG, drawn on the server: no script, no chart library,
nothing a page's content-security policy must let in."""

from __future__ import annotations

from html import escape
from typing import Any

from markupsafe import Markup

_W = 560
_LABEL = 170
_BAR = 18
_COLORS = {"accepted": "#2e7d32", "rejected": "#c62828", "open": "#9e9e9e", "needed": "#1565c0"}


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if out != out else out  # NaN: nothing to draw


def _svg(height: int, body: list[str], title: str) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" viewBox="0 0 {_W} {height}" width="{_W}" '
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
    span = _W - _LABEL - 60
    body = []
    for i, (label, parts) in enumerate(rows):
        y = 8 + i * (_BAR + 8)
        body.append(_text(_LABEL - 6, y + _BAR - 4, label, "end"))
        x = _LABEL
        for part, value in parts.items():
            w = span * value / top
            body.append(_rect(x, y, w, _BAR, _COLORS.get(part, "#616161"), f"{part}: {value:,.0f}"))
            x += w
        body.append(_text(x + 4, y + _BAR - 4, f"{sum(parts.values()):,.0f}"))
    return _svg(16 + len(rows) * (_BAR + 8), body, title)


def intervals(
    rows: list[tuple[str, float | None, float | None, float | None]], title: str
) -> Markup:
    """Per row a rate (0-1) as a dot with its interval as a line; rows with no rate say so."""
    span = _W - _LABEL - 60
    body = [
        _text(_LABEL, 12, "0 %", "middle"),
        _text(_LABEL + span, 12, "100 %", "middle"),
    ]
    for i, (label, rate, low, high) in enumerate(rows):
        y = 24 + i * (_BAR + 8)
        mid = y + _BAR / 2
        body.append(_text(_LABEL - 6, y + _BAR - 4, label, "end"))
        if rate is None:
            body.append(_text(_LABEL + 4, y + _BAR - 4, "no ruling yet"))
            continue
        x0, x1, x = (_LABEL + span * _num(v) for v in (low, high, rate))
        body.append(
            f'<line x1="{x0:.1f}" y1="{mid:.1f}" x2="{x1:.1f}" y2="{mid:.1f}" '
            'stroke="#424242" stroke-width="2"/>'
        )
        body.append(
            f'<circle cx="{x:.1f}" cy="{mid:.1f}" r="5" fill="#2e7d32">'
            f"<title>{rate:.1%} ({_num(low):.1%}-{_num(high):.1%})</title></circle>"
        )
        body.append(_text(_LABEL + span + 8, y + _BAR - 4, f"{rate:.1%}"))
    return _svg(32 + len(rows) * (_BAR + 8), body, title)


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
    by_reason = [
        (
            r["reason_code"],
            {
                "accepted": _num(r["accepted"]),
                "rejected": _num(r["rejected"]),
                "open": _num(r["open_challenges"]),
            },
        )
        for r in reasons
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
            for r in reasons
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
    days = _num(status.get("days_elapsed")) + _num(status.get("days_left"))
    if status.get("examination_started") is not None and days:
        charts["clock"] = progress(
            _num(status.get("days_elapsed")), days, "days elapsed", "The examination's clock"
        )
    return charts
