"""What a database administrator does to a team store: create or upgrade its schema and roles,
let an operator in, and take them out again."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import psycopg
from psycopg import sql

from console.errors import StoreError, UsageError
from console.store.pgschema import (
    ADMINS,
    ADVISORY_LOCKS,
    GRANTS,
    MIGRATIONS,
    OPERATORS,
    OWNER,
    SCHEMA,
    WRITE_LOCK,
)
from console.store.postgres import safe_location

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,62}$")
"""An operator's role: their login name on the bastions (peer authentication maps one to the
other), so the same letters an account name may hold."""


def init(dsn: str) -> str:
    """Create (or bring up to date) the schema, the owner, operator and admin roles and the
    privileges; idempotent. A sentence saying what was done."""
    with _admin(dsn) as db, db.transaction():
        made = [role for role in (OWNER, OPERATORS, ADMINS) if _create_role(db, role)]
        _as_owner(db)  # one init at a time (the lock is the owner's to take)
        db.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
        db.execute("RESET ROLE")
        db.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(OPERATORS), sql.Identifier(ADMINS))
        )
        db.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                sql.Identifier(SCHEMA), sql.Identifier(OWNER)
            )
        )
        _as_owner(db)
        version = _version(db)
        if version > len(MIGRATIONS):
            raise StoreError(
                f"the team store has schema {version}, newer than this opsconsole's "
                f"{len(MIGRATIONS)}: upgrade opsconsole; nothing was changed"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            db.execute(script.encode())
            db.execute(f"UPDATE {SCHEMA}.meta SET version = %s", (number,))
        for grants in GRANTS[: len(MIGRATIONS)]:
            db.execute(grants.encode())
        db.execute("RESET ROLE")
        locks = _keep_locks_to_owner(db)
    roles = f"; created the roles {', '.join(made)}" if made else ""
    done = (
        f"schema {version} → {len(MIGRATIONS)}" if version < len(MIGRATIONS) else "already current"
    )
    return f"team store {safe_location(dsn)}: {done}{roles}{locks}"


def _as_owner(db: psycopg.Connection[tuple[object, ...]]) -> None:
    db.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(OWNER)))


def _keep_locks_to_owner(db: psycopg.Connection[tuple[object, ...]]) -> str:
    """Take the advisory-lock functions from everyone but the owner in this database (only a
    superuser may); what a sentence adds when that could not be done."""
    row = db.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if not (row and row[0]):
        return (
            "; the advisory-lock functions stay open to every role (only a superuser may "
            "close them): an operator could hold a runner's lock and make its run look alive"
        )
    for function in ADVISORY_LOCKS:
        db.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
        db.execute(
            sql.SQL(f"GRANT EXECUTE ON FUNCTION {function} TO {{}}").format(sql.Identifier(OWNER))
        )
    return ""


def grant(dsn: str, user: str, admin: bool = False) -> str:
    """Give an account a login role in the operator group (and the admin group)."""
    _check_name(user)
    with _admin(dsn) as db, db.transaction():
        made = _create_role(db, user, login=True)
        role = sql.Identifier(user)
        db.execute(sql.SQL("ALTER ROLE {} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB").format(role))
        db.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(OPERATORS), role))
        if admin:
            db.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(ADMINS), role))
    what = "an operator and an admin" if admin else "an operator"
    return f"{user} is {what} of the team store{' (a new role)' if made else ''}"


def revoke(dsn: str, user: str) -> str:
    """Take an account out of the operator and admin groups and stop its log-ins; its role
    stays, so that the records it wrote keep naming someone."""
    _check_name(user)
    with _admin(dsn) as db, db.transaction():
        if not _role_exists(db, user):
            raise UsageError(f"there is no role {user} in the team store")
        role = sql.Identifier(user)
        for group in (OPERATORS, ADMINS):
            db.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), role))
        db.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(role))
    return f"{user} may no longer use the team store"


def _admin(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(dsn, application_name="opsconsole store")
    except psycopg.Error as exc:
        raise StoreError(
            f"the team store {safe_location(dsn)} cannot be reached as an administrator "
            f"({str(exc).strip().splitlines()[0]})"
        ) from None


def _check_name(user: str) -> None:
    if not ROLE_NAME.match(user) or user in (OWNER, OPERATORS, ADMINS):
        raise UsageError(
            f"'{user}' is not an operator's account name: lower-case letters, digits, '_', "
            "'.' and '-', starting with a letter or '_'"
        )


def _role_exists(db: psycopg.Connection[tuple[object, ...]], role: str) -> bool:
    return db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def _create_role(
    db: psycopg.Connection[tuple[object, ...]], role: str, login: bool = False
) -> bool:
    if _role_exists(db, role):
        return False
    kind = sql.SQL("LOGIN" if login else "NOLOGIN")
    db.execute(sql.SQL("CREATE ROLE {} {}").format(sql.Identifier(role), kind))
    return True


def _version(db: psycopg.Connection[tuple[object, ...]]) -> int:
    found = db.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.meta",)).fetchone()
    if found is None or found[0] is None:
        return 0
    row = db.execute(f"SELECT version FROM {SCHEMA}.meta").fetchone()
    return int(str(row[0])) if row else 0


TABLES = {
    "runs": "id, pipeline, created_at",
    "events": "id, run_id, at, kind, version, host, stage, step, data, blob",
    "blobs": "digest, content",
    "files": "digest, content",
    "audit": "seq, at, actor, action, subject, details, prev, hash",
}
"""What a SQLite store holds, table by table, copied as it is (ids, chain and all)."""


def copy(source: Path, dsn: str) -> dict[str, int]:
    """Copy a SQLite store's whole history into an empty team store, ids and audit chain as
    they are; how many rows of each table. The rows a file held name no role: they are
    marked as copied from it."""
    if not source.is_file():
        raise UsageError(f"there is no store file {source}")
    old = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    copied: dict[str, int] = {}
    marker = f"copied from {source}"[:200]
    try:
        with _admin(dsn) as db, db.transaction():
            _as_owner(db)
            db.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            _refuse_unless_empty(db, dsn)
            for table, columns in TABLES.items():
                rows = old.execute(f"SELECT {columns} FROM {table} ORDER BY 1")
                extra = ", actor" if table in ("runs", "events") else ""
                target = f"COPY {SCHEMA}.{table} ({columns}{extra}) FROM STDIN"
                count = 0
                with db.cursor().copy(target) as out:
                    for row in rows:
                        out.write_row((*row, marker) if extra else row)
                        count += 1
                copied[table] = count
            db.execute(
                f"SELECT setval('{SCHEMA}.events_id_seq', greatest(1, "
                f"(SELECT coalesce(max(id), 0) FROM {SCHEMA}.events)))"
            )
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{source} cannot be read as a store ({exc}); nothing was copied"
        ) from None
    finally:
        old.close()
    return copied


def _refuse_unless_empty(db: psycopg.Connection[tuple[object, ...]], dsn: str) -> None:
    for table in ("runs", "audit"):
        row = db.execute(f"SELECT count(*) FROM {SCHEMA}.{table}").fetchone()
        if row and int(str(row[0])):
            raise StoreError(
                f"the team store {safe_location(dsn)} already holds a history; a copy goes "
                "into an empty one (`opsconsole store init` on a new database)"
            )
