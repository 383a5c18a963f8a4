"""Shared helpers for the data-entry forms.

- A `Form` names its widgets' keys. Widgets get their defaults through their own `value=`/
  `index=` (never by writing widget keys in session state, which the browser can override with
  its own default on the next rerun); what the user typed stays in the widgets after a refusal.
  After a successful save the form `renew`s its keys, so the next entry starts from the defaults
  (or, when correcting a record, from what is now stored).
- A form is saved in its submit button's callback (`Form.submit`), which runs before the page is
  drawn again: the page then shows each problem under its own field (`Problems.at`), a summary
  at the top, or the success notice.
- A form writes once: the same values submitted again straight after they were saved (a double
  click on Save) are not written again - see "saving once" for why that memory is kept outside
  session state.
- Times typed in the forms are UK time (Europe/London); records get them in UTC.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import polars as pl
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError
from streamlit.runtime.scriptrunner import get_script_run_ctx

from divert.core import codes
from divert.core.field_rules import Problem
from divert.core.wording import plural
from divert.readmodels import casework
from divert.records import programme_profile
from divert.records.core import Saved
from divert.reference import census
from divert.web import ui

UK = casework.UK
DATE_FORMAT = "DD/MM/YYYY"
# The date widgets take any date from these: a date outside the sensible range for its field
# reaches the records checks, which say why it is refused next to the field (a narrower widget
# range would refuse it silently in the browser).
WIDGET_EARLIEST, WIDGET_LATEST = date(1900, 1, 1), date(2099, 12, 31)
PAST_DAYS = "From 01/01/2000 to today: Divert holds nothing earlier, and it cannot be in the future."
CURRENT_REFERRAL = "referral"  # the query parameter (and key) naming the referral worked on
AREA_KEY = "divert_last_area"
QUEUE_KEY = "divert_referral_queue"
_VERBS = ("is ", "are ", "may ", "must ", "can ", "cannot ", "has ", "have ", "already ", "gives ",
          "would ", "conflicts ", "was ", "should ")


# --- values -------------------------------------------------------------------------------
def value(key: str):
    """A widget's value by key, text stripped."""
    found = st.session_state.get(key)
    return found.strip() if isinstance(found, str) else found


def uk_moment(day: date | None, clock: time | None) -> datetime | None:
    """A date and time typed in UK time, as an aware UTC moment for records."""
    if day is None:
        return None
    return datetime.combine(day, clock or time(0, 0), tzinfo=UK).astimezone(UTC)


def now_uk() -> datetime:
    return datetime.now(UK)


def time_now() -> time:
    """The current UK time to the minute: the default time of something that just happened."""
    return now_uk().time().replace(second=0, microsecond=0)


def areas() -> dict[str, str]:
    """The force's local policing areas (code -> name); empty if the force has no list."""

    return programme_profile.current(ui.engine()).area_labels


def default_area(username: str, engine) -> str | None:
    """The user's area: the last one they chose in this session, else the area of the last
    offence they recorded, else none (they choose)."""
    remembered = st.session_state.get(AREA_KEY)
    if remembered:
        return remembered
    area = casework.last_area(engine, username)
    return area if area in areas() else None


def remember_area(area: str | None) -> None:
    if area:
        st.session_state[AREA_KEY] = area


IDENTIFIER_COLUMNS = ("person_ref",)


def hide_identifiers(problems):
    """An import's problem report (polars) without the value of any person identifier: the
    identifier is never shown back, even when it is the value at fault."""
    return problems.with_columns(
        pl.when(pl.col("column").is_in(IDENTIFIER_COLUMNS)).then(pl.lit("(not shown)"))
        .otherwise(pl.col("value")).alias("value")
    )


def coded(mapping: dict, *, show_code: bool = False) -> Callable[[str], str]:
    """format_func for a select over codes: the label (with the code when it helps)."""
    return lambda code: f"{mapping[code]} ({code})" if show_code else mapping.get(code, str(code))


def index_of(options: list, chosen) -> int | None:
    """index= for a selectbox or radio: the chosen option's position, or None (empty)."""
    return options.index(chosen) if chosen in options else None


# --- problems next to their fields --------------------------------------------------------
def message(problem: Problem, label: str | None) -> str:
    """'Crime reference may contain only ...': the field's label, then the reason."""
    reason = problem.reason
    if label and reason.startswith(_VERBS):
        return f"{label} {reason}"
    return reason[0].upper() + reason[1:]


@dataclass
class Problems:
    """The problems of a form's last submission, to show each under its field and in the
    summary. `labels` maps a problem's field to the label of the widget it is shown under;
    `widgets` maps a field to the names of the widgets that hold it (default: the field's own
    name). A problem is hidden as soon as one of its widgets changes from the value submitted:
    the user is fixing it, and Save checks it again."""

    form: str
    labels: dict[str, str]
    widgets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    prefix: str = ""  # the form's widget keys start with it

    @property
    def key(self) -> str:
        return f"divert_problems_{self.form}"

    def _stored(self) -> tuple[list[Problem], dict]:
        stored = st.session_state.get(self.key)
        if isinstance(stored, tuple):
            return stored
        return (stored or [], {})

    def _changed(self, problem: Problem, submitted: dict) -> bool:
        for name in self.widgets.get(problem.field, (problem.field,)):
            key = self.prefix + name
            if key in submitted and key in st.session_state and st.session_state[key] != submitted[key]:
                return True
        return False

    @property
    def items(self) -> list[Problem]:
        """The problems still standing (their fields not changed since the submission)."""
        problems, submitted = self._stored()
        return [p for p in problems if not self._changed(p, submitted)]

    def __bool__(self) -> bool:
        return bool(self.items)

    def has(self, *fields: str) -> bool:
        return any(p.field in fields for p in self.items)

    def at(self, *fields: str) -> None:
        """Show the problems of these fields here (just under the widget)."""
        for problem in self.items:
            if problem.field in fields:
                st.error(message(problem, self.labels.get(problem.field)), icon=":material/error:")

    def summary(self) -> None:
        """At the top of the form: nothing was saved, and every problem still standing in words
        (those with a field of their own are shown next to it as well)."""
        items = self.items
        if not items:
            return
        marked = [p for p in items if p.field in self.labels]
        lines = ["**Nothing was saved.**"]
        if len(marked) == 1:
            lines.append("Please correct the problem shown next to its field below:")
        elif marked:
            lines.append(f"Please correct the {len(marked)} problems shown next to their fields below:")
        lines += [f"- {ui.plain(message(p, self.labels.get(p.field)))}" for p in marked]
        lines += [f"- {ui.plain(message(p, None))}" for p in items if p.field not in self.labels]
        st.error("\n".join(lines), icon=":material/error:")

    def set(self, problems: Iterable[Problem]) -> None:
        """Keep the problems with the form's widget values as submitted."""
        submitted = {k: v for k, v in st.session_state.items()
                     if self.prefix and isinstance(k, str) and k.startswith(self.prefix)}
        st.session_state[self.key] = (list(problems), submitted)

    def clear(self) -> None:
        st.session_state.pop(self.key, None)


# --- saving once --------------------------------------------------------------------------
# A double click on Save sends the form twice. The second rerun interrupts the first, and
# Streamlit then discards what the first run's callback put in session state - but not what it
# wrote to the database. So the last save of each form in each browser session is remembered
# here, in the process (a browser session always talks to the same process), not in session
# state.
REPEAT_WINDOW = timedelta(minutes=2)
_MAX_REMEMBERED = 10_000
_last_saves: OrderedDict[tuple[str, str], tuple[str, datetime, Saved]] = OrderedDict()
_locks: dict[str, threading.Lock] = {}
_registry_lock = threading.Lock()


def _browser_session() -> str:
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else "no-session"


def _lock(session_id: str) -> threading.Lock:
    with _registry_lock:
        if session_id not in _locks:
            if len(_locks) > _MAX_REMEMBERED:
                _locks.clear()
            _locks[session_id] = threading.Lock()
        return _locks[session_id]


def _fingerprint(form: str, values: dict) -> str:
    text = json.dumps([form, values], default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def save_once(form: str, values: dict, save: Callable[[], Saved]) -> Saved:
    """`save()`, unless the same form in the same browser session saved exactly these values
    a moment ago (then that save's result)."""
    session_id = _browser_session()
    fingerprint = _fingerprint(form, values)
    slot = (session_id, form)
    with _lock(session_id):
        last = _last_saves.get(slot)
        if last is not None and last[0] == fingerprint and now_uk() - last[1] < REPEAT_WINDOW:
            return last[2]  # a repeat of the save just made: nothing is written again
        saved = save()
        if saved.ok:
            _last_saves[slot] = (fingerprint, now_uk(), saved)
            _last_saves.move_to_end(slot)
            while len(_last_saves) > _MAX_REMEMBERED:
                _last_saves.popitem(last=False)
        else:
            _last_saves.pop(slot, None)
        return saved


def last_save(form: str) -> Saved | None:
    """The last successful save of this form in this browser session, if recent."""
    last = _last_saves.get((_browser_session(), form))
    return last[2] if last is not None and now_uk() - last[1] < REPEAT_WINDOW else None


# --- a form -------------------------------------------------------------------------------
class Form:
    """One data-entry form on a page: its widget keys, problems and success notice.

    `name` is unique on the page (add the record's id when the form edits one record)."""

    def __init__(self, name: str, labels: dict[str, str], widgets: dict[str, tuple[str, ...]] | None = None):
        self.name = name
        self.generation = st.session_state.get(self._generation_key, 0)
        self.problems = Problems(name, labels, widgets or {}, self.key(""))

    @property
    def _generation_key(self) -> str:
        return f"divert_form_{self.name}"

    @property
    def _notice_key(self) -> str:
        return f"divert_notice_{self.name}"

    def key(self, field: str) -> str:
        return f"{self.name}:{self.generation}:{field}"

    def value(self, field: str):
        return value(self.key(field))

    def form(self):
        """The form's fields, in a bordered box. Not an st.form: each change reaches the
        server, so that a problem shown under a field goes as soon as the field is changed.
        Enter does not save: a form is saved with its button (`button`)."""
        return st.container(border=True)

    def button(self, label: str, *, on_click, args=(), icon: str | None = None, primary: bool = True) -> None:
        """The form's save button (its callback saves, before the page is drawn again)."""
        st.button(label, key=self.key("save"), type="primary" if primary else "secondary", icon=icon,
                  on_click=on_click, args=args)

    def loaded(self, field: str, load: Callable[[], object]):
        """A value fixed when the form is first drawn on this visit to the page (e.g. the version
        of the record being corrected), kept until the form is renewed or the user comes back to
        the page (whose widgets then start again from what is stored)."""
        key = f"divert_loaded:{self.key(field)}"
        visit = ui.page_visit()
        stored = st.session_state.get(key)
        if stored is None or stored[0] != visit:
            stored = (visit, load())
            st.session_state[key] = stored
        return stored[1]

    def renew(self) -> None:
        """Fresh keys: the widgets start again from their defaults."""
        old = f"{self.name}:{self.generation}:"
        for key in [k for k in st.session_state if isinstance(k, str)
                    and (k.startswith(old) or k.startswith("divert_loaded:" + old))]:
            del st.session_state[key]
        st.session_state[self._generation_key] = self.generation + 1

    def submit(self, values: dict, save: Callable[[], Saved], *, success: Callable[[Saved], str],
               renew: bool = True) -> Saved:
        """Save once (call from the submit button's callback). On success keep the notice
        `success(saved)` and renew the form; on refusal keep the problems (and what was typed).

        A submission from a form already saved and renewed (the second click of a double click
        that arrives after the first save has finished) changes nothing."""
        if st.session_state.get(self._generation_key, 0) != self.generation:
            return last_save(self.name) or Saved(False)
        saved = save_once(self.name, values, save)
        if saved.ok:
            self.problems.clear()
            st.session_state[self._notice_key] = success(saved)
            if renew:
                self.renew()
        else:
            st.session_state.pop(self._notice_key, None)
            self.problems.set(saved.problems)
        return saved

    def refuse(self, problems: list[Problem]) -> None:
        """Refuse a submission before it reaches records (e.g. an unconfirmed cancellation)."""
        st.session_state.pop(self._notice_key, None)
        self.problems.set(problems)

    def clear(self) -> None:
        self.problems.clear()
        st.session_state.pop(self._notice_key, None)

    @property
    def notice(self) -> str | None:
        return st.session_state.get(self._notice_key)

    def show_notice(self) -> bool:
        """The last successful save's message, if any."""
        if self.notice:
            st.success(self.notice, icon=":material/check_circle:")
        return bool(self.notice)


def saved_notes(saved: Saved) -> str:
    """Records' notes (e.g. 'counted as a repeat diversion') as a sentence, or ''."""
    if not saved.notes:
        return ""
    text = "; ".join(saved.notes)
    return " Note: " + text[0].upper() + text[1:] + "."


# --- the referral worked on, and moving between pages -------------------------------------
def link(page: str, label: str, *, icon: str | None = None, referral: str | None = None) -> None:
    """A link to another page (with the referral to work on). A page run on its own, outside
    the app's navigation, says where to go instead."""
    params = {CURRENT_REFERRAL: referral} if referral else None
    try:
        st.page_link(page, label=label, icon=icon, query_params=params)
    except StreamlitPageNotFoundError:
        st.caption(f"{label}: open it from the menu.")


def referral_to_work_on(engine, reference: str | None, hint: str) -> dict:
    """The chosen referral's details, with its header shown; otherwise a plain message and the
    page stops (nothing chosen yet, or no such referral)."""
    if not reference:
        st.info(hint)
        st.stop()
    detail = casework.referral_detail(engine, reference)
    if detail is None:
        st.warning("No referral with that reference is recorded. Check the reference, or search on Find a referral.")
        st.text(f"Reference given: {reference}")
        st.stop()
    referral_header(detail)
    if detail["void"] is not None:
        st.warning(f"This referral is void (entered by mistake): {ui.plain(detail['void']['reason'])}. Nothing can "
                   "be recorded against it; see it on Find a referral.", icon=":material/block:")
        st.stop()
    return detail


def referral_chooser(queue, queue_label: str, *, empty: str, waiting: str = "waiting") -> str | None:
    """The referral to work on: typed, or picked from a work queue (a casework frame with
    Referral, a date column second, and Days waiting). Kept in the address (?referral=...) so
    that a link from another page opens it."""

    def pick() -> None:
        chosen = st.session_state.get(QUEUE_KEY)
        if chosen:
            st.session_state[CURRENT_REFERRAL] = chosen
        st.session_state[QUEUE_KEY] = None

    left, right = st.columns(2)
    with left:
        st.text_input(
            "Referral reference", key=CURRENT_REFERRAL, bind="query-params", max_chars=40,
            placeholder="e.g. DIV-000123", help="Type the reference and press Enter, or choose from the list.",
        )
    with right:
        if queue.height:
            date_column = queue.columns[1]
            shown = {
                row["Referral"]: f"{row['Referral']} - {plural(row['Days waiting'], 'day')} ({str(row[date_column])[:10]})"
                for row in queue.iter_rows(named=True)
            }
            st.selectbox(queue_label, list(shown), index=None, key=QUEUE_KEY, on_change=pick,
                         format_func=shown.get, placeholder=f"{len(shown):,} {waiting} - longest waiting first")
        else:
            st.caption(empty)
    return value(CURRENT_REFERRAL) or None


def referral_header(detail: dict) -> None:
    """One line about the referral being worked on (no identifier of the person)."""
    offence = detail["offence"]
    st.markdown(
        f"**{ui.plain(detail['reference'])}** · referred {casework.show_moment(detail['referred_at'])} · "
        f"{census.area_label(offence['area'])} · {codes.DRUGS.get(offence['drug'], offence['drug'])} · "
        f"**{detail['stage']}**"
    )
