/**
 * The packaged extension in code-server (VS Code's patched extension host) behind a real CONNECT proxy on loopback
 * (support/connect-proxy.ts). The server's URL names `enclave.test`, which only the proxy resolves (its own table maps
 * it to the reference server on 127.0.0.1; nothing edits /etc/hosts), so the direct route fails: a verification and a
 * transcript prove that `http.proxy` was followed inside VS Code. The proxy keeps what it relayed: only CONNECT
 * tunnels to the server, carrying TLS records in which no stretch of the audio appears in clear.
 *
 * Needs `bash scripts/e2e/install.sh` and `npm run package`; fails, never skips, without them.
 * Run: node --test out/test/e2e/proxy.e2e.js
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ConnectProxy } from '../../support/connect-proxy.js';
import { attestations, uploads, type Enclave } from './enclave.js';
import { TRANSCRIBE_MENU_ITEM, assertHeardSpoken, assertProvenanceHeader, speakSpeechWav, waitForEditorTitle, waitForSimulation } from './extension-fixture.js';
import { blindboxLog, type CodeServer, type Workbench } from './harness.js';
import { endProxiedSuite, startProxiedSuite, type ProxiedSuite } from './proxied-suite.js';

describe('BlindBox extension in code-server behind a CONNECT proxy (http.proxy)', { timeout: 180_000 }, () => {
  let suite: ProxiedSuite | undefined;
  let workspace: string;
  let enclave: Enclave;
  let proxy: ConnectProxy;
  let target: string;
  let server: CodeServer | undefined;
  let wb: Workbench | undefined;

  before(async () => {
    suite = await startProxiedSuite('proxy', { record: true }, speakSpeechWav);
    ({ workspace, enclave, proxy, target, server, wb } = suite);
  });

  after(async () => {
    if (suite) await endProxiedSuite(suite);
  });

  test('the status bar goes to SIMULATION: attested through the proxy, the only route to enclave.test', async () => {
    assert.match(await waitForSimulation(wb!), /BlindBox: SIMULATION · \d+ s$/);
    assert.ok(attestations(enclave).length >= 1);
    assert.ok(proxy.tunnels.some((t) => t.target === target && t.status === 200), JSON.stringify(proxy.tunnels));
    await wb!.screenshot('proxy-1-status-simulation');
  });

  test('the extension found VS Code’s own proxy resolver in code-server, and it names the same proxy', async () => {
    const log = await blindboxLog(server!.dir);
    assert.match(log, /VS Code's proxy resolver is available/);
    assert.ok(log.includes(`VS Code resolves https://${target} through ${proxy.url}`), log);
  });

  test('right-click speech.wav → Transcribe with BlindBox: transcribed through the proxy, which saw no audio in clear', async () => {
    const before = uploads(enclave).length;
    const relayedBefore = proxy.fromClients();
    await wb!.explorerContextMenu('speech.wav', TRANSCRIBE_MENU_ITEM);
    await waitForEditorTitle(wb!, 'speech.transcript.txt');
    assertHeardSpoken(assertProvenanceHeader(await wb!.activeEditorText(), enclave));
    assert.equal(uploads(enclave).length, before + 1, 'one upload');
    await wb!.screenshot('proxy-2-transcript');
    // The audio crossed the proxy inside a tunnel to the server (as TLS records), and nowhere else.
    const audio = await readFile(path.join(workspace, 'speech.wav'));
    assert.ok(proxy.fromClients() - relayedBefore > audio.length, `${proxy.fromClients() - relayedBefore} bytes relayed for ${audio.length} of audio`);
    const toServer = proxy.tunnels.filter((t) => t.target === target);
    assert.ok(toServer.length >= 1 && toServer.every((t) => t.status === 200), JSON.stringify(proxy.tunnels));
    // No 64-byte stretch of the samples (taken across the file) appears in what the proxy relayed.
    const relayed = proxy.relayed();
    for (let at = 1024; at + 64 <= audio.length; at += Math.floor(audio.length / 16)) {
      assert.equal(relayed.indexOf(audio.subarray(at, at + 64)), -1, `audio bytes ${at}…${at + 64} in clear at the proxy`);
    }
  });
});
