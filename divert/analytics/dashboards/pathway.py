"""The pathway: referral -> contacted -> engaged (assessment) -> the group course (allocated,
booked, attended) or one-to-one work / treatment -> closed (complied, or not engaged with an
intelligence log); waiting times, intelligence logs and repeat diversions."""

from __future__ import annotations

import polars as pl

from divert.analytics.calendar.weeks import working_days_expr
from divert.analytics.data.memo import per_snapshot
from divert.analytics.stats.intervals import with_share

# (stage, label, the stage before it, branch): each stage's share is of the stage before it.
# Course and non-course allocations are separate branches: only the group course has bookings
# and attendance; "closed - complied" needs the assessment, whichever the allocation.
FUNNEL = (
    ("referred", "Referred", None, "All referrals"),
    ("contacted", "Contacted by the provider", "referred", "All referrals"),
    ("engaged", "Engaged: assessment and harm-reduction session", "contacted", "All referrals"),
    ("course_allocated", "Allocated to the group course", "engaged", "Group course"),
    ("course_booked", "Booked on a course session", "course_allocated", "Group course"),
    ("course_attended", "Attended the course", "course_booked", "Group course"),
    ("other_allocated", "Allocated to one-to-one work or treatment", "engaged", "One-to-one or treatment"),
    ("complied", "Closed - complied", "engaged", "Closure"),
    ("intelligence_log", "Closed - not engaged (intelligence log)", "referred", "Closure"),
)
STAGES = tuple(stage for stage, *_ in FUNNEL)
STAGE_LABELS = {stage: label for stage, label, *_ in FUNNEL}
COURSE = "group_course"


def stage_flags(referrals: pl.DataFrame) -> pl.DataFrame:
    """One boolean column per stage of FUNNEL."""
    course = (pl.col("allocation") == COURSE).fill_null(False)
    engaged = (pl.col("assessment_result") == "completed").fill_null(False)
    return referrals.with_columns(
        pl.lit(True).alias("referred"),
        (pl.col("first_contact_at").is_not_null() | pl.col("assessment_result").is_in(["completed", "declined"]))
        .fill_null(False).alias("contacted"),
        engaged.alias("engaged"),
        (engaged & course).alias("course_allocated"),
        (engaged & course & pl.col("first_booked_at").is_not_null()).alias("course_booked"),
        (engaged & course & pl.col("attended_at").is_not_null()).alias("course_attended"),
        (engaged & pl.col("allocation").is_not_null() & ~course).alias("other_allocated"),
        (engaged & (pl.col("closure_result") == "complied").fill_null(False)).alias("complied"),
        pl.col("intelligence_log_date").is_not_null().alias("intelligence_log"),
    )


def funnel(referrals: pl.DataFrame) -> pl.DataFrame:
    """People at each stage, their share of all referrals and of the stage before (Wilson 95%),
    and how many did not go on from the stage before."""
    flags = stage_flags(referrals)
    counts = {s: int(flags[s].sum()) if flags.height else 0 for s in STAGES}
    previous = [counts[before] if before else counts["referred"] for _, _, before, _ in FUNNEL]
    frame = pl.DataFrame({
        "stage": list(STAGES),
        "label": [label for _, label, _, _ in FUNNEL],
        "branch": [branch for *_, branch in FUNNEL],
        "after": [STAGE_LABELS[before] if before else None for _, _, before, _ in FUNNEL],
        "people": [counts[s] for s in STAGES],
        "referred": [counts["referred"]] * len(STAGES),
        "previous": previous,
    }, schema={"stage": pl.String, "label": pl.String, "branch": pl.String, "after": pl.String, "people": pl.Int64,
               "referred": pl.Int64, "previous": pl.Int64})
    frame = with_share(frame, "people", "referred", "share_of_referred")
    frame = with_share(frame, "people", "previous", "share_of_previous")
    return frame.with_columns((pl.col("previous") - pl.col("people")).alias("dropped")).drop("referred", "previous")


def engaged_share(referrals: pl.DataFrame) -> pl.DataFrame:
    """The programme's headline: share of referrals that completed at least the assessment."""
    engaged = int((referrals["assessment_result"] == "completed").sum()) if referrals.height else 0
    return with_share(pl.DataFrame({"engaged": [engaged], "referrals": [referrals.height]}), "engaged", "referrals")


def waits(referrals: pl.DataFrame, every: str = "1mo") -> pl.DataFrame:
    """Days from referral to assessment and from assessment to the first course session, by
    month of referral: median and 90th percentile, and how many people each is based on."""
    days = referrals.select(
        pl.col("referred_at").dt.date().dt.truncate(every).alias("period"),
        working_days_expr(pl.col("referred_at"), pl.col("assessed_at")).alias("to_assessment"),
        ((pl.col("first_session_at") - pl.col("assessed_at")).dt.total_hours() / 24).alias("to_course"),
    )
    rows = []
    for measure in ("to_assessment", "to_course"):
        rows.append(
            days.drop_nulls(measure).group_by("period").agg(
                pl.lit(measure).alias("measure"),
                pl.col(measure).count().alias("people"),
                pl.col(measure).median().alias("median_days"),
                pl.col(measure).quantile(0.9, "linear").alias("p90_days"),
            )
        )
    schema = {"period": pl.Date, "measure": pl.String, "people": pl.UInt32, "median_days": pl.Float64, "p90_days": pl.Float64}
    parts = [r.cast(schema) for r in rows if r.height]
    return pl.concat(parts).sort("measure", "period") if parts else pl.DataFrame(schema=schema)


@per_snapshot
def intelligence_logs(referrals: pl.DataFrame, every: str = "1mo") -> pl.DataFrame:
    logged = referrals.filter(pl.col("intelligence_log_date").is_not_null())
    return logged.group_by(pl.col("intelligence_log_date").dt.truncate(every).alias("period")).len(name="intelligence_logs").sort("period")


@per_snapshot
def repeats(referrals: pl.DataFrame, every: str = "1mo") -> pl.DataFrame:
    """Referrals per period and how many were repeat diversions (share with Wilson 95%)."""
    grouped = referrals.group_by(pl.col("referred_at").dt.date().dt.truncate(every).alias("period")).agg(
        pl.len().alias("referrals"), pl.col("repeat").fill_null(False).sum().cast(pl.Int64).alias("repeats")
    ).sort("period")
    return with_share(grouped, "repeats", "referrals", "repeat_share")
