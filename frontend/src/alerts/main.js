// Alerts: the project's rules (create, delete) and the webhook delivery log (docs/alerts.md).
// Talks to /alerts/api with the login cookie and its CSRF token, like the CLI's `videoinsights alerts`.
import '../common/shell.js';
import { boot } from '../common/boot.js';
import { card, empty, failure, fill, h } from '../common/dom.js';
import { dateTime } from '../common/format.js';

const projectId = boot.project.id;
const api = (path) => `/alerts/api${path}?project=${encodeURIComponent(projectId)}`;
const METRICS = ['connect_failure_rate', 'publish_failure_rate', 'subscribe_failure_rate', 'minutes', 'score_p10', 'issue_share', 'meeting_ended'];
const ISSUES = ['high_packet_loss', 'high_rtt', 'high_jitter', 'low_bitrate', 'bandwidth_limited', 'cpu_limited',
  'low_frame_rate', 'video_freeze', 'one_way_media', 'failed_attempts', 'reconnect'];

async function call(path, body) {
  const init = body === undefined ? {} : {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': boot.csrf || '' },
    body: JSON.stringify(body),
  };
  const response = await fetch(api(path), { credentials: 'same-origin', ...init });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json?.error?.message || `The server answered ${response.status}`);
  return json;
}

const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);

const root = document.getElementById('app');
const rules = card('Rules', { id: 'alert-rules', wide: true });
const deliveries = card('Deliveries', { id: 'alert-deliveries', wide: true, note: 'The latest webhook deliveries, newest first.' });
const message = h('p', { class: 'form-message', role: 'status', id: 'alert-message' });

function input(name, label, attrs = {}) {
  return h('label', {}, label, ' ', h('input', { name, ...attrs }));
}

function select(name, label, options, attrs = {}) {
  return h('label', {}, label, ' ', h('select', { name, ...attrs }, options.map((o) => h('option', { value: o }, o))));
}

const form = h('form', { id: 'alert-form', class: 'alert-form' },
  select('metric', 'Metric', METRICS),
  select('direction', 'Fires', ['above', 'below']),
  input('threshold', 'Threshold (not for meeting_ended)', { type: 'number', step: 'any', placeholder: '0.2' }),
  input('window', 'Window', { value: '15m', required: true }),
  input('quiet', 'Quiet period', { value: '30m', required: true }),
  input('webhook', 'Webhook URL', { type: 'url', required: true, placeholder: 'https://hooks.example.com/…' }),
  select('issue_type', 'Issue type (issue_share)', ['', ...ISSUES]),
  input('countries', 'Countries', { placeholder: 'US, DE' }),
  input('sdks', 'SDKs', { placeholder: 'JS' }),
  input('browsers', 'Browsers', { placeholder: 'CHROME' }),
  h('button', { type: 'submit' }, 'Create rule'),
  message);

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const f = new FormData(form);
  const body = {
    metric: f.get('metric'), direction: f.get('direction'),
    threshold: f.get('threshold') === '' ? null : Number(f.get('threshold')),
    window: f.get('window'), quiet: f.get('quiet'), webhook: f.get('webhook'),
    countries: list(f.get('countries')), sdks: list(f.get('sdks')), browsers: list(f.get('browsers')),
  };
  if (f.get('issue_type')) body.issue_type = f.get('issue_type');
  if (body.metric === 'meeting_ended') {  // every ended meeting: no threshold, no filters
    delete body.threshold; delete body.countries; delete body.sdks; delete body.browsers;
  }
  try {
    const rule = await call('/rules', body);
    fill(message, `Created ${rule.id}. Signing secret: `, h('code', { id: 'new-secret' }, rule.secret));
    await refresh();
  } catch (error) {
    fill(message, h('span', { class: 'error', role: 'alert' }, error.message));
  }
});

function ruleRow(rule) {
  const filters = Object.entries(rule.filters).filter(([, v]) => v.length).map(([k, v]) => `${k} ${v.join(', ')}`).join('; ');
  const metric = rule.issueType ? `${rule.metric} (${rule.issueType})` : rule.metric;
  const condition = rule.metric === 'meeting_ended' ? 'every ended meeting'
    : `${metric} ${rule.direction === 'above' ? '>' : '<'} ${rule.threshold}`;
  const remove = h('button', { type: 'button', class: 'link', dataset: { delete: rule.id } }, 'Delete');
  remove.addEventListener('click', async () => {
    if (!confirm(`Delete alert rule ${rule.id}?`)) return;
    try {
      await call(`/rules/${encodeURIComponent(rule.id)}/delete`, {});
      await refresh();
    } catch (error) {
      fill(message, h('span', { class: 'error', role: 'alert' }, error.message));
    }
  });
  return h('tr', { dataset: { rule: rule.id, state: rule.state } },
    h('td', {}, h('code', {}, rule.id)), h('td', {}, rule.state),
    h('td', {}, condition),
    h('td', {}, `${rule.windowSeconds} s / quiet ${rule.quietSeconds} s`), h('td', {}, filters || 'all traffic'),
    h('td', {}, rule.webhook), h('td', {}, remove));
}

function deliveryRow(d) {
  return h('tr', { dataset: { delivery: d.id, status: d.status } },
    h('td', {}, dateTime(d.createdAt)), h('td', {}, h('code', {}, d.ruleId)), h('td', {}, d.event),
    h('td', {}, d.status), h('td', {}, d.attempts), h('td', {}, d.httpStatus ?? '–'), h('td', {}, d.lastError || ''));
}

function table(headers, rows) {
  return h('table', { class: 'table' }, h('thead', {}, h('tr', {}, headers.map((t) => h('th', {}, t)))), h('tbody', {}, rows));
}

async function refresh() {
  root.dataset.state = 'loading';
  try {
    const data = await call('');
    fill(rules.body, data.rules.length
      ? table(['Rule', 'State', 'Condition', 'Window', 'Filters', 'Webhook', ''], data.rules.map(ruleRow))
      : empty('No alert rules yet.'), form);
    fill(deliveries.body, data.deliveries.length
      ? table(['When', 'Rule', 'Event', 'Status', 'Tries', 'HTTP', 'Last error'], data.deliveries.map(deliveryRow))
      : empty('No deliveries yet.'));
    root.dataset.state = 'ready';
  } catch (error) {
    fill(rules.body, failure(error));
    root.dataset.state = 'error';
  }
}

fill(root, h('div', { class: 'grid' }, rules.el, deliveries.el));
refresh();
setInterval(refresh, 10000);
