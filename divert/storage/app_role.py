"""PostgreSQL: the role the app runs as, which owns nothing.

The role that runs `divert init` owns the schema (it runs the migrations). The app's role gets
only what the app does: SELECT, INSERT, UPDATE and DELETE on the tables, SELECT and INSERT on
audit_event, SELECT on alembic_version, and the id sequences. Not owning audit_event, it cannot
ALTER TABLE ... DISABLE TRIGGER, drop a trigger, or delete or change an audit event.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, Engine, text

NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
HASHED = re.compile(r"^[A-Za-z0-9+/=$:-]+$")  # SCRAM-SHA-256$... or md5...
TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"
AUDIT_RIGHTS = "SELECT, INSERT"


class RoleProblem(Exception):
    """The app role cannot be made as asked; the message says why (nothing was changed)."""


def _quoted(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def create_app_role(engine: Engine, name: str, password: str | None = None) -> list[str]:
    """Make (or bring up to date) the login role `name` with the app's rights on this database's
    tables, as the connected role (their owner). Returns what was done, one line each."""
    if engine.dialect.name != "postgresql":
        raise RoleProblem("an app role is for PostgreSQL (SQLite has no roles)")
    if not NAME.match(name):
        raise RoleProblem(f"{name!r} is not a role name Divert makes: lower-case letters, digits and _, "
                          "starting with a letter or _, at most 63")
    done = []
    with engine.begin() as conn:
        me, database, schema = conn.execute(text("SELECT current_user, current_database(), current_schema()")).one()
        role, db, sch = _quoted(conn, name), _quoted(conn, database), _quoted(conn, schema)
        if name == me:
            raise RoleProblem(f"{name} is the role running `divert init` (the owner of the schema): the app role "
                              "must be another")
        found = conn.execute(text("SELECT oid, rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = :n"),
                             {"n": name}).first()
        if found is None:
            conn.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                              "NOBYPASSRLS NOINHERIT"))
            done.append(f"Created the login role {name} (no superuser, cannot create databases or roles)")
        else:
            _refuse_if_powerful(conn, name, found, me)
            done.append(f"The role {name} exists: its rights on {database} are set again")
        if password:
            # hashed here (libpq's PQencryptPasswordConn): the password itself never reaches the server's logs
            hashed = conn.connection.driver_connection.pgconn.encrypt_password(password.encode(), name.encode())
            hashed = hashed.decode("ascii")
            if not HASHED.match(hashed):
                raise RoleProblem("the server's password hash has an unexpected form; nothing was changed")
            conn.exec_driver_sql(f"ALTER ROLE {role} PASSWORD '{hashed}'")
            done.append(f"Set the password of {name} (sent to the server hashed)")
        conn.execute(text(f"GRANT CONNECT ON DATABASE {db} TO {role}"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA {sch} TO {role}"))
        conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {sch} FROM {role}"))
        conn.execute(text(f"GRANT {TABLE_RIGHTS} ON ALL TABLES IN SCHEMA {sch} TO {role}"))
        conn.execute(text(f"REVOKE ALL ON audit_event, alembic_version FROM {role}"))
        conn.execute(text(f"GRANT {AUDIT_RIGHTS} ON audit_event TO {role}"))
        conn.execute(text(f"GRANT SELECT ON alembic_version TO {role}"))
        conn.execute(text(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {sch} TO {role}"))
        done.append(f"Granted {name}: {TABLE_RIGHTS} on the tables of {database}.{schema}, only {AUDIT_RIGHTS} on "
                    "audit_event, SELECT on alembic_version, and the id sequences")
        conn.execute(text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {sch} GRANT {TABLE_RIGHTS} ON TABLES TO {role}"))
        conn.execute(text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {sch} GRANT USAGE, SELECT, UPDATE ON SEQUENCES "
                          f"TO {role}"))
        done.append(f"Tables a later migration (run by {me}) adds get the same rights for {name}")
        owned = conn.execute(text(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = :n"),
            {"n": name}).scalar_one()
        if owned:
            raise RoleProblem(f"{name} owns {owned} table(s) or sequence(s) in {database}: the app role must own "
                              "nothing (reassign them to the owner with REASSIGN OWNED)")
    return done


def _refuse_if_powerful(conn: Connection, name: str, found, me: str) -> None:
    _oid, superuser, createrole, bypassrls = found
    if superuser or createrole or bypassrls:
        raise RoleProblem(f"{name} is a superuser or may create roles or bypass row security: the app role must "
                          "not (make a new one)")
    member = conn.execute(text("SELECT pg_has_role(:n, :me, 'MEMBER')"), {"n": name, "me": me}).scalar_one()
    if member:
        raise RoleProblem(f"{name} is a member of {me}, the owner: it would have the owner's rights")
