"""`freeze_barrier --timeout N`: wait until the writes that began before the freeze have committed.

Run once, on one app host, AFTER the freeze file exists on every app host and BEFORE the snapshot/export:
every write takes the freeze advisory lock shared and checks the freeze file under it, so once this command
has held the lock exclusively, each write is either committed or will see the file (503, nothing written).
Exit 0 printing the wait; exit 1 with "writes still in flight after N s" (nothing to snapshot yet).
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from imaging_api.studies.freeze import WritesInFlightError, barrier, freeze_file

DEFAULT_TIMEOUT = 30.0


def _positive_seconds(raw: str) -> float:
    value = float(raw)
    if not 0 < value < float("inf"):
        raise ValueError(raw)
    return value


class Command(BaseCommand):
    help = (
        "Wait (at most --timeout seconds) until every write that began before the write freeze has committed. "
        "Run after IMAGING_FREEZE_FILE exists on every app host, before the snapshot/export."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--timeout",
            type=_positive_seconds,
            default=DEFAULT_TIMEOUT,
            help=f"seconds to wait for writes in flight before failing (default {DEFAULT_TIMEOUT:g})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        timeout: float = options["timeout"]
        marker = freeze_file()
        if marker is None:
            raise CommandError("IMAGING_FREEZE_FILE is not set: writes cannot be frozen, so a barrier means nothing")
        if not marker.exists():
            raise CommandError(f"writes are not frozen: {marker} does not exist on this host (freeze every host first)")
        try:
            waited = barrier(timeout)
        except WritesInFlightError as e:
            raise CommandError(f"{e}: the freeze barrier did not pass; do not snapshot or export yet") from e
        self.stdout.write(f"freeze barrier passed after {waited:.3f} s: no write in flight, later writes are refused")
