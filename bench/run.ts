/**
 * `npm run bench`: how long verifying a real Nitro attestation document takes, measured against the cost of one bare
 * P-384 ECDSA verification (the yardstick: a document needs at least one, for its own COSE signature, and a
 * never-seen chain four more). Prints figures only; it never asserts timing.
 *
 *   (1) warm        verifyAttestation at the document's own timestamp, caches warm, after a warm-up
 *   (2) never-seen  the same, with clearChainCaches() before every call: certificates parsed and chain signatures
 *                   checked again (modules loaded and JIT warm)
 *   (3) cold        a fresh Node process (out/bench/cold.js): from before `import('../src/core/index.js')` to after
 *                   the first verifyAttestation
 *   (4) yardstick   one crypto.verify('sha384', data, key, sig) with a freshly generated P-384 key
 *
 * Options (environment): BENCH_COLD_RUNS (default 5), BENCH_COLD_DOCS=all to run the cold start for every document
 * instead of real_8 only, BENCH_WARM_REPEATS (default 300), BENCH_FRESH_REPEATS (default 60).
 */
import { generateKeyPairSync, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readCertificate } from '../src/core/attestation/certificate.js';
import { parseCoseSign1 } from '../src/core/attestation/cose.js';
import { parsePayload } from '../src/core/attestation/payload.js';
import { clearChainCaches, verifyAttestation } from '../src/core/index.js';
import { loadRealDocuments, NITRO_DIR, type RealDocument } from '../support/fixtures.js';
import { median, ms, quantile, sample, sampleInterleaved, table, times } from './stats.js';

const benchStart = performance.now();
const WARM_REPEATS = Number(process.env.BENCH_WARM_REPEATS ?? 300);
const FRESH_REPEATS = Number(process.env.BENCH_FRESH_REPEATS ?? 60);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 5);
const COLD_ALL = process.env.BENCH_COLD_DOCS === 'all';
const COLD_DOC = 'real_8';
const BARE_REPEATS = 2000;
const COLD_JS = fileURLToPath(new URL('./cold.js', import.meta.url));

const docs = loadRealDocuments();

// ---- (4) the yardstick: one bare P-384 ECDSA verify -------------------------------------------------------------
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const data = randomBytes(4096); // about the size of a document's Sig_structure
const signature = sign('sha384', data, privateKey);
let bareOk = true;
const bareVerify = () => (bareOk = verify('sha384', data, publicKey, signature) && bareOk);
const bareSamples = sample(bareVerify, BARE_REPEATS, 200);
if (!bareOk) throw new Error('the yardstick signature did not verify');

// ---- (1) warm and (2) never-seen certificates, per document --------------------------------------------------------
interface DocFigures {
  readonly doc: RealDocument;
  readonly warm: number;
  readonly warmP90: number;
  /** Median of the bare verifies interleaved with the warm runs. */
  readonly warmBare: number;
  readonly fresh: number;
  readonly freshP90: number;
  /** Median of the bare verifies interleaved with the never-seen runs. */
  readonly freshBare: number;
  cold?: ColdFigures;
}
interface ColdRun {
  readonly importMs: number;
  readonly firstVerifyMs: number;
  readonly totalMs: number;
  readonly secondVerifyMs: number;
  readonly sinceProcessStartMs: number;
}
interface ColdFigures {
  readonly runs: number;
  readonly total: number;
  readonly importMs: number;
  readonly firstVerifyMs: number;
  readonly secondVerifyMs: number;
  readonly sinceProcessStart: number;
}

const figures: DocFigures[] = [];
for (const doc of docs) {
  const options = { now: new Date(doc.timestampMs) };
  const once = () => verifyAttestation(doc.bytes, options);
  const [warmSamples, warmBare] = sampleInterleaved(once, bareVerify, WARM_REPEATS, 50);
  const [freshSamples, freshBare] = sampleInterleaved(once, bareVerify, FRESH_REPEATS, 5, clearChainCaches);
  bareSamples.push(...warmBare, ...freshBare);
  figures.push({
    doc,
    warm: median(warmSamples),
    warmP90: quantile(warmSamples, 0.9),
    warmBare: median(warmBare),
    fresh: median(freshSamples),
    freshP90: quantile(freshSamples, 0.9),
    freshBare: median(freshBare),
  });
}
if (!bareOk) throw new Error('the yardstick signature did not verify');
/** The yardstick: the median of every bare verify timed in this run (the first block plus those interleaved). */
const bare = median(bareSamples);
clearChainCaches();

// ---- where a never-seen chain's time goes (informational, one document) -------------------------------------------
// The same primitives chain.ts uses on a cache miss, timed separately on the certificates of COLD_DOC.
const breakdownDoc = figures.find((f) => f.doc.name === COLD_DOC) ?? figures[0]!;
const ders = (() => {
  const payload = parsePayload(parseCoseSign1(breakdownDoc.doc.bytes).payload);
  return [...payload.cabundle, payload.certificate];
})();
const x509s = ders.map((der) => new X509Certificate(der));
const breakdown = {
  certificates: ders.length,
  x509Parse: median(sample(() => ders.forEach((der) => new X509Certificate(der)), 100, 10)),
  fieldsRead: median(sample(() => ders.forEach(readCertificate), 100, 10)),
  linkVerify: median(sample(() => x509s.forEach((c, i) => i > 0 && c.verify(x509s[i - 1]!.publicKey)), 100, 10)),
};

// ---- (3) cold start in fresh processes -------------------------------------------------------------------------
function coldRun(doc: RealDocument): ColdRun {
  const r = spawnSync(process.execPath, [COLD_JS, `${NITRO_DIR}${doc.name}.cbor`, String(doc.timestampMs)], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`cold run of ${doc.name} failed (exit ${String(r.status)}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ColdRun;
}
for (const f of figures) {
  if (!COLD_ALL && f.doc.name !== COLD_DOC) continue;
  const runs = Array.from({ length: COLD_RUNS }, () => coldRun(f.doc));
  const pick = (k: keyof ColdRun) => median(runs.map((r) => r[k]));
  f.cold = {
    runs: runs.length,
    total: pick('totalMs'),
    importMs: pick('importMs'),
    firstVerifyMs: pick('firstVerifyMs'),
    secondVerifyMs: pick('secondVerifyMs'),
    sinceProcessStart: pick('sinceProcessStartMs'),
  };
}

// ---- report ----------------------------------------------------------------------------------------------------
const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
const out: string[] = [];
out.push(`blindbox attestation benchmark — Node ${process.version}, OpenSSL ${process.versions.openssl}, ${cpu} (${availableParallelism()} CPUs)`);
out.push('');
out.push(`yardstick: one bare P-384 ECDSA verify (crypto.verify sha384, 4 KiB message, KeyObject), median of ${bareSamples.length} (${BARE_REPEATS} up front + one interleaved with every timed verification):`);
out.push(`  ${ms(bare)} ms  (p10 ${ms(quantile(bareSamples, 0.1))}, p90 ${ms(quantile(bareSamples, 0.9))})  = ${Math.round(1000 / bare)} verifies/s`);
out.push('');
out.push(`per document, verifyAttestation at its own timestamp (medians; warm: ${WARM_REPEATS} runs after 50 warm-up; never-seen: ${FRESH_REPEATS} runs, clearChainCaches() before each).`);
out.push('"× bare" divides by the bare verifies interleaved with that very measurement (robust to a busy machine); cold uses the overall yardstick.');
out.push('');
const rows: string[][] = [['doc', 'bytes', 'warm ms', 'p90', 'verif/s', '× bare', 'never-seen ms', 'p90', '× bare', 'cold ms', '× bare']];
for (const f of figures) {
  rows.push([
    f.doc.name,
    String(f.doc.bytes.length),
    ms(f.warm),
    ms(f.warmP90),
    String(Math.round(1000 / f.warm)),
    times(f.warm, f.warmBare),
    ms(f.fresh),
    ms(f.freshP90),
    times(f.fresh, f.freshBare),
    f.cold ? ms(f.cold.total) : '-',
    f.cold ? times(f.cold.total, bare) : '-',
  ]);
}
const all = (k: 'warm' | 'fresh') => median(figures.map((f) => f[k]));
const ratio = (f: DocFigures, k: 'warm' | 'fresh') => f[k] / (k === 'warm' ? f.warmBare : f.freshBare);
const allRatio = (k: 'warm' | 'fresh') => median(figures.map((f) => ratio(f, k)));
rows.push(['median', '', ms(all('warm')), '', String(Math.round(1000 / all('warm'))), times(allRatio('warm'), 1), ms(all('fresh')), '', times(allRatio('fresh'), 1), '', '']);
out.push(table(rows));
out.push('');

const coldDocs = figures.filter((f) => f.cold);
out.push(`cold start: fresh \`node out/bench/cold.js\` per run, median of ${COLD_RUNS} runs ${COLD_ALL ? 'per document' : `for ${COLD_DOC} only (BENCH_COLD_DOCS=all for every document)`}:`);
out.push('');
const coldRows: string[][] = [['doc', 'import core ms', 'first verify ms', 'import+verify ms', '× bare', 'second verify ms', 'since process start ms']];
for (const f of coldDocs) {
  const c = f.cold!;
  coldRows.push([f.doc.name, ms(c.importMs), ms(c.firstVerifyMs), ms(c.total), times(c.total, bare), ms(c.secondVerifyMs), ms(c.sinceProcessStart)]);
}
out.push(table(coldRows));
out.push('');

const n = breakdown.certificates;
out.push(`where a never-seen chain's time goes (${breakdownDoc.doc.name}: ${n} certificates; medians of 100, for comparison with its never-seen ${ms(breakdownDoc.fresh)} ms):`);
out.push('');
out.push(
  table([
    ['step', 'ms', '× bare'],
    [`node:crypto X509Certificate parse ×${n}`, ms(breakdown.x509Parse), times(breakdown.x509Parse, bare)],
    [`asn1js fields read (certificate.ts) ×${n}`, ms(breakdown.fieldsRead), times(breakdown.fieldsRead, bare)],
    [`X509Certificate.verify (chain links) ×${n - 1}`, ms(breakdown.linkVerify), times(breakdown.linkVerify, bare)],
    ['document ES384 signature (≈ the yardstick) ×1', ms(bare), '1.0×'],
  ]),
);
out.push('');

out.push('goals (printed, not asserted):');
const worst = (k: 'warm' | 'fresh') => figures.reduce((a, b) => (ratio(b, k) > ratio(a, k) ? b : a));
const worstFresh = worst('fresh');
const worstWarm = worst('warm');
const slowestWarm = Math.max(...figures.map((f) => f.warm));
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
out.push(
  `  never-seen chain ≤ 6 bare verifies: median ${times(allRatio('fresh'), 1)}, worst ${worstFresh.doc.name} ${times(ratio(worstFresh, 'fresh'), 1)} (${ms(worstFresh.fresh)} ms) → ${verdict(ratio(worstFresh, 'fresh') <= 6)}`,
);
out.push(`  warm ≤ 1.5 bare verifies: median ${times(allRatio('warm'), 1)}, worst ${worstWarm.doc.name} ${times(ratio(worstWarm, 'warm'), 1)} → ${verdict(ratio(worstWarm, 'warm') <= 1.5)}`);
out.push(`  warm < 1 ms: median ${ms(all('warm'))} ms, slowest document ${ms(slowestWarm)} ms → ${verdict(slowestWarm < 1)} (absolute; depends on this machine, whose bare verify is ${ms(bare)} ms)`);
out.push('');
out.push(`bench took ${((performance.now() - benchStart) / 1000).toFixed(1)} s`);
process.stdout.write(out.join('\n') + '\n');
