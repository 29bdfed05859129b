"""What a scenario hands back: its figures, the targets it checked, and notes for the reader."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Check:
    """One target, measured: ``value`` and ``target`` are already formatted for the table.

    ``key`` names the issue's figure it measures (``bench.config.TARGETS``); checks without one (no error,
    nothing lost) come after the issue's figures. ``met`` is None when the figure could not be measured
    (``value`` says why).
    """

    metric: str
    value: str
    target: str
    met: bool | None
    key: str | None = None


@dataclass
class ScenarioResult:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def missed(self) -> bool:
        return self.error is not None or any(check.met is False for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else 0.0


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0-100) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def cpu_ms_per(cpu: dict[str, Any], done: int) -> float:
    """Milliseconds of the machine's CPU (all processes, the load tool included) per unit of work done."""
    return 1000 * cpu["busy_s"] / done if done else 0.0


def cpu_ratio_check(
    *, unit: str, unit_ms: float, transaction_ms: float, done: int, limit: float, metric: str, target: str, key: str | None = None
) -> Check:
    """"CPU per ``unit`` ÷ pgbench's CPU per transaction ≤ ``limit``", measured (``done`` units of work)."""
    cpu_ratio = round(ratio(unit_ms, transaction_ms), 1)
    value = f"{cpu_ratio:.1f}× ({unit_ms:.2f} ms per {unit}, {transaction_ms:.2f} ms per pgbench transaction)"
    return Check(key=key, metric=metric, value=value, target=target, met=done > 0 and cpu_ratio <= limit)


def steady(figures: dict[str, Any], asked: float) -> dict[str, Any]:
    """A paced run's figures with the rate asked and the share of it achieved."""
    return {**figures, "asked_per_second": round(asked, 2), "achieved": round(ratio(figures["per_second"], asked), 3)}
