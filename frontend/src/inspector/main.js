// The session inspector: meetings on a timeline; per meeting the participants with their endpoint,
// the streams and who subscribed to them, and per-stream charts from the 30-second stats.
import '../common/shell.js';
import { ApiError, query } from '../common/api.js';
import { boot } from '../common/boot.js';
import { destroyAll } from '../common/charts.js';
import { countryName } from '../common/countries.js';
import { card, empty, failure, fill, h, kpi, loading } from '../common/dom.js';
import { count, dateTime, duration, minutes, num } from '../common/format.js';
import { ADVANCED_NOTE } from '../common/sessions.js';
import { sessionQuery, statsQuery } from './queries.js';
import { drawStreamCharts, issueData, issueList, issueText } from './streams.js';
import { drawTimeline } from './timeline.js';

const projectId = boot.project.id;
const sessionId = boot.sessionId;
const root = document.getElementById('app');
const MAX_MEETING_PAGES = 10;

const span = (a, b) => (b ? Date.parse(b) : Date.now()) - Date.parse(a);
const endpoint = (c) => [
  [c.sdkType, c.sdkVersion].filter(Boolean).join(' '),
  [c.browser, c.browserVersion].filter(Boolean).join(' '),
  c.deviceModel,
].filter(Boolean).join(' · ') || 'unknown';
const place = (c) => [c.city, c.region, c.country ? countryName(c.country) : null].filter(Boolean).join(', ') || '–';

async function loadSession() {
  let after = null;
  let session = null;
  const meetings = [];
  for (let page = 0; page < MAX_MEETING_PAGES; page += 1) {
    const data = await query(sessionQuery, { p: projectId, id: sessionId, after });
    const found = data.project.sessionData.sessions.resources[0];
    if (!found) return null;
    session = found;
    meetings.push(...found.meetings.resources);
    if (!found.meetings.pageInfo.hasNextPage) break;
    after = found.meetings.pageInfo.endCursor;
  }
  return { ...session, meetingList: meetings };
}

function header(session) {
  const totalMeetings = session.meetings.totalCount;
  return [
    h('div', { class: 'dash-head' }, h('div', {},
      h('p', { class: 'muted small' }, h('a', { href: `/sessions?project=${encodeURIComponent(projectId)}` }, '← Sessions')),
      h('h1', { class: 'session-title' }, session.sessionId))),
    h('div', { class: 'kpis' },
      kpi('meetings', 'Meetings', totalMeetings, count(totalMeetings)),
      kpi('published', 'Published minutes', session.publisherMinutes, minutes(session.publisherMinutes)),
      kpi('subscribed', 'Subscribed minutes', session.subscriberMinutes, minutes(session.subscriberMinutes)),
      kpi('mediaMode', 'Media mode', session.mediaMode, session.mediaMode || '–')),
  ];
}

function participantsTable(meeting) {
  const published = new Map();
  for (const p of meeting.publishers.resources) published.set(p.connectionId, (published.get(p.connectionId) || 0) + 1);
  const subscribed = new Map();
  for (const s of meeting.subscribers.resources) subscribed.set(s.connectionId, (subscribed.get(s.connectionId) || 0) + 1);
  const connections = meeting.connections.resources;
  if (!connections.length) return empty('No connection in this meeting.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'participants' },
    h('thead', {}, h('tr', {}, ['Connection', 'Endpoint', 'Location', 'Joined', 'Stayed', 'Streams', 'Subscriptions']
      .map((t, i) => h('th', { class: i >= 5 ? 'num' : '' }, t)))),
    h('tbody', {}, connections.map((c) => h('tr', { dataset: { connection: c.connectionId } },
      h('td', {}, h('span', { class: 'id', title: c.guid ? `guid ${c.guid}` : '' }, c.connectionId)),
      h('td', {}, endpoint(c)),
      h('td', {}, place(c)),
      h('td', {}, dateTime(c.createdAt)),
      h('td', {}, c.destroyedAt ? duration(span(c.createdAt, c.destroyedAt)) : h('span', { class: 'badge ok' }, 'connected')),
      h('td', { class: 'num' }, count(published.get(c.connectionId) || 0)),
      h('td', { class: 'num' }, count(subscribed.get(c.connectionId) || 0)))))));
}

function streamsList(meeting, statsSlot) {
  const subsByStream = new Map();
  for (const s of meeting.subscribers.resources) {
    const key = s.stream?.streamId;
    if (!subsByStream.has(key)) subsByStream.set(key, []);
    subsByStream.get(key).push(s);
  }
  const publishers = meeting.publishers.resources;
  if (!publishers.length) return empty('No stream was published in this meeting.');
  return publishers.map((p, i) => {
    const subs = subsByStream.get(p.stream?.streamId) || [];
    const tracks = [p.stream?.hasAudioTrack ? 'audio' : null, p.stream?.hasVideoTrack ? 'video' : null].filter(Boolean).join(' + ') || 'no tracks';
    const charts = h('div', { class: 'stream-stats' }, loading('Loading stats…'));
    const details = h('details', { class: 'stream', open: i === 0, dataset: { stream: p.stream?.streamId || '' } },
      h('summary', {},
        h('strong', {}, p.stream?.videoType || 'audio'), h('span', { class: 'id' }, p.stream?.streamId),
        h('span', { class: 'muted' }, `from ${p.connectionId} · ${tracks} · ${p.destroyedAt ? duration(span(p.createdAt, p.destroyedAt)) : 'live'}`),
        h('span', { class: 'badge' }, `${subs.length} subscriber${subs.length === 1 ? '' : 's'}`)),
      h('div', { class: 'stream-body' },
        subs.length ? h('p', { class: 'small muted' }, 'Subscribed by: ',
          subs.map((s, j) => [j ? ', ' : '', h('span', { class: 'id' }, s.connectionId)])) : h('p', { class: 'small muted' }, 'Nobody subscribed.'),
        charts));
    statsSlot.set(p.stream?.streamId, charts);
    return details;
  });
}

/**
 * The meeting's issues placed on the timeline rows (connections first, then streams) and grouped by stream.
 * A stream's issues are its own (publisher side) and those of its subscribers; a subscriber's, a reconnect's or
 * an attempt's issue goes on the row of the participant's connection.
 */
function placeIssues(meeting) {
  const connections = meeting.connections.resources;
  const publishers = meeting.publishers.resources;
  const connRow = new Map(connections.map((c, i) => [c.connectionId, i]));
  const streamRow = new Map(publishers.map((p, j) => [p.stream?.streamId, connections.length + j]));
  const streamOfSubscriber = new Map(meeting.subscribers.resources.map((s) => [s.subscriberId, s.stream?.streamId]));
  const marks = [];
  const byStream = new Map();
  const all = [];
  for (const issue of meeting.quality?.issues || []) {
    const onStream = issue.entityKind === 'stream';
    const who = `${onStream ? 'publisher' : issue.entityKind === 'subscriber' ? 'subscriber' : 'participant'} ${issue.connectionId || issue.entityId}`;
    all.push({ issue, who });
    const row = onStream ? streamRow.get(issue.entityId) : connRow.get(issue.connectionId ?? issue.entityId);
    if (row !== undefined) {
      marks.push({ row, start: Date.parse(issue.start), end: Date.parse(issue.end), title: issueText(issue, who),
        data: { ...issueData(issue, who), row: onStream ? `stream:${issue.entityId}` : `connection:${issue.connectionId ?? issue.entityId}` } });
    }
    const stream = onStream ? issue.entityId : issue.entityKind === 'subscriber' ? streamOfSubscriber.get(issue.entityId) : null;
    if (stream) {
      if (!byStream.has(stream)) byStream.set(stream, []);
      byStream.get(stream).push({ issue, who });
    }
  }
  return { marks, byStream, all };
}

async function showStats(meeting, slots, issuesByStream) {
  try {
    const data = await query(statsQuery, { p: projectId, id: sessionId, at: meeting.createdAt });
    const found = data.project.sessionData.sessions.resources[0]?.meetings.resources[0];
    const pubStats = new Map((found?.publishers.resources || []).map((p) => [p.stream?.streamId, p.streamStatsCollection]));
    const subStats = (found?.subscribers.resources || []);
    for (const [streamId, slot] of slots) {
      const pub = pubStats.get(streamId);
      const subs = subStats.filter((s) => s.stream?.streamId === streamId);
      const series = [
        { label: 'publisher', stats: pub?.resources || [] },
        ...subs.map((s) => ({ label: `subscriber ${s.connectionId.slice(0, 8)}`, stats: s.streamStatsCollection?.resources || [] })),
      ];
      const truncated = [pub, ...subs.map((s) => s.streamStatsCollection)].some((c) => c?.pageInfo?.hasNextPage);
      drawStreamCharts(slot, series, truncated, issuesByStream.get(streamId) || []);
    }
  } catch (error) {
    for (const slot of slots.values()) fill(slot, failure(error));
    throw error;
  }
}

function meetingView(meeting, index, container) {
  destroyAll(container);
  const connections = meeting.connections.resources;
  const placed = placeIssues(meeting);
  const score = meeting.quality?.score ?? null;
  const timeline = card('Connections and streams', { id: 'meeting-timeline', wide: true,
    note: placed.all.length ? 'Red marks: detected quality issues on the participant\'s or the stream\'s row (hover for the type and evidence).' : null });
  const people = card('Participants', { id: 'participants', wide: true });
  const streams = card('Streams and subscribers', { id: 'streams', wide: true, note: 'From the 30-second stats of the publisher (solid) and each subscriber (dashed); available outgoing bitrate and quality limitation are the publisher\'s alone.' });
  fill(container,
    h('div', { class: 'kpis' },
      kpi('meetingDuration', `Meeting ${index + 1}`, span(meeting.createdAt, meeting.destroyedAt), meeting.destroyedAt ? duration(span(meeting.createdAt, meeting.destroyedAt)) : 'live', dateTime(meeting.createdAt)),
      kpi('connections', 'Connections', meeting.connections.totalCount, count(meeting.connections.totalCount), `peak ${count(meeting.connections.maxConcurrent)} at once`),
      kpi('streams', 'Streams', meeting.publishers.totalCount, count(meeting.publishers.totalCount), minutes(meeting.publisherMinutes)),
      kpi('subscribers', 'Subscribers', meeting.subscribers.totalCount, count(meeting.subscribers.totalCount), minutes(meeting.subscriberMinutes)),
      kpi('score', 'Quality score', score, score === null ? '–' : num(score, 2),
        `${count(placed.all.length)} issue${placed.all.length === 1 ? '' : 's'} detected`)),
    h('div', { class: 'grid' }, timeline.el, people.el, streams.el));
  const rows = [
    ...connections.map((c) => ({ label: `conn ${c.connectionId.slice(0, 14)}`, start: c.createdAt, end: c.destroyedAt, colorIndex: 0 })),
    ...meeting.publishers.resources.map((p) => ({ label: `stream ${(p.stream?.streamId || '').slice(0, 12)}`, start: p.createdAt, end: p.destroyedAt, colorIndex: 1 })),
  ];
  if (rows.length) {
    drawTimeline(timeline.body, rows, { label: 'connections and streams of the meeting', marks: placed.marks });
    if (placed.all.length) {
      timeline.body.append(issueList(placed.all));
    }
  } else fill(timeline.body, empty());
  fill(people.body, participantsTable(meeting));
  const slots = new Map();
  fill(streams.body, streamsList(meeting, slots));
  return slots.size ? showStats(meeting, slots, placed.byStream) : Promise.resolve();
}

let currentIndex = -1;

/** Draw the session; `preferred` is the meeting to open (default: the last one). */
async function draw(session, preferred = null) {
  const meetings = session.meetingList;
  const overview = card('Meetings', { id: 'meetings', wide: true, note: 'A meeting ends when nobody is connected for 10 minutes. Click one to inspect it.' });
  const tabs = h('div', { class: 'meeting-tabs', role: 'group', 'aria-label': 'Meetings' });
  const detail = h('div', { class: 'meeting-detail' });
  destroyAll(root);
  fill(root, ...header(session), h('div', { class: 'grid' }, overview.el), tabs, detail);

  currentIndex = -1;
  const select = async (index) => {
    if (index === currentIndex) return;
    currentIndex = index;
    for (const [i, b] of [...tabs.children].entries()) b.setAttribute('aria-pressed', String(i === index));
    root.dataset.state = 'loading';
    try {
      await meetingView(meetings[index], index, detail);
      if (currentIndex === index) root.dataset.state = 'ready';
    } catch {
      if (currentIndex === index) root.dataset.state = 'error';
    }
  };
  fill(tabs, meetings.map((m, i) => h('button', { type: 'button', dataset: { meeting: i }, onclick: () => select(i) },
    `Meeting ${i + 1} · ${dateTime(m.createdAt)}`)));
  if (meetings.length) {
    drawTimeline(overview.body, meetings.map((m, i) => ({ label: `Meeting ${i + 1}`, start: m.createdAt, end: m.destroyedAt, colorIndex: 2 })),
      { label: 'meetings of the session', onClick: (i) => select(i) });
    await select(preferred !== null && preferred < meetings.length ? preferred : meetings.length - 1);
  } else {
    fill(overview.body, empty('No meeting.'));
    root.dataset.state = 'ready';
  }
}

// While the session is live (its last meeting has not ended), look again every LIVE_REFRESH_MS and
// redraw only when something changed; nothing is asked while the tab is hidden.
const LIVE_REFRESH_MS = 10000;
const isLive = (session) => session.meetingList.length > 0 && !session.meetingList.at(-1).destroyedAt;

function watch(session) {
  let shown = JSON.stringify(session);
  let live = isLive(session);
  const timer = setInterval(async () => {
    if (!live) { clearInterval(timer); return; }
    if (document.visibilityState === 'hidden' || root.dataset.state === 'loading') return;
    try {
      const fresh = await loadSession();
      if (!fresh || JSON.stringify(fresh) === shown) return;
      // Whoever watched the last meeting keeps following the last one (a new meeting may have begun).
      const followLast = currentIndex === JSON.parse(shown).meetingList.length - 1;
      shown = JSON.stringify(fresh);
      live = isLive(fresh);
      await draw(fresh, followLast ? null : currentIndex);
    } catch {
      // a failed refresh keeps the page as it was; the next one may succeed
    }
  }, LIVE_REFRESH_MS);
}

async function main() {
  root.dataset.state = 'loading';
  fill(root, loading('Loading the session…'));
  let session;
  try {
    session = await loadSession();
  } catch (error) {
    fill(root, error instanceof ApiError && error.code === 1014 ? empty(ADVANCED_NOTE) : failure(error));
    root.dataset.state = 'error';
    return;
  }
  if (!session) {
    fill(root, h('section', { class: 'card notice' }, h('h2', {}, 'Session not found'),
      h('p', {}, 'No session ', h('code', {}, sessionId), ' in this project within the Advanced Insights retention (21 days).'),
      h('p', {}, h('a', { href: `/sessions?project=${encodeURIComponent(projectId)}` }, 'Back to sessions'))));
    root.dataset.state = 'ready';
    return;
  }
  await draw(session);
  watch(session);
}
main();
