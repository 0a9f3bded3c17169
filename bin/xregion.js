#!/usr/bin/env node
// The published entry point: the compiled CLI (built by `npm run build`, run on `npm install`).
require('../dist/services/cli/main.js');
