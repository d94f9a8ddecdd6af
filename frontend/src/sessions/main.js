// Sessions: a search box and the recent sessions of the project (sessionSummaries), newest first.
import '../common/shell.js';
import { ApiError, query } from '../common/api.js';
import { boot } from '../common/boot.js';
import { card, empty, failure, fill, h } from '../common/dom.js';
import { count, dateTime, duration, minutes } from '../common/format.js';
import { inspectorUrl, ADVANCED_NOTE } from '../common/sessions.js';

const projectId = boot.project.id;
const WINDOWS = { '1h': ['Last hour', 3600e3], '24h': ['Last 24 hours', 86400e3], '7d': ['Last 7 days', 7 * 86400e3], '21d': ['Last 21 days', 21 * 86400e3] };
const PAGE = 50;
const MAX_SESSIONS = 5000;

const summariesQuery = `query RecentSessions($p: IntOrString!, $start: Date!, $after: String) {
  project(projectId: $p) {
    sessionData {
      sessionSummaries(start: $start, first: 1000, endCursor: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        resources {
          sessionId mediaMode publisherMinutes subscriberMinutes
          meetings(first: 10) { totalCount resources { createdAt destroyedAt maxConcurrentConnections totalConnections totalStreams } }
        }
      }
    }
  }
}`;

// Worst sessions (docs/quality.md): the window's sessions by lowest quality score, optionally with one issue type.
const worstQuery = `query WorstSessions($p: IntOrString!, $start: Date!, $issue: String) {
  project(projectId: $p) {
    sessionData {
      sessionSummaries(start: $start, first: 20, orderBy: WORST_SCORE, issueType: $issue, maxScore: 5) {
        totalCount
        resources {
          sessionId
          quality { score scoreP10 issues { type start end } }
          meetings(first: 10) { resources { maxConcurrentConnections } }
        }
      }
    }
  }
}`;
const ISSUE_TYPES = ['high_packet_loss', 'high_rtt', 'high_jitter', 'low_bitrate', 'bandwidth_limited', 'cpu_limited',
  'low_frame_rate', 'video_freeze', 'one_way_media', 'failed_attempts', 'reconnect'];
const issueLabel = (type) => type.replaceAll('_', ' ');

// The issue type that lasted longest in all (ties: the most frequent, then by name).
function mainIssue(issues) {
  const total = new Map();
  for (const i of issues) {
    const [ms, n] = total.get(i.type) || [0, 0];
    total.set(i.type, [ms + Date.parse(i.end) - Date.parse(i.start), n + 1]);
  }
  const ranked = [...total].sort((a, b) => b[1][0] - a[1][0] || b[1][1] - a[1][1] || a[0].localeCompare(b[0]));
  return ranked.length ? ranked[0][0] : null;
}

const root = document.getElementById('app');
const params = new URLSearchParams(location.search);
let windowKey = WINDOWS[params.get('window')] ? params.get('window') : '24h';

const input = h('input', { type: 'search', name: 'session', placeholder: 'Session id, e.g. 1_MX4xMjM0NTY3OH5-…', 'aria-label': 'Session id', required: true, autocomplete: 'off' });
const search = h('form', { class: 'search card', role: 'search', onsubmit: (e) => {
  e.preventDefault();
  const id = input.value.trim();
  if (id) location.assign(inspectorUrl(id));
} }, input, h('button', { type: 'submit', class: 'primary' }, 'Inspect'));
const windowSelect = h('select', { name: 'window', 'aria-label': 'Time window', onchange: (e) => {
  windowKey = e.target.value;
  const q = new URLSearchParams(location.search);
  q.set('window', windowKey);
  history.replaceState(null, '', `?${q}`);
  load();
} }, Object.entries(WINDOWS).map(([key, [label]]) => h('option', { value: key, selected: key === windowKey }, label)));
const recent = card('Recent sessions', { id: 'recent-sessions', wide: true });
let issueFilter = ISSUE_TYPES.includes(params.get('issue')) ? params.get('issue') : '';
const issueSelect = h('select', { name: 'issue', 'aria-label': 'Issue type', onchange: (e) => {
  issueFilter = e.target.value;
  const q = new URLSearchParams(location.search);
  if (issueFilter) q.set('issue', issueFilter); else q.delete('issue');
  history.replaceState(null, '', `?${q}`);
  load();
} }, [h('option', { value: '' }, 'Any issue'),
  ...ISSUE_TYPES.map((t) => h('option', { value: t, selected: t === issueFilter }, issueLabel(t)))]);
const worst = card('Worst sessions', { id: 'worst-sessions', wide: true });
root.replaceChildren(h('div', { class: 'dash-head' }, h('h1', {}, 'Sessions')), search,
  h('div', { class: 'toolbar' }, h('span', { class: 'muted', id: 'session-count' }), issueSelect, windowSelect),
  worst.el, recent.el);

function worstRow(s) {
  const issue = mainIssue(s.quality.issues);
  const peak = Math.max(0, ...s.meetings.resources.map((m) => m.maxConcurrentConnections || 0));
  return h('tr', { dataset: { session: s.sessionId, score: s.quality.score.toFixed(2) } },
    h('td', {}, h('a', { class: 'id', href: inspectorUrl(s.sessionId) }, s.sessionId)),
    h('td', { class: 'num' }, s.quality.score.toFixed(2)),
    h('td', { class: 'num' }, s.quality.scoreP10.toFixed(2)),
    h('td', { dataset: { issue: issue || '' } }, issue ? h('span', { class: 'badge warn' }, issueLabel(issue)) : '—'),
    h('td', { class: 'num' }, count(s.quality.issues.length)),
    h('td', { class: 'num' }, count(peak)));
}

async function loadWorst(start, mine) {
  fill(worst.body, h('div', { class: 'state loading' }, 'Loading…'));
  const data = await query(worstQuery, { p: projectId, start, issue: issueFilter || null });
  if (mine !== generation) return;
  const rows = data.project.sessionData.sessionSummaries.resources;
  fill(worst.body, rows.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'worst' },
    h('thead', {}, h('tr', {}, ['Session', 'Score', 'Score p10', 'Main issue', 'Issues', 'Participants']
      .map((t, i) => h('th', { class: i === 0 || i === 3 ? '' : 'num' }, t)))),
    h('tbody', {}, rows.map(worstRow)))) : empty('No scored session in this time window.'));
}

const sessionStart = (s) => Math.min(...s.meetings.resources.map((m) => Date.parse(m.createdAt)));
const sessionLast = (s) => Math.max(...s.meetings.resources.map((m) => Date.parse(m.createdAt)));
const sessionEnd = (s) => (s.meetings.resources.some((m) => !m.destroyedAt) ? null
  : Math.max(...s.meetings.resources.map((m) => Date.parse(m.destroyedAt))));

function row(s) {
  const start = sessionStart(s);
  const end = sessionEnd(s);
  const meetings = s.meetings.resources;
  return h('tr', { dataset: { session: s.sessionId } },
    h('td', {}, h('a', { class: 'id', href: inspectorUrl(s.sessionId) }, s.sessionId)),
    h('td', {}, dateTime(new Date(start).toISOString())),
    h('td', {}, end === null ? h('span', { class: 'badge ok' }, 'live') : duration(end - start)),
    h('td', { class: 'num' }, count(s.meetings.totalCount)),
    h('td', { class: 'num' }, count(Math.max(...meetings.map((m) => m.maxConcurrentConnections || 0)))),
    h('td', { class: 'num' }, count(meetings.reduce((n, m) => n + (m.totalStreams || 0), 0))),
    h('td', { class: 'num' }, minutes(s.publisherMinutes)),
    h('td', { class: 'num' }, minutes(s.subscriberMinutes)),
    h('td', {}, s.mediaMode || ''));
}

function table(sessions) {
  let shown = Math.min(PAGE, sessions.length);
  const body = h('tbody', {}, sessions.slice(0, shown).map(row));
  const more = h('button', { type: 'button', onclick: () => {
    body.append(...sessions.slice(shown, shown + PAGE).map(row));
    shown = Math.min(shown + PAGE, sessions.length);
    if (shown >= sessions.length) more.remove();
  } }, 'Show more');
  return [h('div', { class: 'table-wrap' }, h('table', { class: 'sessions' },
    h('thead', {}, h('tr', {}, ['Session', 'Started', 'Duration', 'Meetings', 'Peak connections', 'Streams', 'Published', 'Subscribed', 'Media']
      .map((t, i) => h('th', { class: i >= 3 && i <= 7 ? 'num' : '' }, t)))), body)),
  shown < sessions.length ? more : null];
}

let generation = 0;
async function load() {
  const mine = ++generation;
  root.dataset.state = 'loading';
  fill(recent.body, h('div', { class: 'state loading' }, 'Loading…'));
  const start = new Date(Date.now() - WINDOWS[windowKey][1]).toISOString();
  try {
    await loadWorst(start, mine);
    const sessions = [];
    let after = null;
    let total = 0;
    do {
      const data = await query(summariesQuery, { p: projectId, start, after });
      const page = data.project.sessionData.sessionSummaries;
      total = page.totalCount;
      sessions.push(...page.resources.filter((s) => s.meetings.resources.length));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after && sessions.length < MAX_SESSIONS && mine === generation);
    if (mine !== generation) return;
    sessions.sort((a, b) => sessionLast(b) - sessionLast(a));
    document.getElementById('session-count').textContent = `${count(total)} sessions with a meeting in the window`;
    fill(recent.body, sessions.length ? table(sessions) : empty('No session had a meeting in this time window.'));
    root.dataset.state = 'ready';
  } catch (error) {
    if (mine !== generation) return;
    fill(recent.body, error instanceof ApiError && error.code === 1014 ? empty(ADVANCED_NOTE) : failure(error));
    fill(worst.body, '');
    root.dataset.state = 'error';
  }
}
load();
