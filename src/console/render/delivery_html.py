"""The delivery report as one HTML page for a change advisory board: each environment's
measures with their bands, and each measure's weekly trend as an inline SVG bar chart (a week
without the figure left empty), readable printed or on a screen, with no script and nothing
fetched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape

from console.delivery.measures import Group, Measures
from console.render.metrics import human

CHARTS: tuple[tuple[str, Callable[[Group], float | None], Callable[[float], str]], ...] = (
    ("Deployments", lambda g: float(len(g.deployments)), lambda v: f"{v:.0f}"),
    ("Change failure rate", lambda g: g.change_failure_rate, lambda v: f"{v:.0%}"),
    ("Recovery time (median)", lambda g: g.recovery.median, human),
    ("Lead time (median)", lambda g: g.lead_time.median, human),
    ("Gate wait (median)", lambda g: g.gate_wait.median, human),
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #111; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #999; padding: .3rem .6rem; text-align: left; }
.band { font-weight: bold; }
.elite, .high { color: #064; } .medium { color: #850; } .low { color: #a00; }
figure { display: inline-block; margin: .5rem 1rem .5rem 0; }
figcaption { font-size: .9rem; }
svg rect.bar { fill: #246; } svg text { font-size: 9px; }
"""


def _day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


def page(found: Measures, title: str = "Delivery report") -> str:
    """The whole page."""
    period = found.period
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>From {_day(period.since)} to {_day(period.until)} (UTC). Bands by DORA's 2023 "
        "State of DevOps report; definitions in the README, \u201cDelivery metrics\u201d.</p>",
    ]
    for group in (g for g in found.groups if g.pipeline is None):
        weekly = [
            next(g for g in groups if g.environment == group.environment)
            for _, groups in found.weeks
            if any(g.environment == group.environment for g in groups)
        ]
        parts += _environment(
            group,
            [g for g in found.groups if g.environment == group.environment and g.pipeline],
            weekly,
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def _environment(group: Group, pipelines: list[Group], weekly: list[Group]) -> list[str]:
    env = escape(group.environment)
    rows = [_row(group.environment, group)] + [_row(f"— {p.pipeline}", p) for p in pipelines]
    head = (
        "<tr><th>environment / pipeline</th><th>deployments</th><th>per day</th>"
        "<th>failed</th><th>change failure rate</th><th>recovery (median · p90)</th>"
        "<th>lead time (median · p90)</th><th>gate wait (median · p90)</th><th>rework</th></tr>"
    )
    charts = [_chart(name, [figure(g) for g in weekly], reads) for name, figure, reads in CHARTS]
    return [
        f'<section id="env-{env}"><h2>{env}</h2>',
        f'<table class="measures">{head}{"".join(rows)}</table>',
        f"<p>{_bands(group)}</p>",
        *charts,
        "</section>",
    ]


def _row(name: str, g: Group) -> str:
    rate = "–" if g.change_failure_rate is None else f"{g.change_failure_rate:.0%}"
    rework = "–" if g.rework_rate is None else f"{g.rework_rate:.0%}"
    cells = [
        escape(name),
        str(len(g.deployments)),
        f"{g.per_day:.2f}",
        str(len(g.failed)),
        rate,
        _span(g.recovery.median, g.recovery.p90)
        + (f" · {len(g.unrecovered)} not recovered" if g.unrecovered else ""),
        _span(g.lead_time.median, g.lead_time.p90),
        _span(g.gate_wait.median, g.gate_wait.p90),
        rework,
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _span(median: float | None, p90: float | None) -> str:
    return "–" if median is None or p90 is None else f"{human(median)} · {human(p90)}"


def _bands(g: Group) -> str:
    names = {
        "deployment_frequency": "deployment frequency",
        "change_failure_rate": "change failure rate",
        "recovery": "recovery time",
        "lead_time": "lead time",
    }
    shown = [
        f'{label}: <span class="band {band}">{band}</span>'
        for key, label in names.items()
        if (band := g.bands.get(key))
    ]
    return "Bands — " + (" · ".join(shown) if shown else "none yet")


def _chart(name: str, values: Sequence[float | None], reads: Callable[[float], str]) -> str:
    """One measure week by week as bars; a week without it has no bar and says so."""
    width, height, bar = 24 * max(1, len(values)), 90, 18
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    shapes = []
    for i, value in enumerate(values):
        x = i * 24 + 3
        if value is None or value <= 0:  # none, or nothing: no bar that reads as a little
            shapes.append(
                f'<text x="{x}" y="{height - 2}">{"–" if value is None else reads(0)}</text>'
            )
            continue
        tall = max(1.0, value / top * (height - 24))
        shapes.append(
            f'<rect class="bar" x="{x}" y="{height - 14 - tall:.1f}" width="{bar}" '
            f'height="{tall:.1f}"><title>{escape(reads(value))}</title></rect>'
            f'<text x="{x}" y="{height - 2}">{escape(reads(value))}</text>'
        )
    label = escape(name)
    return (
        f"<figure><figcaption>{label}, week by week</figcaption>"
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        + "".join(shapes)
        + "</svg></figure>"
    )
