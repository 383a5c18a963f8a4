"""The staffing answer the planning pages show, from the one planning model.

Capacity, Forecast and the Scenario planner start from the same inputs (planning_basis: the
referral forecast and the measured rates, as of the as-of date) and ask the same question
(for_plan: the queue model's workers and sessions needed to keep within the targets, for the
weeks after the as-of date). The Launch planner asks the same function of the queue model
for its own demand (divert.analytics.planning.launch.capacity_needed). Same inputs, same answer: see
tests/test_planning_model.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.memo import per_snapshot
from divert.analytics.planning import forecast
from divert.analytics.planning.assumptions import Plan, plan_from_rates
from divert.analytics.planning.queue import Outlook, outlook
from divert.analytics.planning.rates import Rates, rates_for

WORKERS_LABEL = "Assessment workers needed"
SESSIONS_LABEL = "Sessions a week needed"
WORKERS_HELP = ("The fewest assessment workers (in half steps) that keep every week's projected wait to assessment "
                "within the target, with the backlog no longer growing by the last week: the planning model's answer, "
                "the same on Capacity, Forecast and the Scenario planner for the same inputs. 'Not reachable': the usual "
                "wait alone is over the target.")
SESSIONS_HELP = ("The fewest course sessions a week (in half steps) that keep every week's projected wait to a course "
                 "within the target, with enough workers for the assessment target.")


@dataclass(frozen=True)
class Staffing:
    plan: Plan
    baseline: pl.DataFrame  # the weekly demand planned for, from the week after the as-of date
    outlook: Outlook

    @property
    def workers_needed(self) -> float | None:
        return self.outlook.workers_needed

    @property
    def sessions_needed(self) -> float | None:
        return self.outlook.sessions_needed


def planning_basis(frames: Frames, filters: Filters, with_backtest: bool = True) -> tuple[forecast.ForecastResult, Rates]:
    """The inputs every planning page shares: the referral forecast (with its backtest, which
    only the Forecast page shows, when asked) and the service's measured rates within the
    filters, as of filters.as_of_date."""
    return forecast.referrals_forecast(frames, filters, with_backtest=with_backtest), rates_for(frames, filters)


def for_plan(result: forecast.ForecastResult, plan: Plan, target_assessment: float,
             target_course: float) -> Staffing:
    """The staffing answer for a plan on the forecast (the combination model, the plan's
    weeks after the as-of week)."""
    baseline = forecast.ahead(result, forecast.COMBINATION, plan.weeks)
    return Staffing(plan, baseline, outlook(baseline, plan, target_assessment, target_course))


@per_snapshot
def for_service(result: forecast.ForecastResult, rates: Rates, target_assessment: float,
                target_course: float) -> Staffing:
    """The staffing answer for the service as the records show it (planning.plan_from_rates)."""
    return for_plan(result, plan_from_rates(rates), target_assessment, target_course)


def needed_text(value: float | None) -> str:
    return "Not reachable" if value is None else f"{value:g}"
