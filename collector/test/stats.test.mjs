// Two consecutive getStats() reports recorded in Chromium (fixtures/chromium-loopback.json, made by
// tests/collector/record_fixtures.py) -> our events. Expected values are worked out by hand from the
// numbers in the fixture (quoted in each comment), not by the code under test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { negotiated } from '../src/sdp.js';
import { statsEvents } from '../src/stats.js';

const fx = JSON.parse(readFileSync(new URL('./fixtures/chromium-loopback.json', import.meta.url)));
const [r1, r2] = fx.reports;
const r1dp = (x) => Math.round(x * 10) / 10;

test('the publisher side: one stream (audio + video of one MediaStream) and nothing received', () => {
  const { published, received } = negotiated(fx.pubLocal, fx.pubRemote);
  assert.deepEqual(received, []);
  assert.equal(published.length, 1);
  assert.equal(published[0].streamId, fx.streamId);
  assert.deepEqual(published[0].mids, ['0', '1']);
  assert.deepEqual(published[0].kinds, ['audio', 'video']);
});

test('the subscriber side receives the publisher stream id (the msid both ends see)', () => {
  const { published, received } = negotiated(fx.subLocal, fx.subRemote);
  assert.deepEqual(published, []);
  assert.equal(received.length, 1);
  assert.equal(received[0].streamId, fx.streamId);
});

test('publisherStats from two reports 2,033 ms apart', () => {
  const stream = { streamId: 'S', mids: ['0', '1'] };
  const [e] = statsEvents(r1.pub, r2.pub, [stream], []);
  const dt = 1796186180991.421 - 1796186178958.382; // outbound-rtp timestamps
  assert.equal(e.type, 'publisherStats');
  assert.equal(e.streamId, 'S');
  assert.equal(e.videoBitrateKbps, r1dp(((300529 - 174773) * 8) / dt)); // bytesSent 174773 -> 300529
  assert.equal(e.audioBitrateKbps, r1dp(((14878 - 8479) * 8) / dt)); // 8479 -> 14878
  assert.equal(e.videoResolution, '640x480');
  assert.equal(e.frameRate, r1dp(((101 - 60) * 1000) / dt)); // framesEncoded 60 -> 101
  assert.equal(e.videoCodec, 'VP8');
  assert.equal(e.audioCodec, 'opus');
  assert.equal(e.qualityLimitationReason, 'none');
  assert.equal(e.availableOutgoingBitrateKbps, 4062); // candidate pair 4,062,000 bps
  // remote-inbound-rtp video: totalRoundTripTime 0.002053 -> 0.00837 over 2 -> 4 measurements
  const rtt = ((0.008369999999999999 - 0.0020529999999999997) / 2) * 1000;
  assert.equal(e.roundTripMs, r1dp(rtt));
  assert.equal(e.videoLatencyMs, r1dp(rtt / 2));
  // audio: measurements stay at 1, so the latest roundTripTime 0.00119 s
  assert.equal(e.audioLatencyMs, r1dp(1.19 / 2));
  assert.equal(e.jitterMs, 1.8); // remote-inbound video jitter 0.001766 s
  assert.equal(e.videoPacketLoss, 0); // packetsLost 0 -> 0 over 129 packets
  assert.equal(e.audioPacketLoss, 0);
  assert.equal(e.hasAudio, true);
  assert.equal(e.hasVideo, true);
  assert.equal(e.freezeCount, undefined); // a sender has no freezes
});

test('subscriberStats from two reports 2,033 ms apart', () => {
  const sub = { subscriberId: 'sub1', mids: ['0', '1'] };
  const [e] = statsEvents(r1.sub, r2.sub, [], [sub]);
  const dt = 1796186180992.691 - 1796186178959.645; // inbound-rtp timestamps
  assert.equal(e.type, 'subscriberStats');
  assert.equal(e.subscriberId, 'sub1');
  assert.equal(e.videoBitrateKbps, r1dp(((300529 - 174773) * 8) / dt));
  assert.equal(e.audioBitrateKbps, r1dp(((14878 - 8479) * 8) / dt));
  assert.equal(e.videoResolution, '640x480');
  assert.equal(e.frameRate, r1dp(((100 - 60) * 1000) / dt)); // framesDecoded 60 -> 100
  assert.equal(e.freezeCount, 0);
  assert.equal(e.videoPacketLoss, 0); // lost 0 of 129 received
  assert.equal(e.roundTripMs, 0); // no RTCP-XR RTT; the candidate pair's currentRoundTripTime is 0
  // latency = RTT / 2 + jitter-buffer delay per emitted frame / sample over the interval
  assert.equal(e.videoLatencyMs, r1dp(((0.660276 - 0.382849) / (100 - 60)) * 1000));
  assert.equal(e.audioLatencyMs, r1dp(((10262.4 - 6192) / (243840 - 145920)) * 1000));
  assert.equal(e.jitterMs, 1); // inbound video jitter 0.001 s
  assert.equal(e.qualityLimitationReason, undefined);
  assert.equal(e.availableOutgoingBitrateKbps, undefined);
});

test('without a previous report there are no rates, but the current values are there', () => {
  const [e] = statsEvents(null, r2.pub, [{ streamId: 'S', mids: ['0', '1'] }], []);
  assert.equal(e.videoBitrateKbps, undefined);
  assert.equal(e.videoResolution, '640x480');
  assert.equal(e.frameRate, 20); // framesPerSecond, as no frame delta exists
});

test('an RTP stream new since the previous report counts from zero since that report', () => {
  const prev = { T01: { id: 'T01', type: 'transport', timestamp: 1000 } };
  const curr = { V: { id: 'V', type: 'outbound-rtp', kind: 'video', mid: '1', timestamp: 3000, bytesSent: 50000 } };
  const [e] = statsEvents(prev, curr, [{ streamId: 'S', mids: ['1'] }], []);
  assert.equal(e.videoBitrateKbps, 200); // 50,000 bytes * 8 / 2,000 ms
  assert.equal(e.hasAudio, false);
});

test('packet loss of a received stream: lost / (lost + received) over the interval', () => {
  const a = { I: { id: 'I', type: 'inbound-rtp', kind: 'audio', mid: '0', timestamp: 0, packetsLost: 10, packetsReceived: 1000, bytesReceived: 0 } };
  const b = { I: { id: 'I', type: 'inbound-rtp', kind: 'audio', mid: '0', timestamp: 1000, packetsLost: 40, packetsReceived: 1270, bytesReceived: 4000 } };
  const [e] = statsEvents(a, b, [], [{ subscriberId: 'x', mids: ['0'] }]);
  assert.equal(e.audioPacketLoss, 0.1); // 30 lost / (30 + 270)
  assert.equal(e.audioBitrateKbps, 32); // 4,000 bytes * 8 / 1,000 ms
  assert.equal(e.hasVideo, false);
});

test('simulcast: bitrates add up, resolution and frame rate are the largest layer', () => {
  const layer = (id, w, bytes, frames, t) => ({ id, type: 'outbound-rtp', kind: 'video', mid: '1', timestamp: t, bytesSent: bytes,
    frameWidth: w, frameHeight: (w * 9) / 16, framesEncoded: frames, qualityLimitationReason: 'bandwidth' });
  const a = { L: layer('L', 320, 0, 0, 0), H: layer('H', 1280, 0, 0, 0) };
  const b = { L: layer('L', 320, 10000, 30, 1000), H: layer('H', 1280, 90000, 25, 1000) };
  const [e] = statsEvents(a, b, [{ streamId: 'S', mids: ['1'] }], []);
  assert.equal(e.videoBitrateKbps, 800); // (10,000 + 90,000) bytes * 8 / 1,000 ms
  assert.equal(e.videoResolution, '1280x720');
  assert.equal(e.frameRate, 25);
  assert.equal(e.qualityLimitationReason, 'bandwidth');
});
