"""`divert demo`: generate the demo and load it in one transaction, then add demo users."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from divert.core import codes
from divert.core.clock import today
from divert.demo import dates as C
from divert.demo import parameters as P
from divert.demo import tables
from divert.records import programme_profile
from divert.reference import programme
from divert.reference.census import census_2011_frame
from divert.reference.census2021 import reference_frame
from divert.storage import audit_chain, bulk
from divert.storage.db import analyze, bump_data_version
from divert.storage.models import AuditEvent, Population, Setting, User

DEMO_KEY = "demo"
ACTOR = "demo"
Progress = Callable[[str, float], None]
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # nothing to misread


class DemoExists(Exception):
    """The database already holds the demo."""


class RealUsers(Exception):
    """The database already has real (not demonstration) accounts: demo data would mix with
    real records, and its demo administrator could sign in beside real users."""


def _check_no_real_users(conn, allow_users: tuple[str, ...]) -> None:
    allowed = [name.lower() for name in allow_users]
    query = select(User.username).where(User.demo.is_(False))
    real = [name for name in conn.execute(query).scalars() if name.lower() not in allowed]
    if real:
        raise RealUsers(
            f"This database already has {len(real)} real user account(s). Demo data is synthetic and "
            "would mix with real records: load it into a new, empty database instead (point --db or "
            "DIVERT_DATABASE_URL at one and run `divert demo` there)."
        )


def _exists_message(value: str | None) -> str:
    try:
        info = json.loads(value or "{}")
    except ValueError:
        info = {}
    loaded = f" (seed {info.get('seed')}, scale {info.get('scale')}, loaded {info.get('loaded_at')})" if info else ""
    return (
        f"Demo data is already loaded in this database{loaded}. To load it again, point --db "
        "(or DIVERT_DATABASE_URL) at a new, empty database and run `divert demo` there."
    )


def _check_not_loaded(conn) -> None:
    value = conn.execute(select(Setting.value).where(Setting.key == DEMO_KEY)).scalar()
    if value is not None:
        raise DemoExists(_exists_message(value))


def _with_offsets(table: str, frame: pl.DataFrame, offsets: dict[str, int]) -> pl.DataFrame:
    """Shift the 1-based ids (and the foreign keys that point at them) past existing rows."""
    changes = [pl.col("id") + offsets[table]] if offsets[table] else []
    for (child, column), parent in tables.FOREIGN_KEYS.items():
        if child == table and offsets[parent]:
            changes.append(pl.col(column) + offsets[parent])
    return frame.with_columns(changes) if changes else frame


def _add_users(engine: Engine) -> list[dict]:
    from divert.auth.accounts import add_user

    logins = []
    with engine.connect() as conn:
        taken = {name.lower() for name in conn.execute(select(User.username)).scalars()}
    for role in codes.ROLES:
        username, n = f"demo.{role}", 1
        while username in taken:
            n += 1
            username = f"demo.{role}{n}"
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))  # new each load
        values = {
            "username": username,
            "display_name": f"Demo {codes.ROLES[role]}",
            "role": role,
            "password": password,
        }
        saved = add_user(values, ACTOR, engine=engine, demo=True)
        if not saved.ok:
            raise RuntimeError(f"could not add demo user {username}: {saved.problems}")
        logins.append({"role": role, "username": username, "password": password})
    return logins


def scene_for(profile: programme.Programme, end: date) -> C.Scene:
    """The demo's scene for a programme profile, up to `end`."""
    if end <= profile.launch:
        raise ValueError(f"the demo needs an end date after the launch ({profile.launch:%d %B %Y})")
    codes_, names = zip(*profile.areas, strict=True) if profile.areas else ((), ())
    force_total = census_2011_frame(profile.force).filter(
        (pl.col("geography_level") == "force") & (pl.col("ethnicity") == "All"))["count"].sum()
    return C.Scene(force=profile.force, launch=profile.launch, end=end, areas=tuple(codes_), area_names=tuple(names),
                   diversion_outcome=profile.diversion_outcome,
                   population_factor=force_total / P.REFERENCE_POPULATION if force_total else 1.0)


def _write_tables(conn, frames: dict, done) -> None:
    """Write the generated tables in order, their ids after those already in the database; each
    frame is freed once written."""
    offsets = {table: bulk.max_id(conn, table) for table in tables.TABLE_ORDER}
    with bulk.bulk_cache(conn):
        for table in tables.TABLE_ORDER:
            frame = _with_offsets(table, frames.pop(table), offsets)
            done(0, table)
            bulk.insert_frame(conn, table, frame, lambda rows, t=table: done(rows, t))
            bulk.reset_sequence(conn, table)
            del frame


def _audit_load(conn, loaded_at: datetime, marker: dict) -> None:
    """The load's one audit row (its marker), and data_version bumped."""
    with Session(bind=conn) as session:
        audit_chain.seal(session, AuditEvent(at=loaded_at, username=ACTOR, action="demo_load", table_name="*",
                                             after=json.dumps(marker, sort_keys=True)))
        bump_data_version(session)
        session.flush()


def load_demo(engine: Engine, seed: int = 2020, scale: float = 1.0, progress: Progress | None = None,
              as_of: date | None = None, allow_users: tuple[str, ...] = ()) -> dict:
    """Generate the demo for the programme profile's force (its areas, census population and
    launch date, and its diversion outcome), `seed` and `scale` (1 = a West Midlands-sized
    force; others scale with their population), with records up to `as_of` (default:
    yesterday, so a demo loaded on any day looks current; course sessions are scheduled into
    the weeks after it) and load it; add one demo user per role.

    Returns {"counts": {table: rows}, "logins": [{"role", "username", "password"}]}.
    Raises DemoExists when the database already holds the demo, and RealUsers when it has real
    accounts other than `allow_users` (the administrator first-run setup has just made); nothing
    is written then."""
    if not scale > 0:
        raise ValueError("scale must be greater than 0")
    say = progress or (lambda step, fraction: None)
    with engine.connect() as conn:
        _check_not_loaded(conn)
        _check_no_real_users(conn, allow_users)
    end = as_of or (today() - timedelta(days=1))
    scene = scene_for(programme_profile.current(engine), end)
    frames = tables.build(seed, scale, lambda step, f: say(step, 0.35 * f), scene=scene)
    census = reference_frame()  # every census row, as `divert init` loads them
    total = sum(f.height for f in frames.values())
    written = 0

    def done(rows: int, table: str) -> None:
        nonlocal written
        written += rows
        say(f"writing {table}", 0.35 + 0.6 * written / max(total, 1))

    loaded_at = datetime.now(UTC)
    counts = {table: frames[table].height for table in tables.TABLE_ORDER}
    try:
        with engine.execution_options(write_lock=True).connect() as conn, conn.begin():
            _check_not_loaded(conn)
            _check_no_real_users(conn, allow_users)
            has_census = conn.execute(
                select(func.count()).select_from(Population).where(Population.census_year.in_([2011, 2021]))
            ).scalar_one()
            counts["population"] = 0 if has_census else census.height
            counts["app_user"] = len(codes.ROLES)
            marker = {
                "seed": seed,
                "scale": scale,
                "loaded_at": loaded_at.isoformat(),
                "counts": counts,
                "end_date": end.isoformat(),
            }
            # the marker first: a second, concurrent load fails on its key and writes nothing
            conn.execute(insert(Setting).values(key=DEMO_KEY, value=json.dumps(marker)))
            _write_tables(conn, frames, done)
            if not has_census:
                conn.execute(insert(Population), census.to_dicts())
            _audit_load(conn, loaded_at, marker)
            say("saving", 0.95)
    except IntegrityError as error:
        with engine.connect() as conn:
            value = conn.execute(select(Setting.value).where(Setting.key == DEMO_KEY)).scalar()
        if value is not None:
            raise DemoExists(_exists_message(value)) from error
        raise
    analyze(engine)  # PostgreSQL: planner statistics for the rows just loaded
    say("demo users", 0.97)
    logins = _add_users(engine)
    say("done", 1.0)
    return {"counts": counts, "logins": logins}
