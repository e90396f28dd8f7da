import { FilterForm } from '../components/FilterForm.jsx';
import { ErrorNotice, Loading } from '../components/Notices.jsx';
import { Pagination, ResultSummary } from '../components/Pagination.jsx';
import { formatDateTime, orDash, truncate } from '../format.js';
import { useResource } from '../hooks.js';
import { REPORT_FILTER_NAMES } from '../lib/contract.js';
import { fieldErrors } from '../lib/errors.js';
import { formatHash } from '../lib/router.js';
import { REPORT_FIELDS } from './filters.js';
import { listControls } from './listPage.js';

export function ReportsPage({ route, api }) {
  const c = listControls(route, REPORT_FILTER_NAMES);
  const res = useResource(() => api.searchReports(c.params), c.key);
  return (
    <div className="page" data-testid="page-reports" data-state={res.status} data-query={res.key ?? ''}>
      <h2>Reports</h2>
      <FilterForm
        fields={REPORT_FIELDS}
        values={c.state}
        onSubmit={c.submit}
        onReset={c.reset}
        errors={fieldErrors(res.error)}
        testid="reports-filters"
      />
      {res.status === 'loading' && <Loading label="Loading reports…" />}
      <ErrorNotice error={res.error} onRetry={res.reload} />
      {res.data && (
        <section className="results">
          <ResultSummary
            page={res.data.page}
            pageSize={res.data.page_size}
            total={res.data.total}
            shown={res.data.data.length}
            testid="reports-total"
          />
          {res.data.data.length === 0 ? (
            <p className="empty">No reports match these filters.</p>
          ) : (
            <div className="table-scroll">
              <table className="data-table" data-testid="reports-table">
                <thead>
                  <tr>
                    <th scope="col">Report ID</th>
                    <th scope="col">Reported</th>
                    <th scope="col">Exam ID</th>
                    <th scope="col">Reporting physician</th>
                    <th scope="col">Impression</th>
                  </tr>
                </thead>
                <tbody>
                  {res.data.data.map((r) => (
                    <tr key={r.report_id} data-report-id={r.report_id}>
                      <td className="mono">{r.report_id}</td>
                      <td className="nowrap">{formatDateTime(r.report_datetime)}</td>
                      <td className="mono">
                        <a href={formatHash('study-reports', { examId: r.exam_id })}>{r.exam_id}</a>
                      </td>
                      <td>{orDash(r.reporting_physician)}</td>
                      <td title={r.report_text}>{truncate(r.impression ?? r.report_text, 120)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
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

export function ReportCard({ report }) {
  return (
    <article className="card report-card" data-report-id={report.report_id}>
      <header className="report-head">
        <span className="mono">{report.report_id}</span>
        <span>{formatDateTime(report.report_datetime)}</span>
        <span>{orDash(report.reporting_physician)}</span>
      </header>
      {report.impression && (
        <p className="report-impression">
          <strong>Impression:</strong> {report.impression}
        </p>
      )}
      <p className="report-text">{report.report_text}</p>
    </article>
  );
}
