#!/usr/bin/env node
// The CLI as `npm run build` makes it: src/cli/launch.ts runs the bundle (scripts/bundle-cli.mjs) from its code cache.
import '../out/src/cli/launch.js';
