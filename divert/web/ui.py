"""Shared page helpers: the page header, the demo-data banner, role checks, problem lists.

Pages are thin: they call these helpers and the divert modules, never the database.
"""

from __future__ import annotations

import re

import polars as pl
import streamlit as st

from divert.core.environment import database_url
from divert.core.lookup import each_value
from divert.records import stored_settings
from divert.storage.db import data_version, get_engine, upgrade
from divert.web.access import USER_KEY, SignedIn, request_sign_out

APP_NAME = "Divert"


def engine():
    return get_engine(database_url())


@st.cache_resource(show_spinner="Preparing the database...")
def ensure_schema(url: str) -> bool:
    """Create or upgrade the schema once per process and database, and load the shipped census
    denominators into an empty population table (as `divert init` does)."""
    from divert.records.census_rows import ensure_population

    upgrade(url)
    ensure_population(get_engine(url), "system")
    return True


_STYLE = """
<style>
  [data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
  /* contrast of at least 4.5:1 (WCAG AA) for small text. Streamlit draws captions in the text
     colour at 60% opacity (#767c83 on white: 4.2:1) and chart axis and legend labels in its
     grey70 (#808495: 3.7:1), which no theme option sets: #58606B at full opacity is 6.4:1 on
     white and 5.5:1 on the sidebar's #EAF0F6. */
  div[data-testid="stCaptionContainer"] { color: #58606B; opacity: 1; }
  [data-testid="stVegaLiteChart"] :is(.role-axis-label, .role-axis-title, .role-legend-label,
    .role-legend-title) text { fill: #58606B; }
  /* print: A4 pages of the main area only, no chart or headline card split across two pages */
  @media print {
    @page { size: A4 portrait; margin: 14mm 12mm; }
    [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
    [data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
    [data-testid="stDownloadButton"], [data-testid="stBottom"] { display: none !important; }
    html, body, [data-testid="stApp"], [data-testid="stAppViewContainer"], [data-testid="stMain"] {
      height: auto !important; overflow: visible !important; position: static !important; }
    [data-testid="stMain"] { margin-left: 0 !important; }
    [data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0 !important; }
    [data-testid="stVegaLiteChart"], [data-testid="stMetric"], [data-testid="stDataFrame"], .stTabs,
    [data-testid="stVerticalBlockBorderWrapper"], [data-testid="stAlert"] {
      break-inside: avoid !important; page-break-inside: avoid !important; }
    h1, h2, h3, [data-testid="stCaptionContainer"] { break-after: avoid !important; page-break-after: avoid !important; }
  }
</style>
"""


def style() -> None:
    """Small layout adjustments on top of the theme in .streamlit/config.toml, and the print
    stylesheet (A4, no sidebar, no chart split across pages)."""
    st.html(_STYLE)


def leave_legacy_pages_mode() -> None:
    """Streamlit starts each fresh server process in its legacy mode for a `pages/` folder and
    leaves it only when app.py first calls st.navigation. In that first run a page file can run
    on its own (opened by its address), and the first form submitted in it is lost. Leave the
    legacy mode at once and start the run again, as app.py's own navigation."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a later Streamlit without the legacy mode
        return
    if getattr(PagesManager, "uses_pages_directory", None):
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_user() -> SignedIn | None:
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, SignedIn) else None


def page_visit() -> int:
    """A number that changes each time the user comes to a page from another one (every page
    calls require_role, which counts it)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    page = getattr(ctx, "page_script_hash", "") if ctx is not None else ""
    state = st.session_state
    if state.get("divert_page") != page:
        state["divert_page"] = page
        state["divert_visit"] = state.get("divert_visit", 0) + 1
    return state.get("divert_visit", 0)


def require_role(*roles: str, allow_password_change: bool = False) -> SignedIn:
    """Stop the page with a plain message unless the signed-in user has one of `roles`."""
    page_visit()
    user = current_user()
    if user is None:
        leave_legacy_pages_mode()
        st.info("Please sign in to see this page.")
        st.stop()
    if user.must_change_password and not allow_password_change:
        st.warning("Choose a new password on the My account page before going on.")
        st.stop()
    if user.role not in roles:
        st.warning(
            f"This page is not available to your role: {user.role_label}. "
            "Use the menu to find the pages you can open.",
            icon=":material/block:",
        )
        st.stop()
    return user


@st.cache_data(ttl=600, show_spinner=False)
def _demo_loaded(url: str, version: int) -> bool:
    return stored_settings.demo_data_loaded(get_engine(url))


def demo_banner() -> None:
    url = database_url()
    if _demo_loaded(url, data_version(get_engine(url))):
        st.warning(
            "**Demonstration data.** Every referral, person and figure here is synthetic, made up "
            "for trying Divert out. Do not use it for decisions or publication.",
            icon=":material/science:",
        )


def header(user: SignedIn) -> None:
    """The strip above every page: the app's name and who is signed in, with what role."""
    st.markdown(
        "<div style='display:flex;justify-content:space-between;flex-wrap:wrap;gap:0.5rem'>"
        f"<span><b>{APP_NAME}</b> · police drug-diversion programme</span>"
        f"<span title='Username: {_escape(user.username)}'>Signed in as "
        f"<b>{_escape(user.display_name)}</b> · {_escape(user.role_label)}</span></div>",
        unsafe_allow_html=True,
    )
    demo_banner()


def sidebar(user: SignedIn) -> None:
    with st.sidebar:
        st.caption(f"{plain(user.display_name)} · {user.role_label}")
        st.button("Sign out", icon=":material/logout:", on_click=request_sign_out, key="sign_out")


def _escape(text: str) -> str:
    return (
        str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#39;")
    )


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()|<>~$:=^&\"'])")
_LINE_START = re.compile(r"^([#+\-!]|\d+(?=[.)]))")  # a heading or list marker at the start


def plain(value) -> str:
    """A stored or typed value made safe to put inside Markdown: every character that Markdown
    (or Streamlit's :colour[...] and :icon: directives) would read is escaped, and line breaks
    become spaces, so a value is always shown as the text it is."""
    text = _MARKDOWN.sub(r"\\\1", " ".join(str(value).split()))
    text = re.sub(r"^(\d+)([.)])", r"\1\\\2", text) if text[:1].isdigit() else _LINE_START.sub(r"\\\1", text)
    # web and e-mail addresses would still become links: a zero-width space breaks them
    return text.replace("\\:/", "\\:\u200b/").replace("www\\.", "www\u200b\\.").replace("@", "\u200b@")


def show_problems(problems, intro: str = "Nothing was saved:") -> None:
    """A form's problems as one plain list (never a traceback)."""
    lines = "\n".join(f"- **{_label(p.field)}** {plain(p.reason)}" for p in problems)
    st.error(f"{intro}\n{lines}")


def _label(field: str) -> str:
    return field.replace("_", " ").capitalize()


def plain_table(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every text cell made `plain`, for st.table (which reads Markdown)."""
    return frame.with_columns(each_value(frame, c, plain, pl.String) for c, t in frame.schema.items() if t == pl.String)
