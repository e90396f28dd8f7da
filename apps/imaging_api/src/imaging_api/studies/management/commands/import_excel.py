"""`import_excel PATH`: load a workbook into PostgreSQL, all or nothing, with a pgloader-style summary."""

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from radiology_contract.import_summary import format_summary
from radiology_contract.workbook import WorkbookError

from imaging_api.studies.importing import ImportFailedError, import_workbook


class Command(BaseCommand):
    help = "Validate an .xlsx workbook and load it into the database in one transaction (nothing on failure)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the workbook (.xlsx) to import")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        database = self._database_name()
        started = time.perf_counter()
        try:
            report = import_workbook(path)
        except WorkbookError as e:
            raise CommandError(f"import refused, database {database} unchanged.\n{e}") from e
        except ImportFailedError as e:
            summary = format_summary(e.summary, time.perf_counter() - started)
            raise CommandError(f"import failed, database {database} unchanged: {e}\n{summary}") from e
        except DatabaseError as e:
            raise CommandError(f"import failed, database {database} unchanged: {e}") from e
        self.stdout.write(format_summary(report.tables, time.perf_counter() - started))
        self.stdout.write(f"imported {report.rows} rows from {path} into {database}")

    @staticmethod
    def _database_name() -> str:
        from django.conf import settings  # noqa: PLC0415

        db = settings.DATABASES["default"]
        return f"{db['NAME']} on {db['HOST']}:{db['PORT']}"
