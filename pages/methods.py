"""Methods: how the disparity and outcome measures are worked out, and their caveats."""

import streamlit as st

from divert.analytics.calendar.maturity import FOLLOW_UP_TEXT
from divert.analytics.dashboards import value
from divert.analytics.equity import denominators, disparity, watch
from divert.analytics.impact import model
from divert.records import programme_profile
from divert.report.methods import without_code
from divert.web import access, dashboard, ui

ui.require_role(*access.ALL_ROLES)
st.title("Methods")
profile = programme_profile.current(ui.engine())
dashboard.glossary_link()
st.markdown(without_code(
    f"""
Every figure on the dashboards comes from the records in this database; none is typed in.

### The as-of date, periods and follow-up
- **As of.** Every figure is measured as things stood at the end of the as-of date (UK time). On every page and
  for every role, and in the board pack, that is the last month end before today unless another date is chosen
  in the filters (a shared link keeps the date chosen); each page says which date under its title ("Figures as
  of ..."). Choosing today's date in the filter gives the live records. Records dated later
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

"""
    + denominators.METHODS
    + disparity.METHODS
    + "\n\n" + model.methods_markdown()
    + "\n\n" + watch.methods_markdown()
    + "\n\n" + value.METHODS
    + r"""

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

### Small numbers (the disclosure gate)
Service managers, caseworkers and administrators see exact figures. For the OPCC viewer role, and in
anything published, every figure passes one gate where it is made, so nothing small reaches the browser,
a download or a figure taken out of Divert for them:
- **Counts from 0 to the threshold minus 1** (set by an administrator; default 0 to 7) are hidden (shown as \*)
  and the row says why ("hidden: fewer than 8 people, or it would let such a figure be worked out").
  Every hidden count says the same, so a reader cannot tell a small count from one hidden to protect it.
  Zero is hidden too: a 0 shown beside hidden counts would tell a reader that each of them is at least 1,
  and two nested counts shown rounded (a period within a longer one) could then pin a small difference
  between them to four values.
- **Anything made from a hidden count, or summarising fewer people than the threshold**, is hidden
  too: shares, rates and their intervals, medians and percentiles, ratios, hours, sparkline points.
- **Secondary suppression**: in any total (the rows of one month, one group over time, and the values
  of a filter: the months of men, women, "other" and "not known" add up to all offences), a single
  hidden cell takes the next smallest with it, and hidden cells too close to 0 to leave each other
  room take another, so that no total gives one back. With one filter chosen, the tables of all its
  values are gated together, so the same cells are hidden whichever value is chosen. The Outcomes
  cross-table (ethnic group by sex by outcome, with every margin) is checked as a whole: a linear
  program finds what all its totals together tell of each hidden count and hides more until each keeps
  its room, and every split and every view of one sex or ethnic group is cut from that one table, so a
  cell is hidden alike wherever it appears.
- **Rounding**: counts that are shown are rounded to the nearest 5; shares and rates are worked out
  from the rounded counts (so 12 of 14 is shown as 10 of 15, 70%) and given to 1-3 significant
  figures, so subtracting two overlapping periods or two nested filters cannot recover a hidden
  count. Officer hours are worked out from the rounded referral count.
- **Fixed periods**: viewers choose among named periods ending at a month end, never custom dates, and
  compare the programme's own before/after periods. Filters that single out fewer people than the
  threshold (none included), or that leave out from 1 to that many compared with the wider view, are
  refused with a reason instead of drawn.
- Undeclared figures never pass: a table column the gate has not been told about is dropped. The
  Kaplan-Meier curve, which steps at each person's event, is shown to service managers only.

### Caveats
- **Missing ethnicity is not zero.** "Not stated" and blank ethnicity are shown as their own groups with
  their share, never dropped; they have no census population, so no rate.
- **Census denominators age.** 2011 figures undercount groups that have grown since; 2021 is broad only.
- **Geography matters.** Force-wide rates hide differences between areas; compare areas on the Volume page.
- **Events, not people.** A person searched twice counts twice; reoffending is matched on a pseudonymous key.
- **Association, not cause.** People who complete the course differ from those who do not in ways the
  data cannot see.
"""
))
