import { BarTable } from '../components/BarTable.jsx';
import { FilterForm } from '../components/FilterForm.jsx';
import { ErrorNotice, Loading } from '../components/Notices.jsx';
import { useResource } from '../hooks.js';
import { STATISTICS_GROUPINGS, STUDY_FILTER_NAMES, humanize } from '../lib/contract.js';
import { fieldErrors } from '../lib/errors.js';
import { formatCount } from '../lib/query.js';
import { STUDY_FIELDS } from './filters.js';
import { listControls } from './listPage.js';

const TITLES = { exam_status: 'By status', exam_source: 'By source', exam_item: 'By exam item', month: 'By month' };

export function StatisticsPage({ route, api }) {
  const c = listControls(route, STUDY_FILTER_NAMES);
  const filters = Object.fromEntries(STUDY_FILTER_NAMES.map((n) => [n, c.state[n]]));
  const res = useResource(() => api.statistics(filters), c.key);
  const stats = res.data?.data;
  return (
    <div className="page" data-testid="page-statistics" data-state={res.status}>
      <h2>Statistics</h2>
      <FilterForm
        fields={STUDY_FIELDS}
        values={c.state}
        onSubmit={c.submit}
        onReset={c.reset}
        errors={fieldErrors(res.error)}
        submitLabel="Apply"
        testid="statistics-filters"
      />
      {res.status === 'loading' && <Loading label="Loading statistics…" />}
      <ErrorNotice error={res.error} onRetry={res.reload} />
      {stats && (
        <>
          <p className="stat-total" data-testid="statistics-total" data-total={stats.total}>
            <span className="stat-number">{formatCount(stats.total)}</span> examinations
          </p>
          <div className="stat-grid">
            {STATISTICS_GROUPINGS.map(({ key, grouping }) => (
              <BarTable
                key={key}
                title={TITLES[grouping] ?? humanize(key)}
                buckets={stats[key] ?? []}
                total={stats.total}
                testid={`statistics-${key}`}
                keyLabel={grouping === 'month' ? 'Month' : humanize(grouping)}
                humanizeKeys={grouping === 'exam_status' || grouping === 'exam_source'}
              />
            ))}
          </div>
        </>
      )}
    </div>
  );
}
