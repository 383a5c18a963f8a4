"""The app process's side of `divert bench`, run as `python -m divert.bench.pages` (so that its
peak memory is the app's alone): the first load, every dashboard page through the real page code
(Streamlit's AppTest, signed in as a manager), writes through the write path with the dashboards
cached, the refresh that follows each write, and a validated import.

For each page, "data" is the time the page spends in its calls into the analytics (DataTimer;
drawing the charts is timed too, and reported beside, as page_first_s and page_warm_s):
- first_s: its first run once the frames are loaded (as-of snapshot and figures not yet made);
- warm_s: the median of three later runs (what a user waits for on each click: the look at
  the data version, the snapshot and the figures kept on it);
- floor_s: the same calls on frames handed over from memory with nothing kept, each run
  working every figure out again in polars (also the median of three runs; `divert bench
  --repeat N` makes it N runs for both, 1 for a quick smoke run);
- pandas_s: the common approach: `pandas.read_sql` of the whole tables the page needs, then
  pandas groupbys for its main figures (see PANDAS).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os
import pkgutil
import secrets
import statistics
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta

from divert.bench.served import peak_mb
from divert.core import clock
from divert.records.referrals import add_referral

PAGES = {
    "overview": "pages/overview.py", "volume": "pages/volume.py", "pathway": "pages/pathway.py",
    "outcomes": "pages/outcomes.py", "disparity": "pages/disparity.py", "reoffending": "pages/reoffending.py",
    "impact": "pages/impact.py", "watch": "pages/watch.py", "capacity": "pages/capacity.py",
    "forecast": "pages/forecast.py",
}
BENCH_USER = "bench-manager"
WRITES = 20


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# --- the common approach: whole tables into pandas, then groupby ---------------------------------
def _when(series):
    """Dates and times as pandas reads them from either database (text on SQLite, aware on
    PostgreSQL), as naive UTC."""
    import pandas as pd

    return pd.to_datetime(series, utc=True, format="mixed").dt.tz_localize(None)


def _month(series):
    return _when(series).dt.to_period("M")


def _p_volume(t):
    return t["offence"].groupby([_month(t["offence"]["offence_date"]), "area"]).size(), \
        t["referral"].groupby(_month(t["referral"]["referred_at"])).size()


def _p_pathway(t):
    merged = t["referral"].merge(t["assessment"], left_on="id", right_on="referral_id", how="left", suffixes=("", "_a")) \
        .merge(t["closure"], left_on="id", right_on="referral_id", how="left", suffixes=("", "_c"))
    merged["month"] = _month(merged["referred_at"])
    return merged.groupby("month").agg(referred=("id", "size"), assessed=("completed_at", "count"),
                                       closed=("closed_on", "count"))


def _p_outcomes(t):
    offences = t["offence"].copy()
    offences["half"] = _when(offences["offence_date"]).dt.to_period("Q")
    return offences.groupby(["half", "outcome"]).size()


def _p_people(t):
    return t["offence"].merge(t["person"], left_on="person_id", right_on="id", how="left", suffixes=("", "_p"))


def _p_disparity(t):
    searches = t["stop_search"].groupby(["ethnicity_officer", _month(t["stop_search"]["searched_at"])]).size()
    people = _p_people(t).groupby(["ethnicity_self", "outcome"]).size()
    population = t["population"].groupby(["ethnicity"])["count"].sum()
    return searches, people, population


def _p_watch(t):
    people = _p_people(t)
    people["formal"] = people["outcome"].isin([1, 3])
    return people.groupby([_month(people["offence_date"]), "ethnicity_self"])["formal"].agg(["sum", "size"])


def _p_impact(t):
    return _p_watch(t), t["stop_search"].groupby(["force", _month(t["stop_search"]["searched_at"])]).size()


def _p_reoffending(t):
    offences = t["offence"][["person_id", "offence_date"]].dropna()
    referrals = t["referral"][["person_id", "referred_at"]]
    joined = referrals.merge(offences, on="person_id")
    later = joined[_when(joined["offence_date"]) > _when(joined["referred_at"])]
    return later.groupby("person_id").size()


def _p_capacity(t):
    booked = t["booking"].merge(t["course_session"], left_on="session_id", right_on="id", suffixes=("", "_s"))
    booked["week"] = _when(booked["starts_at"]).dt.to_period("W")
    return booked.groupby(["week", "status"]).size()


def _p_forecast(t):
    return t["referral"].groupby(_when(t["referral"]["referred_at"]).dt.to_period("W")).size()


def _p_overview(t):
    return _p_volume(t), _p_pathway(t)


PANDAS = {
    "overview": (("offence", "referral", "assessment", "closure"), _p_overview),
    "volume": (("offence", "referral"), _p_volume),
    "pathway": (("referral", "assessment", "closure"), _p_pathway),
    "outcomes": (("offence",), _p_outcomes),
    "disparity": (("stop_search", "offence", "person", "population"), _p_disparity),
    "reoffending": (("referral", "offence"), _p_reoffending),
    "impact": (("offence", "person", "stop_search"), _p_impact),
    "watch": (("offence", "person"), _p_watch),
    "capacity": (("booking", "course_session"), _p_capacity),
    "forecast": (("referral",), _p_forecast),
}


def pandas_times(url: str, report) -> dict[str, float]:
    """Each page's read_sql of the whole tables it needs plus its groupbys. Each table is read
    once and its read time counted for every page that needs it (every page view reads again
    in the common approach)."""
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(url)
    tables, read_s = {}, {}
    for table in sorted({t for needed, _ in PANDAS.values() for t in needed}):
        started = time.perf_counter()
        tables[table] = pd.read_sql(f"SELECT * FROM {table}", engine)
        read_s[table] = time.perf_counter() - started
        report(f"  pandas read_sql {table:<15} {read_s[table]:7.2f} s ({len(tables[table]):,} rows)")
    engine.dispose()
    times = {}
    for page, (needed, fn) in PANDAS.items():
        times[page] = sum(read_s[t] for t in needed) + _timed(lambda fn=fn: fn(tables))
    return times


class DataTimer:
    """The time a page spends getting its data: every call the page makes into the analytics
    and its read models (every module of divert.analytics and divert.readmodels, subpackages
    included), the dashboard's frames and the planning inputs, counted once at the outermost
    call; drawing the charts is left out."""

    def __init__(self):
        self.local = threading.local()
        self.spent = 0.0

    def wrap(self, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if getattr(self.local, "inside", False):
                return fn(*args, **kwargs)
            self.local.inside = True
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - started
                self.local.inside = False

        return timed

    def install(self) -> None:
        import divert.analytics
        import divert.readmodels
        from divert.web import dashboard, scenarios

        modules = [importlib.import_module(m.name) for package in (divert.analytics, divert.readmodels)
                   for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
        for module in modules:
            for name, value in list(vars(module).items()):
                if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_"):
                    setattr(module, name, self.wrap(value))
        dashboard.frames = self.wrap(dashboard.frames)
        scenarios.planning_inputs = self.wrap(scenarios.planning_inputs)

    def run(self, fn) -> tuple[float, float]:
        """(whole run, data) seconds of one page run."""
        self.spent = 0.0
        whole = _timed(fn)
        return whole, self.spent


# --- the app's own path --------------------------------------------------------------------------
def _manager(engine) -> str:
    from divert.auth.accounts import add_user

    password = secrets.token_urlsafe(24)
    saved = add_user({"username": f"{BENCH_USER}-{secrets.token_hex(3)}", "role": "manager", "password": password},
                     "bench", engine=engine)
    if not saved.ok:
        raise RuntimeError(f"Could not add the bench account: {saved.problems}")
    with engine.connect() as conn:
        from sqlalchemy import text

        name = conn.execute(text("SELECT username FROM app_user WHERE id = :id"), {"id": saved.row_id}).scalar()
    return name, password


def _disable(engine, username: str) -> None:
    """The bench account is switched off when the bench ends (its password was never shown)."""
    from divert.auth.accounts import set_user_active

    set_user_active(username, False, "bench", engine=engine)


def _navigation_only() -> None:
    """As on the server: the legacy `pages/` folder mode off (see tests/conftest.py)."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init


def page_times(url: str, report, repeat: int = 3) -> dict:
    from streamlit.testing.v1 import AppTest

    from divert.core.environment import PROJECT_DIR
    from divert.storage.db import get_engine
    from divert.web import dashboard

    os.environ["DIVERT_DATABASE_URL"] = url
    engine = get_engine(url)
    username, password = _manager(engine)
    app = str(PROJECT_DIR / "app.py")
    _navigation_only()
    try:
        live = dashboard.live()
        first_load = _timed(live.current)
        report(f"  first load (frames as the app process starts) {first_load:7.2f} s ({live.last_refresh}); "
               f"peak memory so far {peak_mb():,.0f} MB")
        at = AppTest.from_file(app, default_timeout=900)
        at.run()
        next(t for t in at.text_input if t.label == "Username").input(username)
        next(t for t in at.text_input if t.label == "Password").input(password)
        next(b for b in at.button if b.label == "Sign in").click().run()
        if at.exception:
            raise RuntimeError(f"sign-in failed: {at.exception}")
        timer = DataTimer()
        timer.install()
        pages = {}
        for name, file in PAGES.items():
            first_page, first = timer.run(lambda file=file: at.switch_page(file).run())
            if at.exception:
                raise RuntimeError(f"{name}: {at.exception}")
            runs = [timer.run(at.run) for _ in range(repeat)]
            pages[name] = {"first_s": first, "warm_s": statistics.median(r[1] for r in runs),
                           "page_first_s": first_page, "page_warm_s": statistics.median(r[0] for r in runs)}
            report(f"  page {name:<12} data first {first:6.2f} s  warm {pages[name]['warm_s']:6.3f} s   "
                   f"(whole page with charts: first {first_page:6.2f} s, warm {pages[name]['page_warm_s']:6.2f} s)")
        report(f"  peak memory after every page {peak_mb():,.0f} MB")
        # the floor: the same pages' figures worked out from frames already in memory, every time
        version, snapshot = live.at(clock.today())
        frames = live.current()

        class InMemory:
            def __init__(self):
                self.frames = frames

            def current(self):
                return frames

            def at(self, as_of):
                return version, replace(snapshot)  # a copy without the figures kept on the snapshot

        real = dashboard._live
        dashboard._live = lambda url: InMemory()
        try:
            for name, file in PAGES.items():
                at.switch_page(file).run()
                pages[name]["floor_s"] = statistics.median(timer.run(at.run)[1] for _ in range(repeat))
        finally:
            dashboard._live = real
        report(f"  peak memory after the floor runs {peak_mb():,.0f} MB")
        writes, refreshes = write_times(engine, live)
        return {"load_first_s": first_load, "store": live.last_refresh, "pages": pages, "writes": writes,
                "refreshes": refreshes}
    finally:
        _disable(engine, username)


def bench_referral(area: str, stamp: str, n: int) -> dict:
    """The values of the bench's `n`th referral in a run marked `stamp`: recorded now (UK time,
    `n` minutes ago), in `area`, for a made-up person of its own."""
    from divert.reference.programme import TIME_ZONE

    when = datetime.now(TIME_ZONE).replace(microsecond=0, tzinfo=None) - timedelta(minutes=n)
    return {"reference": f"BENCH-{stamp}-{n}", "crime_ref": f"BENCH/{stamp}/{n}", "offence_date": when.date().isoformat(),
            "referred_at": when.strftime("%Y-%m-%d %H:%M"), "area": area,
            "drug": "CAN", "source": "stop_search", "person_ref": f"BENCH PERSON {stamp} {n}", "sex": "M",
            "birth_year": "1995", "ethnicity_self": "W1", "ethnicity_officer": "IC1"}


def record_bench_referral(engine, area: str | None = None) -> dict:
    """One referral recorded through the write path (audited as `bench`, the data version
    bumped), in `area` or the programme's first area; returns its values."""
    if area is None:
        from divert.records import programme_profile

        areas = programme_profile.current(engine).areas
        area = areas[0][0] if areas else "E08000025"
    values = bench_referral(area, secrets.token_hex(3).upper(), 0)
    saved = add_referral(values, "bench", engine=engine)
    if not saved.ok:
        raise RuntimeError(f"The bench referral was refused: {saved.problems}")
    return values


def write_times(engine, live) -> tuple[list[float], list[float]]:
    """Referrals recorded through the write path with the dashboards cached; after each, the time
    until the dashboards' frames include it."""
    programme = live.current().programme
    area = programme.areas[0][0] if programme.areas else "E08000025"
    writes, refreshes = [], []
    stamp = secrets.token_hex(3).upper()
    for n in range(WRITES):
        values = bench_referral(area, stamp, n)
        started = time.perf_counter()
        saved = add_referral(values, "bench", engine=engine)
        writes.append(time.perf_counter() - started)
        if not saved.ok:
            raise RuntimeError(f"The bench referral was refused: {saved.problems}")
        started = time.perf_counter()
        frames = live.current()
        refreshes.append(time.perf_counter() - started)
        if frames.referrals.filter(frames.referrals["reference"] == values["reference"]).is_empty():
            raise RuntimeError("The dashboards did not show the new referral after the refresh")
    return writes, refreshes


def main() -> None:
    order = json.loads(sys.stdin.read())
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    out = page_times(order["url"], say, order.get("repeat", 3))
    if order.get("import_rows"):
        from divert.bench.imports import measure_import, rate
        from divert.storage.db import get_engine

        out["import"] = measure_import(get_engine(order["url"]), order["import_rows"])
        say(f"  import {out['import']['rows']:,} referrals: {rate(out['import'])}")
    out["peak_mb"] = peak_mb()
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
