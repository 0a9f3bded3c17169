#!/usr/bin/env node
// The `xregion` command (`npm link`, `node bin/xregion.js`, `npm start`, `npx xregion`): the CLI
// compiled into dist/ by `npm run build`, which `npm install` runs (the `prepare` script). Plain
// node on compiled code starts in ~0.1 s; tsx transpiles every module at each start (2.7 s for
// `--version`), so it is only for running the sources directly (`npm run xregion:src`).
'use strict';
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const main = join(root, 'dist', 'services', 'cli', 'main.js');

if (!existsSync(main)) {
  process.stderr.write('xregion: dist/ is missing: run `npm run build` (`npm install` does it)\n');
  process.exit(1);
}

/** The first .ts file under `dir` modified after `built` (ms), or undefined. */
function newerSource(dir, built) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const found = newerSource(p, built);
      if (found) return found;
    } else if (e.name.endsWith('.ts') && statSync(p).mtimeMs > built) return p;
  }
  return undefined;
}

// In a checkout, sources edited since the last build would run stale without a word: say so.
// Checking ~200 mtimes costs ~2 ms of a ~100 ms start.
try {
  const built = statSync(main).mtimeMs;
  const stale = ['services', 'shared'].map((d) => join(root, d)).filter(existsSync).map((d) => newerSource(d, built)).find(Boolean);
  if (stale) process.stderr.write(`xregion: warning: ${stale.slice(root.length + 1)} changed after the last build; run \`npm run build\` to run it\n`);
} catch {
  // A source tree we cannot read is no reason not to run.
}

require(main);
