"""`python -m ops.cli ...` (run from functions/): platform commands against the configured project."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from core.errors import ApiError


def _date(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if "T" not in value else datetime.fromisoformat(value)


def main(argv: list[str] | None = None) -> int:
    """Parse and run one command; exit status 0 on success."""
    parser = argparse.ArgumentParser(prog="python -m ops.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    create = commands.add_parser("org-create", help="create an organization with its first admin")
    create.add_argument("--id", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--seats", type=int, required=True)
    create.add_argument("--ends", type=_date, required=True, help="subscription end, YYYY-MM-DD")
    create.add_argument("--admin-email", required=True)
    create.add_argument("--admin-name", required=True)

    subscription = commands.add_parser("org-subscription", help="change seats or subscription end")
    subscription.add_argument("--id", required=True)
    subscription.add_argument("--seats", type=int)
    subscription.add_argument("--ends", type=_date)

    verify = commands.add_parser("audit-verify", help="verify an organization's audit chain; name the first bad entry")
    verify.add_argument("--org", required=True)

    publish = commands.add_parser("policy-publish", help="publish a privacy policy version and tell every member")
    publish.add_argument("--version", required=True)
    publish.add_argument("--url", required=True)
    publish.add_argument("--summary", required=True)

    lead_import = commands.add_parser(
        "leads-import", help="import a CSV or .xlsx file of leads as an admin (through Storage), with a progress bar"
    )
    lead_import.add_argument("--org", required=True)
    lead_import.add_argument("--admin-uid", required=True, help="the admin the import is made as (assignment, audit)")
    lead_import.add_argument("--file", required=True, help="UTF-8 CSV or .xlsx, header row first")
    lead_import.add_argument("--dry-run", action="store_true", help="validate and count only: write no lead")

    args = parser.parse_args(argv)
    try:
        if args.command == "org-create":
            from ops.orgs import create_org

            org = create_org(
                org_id=args.id,
                name=args.name,
                seats=args.seats,
                subscription_ends_at=args.ends,
                admin_email=args.admin_email,
                admin_name=args.admin_name,
            )
            print(json.dumps({"org": org["id"], "admin": org["admin"]["uid"]}))
        elif args.command == "org-subscription":
            from ops.orgs import set_subscription

            set_subscription(org_id=args.id, seats=args.seats, subscription_ends_at=args.ends)
            print("updated")
        elif args.command == "audit-verify":
            from core import audit

            verdict = audit.verify(args.org)
            print(verdict.message if verdict.ok else f"FAILED: {verdict.message}")
            return 0 if verdict.ok else 1
        elif args.command == "policy-publish":
            from privacy.policy import publish as publish_policy

            print(json.dumps(publish_policy(version=args.version, url=args.url, summary=args.summary)))
        elif args.command == "leads-import":
            from leads.imports import import_file

            result = import_file(org_id=args.org, admin_uid=args.admin_uid, path=args.file, dry_run=args.dry_run)
            print(json.dumps(result, default=str))
    except ApiError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
