#!/usr/bin/env node
// The CLI as `npm run build` makes it: src/cli/launch.ts (bundled as CommonJS) runs the CLI bundle from its code cache.
let launcher;
try {
  launcher = require.resolve('../out/bundle/cli/launch.cjs');
} catch {
  // 70: EXIT_INTERNAL (src/cli/exit-codes.ts), which this file cannot load before the build.
  process.stderr.write('blindbox: the blindbox CLI is not built (out/bundle/cli/launch.cjs is missing): run npm run build\n');
  process.exit(70);
}
require(launcher);
