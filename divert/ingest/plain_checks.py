"""The referrals of an import checked a column at a time: the plain ones.

A plain row is a new referral of a new offence whose fields all passed their rules (the file's
columns checked at once: divert.ingest.row_checks.batch_rules), whose person is known without a
closure, or new and met only in plain rows. For such a row the writer's steps after its fields
(divert.ingest.row_checks._referral, divert.records.referrals.add_referral) are three rules - the
person's age at the offence, the offence not after the referral, the programme's offer - each
from divert.core.record_fields or divert.reference.programme, run here once per distinct input it
reads and laid against the rows; what the good rows add is planned as columns
(records.import_writes.Plan.columns). Every other row is checked on its own
(row_checks.check_row); the two sets share no new person or offence, so the order in which they
are checked changes nothing but the order of the new rows' ids. A new person is made by their
first good row, and the rows after it read that person's year of birth, as row by row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from divert.core.field_rules import Checker
from divert.core.record_fields import age_in_year, offence_not_after_referral
from divert.ingest.row_checks import Context, File
from divert.records.import_writes import OFFENCE, PERSON, Plan
from divert.reference import programme

NO_HISTORY = {"not_engaged": 0, "last_intelligence_log": None, "complied": 0}
PERSON_FIELDS = ("sex", "birth_year", "ethnicity_self", "ethnicity_officer")
OFFENCE_COLUMNS = ("crime_ref", "offence_date", "area", "drug", "source")
REFERRAL_COLUMNS = ("reference", "referred_at", "referring_team")
DECIDED = ("eligibility", "override_reason", "repeat")


def plain_rows(kind: str, files: list[File], ctx: Context) -> list[set[int]]:
    """Per file, the rows check_plain can check; read before any row is checked."""
    plain: list[set[int]] = [set() for _ in files]
    if kind != "referrals":
        return plain
    crimes: Counter = Counter()  # (force, crime_ref) -> rows naming it
    groups: dict[str, list[tuple[int, int] | None]] = {}  # a new person's key -> its rows (None: one not plain)
    candidates = []
    for fi, f in enumerate(files):
        checked, keys, b = f.checked(), f.keys, f.batch
        forces = [force or ctx.force for force in f.raw("force")]
        crime_refs = [c.strip() if isinstance(c, str) else c for c in f.raw("crime_ref")]
        crimes.update((forces[i], crime_refs[i]) for i in checked if crime_refs[i])
        alone = "force" in f.frame.columns and "force" not in f.extra  # a force on each row: every row on its own
        references, crimes_checked, outcomes, outcome_dates = (b[name].values for name in (
            "reference", "crime_ref", "outcome", "outcome_date"))
        nul, troubled, referrals, offences, people = f.nul, b.troubled, ctx.referrals, ctx.offences, ctx.people
        for i in checked:
            key = keys[i]
            if key is None:
                continue  # no person: a row that is not plain (a plain row has its person)
            ok = not (alone or nul[i] or i in troubled) and references[i] not in referrals and outcomes[i] is None \
                and outcome_dates[i] is None and (forces[i], crimes_checked[i]) not in offences
            person = people.get(key)
            if person is None:
                groups.setdefault(key, []).append((fi, i) if ok else None)
            if ok and (person is None or person.id not in ctx.history):
                candidates.append((fi, i, forces[i], crimes_checked[i], key))
    once = [(fi, i, key) for fi, i, force, crime, key in candidates if crimes.get((force, crime)) == 1]
    chosen = {(fi, i) for fi, i, _ in once}
    # new people also met in rows not plain (refused, or naming an offence another row names): a row
    # checked on its own would make the person first, whatever the file's order
    shared = {key for key, rows in groups.items() if any(row not in chosen for row in rows)}
    for fi, i, key in once:
        if key not in shared:
            plain[fi].add(i)
    return plain


class _Rules:
    """The three rules of a plain row, each run once per distinct input (its answer and problems
    remembered)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.memo: dict[tuple, tuple] = {}

    def run(self, values: dict, rule: Callable, *args) -> tuple:
        """rule(c, *args) with a Checker of `values`: (its answer, its problems)."""
        key = (rule, *values.values(), *args)
        hit = self.memo.get(key)
        if hit is None:
            c = Checker(values)
            hit = self.memo[key] = (rule(c, *args), tuple(c.problems))
        return hit

    def offer(self, c: Checker, age, drug, override):  # a new person, or one without a closure: no history
        return programme.offer(c, self.ctx.profile, NO_HISTORY, age, drug, override)


def check_plain(files: list[File], plain: list[set[int]], ctx: Context, plan: Plan) -> tuple[int, list[tuple]]:
    """Check the plain rows and plan their people, offences and referrals as columns. Returns the
    number of new referrals and the problems as (file index, row index, problems)."""
    rules, said = _Rules(ctx), []
    people: dict[str, list] = {"person_key": [], **{name: [] for name in PERSON_FIELDS}}
    offences: dict[str, list] = {name: [] for name in ("force", *OFFENCE_COLUMNS, "outcome", "outcome_date", "age",
                                                        "person_id", PERSON)}
    referrals: dict[str, list] = {name: [] for name in ("force", *REFERRAL_COLUMNS, "person_id", PERSON, *DECIDED)}
    made: dict[str, tuple] = {}  # a new person's key -> (its index, its year of birth)
    for fi, f in enumerate(files):
        rows = sorted(plain[fi])
        if rows:
            good = _check_file(fi, f, rows, rules, ctx, made, people, len(plan.new["person"]), said)
            _lay_out(f, good, f.extra.get("force") or ctx.force, offences, referrals)
    n = len(referrals["reference"])
    if people["person_key"]:
        plan.columns["person"] = {**people, "demo": [False] * len(people["person_key"])}
    if n:
        first = len(plan.new["offence"])
        plan.columns["offence"] = {**offences, "demo": [False] * n}
        plan.columns["referral"] = {**referrals, OFFENCE: list(range(first, first + n)), "offence_id": [None] * n,
                                    "status": ["open"] * n, "version": [1] * n, "demo": [False] * n}
    return n, said


def _check_file(fi: int, f: File, rows: list[int], rules: _Rules, ctx: Context, made: dict, people: dict,
                first_person: int, said: list) -> list[tuple]:
    """The plain rows of one file through the rules, in order: the good ones as (row, age, the
    offer's decision, person id, new person's index); a new person is planned by their first."""
    v = {name: f.batch[name].values for name in ("referred_at", "override_reason", "offence_date", "drug",
                                                 *PERSON_FIELDS)}
    raw_birth, raw_day, raw_override = f.raw("birth_year"), f.raw("offence_date"), f.raw("override_reason")
    keys, births, days, referred_at, drugs, overrides = (f.keys, v["birth_year"], v["offence_date"], v["referred_at"],
                                                         v["drug"], v["override_reason"])
    good = []
    for i in rows:
        key = keys[i]
        person = ctx.people.get(key)
        created = made.get(key) if person is None else None
        birth = person.birth_year if person is not None else created[1] if created else births[i]
        day, on = days[i], referred_at[i].date()
        age, problems = rules.run({"birth_year": raw_birth[i]}, age_in_year, day.year, birth)
        if not problems:
            _, problems = rules.run({"offence_date": raw_day[i]}, offence_not_after_referral, day, on)
        if not problems:
            (decided, _), problems = rules.run({"override_reason": raw_override[i]}, rules.offer, age, drugs[i],
                                               overrides[i])
        if problems:
            said.append((fi, i, problems))
        elif person is not None:  # (one made by a row checked on its own has no id yet: its index)
            good.append((i, age, decided, person.id, person.index if person.id is None else None))
        elif created is not None:
            good.append((i, age, decided, None, created[0]))
        else:
            index = first_person + len(people["person_key"])
            made[key] = (index, birth)
            people["person_key"].append(key)
            for name in PERSON_FIELDS:
                people[name].append(v[name][i])
            good.append((i, age, decided, None, index))
    return good


def _lay_out(f: File, good: list[tuple], force: str, offences: dict, referrals: dict) -> None:
    """The good rows' offences and referrals, a column at a time."""
    rows = [i for i, *_ in good]
    person_ids, indices = [one[3] for one in good], [one[4] for one in good]
    for name in OFFENCE_COLUMNS:
        offences[name] += [f.batch[name].values[i] for i in rows]
    referred_at = f.batch["referred_at"].values
    offences["force"] += [force] * len(rows)
    offences["outcome"] += [8] * len(rows)
    offences["outcome_date"] += [referred_at[i].date() for i in rows]
    offences["age"] += [one[1] for one in good]
    offences["person_id"] += person_ids
    offences[PERSON] += indices
    referrals["force"] += [force] * len(rows)
    for name in REFERRAL_COLUMNS:
        referrals[name] += [f.batch[name].values[i] for i in rows]
    referrals["person_id"] += person_ids
    referrals[PERSON] += indices
    for name in DECIDED:
        referrals[name] += [one[2][name] for one in good]
