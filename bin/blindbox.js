#!/usr/bin/env node
// The CLI is compiled to out/ by `npm install` (prepare) or any npm script that runs it.
import '../out/src/cli/main.js';
