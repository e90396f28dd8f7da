// The contract's choices and limits, generated from the Python package radiology_contract by
// scripts/export_contract.py. Never re-declare any of these values here: re-run the script instead.
import contract from '../contract.generated.json';

export const EXAM_STATUSES = contract.exam_statuses;
export const EXAM_SOURCES = contract.exam_sources;
export const MODALITIES = contract.modalities;
export const TASK_TYPES = contract.task_types;
export const TASK_GROUPING = contract.task_grouping;
export const STATISTICS_GROUPINGS = contract.statistics_groupings;
export const DEFAULT_PAGE = contract.default_page;
export const DEFAULT_PAGE_SIZE = contract.default_page_size;
export const MAX_PAGE_SIZE = contract.max_page_size;
export const MAX_Q_LENGTH = contract.max_q_length;
export const MAX_FILTER_LENGTH = contract.max_filter_length;
export const MAX_TASK_NAME_LENGTH = contract.max_task_name_length;
export const STUDY_FILTER_NAMES = contract.study_filter_names;
export const REPORT_FILTER_NAMES = contract.report_filter_names;
export const BACKEND_HEADER = contract.backend_header;
export const REQUEST_ID_HEADER = contract.request_id_header;
export const RETRY_AFTER_SECONDS = contract.retry_after_seconds;

// Page sizes offered in the page-size selector: the common ones that the contract allows.
export const PAGE_SIZE_CHOICES = [10, 20, 50, 100].filter((n) => n <= MAX_PAGE_SIZE);
if (!PAGE_SIZE_CHOICES.includes(DEFAULT_PAGE_SIZE)) {
  PAGE_SIZE_CHOICES.push(DEFAULT_PAGE_SIZE);
  PAGE_SIZE_CHOICES.sort((a, b) => a - b);
}

/** Human label of a contract value: "health_check" -> "Health check", "in_progress" -> "In progress". */
export function humanize(value) {
  if (value === null || value === undefined || value === '') return '—';
  const text = String(value).replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export default contract;
