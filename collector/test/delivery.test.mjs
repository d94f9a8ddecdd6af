// The delivery queue against a scripted fetch (the network's answers); the real server is exercised
// end to end by tests/collector/test_loopback.py.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, chunks, parseRetryAfter, Sender, trimQueue } from '../src/delivery.js';

const ev = (id, type = 'publisherStats') => ({ id, type });

test('a full queue drops the oldest stats snapshots first, never lifecycle events', () => {
  const q = [ev('1', 'connectionCreated'), ev('2'), ev('3', 'streamCreated'), ev('4', 'subscriberStats'), ev('5')];
  assert.deepEqual(trimQueue(q, 3).map((e) => e.id), ['1', '3', '5']);
  const lifecycle = [ev('a', 'connectionCreated'), ev('b', 'streamCreated')];
  assert.deepEqual(trimQueue(lifecycle, 1).map((e) => e.id), ['a', 'b']);
});

test('backoff doubles up to the ceiling, with jitter in its upper half, and honours Retry-After', () => {
  assert.equal(backoffMs(1, { baseMs: 1000, random: () => 0 }), 500);
  assert.equal(backoffMs(3, { baseMs: 1000, random: () => 1 }), 4000);
  assert.equal(backoffMs(20, { baseMs: 1000, maxMs: 60000, random: () => 1 }), 60000);
  assert.equal(backoffMs(1, { baseMs: 1000, random: () => 1, retryAfterS: 7 }), 7000);
  assert.equal(parseRetryAfter('3'), 3);
  assert.equal(parseRetryAfter('Wed, 02 Dec 2026 00:00:10 GMT', Date.parse('Wed, 02 Dec 2026 00:00:00 GMT')), 10);
});

test('keepalive bodies are split under the size limit', () => {
  const events = Array.from({ length: 10 }, (_, i) => ({ id: String(i), pad: 'x'.repeat(40) }));
  const parts = chunks(events, 200);
  assert.ok(parts.length > 1);
  assert.deepEqual(parts.flat().map((e) => e.id), events.map((e) => e.id));
  for (const p of parts) assert.ok(JSON.stringify(p).length <= 200);
});

function scripted(statuses) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, ids: JSON.parse(init.body).map((e) => e.id), headers: init.headers });
    const status = statuses.shift();
    if (status === 'network') throw new TypeError('Failed to fetch');
    return { status, headers: { get: () => null } };
  };
  return { calls, fetch };
}

test('a failed batch is retried with the same ids, then the queue empties', async () => {
  const { calls, fetch } = scripted(['network', 503, 200]);
  const warnings = [];
  const s = new Sender({ url: 'http://x/', key: 'vik_1', maxQueue: 10, batchSize: 10, baseBackoffMs: 1, maxBackoffMs: 2, fetch, warn: (m) => warnings.push(m) });
  s.push([ev('a'), ev('b')]);
  await s.flush();
  for (let i = 0; i < 1000 && s.queue.length; i++) await new Promise((r) => setTimeout(r, 5)); // retries run on timers
  assert.deepEqual(calls.map((c) => c.ids), [['a', 'b'], ['a', 'b'], ['a', 'b']]);
  assert.equal(calls[0].url, 'http://x/v1/events?key=vik_1');
  assert.equal(s.queue.length, 0);
  assert.deepEqual(warnings, []);
});

test('a refused credential stops sending and warns once', async () => {
  const { calls, fetch } = scripted([401]);
  const warnings = [];
  let stopped = 0;
  const s = new Sender({ url: 'http://x', token: async () => 'jwt', maxQueue: 10, batchSize: 10, baseBackoffMs: 1, maxBackoffMs: 2, fetch,
    warn: (m) => warnings.push(m), onStop: () => { stopped += 1; } });
  s.push([ev('a')]);
  await s.flush();
  s.push([ev('b')]);
  await s.flush();
  assert.equal(calls.length, 1);
  assert.equal(calls[0].headers['X-OPENTOK-AUTH'], 'jwt');
  assert.equal(stopped, 1);
  assert.equal(warnings.length, 1);
  assert.equal(s.stopped, true);
});
