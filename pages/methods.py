"""Methods: how the disparity and outcome measures are worked out, and their caveats."""

import streamlit as st

from divert import auth, programme, ui
from divert.analytics.maturity import FOLLOW_UP_TEXT

ui.require_role(*auth.ALL_ROLES)
st.title("Methods")
profile = programme.current()
st.markdown(
    f"""
Every figure on the dashboards comes from the records in this database; none is typed in.

### The as-of date, periods and follow-up
- **As of.** Every figure is measured as things stood at the end of the as-of date (UK time): today unless
  another date is chosen in the filters, the link (`as_of=`) or `divert metrics --as-of`. Records dated later
  are left out and steps taken later (an assessment, a booking, a closure, a court outcome) count as not yet
  taken, so a past as-of date gives the figures as they were. Each page says how far each source's data go.
- **Period.** The dates that count, ending on the as-of date, the same on every page. Where a page compares
  two periods it names both: the Overview compares the period with the one of the same length before it;
  charges and cautions are compared with the 12 months before the launch ({profile.launch_label}).
- **Provisional.** A month, week or half-year that is not over (today is never over) is marked provisional:
  a hollow point and a dashed line, or a pale bar. Its count will still grow.
- **Follow-up.** A rate that needs time to happen counts only referrals (or offences) old enough for it:
"""
    + "\n".join(f"  - {line}" for line in FOLLOW_UP_TEXT.values())
    + r"""

### Rates and relative rates
- **Rate per 1,000 population** for group *g* = events in *g* / residents of *g* x 1,000. Residents come
  from the census chosen on the page: **2011** (all 18 self-defined groups, by police force area) or
  **2021** (West Midlands broad groups, where Mixed is reported within Other).
- **Relative rate (disparity) against White** = rate for *g* / rate for White ("X times as likely").
  The 95% interval is exp(ln RR +/- 1.96 sqrt(1/a + 1/b)) when both counts are at least 10; with
  smaller counts it is the exact conditional interval (Clopper-Pearson on a given a + b), which stays
  honest for small groups. When the White count is zero there is no ratio, and none is shown.
- **Relative rate index (RRI) at each decision point** uses the step before as the denominator:
  population -> possession offence -> diverted rather than charged or cautioned -> engaged (completed
  the assessment) -> completed; intelligence logs use the people diverted. For shares the interval is
  Katz's log interval exp(ln RR +/- 1.96 sqrt(1/a - 1/n_a + 1/b - 1/n_b)) when every count is at least
  10, and the score interval (Koopman; Miettinen-Nurminen) otherwise.
- An interval that does not include 1 is marked **significant**. An RRI below 1 can be read the other
  way round: 0.5 means White people are twice as likely.
- Groups smaller than 1% of the population are flagged: their ratios move a lot with a few events.

### The outcome ("find rate") test
The share of searches whose outcome was linked to the object of the search. If one group's find rate is
lower, officers may be searching its members on weaker grounds. Intervals are Wilson score intervals.

### Stop and search
As in the Home Office statistics, **vehicle-only searches are excluded** (people are counted, not
vehicles). Self-defined ethnicity is used by default; officer-defined ethnicity can be chosen, but the
census has no officer-defined categories, so its rates compare unlike with like. The two are kept apart:
one is never filled in from the other.

### Outcomes and gaps
- **Outcome shares** count every outcome of the possession offences in a period, including "further
  investigation not in the public interest" (21), other codes and offences still awaiting an outcome, so the
  shares of a period add up to 100%.
- **Changes** between two periods are differences in share, in **percentage points**, with Newcombe's hybrid
  score 95% interval. There are no % changes of counts: counts also move with the rise in recorded offences.
- **Absolute and relative gaps** are read together: the share charged or cautioned for each group, and its
  ratio to the White group (of the same sex when split by sex) with Katz's 95% interval. The reference group's
  ratio is 1 by definition and has no interval. A share can fall for everyone while the ratio widens.
- **Before and after the launch (volume)** compares equal windows: the 12 complete months before the launch
  with the first 12 after (fewer on both sides if fewer are complete). The change is a rate ratio from a
  Poisson regression with month-of-year effects; its 95% interval is scaled for overdispersion (quasi-Poisson,
  Pearson chi-squared over degrees of freedom), because monthly counts vary more than chance alone.

### Labels that say what is measured
- **Re-detected for possession within 6 / 12 months**: a further recorded possession offence by the same
  (pseudonymous) person; other offending and undetected use are not seen. Comparing people who complied with
  those who did not is **observational: not the effect of the course**.
- **Closed - complied**: the referral was closed and the Community Resolution stands; one-to-one work and
  treatment allocations are counted on their own branch, not as course bookings or attendance.

### Shares and waiting times
Shares carry Wilson 95% intervals. Waiting times are medians and 90th percentiles of the people who
reached the later step. Reoffending counts only referrals with the whole follow-up window in the data;
the Kaplan-Meier curve follows everyone until the as-of date.

### Small numbers
For the viewer role, and in anything published, counts from 1 to the threshold set by an
administrator (default: 1 to 7) show as `*`, rates on denominators below it are not shown, and the next
smallest count in the same group is hidden too (secondary suppression), so a hidden count cannot be
worked out from a total. Zero is shown as 0.

### Caveats
- **Missing ethnicity is not zero.** "Not stated" and blank ethnicity are shown as their own groups with
  their share, never dropped; they have no census population, so no rate.
- **Census denominators age.** 2011 figures undercount groups that have grown since; 2021 is broad only.
- **Geography matters.** Force-wide rates hide differences between areas; compare areas on the Volume page.
- **Events, not people.** A person searched twice counts twice; reoffending is matched on a pseudonymous key.
- **Association, not cause.** People who complete the course differ from those who do not in ways the
  data cannot see.
"""
)
