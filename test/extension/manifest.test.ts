/** package.json, .vscodeignore and the code agree on every id, setting and file the extension contributes. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { ATTESTATION_VIEW_TYPE, ATTESTED_CONTEXT, COMMANDS, CONFIGURED_CONTEXT, SETTING_KEYS, TRANSCRIBED_CONTEXT, TRUST_VIEW_ID, WALKTHROUGH_ID } from '../../src/extension/ids.js';
import { TRUST_SETTINGS } from '../../src/extension/settings/scope.js';
import { REPO, readRepoFile } from './helpers.js';

const pkg = JSON.parse(readRepoFile('package.json'));

/** Whether the .vsix carries `file` (a path from the repository root), by the `!` rules of .vscodeignore. */
function shippedBy(file: string): boolean {
  const shipped = readRepoFile('.vscodeignore').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1));
  return shipped.some((rule) => new RegExp(`^${rule.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`).test(file));
}

describe('extension manifest', () => {
  it('contributes exactly the commands the code registers, in the BlindBox category', () => {
    const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual(contributed, Object.values(COMMANDS).sort());
    for (const c of pkg.contributes.commands) assert.equal(c.category, 'BlindBox', c.command);
    const titles = Object.fromEntries(pkg.contributes.commands.map((c: { command: string; title: string }) => [c.command, c.title]));
    assert.equal(titles[COMMANDS.transcribe], 'Transcribe Audio File…');
    assert.equal(titles[COMMANDS.transcribeFromExplorer], 'Transcribe with BlindBox');
    assert.equal(titles[COMMANDS.verify], 'Verify Enclave Server');
    assert.equal(titles[COMMANDS.showAttestation], 'Show Attestation');
    assert.equal(titles[COMMANDS.exportEvidence], 'Export Attestation Evidence…');
  });

  it('hides the explorer-only command from the palette and offers it on audio files', () => {
    assert.deepEqual(pkg.contributes.menus.commandPalette, [{ command: COMMANDS.transcribeFromExplorer, when: 'false' }]);
    const [entry, folder] = pkg.contributes.menus['explorer/context'];
    assert.equal(entry.command, COMMANDS.transcribeFromExplorer);
    assert.match(entry.when, /resourceExtname =~/);
    // A folder transcribes the audio files in it, as one batch.
    assert.deepEqual({ command: folder.command, when: folder.when }, { command: COMMANDS.transcribeFromExplorer, when: 'explorerResourceIsFolder' });
  });

  it('offers a batch concurrency setting, application-scoped (not a trust setting)', () => {
    const p = pkg.contributes.configuration.properties[SETTING_KEYS.concurrency];
    assert.deepEqual({ type: p.type, default: p.default, minimum: p.minimum, maximum: p.maximum, scope: p.scope }, { type: 'integer', default: 2, minimum: 1, maximum: 8, scope: 'application' });
  });

  it('documents every setting, and makes the trust settings application-scoped (user settings in every window) and restricted in untrusted workspaces', () => {
    const props = pkg.contributes.configuration.properties;
    assert.deepEqual(Object.keys(props).sort(), Object.values(SETTING_KEYS).sort());
    for (const [key, p] of Object.entries<{ markdownDescription?: string; scope?: string }>(props)) assert.ok((p.markdownDescription ?? '').length > 40, `${key} is documented`);
    const restricted = pkg.capabilities.untrustedWorkspaces.restrictedConfigurations;
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    for (const name of TRUST_SETTINGS) {
      assert.equal(props[SETTING_KEYS[name]].scope, 'application', SETTING_KEYS[name]);
      assert.ok(restricted.includes(SETTING_KEYS[name]), SETTING_KEYS[name]);
    }
    assert.deepEqual(props[SETTING_KEYS.transcriptFormat].enum, ['text', 'markdown', 'srt', 'vtt']);
  });

  it('activates lazily and loads the CommonJS bundle (package.json is "type": "module")', () => {
    // onWebviewPanel: VS Code activates the extension to restore the attestation panel after a reload (not implied by the serializer).
    assert.deepEqual(pkg.activationEvents, ['onStartupFinished', `onWebviewPanel:${ATTESTATION_VIEW_TYPE}`]);
    assert.equal(pkg.main, './dist/extension.cjs');
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.engines.vscode, '^1.100.0');
    assert.equal(pkg.devDependencies['@types/vscode'], '1.100.0');
    assert.equal(ATTESTATION_VIEW_TYPE, 'blindbox.attestation');
  });

  it('contributes the walkthrough, the BlindBox view and its welcome content, with every page and command they name', () => {
    const [walkthrough] = pkg.contributes.walkthroughs;
    assert.equal(walkthrough.id, WALKTHROUGH_ID);
    assert.deepEqual(walkthrough.steps.map((s: { id: string }) => s.id), ['configure', 'verify', 'transcribe', 'attestation']);
    const commands = new Set<string>(Object.values(COMMANDS));
    for (const step of walkthrough.steps) {
      assert.ok(readRepoFile(step.media.markdown).startsWith('# '), step.media.markdown);
      assert.ok(shippedBy(step.media.markdown), `${step.media.markdown} is in the .vsix`);
      for (const event of step.completionEvents) if (event.startsWith('onCommand:')) assert.ok(commands.has(event.slice('onCommand:'.length)), event);
      for (const [, command] of step.description.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(commands.has(command), command);
    }
    // Steps complete on what happened (a server saved, an attestation passed, a transcript produced), not on a command
    // merely started (a cancelled Configure Server… must leave its step unticked).
    assert.deepEqual(walkthrough.steps.slice(0, 3).map((s: { completionEvents: string[] }) => s.completionEvents), [[`onContext:${CONFIGURED_CONTEXT}`], [`onContext:${ATTESTED_CONTEXT}`], [`onContext:${TRANSCRIBED_CONTEXT}`]]);
    assert.ok(shippedBy('media/sample.wav'), 'the sample the walkthrough transcribes is in the .vsix');
    assert.deepEqual(pkg.contributes.views.explorer.map((v: { id: string }) => v.id), [TRUST_VIEW_ID]);
    const [welcome] = pkg.contributes.viewsWelcome;
    assert.equal(welcome.view, TRUST_VIEW_ID);
    assert.match(welcome.contents, /\[Configure Server…\]\(command:blindbox\.configureServer\)/);
    for (const entry of pkg.contributes.menus['view/title']) assert.ok(commands.has(entry.command), entry.command);
  });

  it('ships only the bundle, the webview assets, the icon and the documents', () => {
    const rules = readRepoFile('.vscodeignore')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    assert.equal(rules[0], '**');
    const shipped = rules.slice(1).map((r) => r.replace(/^!/, ''));
    for (const f of ['package.json', 'LICENSE', 'CHANGELOG.md', 'dist/extension.cjs', 'dist/extension-core.cjs', 'media/attestation.js', 'media/attestation.css', pkg.icon]) assert.ok(shipped.includes(f), f);
    assert.ok(!shipped.some((f) => /^(src|test|out|bench)\/|\.map$|node_modules/.test(f)));
    assert.equal(pkg.scripts.bundle, 'node scripts/bundle-extension.mjs');
    assert.match(pkg.scripts.package, /vsce package --no-dependencies/);
    // The .vsix carries the user part of the README, cut from README.md at package time.
    assert.match(pkg.scripts.package, /node scripts\/marketplace-readme\.mjs && vsce package .*--readme-path dist\/README\.md/);
    assert.match(readRepoFile('README.md'), /^## Using the extension$/m);
  });

  it('the user README leads the project README, and every image it shows is in the .vsix', async () => {
    const readme = readRepoFile('README.md');
    // The two commands, the introduction, then the user section before any developer section.
    assert.deepEqual(readme.match(/^## .*/gm)!.slice(0, 2), ['## Using the extension', '## Developing BlindBox']);
    for (const heading of ['### What it is', '### Install', '### Configure', '### Use', '### What it protects, and what it does not', '### No telemetry']) {
      assert.match(readme, new RegExp(`^${heading}$`, 'm'), heading);
    }
    const { userReadme, imageTargets } = await import(pathToFileURL(REPO + 'scripts/user-readme.mjs').href);
    const user: string = userReadme(readme);
    assert.doesNotMatch(user, /^## Developing BlindBox/m);
    const images: string[] = imageTargets(user);
    assert.ok(images.length >= 2, 'the user README shows screenshots');
    for (const image of images) {
      if (/^https:\/\//.test(image)) continue;
      // Relative links stay relative (vsce --no-rewrite-relative-links) and resolve inside the installed extension.
      assert.ok(!image.startsWith('/') && !image.includes('..'), image);
      assert.ok(existsSync(REPO + image), `${image} exists`);
      assert.ok(shippedBy(image), `${image} is in the .vsix`);
    }
    assert.match(pkg.scripts.package, /--no-rewrite-relative-links/);
  });
});
