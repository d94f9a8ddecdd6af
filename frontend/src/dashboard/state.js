// The dashboard's view state, kept in the URL so a view can be shared and reloaded.
import { addDays, laToday } from '../common/format.js';

export const TABS = ['usage', 'quality', 'errors'];
export const INTERVALS = ['DAILY', 'WEEKLY', 'MONTHLY'];
/** Endpoint and location filters: URL key = GraphQL argument. */
export const LIST_FILTERS = ['country', 'region', 'sdkType', 'sdkVersion', 'browser', 'browserVersion'];
/** Filters that make session-level minutes (archives, broadcasts, SIP, participants) unavailable. */
export const DEFAULT_DAYS = 30;

const isDay = (v) => /^\d{4}-\d{2}-\d{2}$/.test(v || '');

export function readState(search = location.search) {
  const q = new URLSearchParams(search);
  const today = laToday();
  const end = isDay(q.get('end')) ? q.get('end') : today;
  const start = isDay(q.get('start')) ? q.get('start') : addDays(end, -(DEFAULT_DAYS - 1));
  const state = {
    project: q.get('project') || '',
    tab: TABS.includes(q.get('tab')) ? q.get('tab') : 'usage',
    start: start <= end ? start : end,
    end,
    interval: INTERVALS.includes(q.get('interval')) ? q.get('interval') : 'DAILY',
  };
  for (const key of LIST_FILTERS) {
    state[key] = (q.get(key) || '').split(',').map((v) => v.trim()).filter(Boolean);
  }
  return state;
}

export function toSearch(state) {
  const q = new URLSearchParams();
  if (state.project) q.set('project', state.project);
  q.set('tab', state.tab);
  q.set('start', state.start);
  q.set('end', state.end);
  q.set('interval', state.interval);
  for (const key of LIST_FILTERS) if (state[key].length) q.set(key, state[key].join(','));
  return `?${q}`;
}

export function writeState(state, { replace = false } = {}) {
  const url = location.pathname + toSearch(state);
  if (url === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
}

export function hasEndpointFilter(state) {
  return LIST_FILTERS.some((key) => state[key].length > 0);
}

/** GraphQL variables of the report queries (unset filters are left out: no filter). */
export function variables(state, projectId) {
  const vars = { p: projectId, start: state.start, end: state.end, interval: state.interval };
  for (const key of LIST_FILTERS) if (state[key].length) vars[key] = state[key];
  return vars;
}
