"""Export the choices and limits the frontend needs from the Python contract into src/contract.generated.json.

The contract package (radiology_contract) is the one definition; the frontend never re-declares a status,
a source, a modality, a task type or a page-size limit. Run after changing the contract:

    /work/main/.venv/bin/python apps/frontend/scripts/export_contract.py          # write the file
    /work/main/.venv/bin/python apps/frontend/scripts/export_contract.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from radiology_contract import analysis, fields, query, responses

OUTPUT = Path(__file__).resolve().parent.parent / "src" / "contract.generated.json"


def _fields(defs: tuple[fields.Field, ...]) -> list[dict[str, Any]]:
    return [{"name": f.name, "label": f.label, "type": str(f.type)} for f in defs]


def contract_document() -> dict[str, Any]:
    """Everything the frontend reads from the contract, in a fixed order."""
    return {
        "_generated_by": "apps/frontend/scripts/export_contract.py from radiology_contract; do not edit by hand",
        "exam_statuses": list(fields.EXAM_STATUSES),
        "exam_sources": list(fields.EXAM_SOURCES),
        "modalities": list(fields.MODALITIES),
        "genders": list(fields.GENDERS),
        "task_types": list(fields.TASK_TYPES),
        "task_grouping": dict(analysis.TASK_GROUPING),
        "statistics_groupings": [{"key": key, "grouping": grouping} for key, grouping in analysis.STATISTICS_GROUPINGS],
        "default_page": query.DEFAULT_PAGE,
        "default_page_size": query.DEFAULT_PAGE_SIZE,
        "max_page_size": query.MAX_PAGE_SIZE,
        "max_page": query.MAX_PAGE,
        "max_q_length": query.MAX_Q_LENGTH,
        "max_filter_length": query.MAX_FILTER_LENGTH,
        "max_task_name_length": query.MAX_TASK_NAME_LENGTH,
        "study_filter_names": list(query.STUDY_FILTER_NAMES),
        "report_filter_names": list(query.ReportFilters().as_dict()),
        "examination_fields": _fields(fields.EXAMINATION_FIELDS),
        "report_fields": _fields(fields.REPORT_FIELDS),
        "analysis_task_api_fields": list(fields.ANALYSIS_TASK_API_FIELDS),
        "backend_header": responses.BACKEND_HEADER,
        "request_id_header": responses.REQUEST_ID_HEADER,
        "retry_after_seconds": responses.RETRY_AFTER_SECONDS,
        "error_status": dict(responses.ERROR_STATUS),
    }


def render_document() -> str:
    return json.dumps(contract_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file differs from the contract")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    expected = render_document()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != expected:
            print(
                f"{args.output} is stale: it differs from radiology_contract. "
                f"Run: /work/main/.venv/bin/python {Path(__file__).name} (in apps/frontend/scripts)",
                file=sys.stderr,
            )
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(expected, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
