import { ErrorNotice, Loading } from '../components/Notices.jsx';
import { Pagination, ResultSummary } from '../components/Pagination.jsx';
import { StatusBadge } from '../components/StatusBadge.jsx';
import { formatDateTime, orDash } from '../format.js';
import { useResource } from '../hooks.js';
import contract, { MAX_PAGE_SIZE, humanize } from '../lib/contract.js';
import { formatHash } from '../lib/router.js';
import { listControls } from './listPage.js';
import { ReportCard } from './ReportsPage.jsx';

/** One examination's details and its reports (reports search with exam_id). */
export function StudyReportsPage({ route, api }) {
  const examId = route.args.examId;
  const c = listControls(route, []);
  const study = useResource(
    () =>
      api
        .searchStudies({ q: examId, page_size: MAX_PAGE_SIZE })
        .then((body) => body.data.find((r) => r.exam_id === examId) ?? null),
    `study:${examId}`,
  );
  const reports = useResource(() => api.searchReports({ exam_id: examId, ...c.params }), `${examId}${c.key}`);
  const state = study.status === 'error' || reports.status === 'error' ? 'error' : study.status === 'ok' && reports.status === 'ok' ? 'ok' : 'loading';
  return (
    <div className="page" data-testid="page-study-reports" data-state={state}>
      <p className="breadcrumb">
        <a href={formatHash('studies')}>Examinations</a> › <span className="mono">{examId}</span>
      </p>
      <h2>
        Examination <span className="mono">{examId}</span>
      </h2>
      {study.status === 'loading' && <Loading label="Loading examination…" />}
      <ErrorNotice error={study.error} onRetry={study.reload} />
      {study.status === 'ok' && study.data === null && (
        <div className="notice notice-notice" data-testid="study-missing">
          No examination with ID <span className="mono">{examId}</span> was found.
        </div>
      )}
      {study.data && <StudyDetails study={study.data} />}
      <h3 className="section-title">Reports</h3>
      {reports.status === 'loading' && <Loading label="Loading reports…" />}
      <ErrorNotice error={reports.error} onRetry={reports.reload} />
      {reports.data && (
        <section className="results">
          <ResultSummary
            page={reports.data.page}
            pageSize={reports.data.page_size}
            total={reports.data.total}
            shown={reports.data.data.length}
            testid="study-reports-total"
          />
          {reports.data.data.length === 0 ? (
            <p className="empty">This examination has no reports yet.</p>
          ) : (
            <div className="report-list" data-testid="study-reports-list">
              {reports.data.data.map((r) => (
                <ReportCard key={r.report_id} report={r} open />
              ))}
            </div>
          )}
          {reports.data.total > reports.data.page_size && (
            <Pagination
              page={reports.data.page}
              pageSize={reports.data.page_size}
              total={reports.data.total}
              onPage={c.setPage}
              onPageSize={c.setPageSize}
            />
          )}
        </section>
      )}
    </div>
  );
}

// Every examination field, the long free-text description last so it can span the whole row.
const DETAIL_FIELDS = [
  ...contract.examination_fields.filter((f) => f.name !== 'exam_description'),
  ...contract.examination_fields.filter((f) => f.name === 'exam_description'),
];

function StudyDetails({ study }) {
  const value = (f) => {
    const v = study[f.name];
    if (f.name === 'exam_status') return <StatusBadge status={v} />;
    if (f.type === 'datetime') return formatDateTime(v);
    if (f.name === 'exam_source') return humanize(v);
    return orDash(v);
  };
  return (
    <section className="card" data-testid="study-details">
      <dl className="details-grid">
        {DETAIL_FIELDS.map((f) => (
          <div key={f.name} className={f.name === 'exam_description' ? 'detail detail-wide' : 'detail'}>
            <dt>{f.label}</dt>
            <dd>{value(f)}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
