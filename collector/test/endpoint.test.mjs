import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUserAgent } from '../src/endpoint.js';

const cases = [
  ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/150.0.0.0 Safari/537.36',
    { browser: 'CHROME', browserVersion: '150.0', os: 'Linux' }],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91',
    { browser: 'EDGE', browserVersion: '120.0', os: 'Windows', osVersion: '10.0' }],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0',
    { browser: 'FIREFOX', browserVersion: '121.0', os: 'macOS', osVersion: '10.15' }],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1',
    { browser: 'SAFARI', browserVersion: '17.2', os: 'iOS', osVersion: '17.2' }],
  ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36',
    { browser: 'CHROME', browserVersion: '120.0', os: 'Android', osVersion: '14' }],
];

for (const [ua, expected] of cases) {
  test(`user agent: ${expected.browser} on ${expected.os}`, () => assert.deepEqual(parseUserAgent(ua), expected));
}
