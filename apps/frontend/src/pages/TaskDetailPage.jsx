import { useState } from 'react';
import { BarTable } from '../components/BarTable.jsx';
import { ErrorNotice, Flash, Loading } from '../components/Notices.jsx';
import { formatDateTime } from '../format.js';
import { navigate, useResource } from '../hooks.js';
import { TASK_GROUPING, humanize } from '../lib/contract.js';
import { formatCount } from '../lib/query.js';
import { formatHash } from '../lib/router.js';

export function TaskDetailPage({ route, api, flash, setFlash }) {
  const taskId = route.args.taskId;
  const res = useResource(() => api.getTask(taskId), taskId);
  return (
    <div className="page" data-testid="page-task" data-state={res.status}>
      <p className="breadcrumb">
        <a href={formatHash('tasks')}>Analysis tasks</a> › <span className="mono">{taskId}</span>
      </p>
      <Flash flash={flash} />
      {res.status === 'loading' && <Loading label="Loading task…" />}
      <ErrorNotice error={res.error} onRetry={res.error?.code === 'not_found' ? null : res.reload} />
      {res.data && <TaskDetails task={res.data} api={api} setFlash={setFlash} />}
    </div>
  );
}

function TaskDetails({ task, api, setFlash }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const filters = Object.entries(task.filters ?? {}).filter(([, v]) => v !== null && v !== '');
  const grouping = TASK_GROUPING[task.task_type];

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await api.deleteTask(task.task_id);
      setFlash({ tone: 'success', text: `Task “${task.name}” deleted.`, route: 'tasks' });
      navigate(formatHash('tasks'));
    } catch (err) {
      setError(err);
      setBusy(false);
      setConfirming(false);
    }
  }

  return (
    <>
      <div className="section-head">
        <h2 data-testid="task-name">{task.name}</h2>
        {!confirming ? (
          <button type="button" className="button button-danger" onClick={() => setConfirming(true)} data-testid="task-delete">
            Delete task
          </button>
        ) : (
          <div className="confirm" role="group" aria-label="Confirm deletion" data-testid="task-delete-confirm">
            <span>Delete this task permanently?</span>
            <button type="button" className="button button-danger" disabled={busy} onClick={remove} data-testid="task-delete-yes">
              {busy ? 'Deleting…' : 'Yes, delete'}
            </button>
            <button type="button" className="button button-secondary" disabled={busy} onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        )}
      </div>
      <ErrorNotice error={error} testid="task-delete-error" />
      <section className="card">
        <dl className="details-grid">
          <div className="detail">
            <dt>Task type</dt>
            <dd>{humanize(task.task_type)}</dd>
          </div>
          <div className="detail">
            <dt>Status</dt>
            <dd>{humanize(task.status)}</dd>
          </div>
          <div className="detail">
            <dt>Created</dt>
            <dd>{formatDateTime(task.created_at)}</dd>
          </div>
          <div className="detail">
            <dt>Completed</dt>
            <dd>{formatDateTime(task.completed_at)}</dd>
          </div>
          <div className="detail detail-wide">
            <dt>Filters</dt>
            <dd data-testid="task-filters">
              {filters.length === 0
                ? 'All examinations'
                : filters.map(([k, v]) => (
                    <span key={k} className="chip">
                      {humanize(k)}: {v}
                    </span>
                  ))}
            </dd>
          </div>
          <div className="detail detail-wide">
            <dt>Task ID</dt>
            <dd className="mono">{task.task_id}</dd>
          </div>
        </dl>
      </section>
      <BarTable
        title={`Result: ${formatCount(task.result?.total ?? 0)} examinations by ${humanize(grouping).toLowerCase()}`}
        buckets={task.result?.buckets ?? []}
        total={task.result?.total ?? 0}
        testid="task-result"
        keyLabel={humanize(grouping)}
        humanizeKeys={grouping === 'exam_status' || grouping === 'exam_source'}
      />
    </>
  );
}
