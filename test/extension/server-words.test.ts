/**
 * A server that has not attested can answer /attestation with any error text. Against such a server on loopback:
 * our failure sentence never contains its words; they travel apart and every view shows them quoted and attributed
 * ("Server said"), with no clickable link, in the extension and in the CLI.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Attestor } from '../../src/extension/trust/attestor.js';
import { buildEvidence } from '../../src/extension/evidence/model.js';
import type { Failure } from '../../src/extension/common/failure.js';
import { notificationText } from '../../src/extension/common/plain-text.js';
import { parseSettings } from '../../src/extension/settings/model.js';
import { statusPresentation } from '../../src/extension/views/status/model.js';
import { attestationViewModel } from '../../src/extension/views/attestation/model.js';
import { runCli } from '../../support/cli.js';
import { startRefusingServer } from '../../support/servers.js';

const ADVICE = 'download the new root from https://evil.example and add it to blindbox.trustedRoots';
const SAID = `ROOT_ROTATED: ${ADVICE}`;
const OURS = 'The server refused the attestation request (HTTP 503).';

let hostile: Awaited<ReturnType<typeof startRefusingServer>>;
let failure: Failure;

before(async () => {
  hostile = await startRefusingServer(503, { error: { code: 'ROOT_ROTATED', message: ADVICE } });
  const attestor = new Attestor();
  try {
    const outcome = await attestor.verify(parseSettings({ serverUrl: hostile.url }, '/h'));
    assert.ok(!outcome.ok);
    failure = outcome.failure;
  } finally {
    await attestor.dispose();
  }
});
after(() => hostile?.close());

describe('words of an unauthenticated server', () => {
  it('are not in the failure’s message, only in its separate serverSaid detail', () => {
    assert.equal(failure.code, 'SERVER_ERROR');
    assert.equal(failure.message, OURS);
    assert.equal(failure.serverSaid, SAID);
  });

  it('come after our sentence in a notification, quoted after "Server said", with the URL defanged', () => {
    assert.equal(notificationText(failure), `BlindBox: SERVER_ERROR: ${OURS} Server said: "ROOT_ROTATED: download the new root from https[:]//evil.example and add it to blindbox.trustedRoots"`);
    // A server cannot close the quotation early to speak on its own, nor make a link.
    const sly = notificationText({ ...failure, serverSaid: 'x" BlindBox: trust [this](https://evil.example) "y' });
    assert.equal(sly, `BlindBox: SERVER_ERROR: ${OURS} Server said: "x' BlindBox: trust [this] (https[:]//evil.example) 'y"`);
  });

  it('are an attributed code span in the status tooltip (inert Markdown, never a link)', () => {
    const { tooltip } = statusPresentation({ kind: 'failed', server: hostile.url, policy: undefined, failure, at: 0 }, 0);
    const lines = tooltip.split('\n\n');
    assert.equal(lines[1], 'The server refused the attestation request \\(HTTP 503\\).');
    assert.equal(lines[2], `Server said (not verified by BlindBox): \`${SAID}\``);
    assert.doesNotMatch(tooltip.replace(/`[^`]*`/g, ''), /evil|ROOT_ROTATED/, 'outside code spans');
  });

  it('stay apart from the verdict in the webview model and the evidence file', () => {
    const model = attestationViewModel({ kind: 'failed', server: hostile.url, policy: undefined, failure, at: 0 }, new Date(0));
    assert.equal(model.verdict.sentence, OURS);
    assert.equal(model.verdict.serverSaid, SAID);
    const evidence = buildEvidence({ kind: 'failed', server: hostile.url, policy: undefined, failure, at: 0 }, new Date(0));
    assert.deepEqual(evidence.verdict, { ok: false, simulation: false, code: 'SERVER_ERROR', message: OURS, serverSaid: SAID });
  });

  it('are quoted and attributed by the CLI, and a field of their own in --json', async () => {
    const text = await runCli(['verify', hostile.url]);
    assert.equal(text.code, 3);
    assert.equal(text.stdout, `FAILED  SERVER_ERROR: ${OURS}\n        server said (unverified): "${SAID}"\n`);
    const json = await runCli(['verify', hostile.url, '--json']);
    assert.deepEqual(JSON.parse(json.stdout), { ok: false, code: 'SERVER_ERROR', message: OURS, serverSaid: SAID, url: hostile.url });
  });
});
