import { useState } from 'react';
import { Field } from '../components/FilterForm.jsx';
import { ErrorNotice, Flash, Loading } from '../components/Notices.jsx';
import { Pagination, ResultSummary } from '../components/Pagination.jsx';
import { formatDateTime } from '../format.js';
import { navigate, useResource } from '../hooks.js';
import { MAX_TASK_NAME_LENGTH, TASK_TYPES, humanize } from '../lib/contract.js';
import { fieldErrors } from '../lib/errors.js';
import { formatCount, isEmptyValue } from '../lib/query.js';
import { formatHash } from '../lib/router.js';
import { STUDY_FIELDS } from './filters.js';
import { listControls } from './listPage.js';

const TASK_FIELDS = [
  { name: 'name', label: 'Task name', type: 'text', maxLength: MAX_TASK_NAME_LENGTH, required: true, wide: true },
  { name: 'task_type', label: 'Task type', type: 'select', options: TASK_TYPES, anyLabel: 'Choose…' },
];

/** The POST body of a new task: name, type and only the filters that were filled in. */
export function taskPayload(draft) {
  const filters = {};
  for (const f of STUDY_FIELDS) if (!isEmptyValue(draft[f.name])) filters[f.name] = draft[f.name].trim();
  return { name: (draft.name ?? '').trim(), task_type: draft.task_type ?? '', filters };
}

export function TasksPage({ route, api, flash, setFlash }) {
  const c = listControls(route, ['task_type']);
  const list = useResource(() => api.listTasks(c.params), c.key);
  return (
    <div className="page" data-testid="page-tasks" data-state={list.status} data-query={list.key ?? ''}>
      <h2>Analysis tasks</h2>
      <Flash flash={flash} />
      <CreateTaskForm api={api} setFlash={setFlash} />
      <section className="card">
        <div className="section-head">
          <h3>Tasks</h3>
          <label className="inline-field">
            Type
            <select
              value={c.state.task_type}
              onChange={(e) => c.submit({ task_type: e.target.value })}
              data-testid="task-type-filter"
            >
              <option value="">All</option>
              {TASK_TYPES.map((t) => (
                <option key={t} value={t}>
                  {humanize(t)}
                </option>
              ))}
            </select>
          </label>
        </div>
        {list.status === 'loading' && <Loading label="Loading tasks…" />}
        <ErrorNotice error={list.error} onRetry={list.reload} />
        {list.data && (
          <>
            <ResultSummary
              page={list.data.page}
              pageSize={list.data.page_size}
              total={list.data.total}
              shown={list.data.data.length}
              testid="tasks-total"
            />
            {list.data.data.length === 0 ? (
              <p className="empty">No analysis tasks yet. Create one above.</p>
            ) : (
              <div className="table-scroll">
                <table className="data-table" data-testid="tasks-table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Type</th>
                      <th scope="col">Status</th>
                      <th scope="col">Created</th>
                      <th scope="col" className="num">
                        Examinations
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.data.data.map((t) => (
                      <tr key={t.task_id} data-task-id={t.task_id}>
                        <td>
                          <a href={formatHash('task', { taskId: t.task_id })}>{t.name}</a>
                        </td>
                        <td>{humanize(t.task_type)}</td>
                        <td>{humanize(t.status)}</td>
                        <td className="nowrap">{formatDateTime(t.created_at)}</td>
                        <td className="num">{t.result ? formatCount(t.result.total) : '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <Pagination
              page={list.data.page}
              pageSize={list.data.page_size}
              total={list.data.total}
              onPage={c.setPage}
              onPageSize={c.setPageSize}
            />
          </>
        )}
      </section>
    </div>
  );
}

function CreateTaskForm({ api, setFlash }) {
  const empty = Object.fromEntries([...TASK_FIELDS, ...STUDY_FIELDS].map((f) => [f.name, '']));
  const [draft, setDraft] = useState(empty);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (name) => (e) => setDraft((d) => ({ ...d, [name]: e.target.value }));
  const errors = fieldErrors(error);

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const task = await api.createTask(taskPayload(draft));
      setFlash({ tone: 'success', text: `Task “${task.name}” created.`, route: 'task' });
      navigate(formatHash('task', { taskId: task.task_id }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <section className="card">
      <h3>New analysis</h3>
      <form className="filter-form" onSubmit={submit} data-testid="task-create-form">
        <div className="filter-grid">
          {TASK_FIELDS.map((f) => (
            <Field key={f.name} field={f} value={draft[f.name]} onChange={set(f.name)} error={errors[f.name]} />
          ))}
        </div>
        <fieldset className="filter-fieldset">
          <legend>Examinations to include (optional filters)</legend>
          <div className="filter-grid">
            {STUDY_FIELDS.map((f) => (
              <Field key={f.name} field={f} value={draft[f.name]} onChange={set(f.name)} error={errors[f.name]} />
            ))}
          </div>
        </fieldset>
        <ErrorNotice error={error} testid="task-create-error" />
        <div className="form-actions">
          <button type="submit" className="button" disabled={busy} data-testid="task-create-submit">
            {busy ? 'Running…' : 'Run analysis'}
          </button>
        </div>
      </form>
    </section>
  );
}
