import { describe, expect, it } from 'vitest';
import { formatHash, parseHash } from './router.js';

describe('hash router', () => {
  it('routes every page', () => {
    expect(parseHash('').name).toBe('studies');
    expect(parseHash('#/').name).toBe('studies');
    expect(parseHash('#/studies?q=x').params.get('q')).toBe('x');
    expect(parseHash('#/reports').name).toBe('reports');
    expect(parseHash('#/tasks').name).toBe('tasks');
    expect(parseHash('#/statistics').name).toBe('statistics');
    expect(parseHash('#/nowhere').name).toBe('not-found');
  });

  it('decodes path arguments', () => {
    expect(parseHash('#/studies/EX%2F1/reports?page=2')).toMatchObject({ name: 'study-reports', args: { examId: 'EX/1' } });
    expect(parseHash('#/tasks/0b6f')).toMatchObject({ name: 'task', args: { taskId: '0b6f' } });
  });

  it('round-trips through formatHash, dropping empty params', () => {
    const hash = formatHash('study-reports', { examId: 'EX 1/2' }, { page: 2, q: '', page_size: null });
    expect(hash).toBe('#/studies/EX%201%2F2/reports?page=2');
    const back = parseHash(hash);
    expect(back.args.examId).toBe('EX 1/2');
    expect(back.params.get('page')).toBe('2');
    expect(formatHash('studies', {}, { q: 'a&b' })).toBe('#/studies?q=a%26b');
    expect(() => formatHash('nope')).toThrow(/unknown route/);
  });

  it('keeps a "?" inside a parameter value', () => {
    expect(parseHash('#/reports?q=why%3F&x=?y').params.get('x')).toBe('?y');
  });
});
