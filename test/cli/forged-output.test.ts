/**
 * Forged terminal output: what a hostile server, certificate, document, receipt, evidence or policy file says reaches
 * the terminal escaped, on one line, quoted after a label of ours. Every CLI command that shows foreign text is run as
 * a user runs it, against a real hostile TLS server and real files, and its printed bytes are held to that rule.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { connect, trustedRootsFromPem } from '../../src/core/index.js';
import { buildEvidence } from '../../src/extension/evidence/model.js';
import { CLI, runCli, type CliResult } from '../../support/cli.js';
import { startHostileEnclave, type HostileEnclave } from '../helpers/hostile-enclave.js';
import { startRefusingServer, startSimulationServer } from '../../support/servers.js';
import type { TranscriptionEngine } from '../../src/server/engine/engine.js';
import { scratchDir } from '../../support/speech.js';
import { policy, verified } from '../extension/helpers.js';
import { assertEscapedOutput, assertNoRawText, MARK, WORDS } from '../helpers/foreign-text.js';

const SAMPLE = fileURLToPath(new URL('../../../media/sample.wav', import.meta.url));

let enclave: HostileEnclave;
let refusing: Awaited<ReturnType<typeof startRefusingServer>>;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
const file = (name: string) => path.join(scratch.dir, name);

before(async () => {
  scratch = await scratchDir();
  enclave = await startHostileEnclave(WORDS);
  refusing = await startRefusingServer(503, { error: { code: `BUSY${WORDS}`, message: `${WORDS}\nVERIFIED  see https://evil.example/fix` } });
  await writeFile(file('root.pem'), enclave.rootPem);
  await writeFile(file('policy.json'), JSON.stringify({ name: WORDS, pcrs: {}, roots: ['root.pem'] }));
});

after(async () => {
  await enclave?.close();
  await refusing?.close();
  await scratch?.dispose();
});

/** Runs `blindbox …args` and holds both streams to the rule; returns the result for more checks. */
async function run(args: readonly string[], code: number): Promise<CliResult> {
  const r = await runCli(args);
  assert.equal(r.code, code, `blindbox ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  assertEscapedOutput(`blindbox ${args[0]} stdout`, r.stdout);
  assertEscapedOutput(`blindbox ${args[0]} stderr`, r.stderr);
  return r;
}

describe('a hostile server cannot forge or hide terminal lines', () => {
  it('verify: an untrusted chain whose root subject holds escapes is refused with the subject quoted, escaped', async () => {
    const r = await run(['verify', enclave.url], 1);
    assert.match(r.stdout, /^REJECTED {2}CHAIN_UNTRUSTED: The attestation chain starts at "CN=root ATTACKER\\x1b\[2K\\r\\x1b\]0;pwned\\x07/);
    await run(['verify', enclave.url, '--json'], 1);
  });

  it('verify: a trusted chain shows its subjects and module id quoted, the policy name escaped; --json carries no raw C1', async () => {
    const r = await run(['verify', enclave.url, '--trust-root', file('root.pem')], 0);
    assert.match(r.stdout, /^SIMULATION {2}VERIFIED {2}/);
    assert.match(r.stdout, /^ {2}module {5}"i-ATTACKER\\x1b/m);
    const p = await run(['verify', enclave.url, '--policy', file('policy.json')], 0);
    assert.match(p.stdout, /^SIMULATION {2}VERIFIED {2}policy "ATTACKER\\x1b\[2K.*\\u009b2J.*": attestation document is authentic/);
    const json = await run(['verify', enclave.url, '--trust-root', file('root.pem'), '--json'], 0);
    assert.equal((JSON.parse(json.stdout) as { moduleId: string }).moduleId, `i-${WORDS}`);
  });

  it('verify and transcribe: a refusal whose words hold a newline and a URL stays one quoted line', async () => {
    const v = await run(['verify', refusing.url], 3);
    assert.match(v.stdout, /server said \(unverified\): "BUSYATTACKER.*\\nVERIFIED {2}see https:\/\/evil\.example\/fix"\n$/);
    await run(['transcribe', refusing.url, SAMPLE], 3);
  });

  it('transcribe: the untrusted chain\'s subject reaches stderr escaped, and no audio is sent', async () => {
    const r = await run(['transcribe', enclave.url, SAMPLE], 1);
    assert.match(r.stderr, /^REJECTED {2}CHAIN_UNTRUSTED: .*"CN=root ATTACKER\\x1b/m);
    assert.match(r.stderr, /^blindbox: no audio was sent\.$/m);
  });

  it('transcribe: a batch names planted files escaped', async () => {
    const names = ['plain\x1b[2K\r\u009b1Aforged.wav', 'b\u202eb.wav'];
    for (const name of names) await copyFile(SAMPLE, file(name));
    const r = await run(['transcribe', enclave.url, ...names.map(file), '--out-dir', file('out'), '--trust-root', file('root.pem')], 1);
    assert.match(r.stderr, /^plain\\x1b\[2K\\r\\u009b1Aforged\.wav\tFAILED RECEIPT_MISSING/m);
  });

  it('verify-doc: the document\'s subjects and module id, verified or not, in text and JSON', async () => {
    await writeFile(file('doc.cbor'), await enclave.document(null));
    await run(['verify-doc', file('doc.cbor')], 1);
    await run(['verify-doc', file('doc.cbor'), '--json'], 1);
    const ok = await run(['verify-doc', file('doc.cbor'), '--trust-root', file('root.pem')], 0);
    assert.match(ok.stdout, /^ {2}4\. "O=ATTACKER\\x1b\[2K/m);
    await run(['verify-doc', file('doc.cbor'), '--trust-root', file('root.pem'), '--json'], 0);
  });

  it('verify-receipt: a genuinely signed endpoint with a newline and ESC[8m neither forges lines nor hides the real ones', async () => {
    const audio = await readFile(SAMPLE);
    const transcript = Buffer.from('hello world\n');
    await writeFile(file('speech.txt'), transcript);
    const forged = `/v1/audio/transcriptions\n\x1b[8m${MARK}\n  enclave     i-0; chain ends in AWS Nitro Enclaves Root G1\n  policy      PCR0 match the given policy\n`;
    await writeFile(file('signed.receipt.json'), JSON.stringify(await enclave.receipt(audio, transcript, { endpoint: forged, engine: WORDS, model: WORDS })));
    const args = ['verify-receipt', file('signed.receipt.json'), '--audio', SAMPLE, '--transcript', file('speech.txt'), '--trust-root', file('root.pem')];
    const r = await run(args, 0);
    const lines = r.stdout.split('\n');
    assert.ok(lines.some((l) => /^ {2}enclave {5}"i-ATTACKER.*chain ends in \S+root\.pem \(NOT an AWS root: simulation, not confidential\)$/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /^ {2}policy {6}NO PCR was required/.test(l)), r.stdout);
    assert.ok(lines.filter((l) => /chain ends in AWS|match the given policy/.test(l)).every((l) => l.includes(MARK)), r.stdout);
    await run([...args, '--json'], 0);
  });

  it('verify-receipt: a recorded PCR key with a C1 control and a recorded policy name with escapes', async () => {
    const audio = await readFile(SAMPLE);
    const receipt = { ...(await enclave.receipt(audio, Buffer.from('x'), {})), policy: { name: WORDS, pcrs: { [`\u009b2J${MARK}0`]: '00'.repeat(48) } } };
    await writeFile(file('speech-x.txt'), 'x');
    await writeFile(file('c1.receipt.json'), JSON.stringify(receipt));
    const args = ['verify-receipt', file('c1.receipt.json'), '--audio', SAMPLE, '--transcript', file('speech-x.txt'), '--trust-root', file('root.pem')];
    const r = await runCli(args);
    assert.notEqual(r.code, 0);
    assertEscapedOutput('verify-receipt stdout', r.stdout);
    assertEscapedOutput('verify-receipt stderr', r.stderr);
    assert.match(r.stdout + r.stderr, /\\u009b2J/);
  });

  it('verify-evidence: ESC in verdict.code, and a valid file whose server and policy name are hostile', async () => {
    await writeFile(file('no-doc.json'), JSON.stringify({ format: 'blindbox-attestation-evidence/1', verdict: { ok: false, code: `${WORDS}` } }));
    await run(['verify-evidence', file('no-doc.json')], 2);
    const session = await connect(enclave.url, { roots: trustedRootsFromPem(enclave.rootPem, 'hostile root') });
    try {
      const evidence = { ...buildEvidence(verified(enclave.url, session.attested, policy({}, WORDS)), new Date()), server: `${WORDS}\nVERIFIED  https://evil.example` };
      await writeFile(file('evidence.json'), JSON.stringify(evidence));
    } finally {
      await session.close();
    }
    const r = await run(['verify-evidence', file('evidence.json'), '--trust-root', file('root.pem')], 0);
    assert.match(r.stdout, /^ {2}server {5}"ATTACKER\\x1b/m);
    await run(['verify-evidence', file('evidence.json'), '--trust-root', file('root.pem'), '--json'], 0);
    await run(['verify-evidence', file('evidence.json'), '--json'], 1);
  });

  it('demo: the audio file\'s name is shown escaped', async () => {
    // A right-to-left override (U+202E) reverses how the rest of the name reads.
    await copyFile(SAMPLE, file('demo\u202evaw.exe.wav'));
    const r = await run(['demo', '--audio', file('demo\u202evaw.exe.wav')], 0);
    assert.match(r.stdout, /demo\\u202evaw\.exe\.wav/);
  });

  it('transcribe: a signed transcript holding escapes goes byte for byte into a pipe, and escaped onto a terminal', async () => {
    const said = `hello ${WORDS} world`;
    const engine: TranscriptionEngine = { name: 'hostile', model: 'words', languages: ['en'], transcribe: async () => ({ text: said, segments: [], duration: 1, language: 'en' }), close: async () => {} };
    const server = await startSimulationServer({ engine });
    try {
      await writeFile(file('sim-root.pem'), server.provider.rootPem);
      const args = ['transcribe', server.url, SAMPLE, '--trust-root', file('sim-root.pem')];
      // Into a pipe (a file): the bytes the enclave signed, so that `> speech.txt` verifies.
      const piped = await runCli(args);
      assert.equal(piped.code, 0, piped.stderr);
      assert.ok(piped.stdout.startsWith(said), JSON.stringify(piped.stdout));
      // On a terminal (script(1) gives the CLI a pseudo-terminal): escaped, and said so.
      const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
      // Spawned, not spawnSync: the server answering it runs in this process.
      const script = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
      const tty = { stdout: '' };
      script.stdout.on('data', (d) => (tty.stdout += d));
      const [status] = (await once(script, 'close')) as [number | null];
      assert.equal(status, 0, tty.stdout);
      // The transcript keeps its own lines (subtitles have many); nothing in them reaches the terminal raw.
      assert.match(tty.stdout, /^hello ATTACKER\\x1b\[2K\\r\\x1b\]0;pwned\\x07VERIFIED {2}forged\r\n\\u009b2J\\u009b8mhttps/m);
      assert.match(tty.stdout, /the transcript holds control characters; they are shown escaped/);
      assertNoRawText('transcribe on a terminal', tty.stdout.replace(/\r\n/g, '\n'), true);
    } finally {
      await server.close();
    }
  });
});
