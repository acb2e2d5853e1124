/**
 * Extension activation cost, from the packaged bundle in a fresh process per run
 * (as VS Code loads it: require the entry bundle, call activate), and the first
 * use that loads the core lazily. Prints figures; asserts nothing.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, ms, table } from './stats.js';

const MEASURE = fileURLToPath(new URL('../support/measure-activation.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../dist/extension.cjs', import.meta.url));
const RUNS = 7;

const runs = Array.from({ length: RUNS }, () => JSON.parse(execFileSync(process.execPath, [MEASURE, BUNDLE], { encoding: 'utf8' }).trim().split('\n').at(-1)!));
const col = (key: string) => median(runs.map((r) => r[key] as number));
console.log(`\nExtension activation (dist/extension.cjs, fresh process per run, median of ${RUNS})\n`);
console.log(
  table([
    ['step', 'ms'],
    ['require the entry bundle', ms(col('requireMs'))],
    ['  of which bundle evaluation', ms(col('bundleEvaluationMs'))],
    ['activate()', ms(col('activateMs'))],
    ['first command (loads the core bundle lazily)', ms(col('firstUseMs'))],
  ]),
);
console.log(`\nactivation (require + activate): ${ms(col('requireMs') + col('activateMs'))} ms; the network stack is not loaded at activation.`);
