"""`divert export` and `divert restore`: backups (Parquet and a manifest) and their restore, and
the public release (`divert export --public`)."""

from __future__ import annotations

import sys

from divert.cli.common import OK, REJECTED, USAGE, actor, db_engine, db_url, safe_url, show_progress


def cmd_export(args) -> int:
    from pathlib import Path

    from divert.backup import BackupError, export_backup
    from divert.records.exports import record_export

    user = actor()
    if args.public:
        return _export_release(args, user)
    if args.as_of or args.without_audit:
        print(f"{'--as-of' if args.as_of else '--without-audit'} applies to a public release (--public) only",
              file=sys.stderr)
        return USAGE
    engine = db_engine(args)
    try:
        manifest = export_backup(engine, Path(args.out), progress=show_progress)
    except BackupError as error:
        print(f"Backup refused: {error}", file=sys.stderr)
        return REJECTED
    record_export(user, {"tables": {t["name"]: t["rows"] for t in manifest["tables"]},
                         "data_version": manifest["data_version"]}, action="export_backup", engine=engine)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"Backup written to {args.out}: schema revision {manifest['schema_revision']}, data version "
          f"{manifest['data_version']}, exported at {manifest['exported_at']}")
    for table in manifest["tables"]:
        print(f"  {table['name']:<16} {table['rows']:>10,}  sha256 {table['sha256'][:16]}...")
    from divert.backup.signing import backup_key, key_fingerprint

    print(f"manifest.json is signed with this server's backup key (fingerprint {key_fingerprint(backup_key())}).")
    print("Keep the key files (person key, cookie key, backup key) with the backup but apart from it, in your secret "
          "store: a restore on another server needs them (docs/keys.md).")
    return OK


def _export_release(args, user: str) -> int:
    from datetime import date
    from pathlib import Path

    from divert.analytics.calendar.months import default_as_of
    from divert.core.clock import today as today_in_london
    from divert.records.exports import record_export
    from divert.release import ReleaseError, write_release

    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else default_as_of(today_in_london())
    except ValueError:
        print("--as-of takes a date as YYYY-MM-DD", file=sys.stderr)
        return USAGE
    engine = db_engine(args)
    cleared = _cleared(args, as_of, engine)
    if cleared is None:
        return REJECTED
    try:
        release = write_release(engine, Path(args.out), as_of)
    except ReleaseError as error:
        print(f"Release refused: {error}", file=sys.stderr)
        return REJECTED
    record_export(user, {**release.summary(), "disclosure_audit": cleared}, action="export_release", engine=engine)
    print(f"Public release written to {args.out} (as of {as_of}, months {release.first_month} to "
          f"{release.last_month}):")
    for name in release.files:
        print(f"  {name}")
    print(f"{release.suppressed} counts suppressed ({release.primary} of 1 to 7, {release.secondary} to protect "
          "them); every other count rounded to the nearest 5")
    return OK


def _cleared(args, as_of, engine) -> str | None:
    """What lets the release out: the last disclosure audit, or the reason given to go without
    it (kept in the audit trail with the export); None (and why, on standard error) if nothing does."""
    from divert.records.disclosure_audits import release_problem

    problem = release_problem(as_of, engine)
    if problem is None:
        return "passed"
    if args.without_audit:
        print(f"Warning: released without a passing disclosure audit ({problem}) Reason given: {args.without_audit}",
              file=sys.stderr)
        return f"not passed ({problem}); released anyway: {args.without_audit}"
    print(f"Release refused: {problem} (or give --without-audit REASON, kept in the audit trail)", file=sys.stderr)
    return None


def cmd_restore(args) -> int:
    from pathlib import Path

    from divert.backup import BackupError, restore_backup

    if args.accept_unsigned is not None and not args.accept_unsigned.strip():
        print("--accept-unsigned needs a reason: why this backup is trusted (it is recorded in the audit log)",
              file=sys.stderr)
        return USAGE
    try:
        report = restore_backup(db_engine(args), Path(args.source), actor(), progress=show_progress,
                                accept_unsigned=args.accept_unsigned)
    except BackupError as error:
        if sys.stderr.isatty():
            print(file=sys.stderr)
        print(f"Restore refused: {error}", file=sys.stderr)
        return REJECTED
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"Restored the backup exported at {report.exported_at} into {safe_url(db_url(args))}: schema revision "
          f"{report.schema_revision}, data version {report.data_version}")
    for table, rows in report.tables.items():
        print(f"  {table:<16} {rows:>10,}")
    if report.seal.verified:
        print(f"The backup's signature was verified with this server's backup key (manifest sha256 "
              f"{report.seal.manifest_sha256[:16]}...).")
    else:
        print(f"The backup's signature was NOT verified ({report.seal.problem}): restored because of "
              "--accept-unsigned, as the audit event records.")
    print(f"Row counts and checksums of every table match the manifest; audit event {report.audit_event_id} "
          "records the restore. Everyone signs in again: sign-in cookies from before the restore are refused.")
    from divert.records.pseudonym import key_problem

    problem = key_problem(db_engine(args))
    if problem:  # the restore stands; nothing can be written until the backup's key is in place
        print(f"Next: {problem.removesuffix(' Nothing was written.')}")
    return OK


def add_export_parser(sub) -> None:
    """`divert export`."""
    export = sub.add_parser("export", help="back up every table (Parquet + manifest), or a public release")
    export.add_argument("out", metavar="OUT", help="a new folder to write")
    export.add_argument("--public", action="store_true",
                        help="write the public transparency release (suppressed, rounded aggregates) instead")
    export.add_argument("--as-of", dest="as_of", metavar="YYYY-MM-DD",
                        help="public release: figures as known on this date (default: the last month end "
                             "before today, UK time)")
    export.add_argument("--without-audit", dest="without_audit", metavar="REASON",
                        help="public release: release even though the last disclosure audit does not clear it "
                             "(`divert disclosure audit`); the reason is kept in the audit trail")
    export.set_defaults(func=cmd_export)


def add_restore_parser(sub) -> None:
    """`divert restore`."""
    restore = sub.add_parser("restore", help="restore a backup folder (or its zip) into an empty database")
    restore.add_argument("source", metavar="OUT", help="the folder `divert export` wrote, or the zip")
    restore.add_argument("--accept-unsigned", dest="accept_unsigned", metavar="REASON",
                         help="restore a backup whose signature is missing or cannot be verified with this server's "
                              "backup key (docs/keys.md), for the reason given, which the audit log records")
    restore.set_defaults(func=cmd_restore)
