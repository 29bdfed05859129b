"""Cost growth (``make bench GROWTH=1``): does a new customer cost more CPU once the system holds many?

On a fresh stack of its own (an empty system; it runs after the other scenarios, whose data would
count otherwise): the CPU per new customer is measured the way the pipeline's burst measures it
(``CUSTOMERS`` customers created as fast as the API accepts them and followed to their credit
summary, the machine's CPU over that time divided by the customers), then customers are loaded
through the API the same way, in batches, each one followed to its account and credit summary,
until ``GROWTH_CUSTOMERS`` (default 20,000) are in the system, and the CPU per new customer is
measured again with as many customers as the first time.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from bench.config import GROWTH_MAX_RATIO, TARGET_BY_KEY
from bench.model import Check, ScenarioResult, cpu_ms_per, ratio
from bench.scenarios.pipeline import Outcome, create_and_follow, measure_burst
from bench.session import Bench

LOAD_BATCH = 2000
"""Customers created (and followed to their summary) at a time while loading: the backlog stays bounded."""


def run(bench: Bench) -> ScenarioResult:
    result = ScenarioResult("growth")
    customers = bench.parameters.customers
    empty, empty_cpu = measure_burst(bench, customers, name="growth-empty")
    load = _load(bench, max(bench.parameters.growth_customers - _customers_in_system(bench), 0))
    before_second = _customers_in_system(bench)
    full, full_cpu = measure_burst(bench, customers, name="growth-full")

    empty_ms, full_ms = cpu_ms_per(empty_cpu, empty.completed), cpu_ms_per(full_cpu, full.completed)
    growth = round(ratio(full_ms, empty_ms), 3)
    faults = {"measured on the empty system": empty, "loading": load["outcome"], "measured again": full}
    result.figures.update({
        "customers per measurement": customers,
        "empty": _figures(empty, empty_cpu, customers_before=0),
        "load": {key: value for key, value in load.items() if key != "outcome"},
        "full": _figures(full, full_cpu, customers_before=before_second),
        "cpu per customer ratio": growth,
    })  # fmt: skip
    for outcome in faults.values():
        result.notes += outcome.notes
    lost = sum(outcome.lost for outcome in faults.values())
    duplicated = sum(outcome.duplicated for outcome in faults.values())
    created_all = all(outcome.created == outcome.requested for outcome in faults.values())
    result.checks += [
        Check(
            key="cost growth",
            metric=TARGET_BY_KEY["cost growth"].figure,
            value=f"{growth:.2f} ({full_ms:.2f} ms per customer with {before_second:,} customers in the system, "
            f"{empty_ms:.2f} ms with 0; {customers:,} customers each)",
            target=TARGET_BY_KEY["cost growth"].target,
            met=empty.completed > 0 and full.completed > 0 and growth <= GROWTH_MAX_RATIO,
        ),
        Check(
            metric="growth: customers lost or duplicated",
            value=f"{sum(o.created for o in faults.values()):,} created, {lost} lost, {duplicated} duplicated",
            target="0 and 0, every customer created",
            met=lost == 0 and duplicated == 0 and created_all,
        ),
    ]
    return result


def _load(bench: Bench, customers: int) -> dict[str, Any]:
    """``customers`` more customers in the system, in batches, each followed to its summary."""
    started, batches = time.monotonic(), []
    for number, start in enumerate(range(0, customers, LOAD_BATCH), 1):
        size = min(LOAD_BATCH, customers - start)
        print(f"bench: growth: loading customers {start + 1:,}-{start + size:,} of {customers:,}", file=sys.stderr)
        bench.wait_until_quiet(f"growth load {number}")
        batches.append(create_and_follow(bench, size, name=f"growth-load-{number}"))
    outcome = Outcome(
        requested=sum(b.requested for b in batches),
        created=sum(b.created for b in batches),
        started=0.0,
        api={},
        timelines={key: timeline for b in batches for key, timeline in b.timelines.items()},
        duplicated=sum(b.duplicated for b in batches),
        notes=[note for b in batches for note in b.notes],
    )
    elapsed = time.monotonic() - started
    return {
        "customers": customers,
        "batches": len(batches),
        "seconds": round(elapsed, 1),
        "customers_per_second": round(outcome.completed / elapsed, 1) if elapsed else 0.0,
        "lost": outcome.lost,
        "duplicated": outcome.duplicated,
        "outcome": outcome,
    }


def _customers_in_system(bench: Bench) -> int:
    return bench.stack.user_manager.query("SELECT count(*) FROM users_customer")[0][0]


def _figures(outcome: Outcome, cpu: dict[str, Any], *, customers_before: int) -> dict[str, Any]:
    figures = outcome.figures()
    return {
        "customers in the system before": customers_before,
        "customers with a credit summary": outcome.completed,
        "customers_per_second": figures["customers_per_second"],
        "end to end": figures["end to end"],
        "cpu per customer_ms": round(cpu_ms_per(cpu, outcome.completed), 2),
        "cpu": cpu,
    }
