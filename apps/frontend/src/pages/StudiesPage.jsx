import { FilterForm } from '../components/FilterForm.jsx';
import { ErrorNotice, Loading } from '../components/Notices.jsx';
import { Pagination, ResultSummary } from '../components/Pagination.jsx';
import { StatusBadge } from '../components/StatusBadge.jsx';
import { formatDateTime, orDash } from '../format.js';
import { useResource } from '../hooks.js';
import { STUDY_FILTER_NAMES, humanize } from '../lib/contract.js';
import { fieldErrors } from '../lib/errors.js';
import { formatHash } from '../lib/router.js';
import { STUDY_FIELDS } from './filters.js';
import { listControls } from './listPage.js';

export function StudiesPage({ route, api }) {
  const c = listControls(route, STUDY_FILTER_NAMES);
  const res = useResource(() => api.searchStudies(c.params), c.key);
  return (
    <div className="page" data-testid="page-studies" data-state={res.status} data-query={res.key ?? ''}>
      <h2>Examinations</h2>
      <FilterForm
        fields={STUDY_FIELDS}
        values={c.state}
        onSubmit={c.submit}
        onReset={c.reset}
        errors={fieldErrors(res.error)}
        testid="studies-filters"
      />
      {res.status === 'loading' && <Loading label="Loading examinations…" />}
      <ErrorNotice error={res.error} onRetry={res.reload} />
      {res.data && (
        <section className="results" aria-busy={res.status === 'loading'}>
          <ResultSummary
            page={res.data.page}
            pageSize={res.data.page_size}
            total={res.data.total}
            shown={res.data.data.length}
            testid="studies-total"
          />
          <StudiesTable rows={res.data.data} />
          <Pagination
            page={res.data.page}
            pageSize={res.data.page_size}
            total={res.data.total}
            onPage={c.setPage}
            onPageSize={c.setPageSize}
          />
        </section>
      )}
    </div>
  );
}

function StudiesTable({ rows }) {
  if (rows.length === 0) return <p className="empty">No examinations match these filters.</p>;
  return (
    <div className="table-scroll">
      <table className="data-table" data-testid="studies-table">
        <thead>
          <tr>
            <th scope="col">Exam ID</th>
            <th scope="col">Ordered</th>
            <th scope="col">Record no.</th>
            <th scope="col">Patient</th>
            <th scope="col">Source</th>
            <th scope="col">Modality</th>
            <th scope="col">Exam item</th>
            <th scope="col">Status</th>
            <th scope="col">Certified by</th>
            <th scope="col">
              <span className="visually-hidden">Reports</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.exam_id} data-exam-id={r.exam_id}>
              <td className="mono">{r.exam_id}</td>
              <td className="nowrap">{formatDateTime(r.order_datetime)}</td>
              <td className="mono">{r.medical_record_no}</td>
              <td className="nowrap">
                {orDash(r.patient_age)} / {orDash(r.patient_gender)}
              </td>
              <td>{humanize(r.exam_source)}</td>
              <td>{r.modality}</td>
              <td title={r.exam_description ?? ''}>{r.exam_item}</td>
              <td>
                <StatusBadge status={r.exam_status} />
              </td>
              <td>{orDash(r.certified_physician)}</td>
              <td>
                <a href={formatHash('study-reports', { examId: r.exam_id })} data-testid="study-reports-link">
                  Reports
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
