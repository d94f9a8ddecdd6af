// Bundles the browser pages with esbuild into videoinsights/web/pages/static/dist/ (git-ignored).
// `npm run build` (once, at setup) or `npm run watch` (while editing). No CDN: everything is served by our server.
import * as esbuild from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, '..', 'videoinsights', 'web', 'pages', 'static', 'dist');
const watch = process.argv.includes('--watch');

// One bundle per page; code shared between pages (Chart.js, helpers) goes to chunks/.
const pages = {
  entryPoints: {
    explorer: 'src/explorer/main.jsx',
    dashboard: 'src/dashboard/main.js',
    live: 'src/live/main.js',
    sessions: 'src/sessions/main.js',
    alerts: 'src/alerts/main.js',
    inspector: 'src/inspector/main.js',
    'collector-demo': 'src/collector-demo/main.js',
  },
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2022'],
  minify: !watch,
  sourcemap: watch ? 'inline' : false,
  jsx: 'automatic',
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file' },
  define: { 'process.env.NODE_ENV': watch ? '"development"' : '"production"' },
  legalComments: 'none',
  logLevel: 'info',
  absWorkingDir: here,
};

// The explorer's editor (Monaco) runs its language services in classic web workers.
const workers = {
  entryPoints: {
    'editor.worker': 'node_modules/monaco-editor/esm/vs/editor/editor.worker.js',
    'json.worker': 'node_modules/monaco-editor/esm/vs/language/json/json.worker.js',
    'graphql.worker': 'node_modules/monaco-graphql/esm/graphql.worker.js',
  },
  bundle: true,
  format: 'iife',
  target: ['es2022'],
  minify: !watch,
  outdir: join(outdir, 'workers'),
  entryNames: '[name]',
  legalComments: 'none',
  logLevel: 'info',
  absWorkingDir: here,
};

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
if (watch) {
  await (await esbuild.context(pages)).watch();
  await (await esbuild.context(workers)).watch();
} else {
  await Promise.all([esbuild.build(pages), esbuild.build(workers)]);
  gzipAll(outdir);
}
// A .gz beside each text asset; the server sends it to browsers that accept gzip.
function gzipAll(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) gzipAll(path);
    else if (/\.(js|css|json|ttf)$/.test(entry.name)) writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
  }
}

// The server uses this file's time as the assets' cache-busting version.
writeFileSync(join(outdir, 'build.json'), JSON.stringify({ builtAt: new Date().toISOString() }) + '\n');
