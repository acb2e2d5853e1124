#!/usr/bin/env node
// The CLI as bundled by `npm run build` (scripts/bundle-cli.mjs, after tsc): a few files instead of dozens of modules.
import '../out/bundle/cli/main.mjs';
