"""Every write goes through divert.records: validate, write, audit, bump data_version.

See divert.records.core for the contract (Saved, Rejected, write, upsert).
"""

from divert.records.contacts import contact_summary, record_contact
from divert.records.core import (
    Rejected,
    Saved,
    as_dict,
    audit,
    check,
    check_only,
    get_setting,
    insert,
    now,
    save,
    set_setting,
    update_row,
    write,
)
from divert.records.corrections import (
    correct_closure,
    correct_referral,
    undo_void_referral,
    undo_void_session,
    void_referral,
    void_session,
)
from divert.records.offences import add_offence, find_person, offence_by_ref
from divert.records.pathway import (
    add_referral,
    add_referral_from_form,
    close_referral,
    edit_assessment,
    edit_referral,
    find_referral,
    person_history,
    record_assessment,
    referral_by_ref,
)
from divert.records.published import add_population, add_stop_search
from divert.records.sessions import (
    add_session,
    add_term,
    book,
    book_many,
    edit_session,
    mark_attendance,
    save_register,
    seats_taken,
)

__all__ = [
    "Rejected", "Saved", "add_offence", "add_population", "add_stop_search", "add_referral", "add_referral_from_form", "add_session", "add_term", "as_dict", "audit", "book", "book_many",
    "check", "check_only", "close_referral", "contact_summary", "correct_closure", "correct_referral",
    "record_contact", "undo_void_referral", "undo_void_session", "void_referral", "void_session", "edit_assessment", "edit_referral", "edit_session", "find_person", "find_referral", "get_setting", "insert",
    "mark_attendance", "now", "offence_by_ref", "person_history", "record_assessment", "referral_by_ref",
    "save", "save_register", "seats_taken", "set_setting", "update_row", "write",
]
