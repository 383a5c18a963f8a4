"""The frames kept current: loaded once, then brought up to date after each write by reading
only the records the write touched.

Every write is audited (table and row) and bumps data_version in the same transaction. When the
version has moved, the audit events since the last look name what changed: those referrals,
offences and course sessions are read again through the same joins as a full load
(divert.analytics.data.loading.build) and replace their old rows. What cannot be narrowed down (an
import, a restore, a change to stop-search or population data) is read again whole. A write
through any replica is seen by every replica on its next look, since all share the database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import date

import polars as pl
from sqlalchemy import Engine, bindparam, text

from divert.analytics.data import frame_store, loading
from divert.analytics.data.frames import (
    POPULATION_SQL,
    SESSIONS_SQL,
    STOP_SEARCH_SQL,
    Frames,
    finish,
    last_import,
    read,
)
from divert.analytics.data.loading import load_frames
from divert.records import programme_profile
from divert.storage.db import data_version, get_engine

IGNORED = {"app_user", "sign_in_throttle", "session_generation"}
BY_IMPORT_ID = {"referrals", "offences"}  # imports written in bulk: no event per row
THROUGH_REFERRAL = {"assessment", "closure", "contact_attempt"}
MOST_ROWS = 20_000  # more changed records than this: read everything again
OVERLAP = 200  # events re-read each look, in case a transaction committed out of id order
SNAPSHOTS = 2
STORE_EVERY = 1_000  # audit events after which the frame store is written again


@dataclass
class Changes:
    referrals: set[int] = field(default_factory=set)
    offences: set[int] = field(default_factory=set)
    people: set[int] = field(default_factory=set)
    sessions: set[int] = field(default_factory=set)
    everything: bool = False
    stop_search: bool = False
    population: bool = False
    programme: bool = False
    imported: bool = False
    events: int = 0  # audit events taken

    @property
    def rows(self) -> int:
        return len(self.referrals) + len(self.offences) + len(self.people) + len(self.sessions)


def latest_event(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM audit_event")).scalar() or 0)


def seen_before(engine: Engine, after: int) -> set[int]:
    """The event ids just before `after` that a load made then already includes."""
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT id FROM audit_event WHERE id > :low AND id <= :after"),
                                {"low": after - OVERLAP, "after": after}).scalars())


def changes_since(engine: Engine, after: int, seen: set[int] | None = None) -> tuple[Changes, int]:
    """What the audit events after id `after` touched, and the newest event id. Events a little
    older than `after` that are not in `seen` are taken too: on PostgreSQL a transaction can
    commit after one that took a later id. `seen` is updated with the events taken."""
    changes = Changes()
    seen = seen if seen is not None else set()
    with engine.connect() as conn:
        events = [event for event in conn.execute(
            text("SELECT id, action, table_name, row_id FROM audit_event WHERE id > :after"),
            {"after": max(after - OVERLAP, 0)}).all() if event[0] not in seen]
        seen.update(event[0] for event in events)
        changes.events = len(events)
        for old in [i for i in seen if i <= after - OVERLAP]:
            seen.discard(old)
        through: dict[str, set[int]] = {}
        imports: set[str] = set()
        for _, action, table, row_id in events:
            if table in IGNORED or action.startswith("export") or action in ("sign_in", "sign_out"):
                continue
            if action == "import":  # one event; its rows carry its import id (row_id)
                changes.imported = True
                if table == "stop-search":
                    changes.stop_search = True
                elif table == "population":
                    changes.population = True
                elif table in BY_IMPORT_ID:
                    imports.add(row_id) if row_id else setattr(changes, "everything", True)
                continue  # other kinds audit each row as well
            if table == "setting":
                changes.programme = changes.programme or row_id == "programme"
                continue
            if table == "population":
                changes.population = True
                continue
            if table == "stop_search":
                changes.stop_search = True
                continue
            number = int(row_id) if row_id is not None and str(row_id).isdigit() else None
            if number is None:
                changes.everything = True
            elif table == "referral":
                changes.referrals.add(number)
            elif table == "offence":
                changes.offences.add(number)
            elif table == "person":
                changes.people.add(number)
            elif table == "course_session":
                changes.sessions.add(number)
            elif table in THROUGH_REFERRAL or table == "booking":
                through.setdefault(table, set()).add(number)
            else:
                changes.everything = True
        for import_id in imports:
            for table, ids in (("referral", changes.referrals), ("offence", changes.offences), ("person", changes.people)):
                ids.update(conn.execute(text(f"SELECT id FROM {table} WHERE import_id = :x"), {"x": import_id}).scalars())
        if changes.everything or changes.rows + sum(map(len, through.values())) > MOST_ROWS:
            changes.everything = True
        else:
            for table, ids in through.items():
                columns = "referral_id, session_id" if table == "booking" else "referral_id, NULL"
                for referral_id, session_id in _rows(conn, f"SELECT {columns} FROM {table} WHERE id IN :ids", ids):
                    changes.referrals.add(referral_id)
                    if session_id is not None:
                        changes.sessions.add(session_id)
    newest = max((event[0] for event in events), default=after)
    return changes, max(newest, after)


def _rows(conn, sql: str, ids: set[int]) -> list:
    if not ids:
        return []
    return conn.execute(text(sql).bindparams(bindparam("ids", expanding=True)), {"ids": sorted(ids)}).all()


def reread(engine: Engine, changes: Changes) -> dict[str, pl.DataFrame]:
    """The offences, referrals and sessions rows the changes touched, built as a full load
    builds them; a record no longer there (voided) is simply absent."""
    with engine.connect() as conn:
        referrals = set(changes.referrals)
        offences = set(changes.offences)
        people = set(changes.people)
        sessions = set(changes.sessions)
        referrals |= {r for (r,) in _rows(conn, "SELECT id FROM referral WHERE offence_id IN :ids", offences)}
        referrals |= {r for (r,) in _rows(conn, "SELECT id FROM referral WHERE person_id IN :ids", people)}
        offences |= {o for (o,) in _rows(conn, "SELECT id FROM offence WHERE person_id IN :ids", people)}
        for offence_id, person_id in _rows(conn, "SELECT offence_id, person_id FROM referral WHERE id IN :ids", referrals):
            offences.add(offence_id)
            people.add(person_id)
        people |= {p for (p,) in _rows(conn, "SELECT person_id FROM offence WHERE id IN :ids", offences) if p is not None}
        sessions |= {s for (s,) in _rows(conn, "SELECT session_id FROM booking WHERE referral_id IN :ids", referrals)}
    wanted = {"person": ("id", people), "offence": ("id", offences), "referral": ("id", referrals),
              "assessment": ("referral_id", referrals), "booking": ("referral_id", referrals),
              "course_session": ("id", sessions), "closure": ("referral_id", referrals)}
    raw = {name: _subset(engine, loading.TABLES[name], *wanted[name]) for name in loading.TABLES}
    built = loading.build(raw)
    built["sessions"] = _subset(engine, SESSIONS_SQL.replace("GROUP BY", "AND s.id IN :ids\nGROUP BY"), "", sessions)
    built["offences"] = built["offences"].filter(pl.col("offence_id").is_in(sorted(offences)))
    built["referrals"] = built["referrals"].filter(pl.col("referral_id").is_in(sorted(referrals)))
    return {"ids": {"offences": offences, "referrals": referrals, "sessions": sessions}, **built}


def _subset(engine: Engine, sql: str, column: str, ids: set[int]) -> pl.DataFrame:
    if column:
        sql = f"{sql}{' AND ' if ' WHERE ' in sql else ' WHERE '}{column} IN :ids"
    return read(engine, sql, ids=sorted(ids) or [-1])


def _swap(old: pl.DataFrame, key: str, ids: set[int], new: pl.DataFrame) -> pl.DataFrame:
    """`old` with the rows of `ids` replaced by `new`. Rows only added (a new record) are
    appended without copying the rest; the pieces are joined up now and then."""
    wanted = sorted(ids)
    kept = old.filter(~pl.col(key).is_in(wanted)) if old.select(pl.col(key).is_in(wanted).any()).item() else old
    if new.is_empty():
        return kept
    added = new.select([pl.col(c).cast(old.schema[c]) for c in old.columns])
    merged = pl.concat([kept, added], how="vertical", rechunk=False)
    return merged.rechunk() if merged.n_chunks() > 64 else merged


class LiveFrames:
    """One database's frames, current as of its data_version. Safe to share between threads
    (sessions of one app process); each look costs one small query when nothing has changed."""

    def __init__(self, url: str):
        self.url = url
        self.engine = get_engine(url)
        self.frames: Frames | None = None
        self.version: int | None = None
        self.event = 0
        self.lock = threading.Lock()
        self.snapshots: dict[tuple[int, date], Frames] = {}
        self.last_refresh: dict = {}
        self.store = None  # the frame store's folder, for a database large enough to use it
        self.stored_event = 0
        self.seen: set[int] = set()  # the latest events already taken into the frames

    def current(self) -> Frames:
        version = data_version(self.engine)
        if self.frames is not None and version == self.version:
            return self.frames
        with self.lock:
            version = data_version(self.engine)
            if self.frames is None or version != self.version:
                self._bring_up_to_date(version)
            return self.frames

    def at(self, as_of: date) -> tuple[int, Frames]:
        """The frames as they stood at the end of `as_of`, with the data version they are from."""
        frames = self.current()
        key = (self.version, as_of)
        snapshot = self.snapshots.get(key)
        if snapshot is None:
            snapshot = frames.at(as_of)
            with self.lock:
                self.snapshots = {k: v for k, v in self.snapshots.items() if k[0] == self.version}
                while len(self.snapshots) >= SNAPSHOTS:
                    self.snapshots.pop(next(iter(self.snapshots)))
                self.snapshots[key] = snapshot
        return key[0], snapshot

    def _bring_up_to_date(self, version: int) -> None:
        if self.frames is None:
            self._first(version)
            return
        changes, newest = changes_since(self.engine, self.event, self.seen)
        # the version moved with no audit event to say why (a change made outside the write path):
        # read everything again. Reference data (the census) is small: it is always read again.
        changes.everything = changes.everything or not changes.events
        changes.population = True
        self.frames = self.apply(self.frames, changes)
        self.version, self.event = version, newest
        self.last_refresh = {"kind": "full" if changes.everything else "records", "rows": changes.rows}
        if self.store is not None and self.event - self.stored_event >= STORE_EVERY:
            self.stored_event = self.event
            made_at = {**frame_store.stamp(self.engine), "event": self.event, "version": version}
            frames = self.frames
            threading.Thread(target=frame_store.save, args=(self.store, frames, made_at), daemon=True).start()

    def _first(self, version: int) -> None:
        """From the frame store and the events since, when it can be trusted; else read whole."""

        self.store = frame_store.location(self.engine) if loading.columnar(self.engine) else None
        stored = frame_store.read(self.store, self.engine) if self.store else None
        if stored is None:
            self.frames, self.event = self._full(), self.stored_event
            self.version, self.last_refresh = version, {"kind": "full"}
            return
        tables, made_at = stored
        base = Frames(**tables, programme=programme_profile.current(self.engine), last_import=last_import(self.engine))
        self.seen = seen_before(self.engine, made_at["event"])
        changes, newest = changes_since(self.engine, made_at["event"], self.seen)
        changes.everything = changes.everything or (version != made_at["version"] and not changes.events)
        changes.population = True
        self.frames = self.apply(base, changes)
        self.stored_event, self.event, self.version = made_at["event"], newest, version
        self.last_refresh = {"kind": "store", "rows": changes.rows, "everything": changes.everything}

    def _full(self) -> Frames:
        """Every table read again; on a large database the worker leaves the frames in a new
        folder of the frame store, which becomes current."""
        self.snapshots = {}  # the old snapshots (and the figures kept on them) go before the new frames come
        made_at = frame_store.stamp(self.engine)
        self.stored_event = made_at["event"]
        self.seen = seen_before(self.engine, made_at["event"])
        if self.store is None:
            return load_frames(self.engine)
        folder = frame_store.new_folder(self.store)
        frames = load_frames(self.engine, folder=folder)
        frame_store.publish(self.store, folder, made_at)
        return frames

    def apply(self, frames: Frames, changes: Changes) -> Frames:

        engine = self.engine
        if changes.everything:
            return self._full()
        updates: dict = {}
        if changes.rows:
            fresh = reread(engine, changes)
            ids = fresh["ids"]
            updates["offences"] = _swap(frames.offences, "offence_id", ids["offences"], fresh["offences"])
            updates["referrals"] = _swap(frames.referrals, "referral_id", ids["referrals"], fresh["referrals"])
            updates["sessions"] = _swap(frames.sessions, "session_id", ids["sessions"], fresh["sessions"])
        if changes.stop_search:
            updates["stop_search"] = finish("stop_search", read(engine, STOP_SEARCH_SQL, loading.TEXTS["stop_search"]))
        if changes.population:
            updates["population"] = read(engine, POPULATION_SQL)
        if changes.programme:
            updates["programme"] = programme_profile.current(engine)
        if changes.imported:
            updates["last_import"] = last_import(engine)
        return replace(frames, **updates) if updates else frames
