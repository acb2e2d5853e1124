#!/usr/bin/env node
// The CLI as `npm run build` makes it: src/cli/launch.ts (bundled as CommonJS) runs the CLI bundle from its code cache.
require('../out/bundle/cli/launch.cjs');
