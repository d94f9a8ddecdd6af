// The Insights dashboard: Usage, Quality and Errors tabs over stacking filters kept in the URL.
// Every figure comes from /graphql, like any other Insights API client.
import '../common/shell.js';
import { query } from '../common/api.js';
import { boot } from '../common/boot.js';
import { destroyAll } from '../common/charts.js';
import { failure, fill, h, loading } from '../common/dom.js';
import * as errors from './errors.js';
import { optionsFrom, renderFilters } from './filters.js';
import * as quality from './quality.js';
import { facetsQuery, rows } from './queries.js';
import { readState, TABS, variables, writeState } from './state.js';
import * as usage from './usage.js';

const TAB_VIEWS = { usage, quality, errors };
const TAB_TITLES = { usage: 'Usage', quality: 'Quality', errors: 'Errors' };
const projectId = boot.project.id;
const root = document.getElementById('app');

let state = { ...readState(), project: projectId };
writeState(state, { replace: true });

const tabButtons = TABS.map((tab) => h('button', { type: 'button', role: 'tab', dataset: { tab }, onclick: () => update({ tab }) }, TAB_TITLES[tab]));
const filterBar = h('form', { class: 'filters', 'aria-label': 'Filters', onsubmit: (e) => e.preventDefault() });
const content = h('div', { class: 'tab-content', role: 'tabpanel' });
root.replaceChildren(
  h('div', { class: 'dash-head' }, h('h1', {}, boot.project.name), h('div', { class: 'tabs', role: 'tablist' }, tabButtons)),
  filterBar, content);

// The values filters can take, per date range (not narrowed by the other filters, so they stack freely).
let facets = { regions: [], sdks: [], browsers: [] };
let facetsRange = '';
async function loadFacets() {
  const range = `${state.start}/${state.end}`;
  if (range === facetsRange) return;
  const data = await query(facetsQuery, { p: projectId, start: state.start, end: state.end });
  facets = { regions: rows(data, 'regions'), sdks: rows(data, 'sdks'), browsers: rows(data, 'browsers') };
  facetsRange = range;
}

function drawFilters() {
  const open = filterBar.querySelector('details[open]')?.dataset.filter;
  renderFilters(filterBar, state, optionsFrom(facets, state), update);
  if (open) filterBar.querySelector(`details[data-filter="${open}"]`).open = true;
}

let generation = 0;
async function refresh() {
  const mine = ++generation;
  root.dataset.state = 'loading';
  for (const b of tabButtons) b.setAttribute('aria-selected', String(b.dataset.tab === state.tab));
  drawFilters();
  destroyAll(content);
  const view = TAB_VIEWS[state.tab];
  const slots = view.layout(content);
  fill(slots.kpis, loading());
  try {
    const [data] = await Promise.all([query(view.document, variables(state, projectId)), loadFacets()]);
    if (mine !== generation) return; // a newer view was asked for meanwhile
    drawFilters();
    await view.render(slots, data, state);
    if (mine === generation) root.dataset.state = 'ready';
  } catch (error) {
    if (mine !== generation) return;
    destroyAll(content);
    fill(content, failure(error));
    root.dataset.state = 'error';
  }
}

function update(patch) {
  state = { ...state, ...patch };
  if (state.start > state.end) [state.start, state.end] = [state.end, state.start];
  writeState(state);
  refresh();
}

window.addEventListener('popstate', () => {
  state = { ...readState(), project: projectId };
  refresh();
});
refresh();
