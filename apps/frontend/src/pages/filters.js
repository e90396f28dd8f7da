// Form field definitions of the search pages. Choices and limits come from the generated contract.
import {
  EXAM_SOURCES,
  EXAM_STATUSES,
  MAX_FILTER_LENGTH,
  MAX_Q_LENGTH,
  MODALITIES,
  REPORT_FILTER_NAMES,
  STUDY_FILTER_NAMES,
} from '../lib/contract.js';

const STUDY_FIELD_DEFS = {
  q: { label: 'Search', type: 'text', maxLength: MAX_Q_LENGTH, placeholder: 'Exam ID, record no., item, physician…', wide: true },
  exam_status: { label: 'Status', type: 'select', options: EXAM_STATUSES },
  exam_source: { label: 'Source', type: 'select', options: EXAM_SOURCES },
  exam_item: { label: 'Exam item (exact)', type: 'text', maxLength: MAX_FILTER_LENGTH },
  modality: { label: 'Modality', type: 'select', options: MODALITIES, raw: true },
  date_from: { label: 'Ordered from', type: 'date' },
  date_to: { label: 'Ordered to', type: 'date' },
};

const REPORT_FIELD_DEFS = {
  q: { label: 'Search', type: 'text', maxLength: MAX_Q_LENGTH, placeholder: 'Report text, impression, IDs…', wide: true },
  exam_id: { label: 'Exam ID', type: 'text', maxLength: MAX_FILTER_LENGTH },
  reporting_physician: { label: 'Reporting physician', type: 'text', maxLength: MAX_FILTER_LENGTH },
  date_from: { label: 'Reported from', type: 'date' },
  date_to: { label: 'Reported to', type: 'date' },
};

function defs(names, table) {
  return names.map((name) => {
    if (!table[name]) throw new Error(`no form field for contract filter ${name}`);
    return { name, ...table[name] };
  });
}

export const STUDY_FIELDS = defs(STUDY_FILTER_NAMES, STUDY_FIELD_DEFS);
export const REPORT_FIELDS = defs(REPORT_FILTER_NAMES, REPORT_FIELD_DEFS);
