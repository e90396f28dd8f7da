"""`grant_runtime ROLE [--check]`: give the web process's database role exactly the runtime's privileges.

Run as the owner of the tables (the role `migrate` runs as), after every `migrate`. It grants what the
runtime needs and revokes anything else the role holds on the database, the schema and every relation of the
schema (studies/grants.py says what and why), in one transaction. One line per GRANT/REVOKE, then a last line
a playbook can parse:

    grant_runtime: changed        grants were changed (exit 0)
    grant_runtime: ok             nothing to change (exit 0)
    grant_runtime: would change   --check: grants differ, nothing was changed (exit 1)

Refused (exit 1, nothing changed): an unknown role, a superuser, the connecting role itself, a role owning (or a
member of the owner of) the database, the schema or a table, and a role that would still have more than the
runtime's privileges through PUBLIC or a role membership.
"""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imaging_api.studies.grants import GrantError, apply

PREFIX = "grant_runtime"


class Command(BaseCommand):
    help = (
        "Grant ROLE (the web process's database role) exactly the privileges the service needs at runtime and "
        "revoke anything else it holds on the project's database objects. Run as the owner of the tables."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the runtime role (must exist, own nothing and not be a superuser)")
        parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the grants would change")

    def handle(self, *args: Any, **options: Any) -> None:
        role: str = options["role"]
        check: bool = options["check"]
        try:
            done = apply(role, dry_run=check)
        except GrantError as e:
            raise CommandError(f"{PREFIX}: {e}") from e
        self.stdout.write(f"{PREFIX}: role {done.role} on database {done.database}, schema {done.schema}")
        for change in done.changes:
            self.stdout.write(("would " if check else "") + change.describe(role))
        if not done.changed:
            self.stdout.write(f"{PREFIX}: ok")
            return
        if check:
            self.stdout.write(f"{PREFIX}: would change")
            self.stdout.flush()
            sys.exit(1)
        self.stdout.write(f"{PREFIX}: changed")
