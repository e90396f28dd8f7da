"""One trigram GIN index per searched table instead of one per searchable column (11 -> 2).

The index is over the searchable columns joined, radiology_contract.sql_filters.search_text(table); the `q`
clause begins with `<that text> ILIKE pattern`, which the planner answers from this index, and then checks
each field exactly as before. Building two indexes after a bulk load costs a fraction of building eleven.

The texts below are frozen copies of search_text() as it is now (a migration must not change when the code
does): `makemigrations --check` compares them with the models, which call search_text(), so a change of the
searchable fields asks for a new migration.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations
from django.db.models.expressions import RawSQL

EXAM_SEARCH_TEXT = (
    "((coalesce(exam_id, '') || ' ' || coalesce(medical_record_no, '') || ' ' || coalesce(exam_item, '')"
    " || ' ' || coalesce(exam_description, '') || ' ' || coalesce(equipment_name, '') || ' '"
    " || coalesce(certified_physician, '')) COLLATE \"default\")"
)
REPORT_SEARCH_TEXT = (
    "((coalesce(report_id, '') || ' ' || coalesce(exam_id, '') || ' ' || coalesce(report_text, '')"
    " || ' ' || coalesce(impression, '') || ' ' || coalesce(reporting_physician, '')) COLLATE \"default\")"
)

PER_COLUMN = {
    "examination": (
        "exam_exam_id_trgm",
        "exam_medical_record_no_trgm",
        "exam_exam_item_trgm",
        "exam_exam_description_trgm",
        "exam_equipment_name_trgm",
        "exam_certified_physician_trgm",
    ),
    "report": (
        "report_report_id_trgm",
        "report_exam_id_trgm",
        "report_report_text_trgm",
        "report_impression_trgm",
        "report_reporting_physicia_trgm",
    ),
}


def _search(text: str, name: str) -> GinIndex:
    return GinIndex(OpClass(RawSQL(text, []), name="gin_trgm_ops"), name=name)  # noqa: S611  (constant SQL)


class Migration(migrations.Migration):
    dependencies = [("studies", "0002_data_version")]

    # The new indexes first: at no point of the migration is `q` without an index.
    operations = [
        migrations.AddIndex(model_name="examination", index=_search(EXAM_SEARCH_TEXT, "exam_search_trgm")),
        migrations.AddIndex(model_name="report", index=_search(REPORT_SEARCH_TEXT, "report_search_trgm")),
        *(migrations.RemoveIndex(model_name=model, name=name) for model, names in PER_COLUMN.items() for name in names),
    ]
