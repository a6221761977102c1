"""``python -m handoff_service.privacy``: retention purge, and one customer's data.

    purge                                   delete / anonymise what is past its retention period
    export --customer-id N | --phone P --requested-by USER --reason TEXT [--out FILE]
    erase  --customer-id N | --phone P --requested-by USER --reason TEXT

A customer's export and erasure are staff requests: the staff member (an existing
supervisor or admin account) and the reason are recorded in the audit log. Settings
(the three database URLs, retention periods) come from the environment.
"""
from __future__ import annotations

import argparse
import json
import sys

from bot.database import create_engine
from bot.settings import ConfigurationError, Settings
from handoff_service.audit import storage as audit
from handoff_service.privacy.customer_records import CustomerRecords, NoSuchCustomer, RequestRefused, carry_out_request
from handoff_service.privacy.retention import RetentionPurge
from handoff_service.storage import StaffRepository


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m handoff_service.privacy", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("purge", help="delete or anonymise what is past its retention period")
    for name, text in (("export", "write everything held about one customer as JSON"),
                       ("erase", "delete or anonymise one customer in every store")):
        command = commands.add_parser(name, help=text)
        who = command.add_mutually_exclusive_group(required=True)
        who.add_argument("--customer-id", type=int)
        who.add_argument("--phone")
        command.add_argument("--requested-by", required=True, help="the supervisor's username (recorded)")
        command.add_argument("--reason", required=True, help="why, e.g. the request's reference (recorded)")
        if name == "export":
            command.add_argument("--out", help="file to write (default: standard output)")
    return parser


def main(argv=None, settings: Settings = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = settings or Settings.from_env()
    except ConfigurationError as e:
        print(f"privacy: {e}", file=sys.stderr)
        return 2
    engines = [create_engine(url) for url in (settings.database_url, settings.rasa_tracker_db_url, settings.rasa_events_db_url)]
    try:
        if args.command == "purge":
            print(json.dumps(RetentionPurge(settings, *engines).run(), sort_keys=True))
            return 0
        staff = StaffRepository(engines[0]).get(args.requested_by)
        if staff is None or not staff.has_role("supervisor"):
            print(f"privacy: {args.requested_by!r} is not a supervisor's username.", file=sys.stderr)
            return 2
        try:
            _customer_id, result = carry_out_request(
                CustomerRecords(*engines), audit.AuditLog(engines[0]), staff.username, args.command, args.reason,
                args.customer_id, args.phone,
            )
        except (NoSuchCustomer, RequestRefused) as e:
            print(f"privacy: {e}", file=sys.stderr)
            return 1
        data = json.dumps(result, ensure_ascii=False, indent=2, sort_keys=args.command == "erase")
        if args.command == "export" and args.out:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(data)
        else:
            print(data)
        return 0
    finally:
        for engine in engines:
            engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
