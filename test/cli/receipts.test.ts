/**
 * The CLI's receipt and evidence contract, run as a user runs it: `transcribe --receipt` writes a receipt and prints
 * exactly the bytes it binds; `verify-receipt` and `verify-evidence` check files offline and exit 0 (proved), 1
 * (refused, with its code) or 2 (usage).
 */
import assert from 'node:assert/strict';
import { copyFile, link, lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, sha256Hex, type AttestedSession } from '../../src/core/index.js';
import { createPocketSphinxEngine } from '../../src/server/engine/pocketsphinx/engine.js';
import { buildEvidence } from '../../src/extension/evidence/model.js';
import { runCli } from '../../support/cli.js';
import { rootsTrusting, startSimulationServer, type ReferenceServer } from '../../support/servers.js';
import { scratchDir, speak } from '../../support/speech.js';
import { policy, realAttested, verified } from '../extension/helpers.js';

let server: ReferenceServer;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let wav: string;
let rootPem: string;
let receipt: string;
let transcript: string;

before(async () => {
  scratch = await scratchDir();
  server = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1 }) });
  rootPem = path.join(scratch.dir, 'root.pem');
  await writeFile(rootPem, server.provider.rootPem);
  wav = await speak(scratch.dir, 'rms', 'The children played in the park.', 'speech');
  receipt = path.join(scratch.dir, 'speech.receipt.json');
  transcript = path.join(scratch.dir, 'speech.txt');
  const run = await runCli(['transcribe', server.url, wav, '--trust-root', rootPem, '--receipt', receipt]);
  assert.equal(run.code, 0, run.stderr);
  await writeFile(transcript, run.stdout);
});

after(async () => {
  await server?.close();
  await scratch?.dispose();
});

const verifyReceipt = (...extra: string[]) => runCli(['verify-receipt', receipt, '--audio', wav, '--transcript', transcript, '--trust-root', rootPem, ...extra]);

describe('blindbox verify-receipt', () => {
  it('exit 0, saying what it proved: which enclave, which audio, when', async () => {
    const audioSha256 = sha256Hex(await readFile(wav));
    const r = await verifyReceipt();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^VERIFIED  this transcript was produced by an enclave with PCR0 [0-9a-f]{96} for audio with SHA-256 ${audioSha256} at \\d{4}-\\d\\d-\\d\\dT`));
    assert.match(r.stdout, /NOT an AWS root: simulation/);
    const json = JSON.parse((await verifyReceipt('--json')).stdout) as { ok: boolean; audioSha256: string; format: string; engine: string };
    assert.deepEqual([json.ok, json.audioSha256, json.format, json.engine], [true, audioSha256, 'text', 'pocketsphinx']);
  });

  it('with the PCR0 the receipt carries, says it was checked; with another, exit 1 PCR_MISMATCH', async () => {
    const pcr0 = (JSON.parse((await verifyReceipt('--json')).stdout) as { pcrs: Record<string, string> }).pcrs[0]!;
    const ok = await verifyReceipt('--pcr', `0=${pcr0}`);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /policy {6}PCR0 match the given/);
    const bad = await verifyReceipt('--pcr', `0=${'ab'.repeat(48)}`, '--json');
    assert.equal(bad.code, 1);
    assert.equal((JSON.parse(bad.stdout) as { code: string }).code, 'PCR_MISMATCH');
  });

  it('exit 1 TRANSCRIPT_MISMATCH for an edited transcript, AUDIO_MISMATCH for other audio, CHAIN_UNTRUSTED without the root', async () => {
    const edited = path.join(scratch.dir, 'edited.txt');
    await writeFile(edited, (await readFile(transcript, 'utf8')) + ' ');
    const t = await runCli(['verify-receipt', receipt, '--audio', wav, '--transcript', edited, '--trust-root', rootPem]);
    assert.equal(t.code, 1);
    // In words first, then the hashes, one line a file.
    assert.match(t.stdout, /^REJECTED  TRANSCRIPT_MISMATCH: The transcript changed after the enclave signed it; the audio matches\.\n {10}audio SHA-256 [0-9a-f]{64} \(as signed\)\n {10}transcript SHA-256 [0-9a-f]{64}, signed [0-9a-f]{64}\n$/);
    const a = await runCli(['verify-receipt', receipt, '--audio', transcript, '--transcript', transcript, '--trust-root', rootPem]);
    assert.equal(a.code, 1);
    assert.match(a.stdout, /^REJECTED  AUDIO_MISMATCH: /);
    const u = await runCli(['verify-receipt', receipt, '--audio', wav, '--transcript', transcript]);
    assert.equal(u.code, 1);
    assert.match(u.stdout, /^REJECTED  CHAIN_UNTRUSTED: /);
  });

  it('exit 2 for usage errors: no --audio, a missing file, a bad --pcr', async () => {
    const r1 = await runCli(['verify-receipt', receipt, '--transcript', transcript]);
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /needs --audio <file> and --transcript <file>/);
    assert.equal((await runCli(['verify-receipt', path.join(scratch.dir, 'nope.json'), '--audio', wav, '--transcript', transcript])).code, 2);
    assert.equal((await verifyReceipt('--pcr', '00=ab')).code, 2);
  });

  it('exit 1 RECEIPT_MALFORMED for a file that is not a receipt', async () => {
    const junk = path.join(scratch.dir, 'junk.json');
    await writeFile(junk, '{"format":"something else"}');
    const r = await runCli(['verify-receipt', junk, '--audio', wav, '--transcript', transcript]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^REJECTED  RECEIPT_MALFORMED: /);
  });

  it('exit 1 RECEIPT_MALFORMED, not a usage error, for a receipt with malformed recorded PCRs or one larger than any receipt', async () => {
    const original = JSON.parse(await readFile(receipt, 'utf8')) as { policy: { pcrs: Record<string, string> } };
    const badPcrs = path.join(scratch.dir, 'bad-pcrs.receipt.json');
    await writeFile(badPcrs, JSON.stringify({ ...original, policy: { name: 'x', pcrs: { '00': 'ab'.repeat(48) } } }));
    const r = await runCli(['verify-receipt', badPcrs, '--audio', wav, '--transcript', transcript, '--trust-root', rootPem, '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { code: string }).code, 'RECEIPT_MALFORMED');
    const huge = path.join(scratch.dir, 'huge.receipt.json');
    await writeFile(huge, JSON.stringify({ ...original, padding: ' '.repeat(128 * 1024) }));
    const h = await runCli(['verify-receipt', huge, '--audio', wav, '--transcript', transcript, '--trust-root', rootPem]);
    assert.equal(h.code, 1, h.stdout + h.stderr);
    assert.match(h.stdout, /^REJECTED  RECEIPT_MALFORMED: The receipt file ".*huge\.receipt\.json" is larger than 128 KiB, more than any receipt\./);
  });

  it('shows the policy name the file records only as an unverified claim, never as the policy checked', async () => {
    const file = JSON.parse(await readFile(receipt, 'utf8')) as { policy: unknown };
    const pcr0 = (JSON.parse((await verifyReceipt('--json')).stdout) as { pcrs: Record<string, string> }).pcrs[0]!;
    file.policy = { name: 'BlindBox official release 1.0 (audited)', pcrs: { 0: pcr0 } };
    const claimed = path.join(scratch.dir, 'claimed.receipt.json');
    await writeFile(claimed, JSON.stringify(file));
    const run = (...extra: string[]) => runCli(['verify-receipt', claimed, '--audio', wav, '--transcript', transcript, '--trust-root', rootPem, ...extra]);
    const r = await run();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ {2}policy {6}PCR0 match the PCRs the receipt file records \(it names them "BlindBox official release 1\.0 \(audited\)"\): an UNVERIFIED claim/m);
    const json = JSON.parse((await run('--json')).stdout) as Record<string, unknown>;
    assert.deepEqual([json.policySource, json.claimedPolicyName, json.policyName], ['recorded', 'BlindBox official release 1.0 (audited)', undefined]);
    // Given on the command line, only the given policy is named.
    const given = await run('--pcr', `0=${pcr0}`);
    assert.match(given.stdout, /^ {2}policy {6}PCR0 match the given PCRs$/m);
    assert.doesNotMatch(given.stdout, /audited/);
  });

  it('exit 1 NOT_A_RECEIPT for a plain attestation document in a receipt file (not RECEIPT_REPLAYED)', async () => {
    const session = await connect(server.url, { roots: rootsTrusting(server) });
    const plain = path.join(scratch.dir, 'plain.receipt.json');
    try {
      const file = JSON.parse(await readFile(receipt, 'utf8')) as { document: string };
      await writeFile(plain, JSON.stringify({ ...file, document: Buffer.from(session.attested.document).toString('base64') }));
    } finally {
      await session.close();
    }
    const r = await runCli(['verify-receipt', plain, '--audio', wav, '--transcript', transcript, '--trust-root', rootPem]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^REJECTED {2}NOT_A_RECEIPT: The document's user_data has no "receipt" field: it is a plain attestation document/);
  });

  it('reads receipt, evidence and policy files that start with a UTF-8 byte order mark', async () => {
    const bom = path.join(scratch.dir, 'bom.receipt.json');
    await writeFile(bom, '\ufeff' + (await readFile(receipt, 'utf8')));
    const r = await runCli(['verify-receipt', bom, '--audio', wav, '--transcript', transcript, '--trust-root', rootPem]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const policyFile = path.join(scratch.dir, 'bom-policy.json');
    await writeFile(policyFile, '\ufeff' + JSON.stringify({ name: 'bom', pcrs: {} }));
    const p = await runCli(['verify-receipt', receipt, '--audio', wav, '--transcript', transcript, '--trust-root', rootPem, '--policy', policyFile]);
    assert.equal(p.code, 0, p.stdout + p.stderr);
  });
});

describe('blindbox transcribe --receipt', () => {
  it('refuses a receipt it could not write before attesting or sending anything (exit 2)', async () => {
    const r = await runCli(['transcribe', 'https://127.0.0.1:9', wav, '--receipt', path.join(scratch.dir, 'no-such-folder', 'r.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot write the receipt ".*r\.json": its folder is not writable \(ENOENT\)/);
  });

  it('a batch with --out-dir writes DIR/<name>.receipt.json beside each transcript, and it verifies', async () => {
    const out = path.join(scratch.dir, 'batch');
    const r = await runCli(['transcribe', server.url, wav, '--out-dir', out, '--trust-root', rootPem]);
    assert.equal(r.code, 0, r.stderr);
    const v = await runCli(['verify-receipt', path.join(out, 'speech.receipt.json'), '--audio', wav, '--transcript', path.join(out, 'speech.txt'), '--trust-root', rootPem]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.equal((await runCli(['transcribe', server.url, wav, '--out-dir', out, '--receipt', receipt])).code, 2);
  });

  it('wrote a receipt whose file names the audio and the format, and printed exactly the bytes it binds', async () => {
    const file = JSON.parse(await readFile(receipt, 'utf8')) as { audio: { name: string }; transcript: { format: string; sha256: string } };
    assert.equal(file.audio.name, 'speech.wav');
    assert.equal(file.transcript.format, 'text');
    assert.equal(file.transcript.sha256, sha256Hex(await readFile(transcript)));
  });
});

describe('blindbox verify-evidence', () => {
  let session: AttestedSession;
  let evidence: string;
  before(async () => {
    session = await connect(server.url, { roots: rootsTrusting(server) });
    evidence = path.join(scratch.dir, 'evidence.json');
    await writeFile(evidence, JSON.stringify(buildEvidence(verified(server.url, session.attested, policy({ 0: session.attested.attestation.pcrs[0]! })), new Date())));
  });
  after(() => session?.close());

  it('exit 0 for exported evidence: document at its time, policy PCRs, presented certificate carries the attested key', async () => {
    const r = await runCli(['verify-evidence', evidence, '--trust-root', rootPem]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The verdict first, then what was verified: the file and the server it records.
    assert.match(r.stdout, /^SIMULATION {2}VERIFIED {2}policy "[^"]*": attestation document is authentic.*\n\n {2}evidence {3}\S+evidence\.json\n {2}server {5}"https:\/\/127\.0\.0\.1:\d+"\n {2}module {5}"/);
    assert.match(r.stdout, /TLS binding {2}the presented certificate \(SHA-256 [0-9a-f]{64}\) carries the attested key/);
    assert.match(r.stdout, / {4}0 {2}[0-9a-f]{96} {2}match/);
  });

  it('reads an evidence file that starts with a UTF-8 byte order mark', async () => {
    const bom = path.join(scratch.dir, 'bom-evidence.json');
    await writeFile(bom, '\ufeff' + (await readFile(evidence, 'utf8')));
    const r = await runCli(['verify-evidence', bom, '--trust-root', rootPem]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('exit 1 CHAIN_UNTRUSTED without the root; TLS_BINDING_MISMATCH when the certificate is not the attested key', async () => {
    const u = await runCli(['verify-evidence', evidence, '--json']);
    assert.equal(u.code, 1);
    assert.equal((JSON.parse(u.stdout) as { code: string }).code, 'CHAIN_UNTRUSTED');
    // A real Nitro document whose public_key is empty: genuine, but it binds no TLS key.
    const { attested, doc } = realAttested();
    const real = path.join(scratch.dir, 'real-evidence.json');
    await writeFile(real, JSON.stringify(buildEvidence(verified('https://e.example', attested, policy({ 0: doc.pcrs[0]! })), new Date())));
    const m = await runCli(['verify-evidence', real, '--json']);
    assert.equal(m.code, 1, m.stdout + m.stderr);
    assert.equal((JSON.parse(m.stdout) as { code: string }).code, 'TLS_BINDING_MISMATCH');
    // A genuine document and certificate whose recorded binding was edited.
    const edited = path.join(scratch.dir, 'edited-evidence.json');
    const e = JSON.parse(await readFile(evidence, 'utf8')) as { tlsBinding: { attestedKeySha256: string } };
    e.tlsBinding.attestedKeySha256 = 'ab'.repeat(32);
    await writeFile(edited, JSON.stringify(e));
    const b = await runCli(['verify-evidence', edited, '--trust-root', rootPem]);
    assert.equal(b.code, 1);
    assert.match(b.stdout, /^REJECTED  TLS_BINDING_MISMATCH: The evidence file records another TLS binding/);
  });

  it('checks every enclave the file lists: all verified are reported; one that fails fails the file', async () => {
    // A second session to the same server: another document (its own nonce) for the same key, as a fleet's file lists several.
    const second = await connect(server.url, { roots: rootsTrusting(server) });
    try {
      const state = { kind: 'verified', server: server.url, policy: policy({ 0: session.attested.attestation.pcrs[0]! }), enclaves: [session.attested, second.attested] } as const;
      const two = path.join(scratch.dir, 'two-enclaves.json');
      await writeFile(two, JSON.stringify(buildEvidence(state, new Date())));
      const r = await runCli(['verify-evidence', two, '--trust-root', rootPem, '--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal((JSON.parse(r.stdout) as { others: unknown[] }).others.length, 1);
      // A listed enclave whose document is genuine but binds no key (real_3): the whole file is refused.
      const { attested, doc } = realAttested();
      const mixed = JSON.parse(await readFile(two, 'utf8')) as { enclaves: unknown[] };
      mixed.enclaves.push(buildEvidence(verified('https://e.example', attested, policy({ 0: doc.pcrs[0]! })), new Date()).enclaves[0]);
      const bad = path.join(scratch.dir, 'mixed-enclaves.json');
      await writeFile(bad, JSON.stringify(mixed));
      const m = await runCli(['verify-evidence', bad, '--trust-root', rootPem, '--json']);
      assert.equal(m.code, 1, m.stdout + m.stderr);
      assert.equal((JSON.parse(m.stdout) as { code: string }).code, 'PCR_MISMATCH');
    } finally {
      await second.close();
    }
  });

  it('exit 2 for a file that is not evidence, or records no document', async () => {
    const junk = path.join(scratch.dir, 'no-doc.json');
    await writeFile(junk, JSON.stringify({ format: 'blindbox-attestation-evidence/1', document: null, verdict: { code: 'CHAIN_UNTRUSTED' } }));
    const r = await runCli(['verify-evidence', junk]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /holds no attestation document \(it records "CHAIN_UNTRUSTED"\)/);
  });
});

describe('blindbox transcribe --format markdown', () => {
  it('prints the Markdown document the extension renders, from verbose_json', async () => {
    const r = await runCli(['transcribe', server.url, wav, '--trust-root', rootPem, '--format', 'markdown']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], '# Transcript of speech.wav');
    assert.match(r.stdout, /^> \*\*SIMULATION — not confidential\.\*\*/m);
    assert.match(r.stdout, /^- \*\*Verified:\*\* \d{4}-.* \(policy `default`\)$/m);
    assert.match(r.stdout, /^## Transcript\n\n- `\[00:0\d\]` \S/m);
    assert.match(r.stdout.toLowerCase(), /children|park/);
  });

  it('with --out-dir keeps the signed JSON and its receipt beside the .md; --receipt alone is a usage error', async () => {
    const dir = path.join(scratch.dir, 'md-out');
    const r = await runCli(['transcribe', server.url, wav, '--trust-root', rootPem, '--format', 'markdown', '--out-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(await readFile(path.join(dir, 'speech.md'), 'utf8'), /^# Transcript of speech\.wav\n/);
    const v = await runCli(['verify-receipt', path.join(dir, 'speech.receipt.json'), '--audio', wav, '--transcript', path.join(dir, 'speech.json'), '--trust-root', rootPem]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const refused = await runCli(['transcribe', server.url, wav, '--trust-root', rootPem, '--format', 'markdown', '--receipt', path.join(scratch.dir, 'x.json')]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^blindbox transcribe: --receipt binds the bytes the server signed, which --format markdown does not print/);
  });
});

describe('blindbox transcribe output names: never an input, never a link, never twice (exit 2 before anything is sent)', () => {
  /** A private folder holding a copy of the speech as `name`. */
  async function folderWith(name: string, sub: string): Promise<{ dir: string; audio: string; sha256: string }> {
    const dir = path.join(scratch.dir, sub);
    await mkdir(dir, { recursive: true });
    const audio = path.join(dir, name);
    await copyFile(wav, audio);
    return { dir, audio, sha256: sha256Hex(await readFile(audio)) };
  }

  /** Exit 2, the clash named, and no attestation (so no audio) happened. */
  function assertRefused(r: { code: number | null; stdout: string; stderr: string }, clash: RegExp): void {
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, clash);
    assert.doesNotMatch(r.stderr, /SIMULATION server/);
    assert.equal(r.stdout, '');
  }

  it('--receipt naming the audio itself (or a hard link to it) is refused; the audio is intact', async () => {
    const { dir, audio, sha256 } = await folderWith('meeting.wav', 'self-receipt');
    assertRefused(await runCli(['transcribe', server.url, audio, '--trust-root', rootPem, '--receipt', audio]), /the receipt of ".*meeting\.wav" would be written to ".*meeting\.wav", which is the input/);
    const alias = path.join(dir, 'alias.json');
    await link(audio, alias);
    assertRefused(await runCli(['transcribe', server.url, audio, '--trust-root', rootPem, '--receipt', alias]), /which is the input ".*meeting\.wav"/);
    assert.equal(sha256Hex(await readFile(audio)), sha256);
  });

  it('--receipt naming a planted symbolic link is refused; the file it points to is intact', async () => {
    const { dir, audio } = await folderWith('speech.wav', 'planted-link');
    const victim = path.join(dir, 'precious.txt');
    await writeFile(victim, 'keep me\n');
    const planted = path.join(dir, 'speech.receipt.json');
    await symlink(victim, planted);
    assertRefused(await runCli(['transcribe', server.url, audio, '--trust-root', rootPem, '--receipt', planted]), /which is a symbolic link: not followed/);
    assert.equal(await readFile(victim, 'utf8'), 'keep me\n');
    assert.equal((await lstat(planted)).isSymbolicLink(), true);
  });

  it('a batch with a.wav and a.receipt.wav in JSON (a.receipt.json twice) is refused, nothing written', async () => {
    const { dir, audio } = await folderWith('a.wav', 'receipt-clash');
    const second = path.join(dir, 'a.receipt.wav');
    await copyFile(wav, second);
    const out = path.join(dir, 'out');
    assertRefused(
      await runCli(['transcribe', server.url, audio, second, '--trust-root', rootPem, '--format', 'json', '--out-dir', out]),
      /the receipt of ".*a\.wav" and the transcript of ".*a\.receipt\.wav" would both be written to ".*a\.receipt\.json"/,
    );
    await assert.rejects(readdir(out), { code: 'ENOENT' });
  });

  it('--out-dir where a transcript would replace its own audio, or a planted link, is refused', async () => {
    const { dir, audio, sha256 } = await folderWith('notes.txt', 'out-is-in');
    assertRefused(await runCli(['transcribe', server.url, audio, '--trust-root', rootPem, '--out-dir', dir]), /the transcript of ".*notes\.txt" would be written to ".*notes\.txt", which is the input/);
    assert.equal(sha256Hex(await readFile(audio)), sha256);
    const other = await folderWith('speech.wav', 'out-link');
    const victim = path.join(other.dir, 'precious.txt');
    await writeFile(victim, 'keep me\n');
    await symlink(victim, path.join(other.dir, 'speech.receipt.json'));
    assertRefused(await runCli(['transcribe', server.url, other.audio, '--trust-root', rootPem, '--out-dir', other.dir]), /the receipt of ".*speech\.wav" would be written to .* symbolic link/);
    assert.equal(await readFile(victim, 'utf8'), 'keep me\n');
  });
});
