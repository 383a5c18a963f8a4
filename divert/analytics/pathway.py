"""The pathway: referral -> contacted -> assessed -> allocated -> booked -> attended -> completed,
waiting times, intelligence logs and repeat diversions."""

from __future__ import annotations

import polars as pl

from divert.analytics.intervals import with_share

STAGES = ("referred", "contacted", "assessed", "allocated", "booked", "attended", "completed")
STAGE_LABELS = {
    "referred": "Referred",
    "contacted": "Contacted",
    "assessed": "Assessed (harm-reduction session)",
    "allocated": "Allocated to an intervention",
    "booked": "Booked (course) or started (other)",
    "attended": "Attended",
    "completed": "Completed",
}


def stage_flags(referrals: pl.DataFrame) -> pl.DataFrame:
    """One boolean column per stage. People allocated to one-to-one work or treatment have no
    course booking: they count as booked when allocated, and as attended when they comply."""
    course = pl.col("allocation") == "group_course"
    complied = pl.col("closure_result") == "complied"
    return referrals.with_columns(
        pl.lit(True).alias("referred"),
        (pl.col("first_contact_at").is_not_null() | pl.col("assessment_result").is_in(["completed", "declined"])).alias("contacted"),
        (pl.col("assessment_result") == "completed").fill_null(False).alias("assessed"),
        pl.col("allocation").is_not_null().alias("allocated"),
        (pl.when(course).then(pl.col("first_booked_at").is_not_null()).otherwise(pl.col("allocation").is_not_null())).fill_null(False).alias("booked"),
        (pl.when(course).then(pl.col("attended_at").is_not_null()).otherwise(complied)).fill_null(False).alias("attended"),
        (complied.fill_null(False) & pl.col("allocation").is_not_null()).alias("completed"),
    ).with_columns(pl.col("contacted").fill_null(False))


def funnel(referrals: pl.DataFrame) -> pl.DataFrame:
    """Count at each stage, its share of referrals and of the previous stage (Wilson 95%), and
    how many dropped out since the previous stage."""
    flags = stage_flags(referrals)
    counts = [int(flags[s].sum()) if flags.height else 0 for s in STAGES]
    frame = pl.DataFrame({
        "stage": list(STAGES),
        "label": [STAGE_LABELS[s] for s in STAGES],
        "people": counts,
        "referred": [counts[0]] * len(STAGES),
        "previous": [counts[0]] + counts[:-1],
    }, schema={"stage": pl.String, "label": pl.String, "people": pl.Int64, "referred": pl.Int64, "previous": pl.Int64})
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
        ((pl.col("assessed_at") - pl.col("referred_at")).dt.total_hours() / 24).alias("to_assessment"),
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


def intelligence_logs(referrals: pl.DataFrame, every: str = "1mo") -> pl.DataFrame:
    logged = referrals.filter(pl.col("intelligence_log_date").is_not_null())
    return logged.group_by(pl.col("intelligence_log_date").dt.truncate(every).alias("period")).len(name="intelligence_logs").sort("period")


def repeats(referrals: pl.DataFrame, every: str = "1mo") -> pl.DataFrame:
    """Referrals per period and how many were repeat diversions (share with Wilson 95%)."""
    grouped = referrals.group_by(pl.col("referred_at").dt.date().dt.truncate(every).alias("period")).agg(
        pl.len().alias("referrals"), pl.col("repeat").fill_null(False).sum().cast(pl.Int64).alias("repeats")
    ).sort("period")
    return with_share(grouped, "repeats", "referrals", "repeat_share")
