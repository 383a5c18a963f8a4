"""The programme profile: which force runs the scheme, its areas, when it started, how a
diversion is recorded, who is eligible, and the provider's course. Stored in the database
(the `programme` setting, so every change is audited and bumps the data version), set at first
run, on the admin Programme page and with `divert programme set`. It is passed down to the
analytics (on the loaded frames), never imported as a module constant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date

from divert.core import clock, codes
from divert.core.field_rules import Checker, Problem

TIME_ZONE = clock.UK  # (one clock: divert.core.clock)
SETTING_KEY = "programme"
DIVERSION_OUTCOMES = {8: "Community Resolution", 22: "Diversionary, educational or intervention activity"}
DRUG_CLASSES = ("A", "B", "C")
EARLIEST_LAUNCH = date(2014, 1, 1)
COST_BASES = {"none": "No cost entered yet", "contract_year": "A contract price a year",
              "per_referral": "A price per referral"}
# (the central figure, its low, its high): each low and high is optional, the central figure
# standing in for a missing one (no range stated).
RANGES = {"cost": ("cost", "cost_low", "cost_high"),
          "officer_hours": ("officer_hours_per_referral", "officer_hours_low", "officer_hours_high"),
          "hourly_cost": ("hourly_cost", "hourly_cost_low", "hourly_cost_high")}
OPTIONAL = ("cost", "cost_low", "cost_high", "officer_hours_low", "officer_hours_high", "hourly_cost",
            "hourly_cost_low", "hourly_cost_high")
LIMITS = {"cost": 100_000_000.0, "hourly_cost": 1_000.0, "officer_hours": 24.0}
HOURS_SOURCE = ("Provider-reported: each referral at the scene saves over four hours of officer time compared "
                "with arrest and processing (West Midlands practice example).")


@dataclass(frozen=True)
class Programme:
    force: str = codes.DEFAULT_FORCE
    launch: date = date(2020, 10, 1)
    diversion_outcome: int = 8  # HOCR 8 Community Resolution, or 22 diversionary activity
    minimum_age: int = 10
    drug_classes: tuple[str, ...] = DRUG_CLASSES
    second_offer_after_engagement: bool = True
    provider: str = "the drug-intervention provider"
    course_format: str = "online group course (2-3 hours)"
    seats_per_session: int = 12
    sessions_per_week: float = 3.0
    officer_hours_per_referral: float = 4.0
    officer_hours_source: str = HOURS_SOURCE
    officer_hours_low: float | None = None
    officer_hours_high: float | None = None
    cost_basis: str = "none"  # COST_BASES: what `cost` is (£), the programme's price
    cost: float | None = None
    cost_low: float | None = None
    cost_high: float | None = None
    hourly_cost: float | None = None  # £ an officer hour costs, set by the administrator
    hourly_cost_low: float | None = None
    hourly_cost_high: float | None = None
    areas: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # (code, name), from the census

    @property
    def launch_label(self) -> str:
        return f"{self.launch:%B %Y}"

    @property
    def force_name(self) -> str:
        from divert.reference import forces

        return forces.force_name(self.force)

    @property
    def diversion_label(self) -> str:
        return DIVERSION_OUTCOMES[self.diversion_outcome]

    @property
    def area_labels(self) -> dict[str, str]:
        return dict(self.areas)

    def span(self, key: str) -> tuple[float, float, float] | None:
        """(low, central, high) of a RANGES figure; None when its central figure is not entered
        (a missing low or high is the central figure: no range stated)."""
        central, low, high = (getattr(self, name) for name in RANGES[key])
        if central is None or (key == "cost" and self.cost_basis == "none"):
            return None
        return (central if low is None else low, central, central if high is None else high)

    def with_areas(self) -> Programme:
        """The profile with its force's local authorities from the shipped census."""
        from divert.reference.census import force_areas

        return replace(self, areas=tuple((a["code"], a["name"]) for a in force_areas(self.force)))

    def as_json(self) -> dict:
        out = asdict(self)
        out["launch"] = self.launch.isoformat()
        out["drug_classes"] = list(self.drug_classes)
        out["areas"] = [{"code": code, "name": name} for code, name in self.areas]
        return out


STORED = [f.name for f in fields(Programme) if f.name != "areas"]


def check(values: dict, base: Programme | None = None) -> tuple[Programme | None, list[Problem]]:
    """A profile from `values` (text or typed) on top of `base`; every problem at once."""
    from divert.reference import forces

    base = base or Programme()
    out, problems = {}, []

    def fail(name, reason):
        problems.append(Problem(name, values.get(name), reason))

    for name, value in values.items():
        if name in OPTIONAL and (value is None or str(value).strip() == ""):
            out[name] = None  # blank: not entered (a low or high: no range)
            continue
        if value is None or name not in STORED:
            if name not in STORED:
                fail(name, "is not part of the programme profile")
            continue
        try:
            if name == "force":
                out[name] = forces.force(str(value)).slug
            elif name == "launch":
                day = value if isinstance(value, date) else date.fromisoformat(str(value))
                if not EARLIEST_LAUNCH <= day <= clock.today():
                    fail(name, f"must be between {EARLIEST_LAUNCH:%d %B %Y} and today")
                    continue
                out[name] = day
            elif name == "diversion_outcome":
                number = int(value)
                if number not in DIVERSION_OUTCOMES:
                    fail(name, "must be 8 (Community Resolution) or 22 (diversionary, educational or intervention activity)")
                    continue
                out[name] = number
            elif name == "drug_classes":
                chosen = value if isinstance(value, list | tuple) else str(value).replace(" ", "").split(",")
                chosen = tuple(sorted({str(c).upper() for c in chosen if str(c).strip()}))
                if not chosen or set(chosen) - set(DRUG_CLASSES):
                    fail(name, "must be one or more of A, B, C")
                    continue
                out[name] = chosen
            elif name == "second_offer_after_engagement":
                text = str(value).strip().lower()
                if text not in ("true", "false", "yes", "no", "1", "0"):
                    fail(name, "must be yes or no")
                    continue
                out[name] = text in ("true", "yes", "1")
            elif name in ("minimum_age", "seats_per_session"):
                number = int(value)
                low, high = (10, 25) if name == "minimum_age" else (1, 100)
                if not low <= number <= high:
                    fail(name, f"must be a whole number from {low} to {high}")
                    continue
                out[name] = number
            elif name == "sessions_per_week" or name in OPTIONAL or name == "officer_hours_per_referral":
                number = float(value)
                if not 0 <= number <= _limit(name):
                    fail(name, f"must be from 0 to {_limit(name):,g}")
                    continue
                out[name] = number
            elif name == "cost_basis":
                if str(value) not in COST_BASES:
                    fail(name, "must be one of " + ", ".join(COST_BASES))
                    continue
                out[name] = str(value)
            else:
                text = " ".join(str(value).split())
                if not 1 <= len(text) <= 300:
                    fail(name, "must be 1 to 300 characters")
                    continue
                out[name] = text
        except (ValueError, TypeError) as error:
            fail(name, str(error) if isinstance(error, forces.UnknownForce) else "is not valid")
    if problems:
        return None, problems
    chosen = replace(base, **out)
    problems = _range_problems(chosen, values)
    return (None, problems) if problems else (chosen.with_areas(), [])


def _limit(name: str) -> float:
    if name == "sessions_per_week":
        return 50.0
    return next(LIMITS[key] for key, names in RANGES.items() if name in names)


def _range_problems(profile: Programme, values: dict) -> list[Problem]:
    """Each low at most its central figure, each high at least it, and a price for a cost basis."""
    problems = []
    if profile.cost_basis != "none" and profile.cost is None:
        problems.append(Problem("cost", values.get("cost"), f"is needed for '{COST_BASES[profile.cost_basis]}'"))
    for central_name, low_name, high_name in RANGES.values():
        central, low, high = (getattr(profile, n) for n in (central_name, low_name, high_name))
        if central is None and (low is not None or high is not None):
            problems.append(Problem(central_name, values.get(central_name), "is needed with a low or high figure"))
            continue
        if low is not None and low > central:
            problems.append(Problem(low_name, low, f"must be at most the central figure ({central:,g})"))
        if high is not None and high < central:
            problems.append(Problem(high_name, high, f"must be at least the central figure ({central:,g})"))
    return problems


def from_stored(stored: dict | None, force: str | None) -> Programme:
    profile = Programme(force=force or codes.DEFAULT_FORCE)
    if stored:
        chosen, problems = check({k: v for k, v in stored.items() if k in STORED}, profile)
        if chosen is not None:
            return chosen
    return profile.with_areas()


def ineligible(profile: Programme, age: int | None, drug: str | None, engaged_before: bool) -> list[str]:
    """Why the programme's eligibility rules would not offer diversion (empty: eligible)."""
    reasons = []
    if age is not None and age < profile.minimum_age:
        reasons.append(f"aged {age}, under the programme's minimum age of {profile.minimum_age}")
    drug_class = codes.DRUG_CLASS.get(drug or "")
    if drug_class and drug_class not in profile.drug_classes:
        reasons.append(f"a class {drug_class} drug, which the programme does not cover")
    if engaged_before and not profile.second_offer_after_engagement:
        reasons.append("engaged before, and the programme makes no second offer")
    return reasons


def offer(c: Checker, profile: Programme, history: dict, age: int | None, drug: str | None,
          override: str | None) -> tuple[dict, list[str]]:
    """A new referral's eligibility, as a form, a single write and an import decide it: after a
    non-engagement (`history["not_engaged"]`), or outside the programme's rules, only with an
    override reason (else `c` fails on override_reason and nothing is returned). Returns the
    referral's eligibility, override reason and repeat flag, and notes for the person saving."""
    if history["not_engaged"] and not override:
        c.fail("override_reason", "this person did not engage before (intelligence log "
               f"{history['last_intelligence_log']}): no new offer without an override reason", value="")
        return {}, []
    rules = ineligible(profile, age, drug, bool(history["complied"]))
    if rules and not override:
        c.fail("override_reason", "outside the programme's eligibility rules (" + "; ".join(rules)
               + "): no offer without an override reason", value="")
        return {}, []
    notes = ["offered on override after a previous non-engagement"] if history["not_engaged"] else []
    notes += ["offered on override: " + "; ".join(rules)] if rules else []
    notes += ["counted as a repeat diversion"] if history["complied"] else []
    flagged = bool(history["not_engaged"] or rules)
    return {"eligibility": "override" if flagged else "eligible", "override_reason": override if flagged else None,
            "repeat": bool(history["complied"])}, notes
