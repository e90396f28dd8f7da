import { describe, expect, it } from 'vitest';
import contract from '../lib/contract.js';
import { REPORT_FIELDS, STUDY_FIELDS } from './filters.js';
import { taskPayload } from './TasksPage.jsx';

describe('page definitions', () => {
  it('offers a form field for every filter the contract defines, with its choices', () => {
    expect(STUDY_FIELDS.map((f) => f.name)).toEqual(contract.study_filter_names);
    expect(REPORT_FIELDS.map((f) => f.name)).toEqual(contract.report_filter_names);
    const byName = Object.fromEntries(STUDY_FIELDS.map((f) => [f.name, f]));
    expect(byName.exam_status.options).toEqual(contract.exam_statuses);
    expect(byName.exam_source.options).toEqual(contract.exam_sources);
    expect(byName.modality.options).toEqual(contract.modalities);
    expect(byName.q.maxLength).toBe(contract.max_q_length);
  });

  it('builds a task body with only the filled-in filters', () => {
    const body = taskPayload({ name: '  Monthly CT ', task_type: 'monthly_volume', modality: 'CT', q: '  ', date_from: '2024-01-01' });
    expect(body).toEqual({ name: 'Monthly CT', task_type: 'monthly_volume', filters: { modality: 'CT', date_from: '2024-01-01' } });
  });
});
