"""Settings an administrator changes in the app, kept in the database (table `setting`).

Each setting is typed, has a default and an allowed range; a missing or unreadable stored value
reads as the default. Reads and writes go through divert.records.get_setting/set_setting, so
every change is audited and bumps data_version.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from sqlalchemy import select

from divert.core.field_rules import Problem
from divert.records.core import Saved, get_setting, set_setting
from divert.storage.db import session_scope
from divert.storage.models import Person, Setting, User


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    help: str
    kind: type  # int or float
    low: float
    high: float
    step: float = 1
    group: str = "Dashboards"


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "small_number_threshold", "Small-number threshold",
        "Counts up to one less than this are shown as * in anything published (8 suppresses 1-7; "
        "the viewer's dashboards hide 0 too, the public release shows it).", int, 2, 20,
    ),
    SettingSpec(
        "target_days_to_assessment", "Target: working days from referral to assessment",
        "Service target for the telephone assessment and harm-reduction session.", int, 1, 60,
        group="Service targets",
    ),
    SettingSpec(
        "target_days_to_course", "Target: days from assessment to course",
        "Service target for attending the group course after allocation.", int, 1, 180,
        group="Service targets",
    ),
    SettingSpec(
        "session_expiry_hours", "Sign-in lasts (hours)",
        "After this long a user must sign in again. Applies to sign-ins from now on.",
        float, 0.25, 24, 0.25, group="Sign-in",
    ),
    SettingSpec(
        "lockout_attempts", "Wrong passwords before lockout",
        "This many wrong passwords in a row lock the account.", int, 3, 20, group="Sign-in",
    ),
    SettingSpec(
        "lockout_minutes", "Lockout lasts (minutes)",
        "How long a locked account stays locked (an administrator can unlock it sooner by "
        "resetting its password or unlocking it).", int, 1, 1440, group="Sign-in",
    ),
)
SPEC_BY_KEY = {spec.key: spec for spec in SPECS}


@dataclass(frozen=True)
class AppSettings:
    small_number_threshold: int = 8
    officer_hours_per_referral: float = 4.0
    target_days_to_assessment: int = 10
    target_days_to_course: int = 28
    session_expiry_hours: float = 8.0
    lockout_attempts: int = 5
    lockout_minutes: int = 15


DEFAULTS = AppSettings()


def _parse(spec: SettingSpec, value) -> tuple[int | float | None, str | None]:
    """The value as the setting's type, or the reason it is not acceptable."""
    if isinstance(value, bool) or value is None:
        return None, "is required" if value is None else "must be a number"
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except ValueError:
        return None, "must be a number"
    if number != number:  # NaN
        return None, "must be a number"
    if spec.kind is int:
        if number != int(number):
            return None, "must be a whole number"
        number = int(number)
    if not spec.low <= number <= spec.high:
        return None, f"must be between {spec.low:g} and {spec.high:g}"
    return number, None


def load(engine=None) -> AppSettings:
    """All settings in one read; anything missing or unreadable is its default."""
    values = {}
    with session_scope(engine) as s:
        for spec in SPECS:
            try:
                stored = get_setting(s, spec.key, None)
            except ValueError:  # not JSON
                stored = None
            if stored is not None:
                parsed, problem = _parse(spec, stored)
                if problem is None:
                    values[spec.key] = parsed
    return replace(DEFAULTS, **values)


def get(key: str, engine=None):
    return getattr(load(engine), key)


def save(values: dict, user: str, *, engine=None) -> Saved:
    """Check every value first; write only the ones that changed (nothing if any is wrong)."""
    problems = []
    parsed = {}
    for key, value in values.items():
        spec = SPEC_BY_KEY.get(key)
        if spec is None:
            problems.append(Problem(key, value, "is not a setting"))
            continue
        number, problem = _parse(spec, value)
        if problem:
            problems.append(Problem(key, value, problem))
        else:
            parsed[key] = number
    if problems:
        return Saved(False, problems=problems)
    current = load(engine)
    changed = {key: value for key, value in parsed.items() if getattr(current, key) != value}
    for key, value in changed.items():
        saved = set_setting(key, value, user, engine=engine)
        if not saved.ok:
            return saved
    return Saved(True, change="updated" if changed else "unchanged", notes=sorted(changed))


def setting_names() -> list[str]:
    return [f.name for f in fields(AppSettings)]


def demo_data_loaded(engine=None) -> bool:
    """Whether synthetic demonstration data or demo accounts are in the database."""
    with session_scope(engine) as s:
        if s.execute(select(Setting.key).where(Setting.key.like("demo%")).limit(1)).first():
            return True
        for model in (Person, User):
            if s.execute(select(model.id).where(model.demo.is_(True)).limit(1)).first():
                return True
    return False
