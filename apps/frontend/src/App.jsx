import { useEffect, useState } from 'react';
import { BackendIndicator } from './components/BackendIndicator.jsx';
import { useRoute, useTracker } from './hooks.js';
import { formatHash } from './lib/router.js';
import { ReportsPage } from './pages/ReportsPage.jsx';
import { StatisticsPage } from './pages/StatisticsPage.jsx';
import { StudiesPage } from './pages/StudiesPage.jsx';
import { StudyReportsPage } from './pages/StudyReportsPage.jsx';
import { TaskDetailPage } from './pages/TaskDetailPage.jsx';
import { TasksPage } from './pages/TasksPage.jsx';

const NAV = [
  { route: 'studies', label: 'Examinations', also: ['study-reports'] },
  { route: 'reports', label: 'Reports' },
  { route: 'tasks', label: 'Analysis tasks', also: ['task'] },
  { route: 'statistics', label: 'Statistics' },
];

const PAGES = {
  studies: StudiesPage,
  'study-reports': StudyReportsPage,
  reports: ReportsPage,
  tasks: TasksPage,
  task: TaskDetailPage,
  statistics: StatisticsPage,
};

/** A one-shot message shown on the page a navigation leads to (e.g. "Task deleted"), gone on the next one. */
function useFlash(route) {
  const [flash, setFlash] = useState(null);
  const location = `${route.path}?${route.params.toString()}`;
  useEffect(() => {
    setFlash((f) => {
      if (!f) return f;
      if (!f.seenAt && f.route === route.name) return { ...f, seenAt: location };
      if (f.seenAt && f.seenAt !== location) return null;
      return f;
    });
  }, [location, route.name]);
  const visible = flash && flash.seenAt === location ? flash : null;
  return [visible, setFlash];
}

export function App({ api, tracker }) {
  const route = useRoute();
  const backend = useTracker(tracker);
  const [flash, setFlash] = useFlash(route);

  useEffect(() => {
    api.health().then(
      (body) => tracker.setHealth(body),
      (err) => tracker.setHealthError(err.message),
    );
  }, [api, tracker]);

  const Page = PAGES[route.name];
  // A new page (or another exam/task) mounts fresh; filter changes on the same page keep the component.
  const pageKey = `${route.name}:${JSON.stringify(route.args)}`;
  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ✚
          </span>
          <h1>Radiology Examinations</h1>
        </div>
        <nav className="main-nav" aria-label="Main">
          {NAV.map((item) => {
            const active = item.route === route.name || item.also?.includes(route.name);
            return (
              <a
                key={item.route}
                href={formatHash(item.route)}
                className={active ? 'active' : undefined}
                aria-current={active ? 'page' : undefined}
                data-testid={`nav-${item.route}`}
              >
                {item.label}
              </a>
            );
          })}
        </nav>
      </header>
      <main className="app-main">
        {Page ? (
          <Page key={pageKey} route={route} api={api} flash={flash} setFlash={setFlash} />
        ) : (
          <div className="page" data-testid="page-not-found" data-state="ok">
            <h2>Page not found</h2>
            <p>
              There is no page at <code>{route.path}</code>. <a href={formatHash('studies')}>Go to examinations</a>.
            </p>
          </div>
        )}
      </main>
      <footer className="app-footer">
        <BackendIndicator state={backend} />
      </footer>
    </div>
  );
}
