"""`imaging-api`: Django management commands, plus `serve` (gunicorn) and `bench` (needs no settings).

imaging-api migrate                 # create/upgrade the schema
imaging-api import_excel PATH       # load a workbook (atomic, count-verified)
imaging-api freeze_barrier --timeout 30  # after the freeze: wait for the writes in flight (studies/freeze.py)
imaging-api grant_runtime ROLE [--check]  # as the owner: the runtime role's grants, exactly (studies/grants.py)
imaging-api serve                   # gunicorn with imaging_api.gunicorn_conf
imaging-api bench ...               # legacy vs new load benchmark (see imaging_api.bench)
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    command = args[1] if len(args) > 1 else ""
    if command == "bench":
        from imaging_api import bench  # noqa: PLC0415  (no Django settings needed)

        sys.exit(bench.main(args[2:]))
    if command == "serve":
        gunicorn_args = ["gunicorn", "-c", "python:imaging_api.gunicorn_conf", *args[2:], "imaging_api.wsgi"]
        os.execvp(sys.executable, [sys.executable, "-m", *gunicorn_args])  # noqa: S606
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imaging_api.settings")
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    execute_from_command_line(args)
