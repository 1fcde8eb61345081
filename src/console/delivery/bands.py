"""DORA's performance bands (elite, high, medium, low), as thresholds on each measure.

The State of DevOps report 2023 describes its clusters in words ("between once per day and
once per week"); these are those words as cut points, in one place so the README, the
command and the console say the same.
"""

from __future__ import annotations

HOUR, DAY, WEEK, MONTH = 3600.0, 86400.0, 7 * 86400.0, 30 * 86400.0

BANDS = ("elite", "high", "medium", "low")

FREQUENCY = (1.0, 1 / 7, 1 / 30)
"""Deployments per day at least: elite on demand (daily or more), high weekly, medium
monthly; low below."""

FAILURE_RATE = (0.05, 0.10, 0.15)
"""Change failure rate at most: elite 5%, high 10%, medium 15%; low above."""

RECOVERY = (HOUR, DAY, WEEK)
"""Failed deployment recovery time under: elite an hour, high a day, medium a week."""

LEAD_TIME = (DAY, WEEK, MONTH)
"""Lead time under: elite a day, high a week, medium a month."""


def at_least(value: float | None, cuts: tuple[float, float, float]) -> str | None:
    """The band of a measure where more is better (None without a value)."""
    if value is None:
        return None
    return next((band for band, cut in zip(BANDS, cuts, strict=False) if value >= cut), "low")


def at_most(
    value: float | None, cuts: tuple[float, float, float], strict: bool = False
) -> str | None:
    """The band of a measure where less is better (`strict`: under the cut, not up to it)."""
    if value is None:
        return None
    for band, cut in zip(BANDS, cuts, strict=False):
        if value < cut or (not strict and value == cut):
            return band
    return "low"


def bands(
    per_day: float, failure_rate: float | None, recovery: float | None, lead_time: float | None
) -> dict[str, str | None]:
    """Each measure's band: frequency, change failure rate, and the medians of recovery and
    lead time."""
    return {
        "deployment_frequency": at_least(per_day, FREQUENCY) if per_day else "low",
        "change_failure_rate": at_most(failure_rate, FAILURE_RATE),
        "recovery": at_most(recovery, RECOVERY, strict=True),
        "lead_time": at_most(lead_time, LEAD_TIME, strict=True),
    }
