// Detected quality issues (docs/quality.md): their names, the IssueCounts field of each type, and how the
// evidence reads. Shared by the inspector's markers and the dashboard's Quality tab.
import { count, kbps, ms, num, pct } from './format.js';

/** [type as the API spells it in QualityIssue.type, IssueCounts field, label] in the API's order. */
export const ISSUES = [
  ['high_packet_loss', 'highPacketLoss', 'High packet loss'],
  ['high_rtt', 'highRtt', 'High round-trip time'],
  ['high_jitter', 'highJitter', 'High jitter'],
  ['low_bitrate', 'lowBitrate', 'Low bitrate'],
  ['bandwidth_limited', 'bandwidthLimited', 'Bandwidth limited'],
  ['cpu_limited', 'cpuLimited', 'CPU limited'],
  ['low_frame_rate', 'lowFrameRate', 'Low frame rate'],
  ['video_freeze', 'videoFreeze', 'Video freezes'],
  ['one_way_media', 'oneWayMedia', 'One-way media'],
  ['failed_attempts', 'failedAttempts', 'Failed attempts'],
  ['reconnect', 'reconnect', 'Reconnect'],
];
const LABELS = new Map(ISSUES.map(([type, , label]) => [type, label]));
export const issueLabel = (type) => LABELS.get(type) || type.replaceAll('_', ' ');

const seconds = (v) => `${num(v, 0)} s`;
// Evidence metric -> [words, format, the per-stream chart it belongs to (data-metric of streams.js)].
const METRICS = {
  packetLoss: ['packet loss', (v) => pct(v, 1), '%'],
  roundTripMs: ['round-trip time', ms, 'rtt'],
  jitterMs: ['jitter', ms, 'jitter'],
  bitsPerPixel: ['bits per pixel', (v) => num(v, 3), 'kbps'],
  videoBitrateKbps: ['video bitrate', kbps, 'limitation'],
  frameRate: ['frame rate', (v) => `${num(v, 1)} fps`, 'fps'],
  freezeCount: ['freezes per sample', count, 'freezes'],
  otherConnectionSeconds: ['time shared with others', seconds, null],
  failures: ['failures', count, null],
  gapSeconds: ['gap before rejoining', seconds, null],
};

/** The chart of a stream where the issue shows (null: it concerns the whole stream, shown on every chart). */
export const issueChart = (issue) => METRICS[issue.metric]?.[2] ?? null;

/** "packet loss 5% (threshold 3%)": the worst value during the issue and the line it crossed. */
export function evidence(issue) {
  const [words, fmt] = METRICS[issue.metric] || [issue.metric, (v) => num(v, 2)];
  const limited = issue.type === 'bandwidth_limited' || issue.type === 'cpu_limited';
  const threshold = !limited && issue.threshold !== null && issue.threshold !== undefined ? ` (threshold ${fmt(issue.threshold)})` : '';
  return `${words} ${fmt(issue.value)}${threshold}`;
}

/** The fields the inspector reads of each issue. */
export const ISSUE_FIELDS = 'type start end metric value threshold samples entityKind entityId connectionId';
