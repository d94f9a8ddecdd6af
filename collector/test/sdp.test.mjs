import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mediaSections, negotiated, sentStreams } from '../src/sdp.js';

const sdp = (...sections) => ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', ...sections.flat()].join('\r\n');
const m = (kind, mid, dir, msid, port = 9) => [`m=${kind} ${port} UDP/TLS/RTP/SAVPF 96`, `a=mid:${mid}`, `a=${dir}`, ...(msid ? [`a=msid:${msid}`] : [])];

test('sections keep their mid, direction and msid', () => {
  const [a] = mediaSections(sdp(m('audio', '0', 'sendonly', 'S1 T1')));
  assert.deepEqual(a, { mid: '0', kind: 'audio', direction: 'sendonly', port: 9, stream: 'S1', track: 'T1' });
});

test('two MediaStreams make two streams; a track without a stream is its own', () => {
  const streams = sentStreams(sdp(m('audio', '0', 'sendrecv', 'S1 A'), m('video', '1', 'sendrecv', 'S1 V'),
    m('video', '2', 'sendonly', 'S2 SCREEN'), m('video', '3', 'sendonly', '- LONE'), m('video', '4', 'recvonly'),
    m('video', '5', 'sendonly', 'S3 X', 0)));
  assert.deepEqual(streams.map((s) => [s.streamId, s.mids, s.kinds]),
    [['S1', ['0', '1'], ['audio', 'video']], ['S2', ['2'], ['video']], ['LONE', ['3'], ['video']]]);
});

test('negotiated: a section counts only when the other side accepts it', () => {
  const local = sdp(m('audio', '0', 'sendrecv', 'S1 A'), m('video', '1', 'sendrecv', 'S1 V'));
  const remote = sdp(m('audio', '0', 'recvonly'), m('video', '1', 'inactive'));
  const { published, received } = negotiated(local, remote);
  assert.deepEqual(published.map((s) => [s.streamId, s.mids, s.kinds]), [['S1', ['0'], ['audio']]]);
  assert.deepEqual(received, []);
});
