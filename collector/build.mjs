// Bundles the collector with esbuild: an ES module and a single-file IIFE (global `VideoInsights`)
// in dist/ (the npm package), copied with gzip twins into the server's static folder, which
// serves the IIFE at GET /collector.js. `npm run build`; ./run calls it when sources change.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const { name, version } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const dist = join(here, 'dist');
const served = join(here, '..', 'videoinsights', 'web', 'pages', 'static', 'collector');
const base = 'videoinsights-collector';

const common = {
  entryPoints: [join(here, 'src', 'index.js')],
  bundle: true,
  minify: true,
  target: ['es2020'],
  define: { __VERSION__: JSON.stringify(version) },
  banner: { js: `/*! ${name} ${version} | MIT */` },
  legalComments: 'none',
  logLevel: 'warning',
};

rmSync(dist, { recursive: true, force: true });
await Promise.all([
  esbuild.build({ ...common, format: 'esm', outfile: join(dist, `${base}.mjs`) }),
  esbuild.build({ ...common, format: 'iife', globalName: 'VideoInsights', outfile: join(dist, `${base}.js`) }),
]);

rmSync(served, { recursive: true, force: true });
mkdirSync(served, { recursive: true });
const sizes = {};
for (const file of [`${base}.js`, `${base}.mjs`]) {
  copyFileSync(join(dist, file), join(served, file));
  const bytes = readFileSync(join(dist, file));
  const gz = gzipSync(bytes, { level: 9 });
  writeFileSync(join(served, `${file}.gz`), gz);
  sizes[file] = { minified: bytes.length, gzipped: gz.length };
}
// The server reads the version from here; ./run compares this file's time with the sources'.
writeFileSync(join(served, 'build.json'), `${JSON.stringify({ name, version, builtAt: new Date().toISOString(), sizes })}\n`);
console.log(`collector ${version}: ${Object.entries(sizes).map(([f, s]) => `${f} ${s.minified} B, ${s.gzipped} B gzipped`).join('; ')}`);
