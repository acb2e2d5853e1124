import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { proxyEnvironment, TRUST_SETTINGS, userLevelValue } from '../../../src/extension/settings/scope.js';
import { AWS_NITRO_ROOT_G1, AWS_NITRO_ROOT_G1_PEM } from '../../../src/core/attestation/roots.js';
import { isInlinePem, parseSettings, SettingsError, type RawSettings } from '../../../src/extension/settings/model.js';

const HOME = '/home/u';
const PCR0 = 'ab'.repeat(48);

function error(raw: RawSettings): SettingsError {
  try {
    parseSettings(raw, HOME);
  } catch (err) {
    assert.ok(err instanceof SettingsError, String(err));
    assert.equal(err.code, 'SETTINGS_INVALID');
    return err;
  }
  assert.fail('expected a SettingsError');
}

describe('settings parsing', () => {
  it('gives safe defaults when nothing is set', () => {
    const s = parseSettings({}, HOME);
    assert.equal(s.serverUrl, undefined);
    assert.deepEqual({ ...s.policy }, { name: 'default', pcrs: {}, maxAgeSeconds: 600, source: 'built-in default' });
    assert.equal(s.policyFile, undefined);
    assert.deepEqual(s.trustedRoots, []);
    assert.equal(s.transcriptFormat, 'text');
    assert.equal(s.requestTimeoutMs, 30_000);
    assert.deepEqual(parseSettings({ serverUrl: '  ', policy: {}, policyFile: '', trustedRoots: [] }, HOME).serverUrl, undefined);
  });

  it('reads a full configuration', () => {
    const s = parseSettings(
      {
        serverUrl: 'https://Enclave.Example:8443/',
        policy: { name: 'prod', pcrs: { 0: PCR0 }, maxAgeSeconds: 120 },
        trustedRoots: ['~/roots/sim.pem', '/etc/blindbox/other.pem'],
        transcriptFormat: 'markdown',
        requestTimeoutSeconds: 5,
      },
      HOME,
    );
    assert.equal(s.serverUrl, 'https://enclave.example:8443');
    assert.equal(s.policy.name, 'prod');
    assert.equal(s.policy.maxAgeSeconds, 120);
    assert.equal(s.policy.pcrs[0], PCR0);
    assert.equal(s.policy.source, 'settings (blindbox.policy)');
    assert.deepEqual(s.trustedRoots, ['/home/u/roots/sim.pem', '/etc/blindbox/other.pem']);
    assert.equal(s.transcriptFormat, 'markdown');
    assert.equal(s.requestTimeoutMs, 5000);
  });

  it('refuses a bad policy with a message naming the setting and the field', () => {
    assert.match(error({ policy: { pcrs: { 0: 'xyz' } } }).message, /^blindbox\.policy: .*PCR0.*hex/);
    assert.match(error({ policy: { pcrs: { 0: 'ab'.repeat(20) } } }).message, /^blindbox\.policy: .*20 bytes/);
    assert.match(error({ policy: { pcrs: { 40: PCR0 } } }).message, /^blindbox\.policy: PCR index "40"/);
    assert.match(error({ policy: { maxAgeSeconds: 0 } }).message, /^blindbox\.policy: "maxAgeSeconds" must be a positive number/);
    assert.match(error({ policy: { name: '' } }).message, /^blindbox\.policy: "name" must be a non-empty string/);
    assert.match(error({ policy: { pcr: {} } }).message, /^blindbox\.policy: unknown policy field "pcr"/);
    assert.match(error({ policy: { roots: ['/x.pem'] } }).message, /^blindbox\.policy: does not take "roots".*blindbox\.trustedRoots/);
    assert.match(error({ policy: [] }).message, /^blindbox\.policy: must be an object/);
    assert.equal(error({ policy: 'strict' }).setting, 'blindbox.policy');
  });

  it('refuses server URLs that are not a bare https origin', () => {
    assert.match(error({ serverUrl: 'http://enclave.example' }).message, /^blindbox\.serverUrl: must use https:/);
    assert.match(error({ serverUrl: 'enclave.example' }).message, /is not a URL/);
    assert.match(error({ serverUrl: 'https://u:p@enclave.example' }).message, /user name or password/);
    assert.match(error({ serverUrl: 'https://enclave.example/api?x=1' }).message, /without a path or query/);
    assert.match(error({ serverUrl: 42 }).message, /must be a string/);
  });

  it('wants absolute root and policy paths, and one policy source only', () => {
    assert.match(error({ trustedRoots: ['roots/sim.pem'] }).message, /^blindbox\.trustedRoots: "roots\/sim\.pem" must be an absolute path/);
    assert.match(error({ trustedRoots: '/x.pem' }).message, /must be a list of paths/);
    assert.match(error({ policyFile: './policy.json' }).message, /^blindbox\.policyFile: .* must be an absolute path/);
    assert.match(error({ policyFile: '/p.json', policy: { name: 'x' } }).message, /set either blindbox\.policy or blindbox\.policyFile, not both/);
    assert.equal(parseSettings({ policyFile: '~/p.json' }, HOME).policyFile, '/home/u/p.json');
  });

  it('takes root certificates pasted as PEM text in trustedRoots, next to paths, and refuses a broken one', () => {
    const pem = AWS_NITRO_ROOT_G1_PEM.replace(/\n/g, '\r\n');
    const s = parseSettings({ trustedRoots: ['/etc/sim.pem', `  ${pem}\n`] }, HOME);
    assert.deepEqual(s.trustedRoots, ['/etc/sim.pem']);
    assert.equal(s.inlineRoots.length, 1);
    assert.equal(s.inlineRoots[0]!.sha256, AWS_NITRO_ROOT_G1.sha256);
    assert.equal(s.inlineRoots[0]!.label, 'blindbox.trustedRoots[1] (inline PEM, CN=aws.nitro-enclaves)');
    assert.equal(isInlinePem(pem), true);
    assert.equal(isInlinePem('/etc/sim.pem'), false);
    const broken = error({ trustedRoots: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] });
    assert.match(broken.message, /^blindbox\.trustedRoots: entry 0 starts like a PEM certificate but is not one/);
    assert.deepEqual(parseSettings({}, HOME).inlineRoots, []);
  });

  it('takes an inline policy object, the form that works in every window', () => {
    const s = parseSettings({ policy: { name: 'pinned', pcrs: { '0': PCR0 } } }, HOME);
    assert.deepEqual({ ...s.policy.pcrs }, { '0': PCR0 });
    assert.equal(s.policy.source, 'settings (blindbox.policy)');
    assert.equal(s.policyFile, undefined);
  });

  it('checks the transcript format and the timeout', () => {
    assert.match(error({ transcriptFormat: 'docx' }).message, /^blindbox\.transcript\.format: must be one of "text", "markdown", "srt", "vtt"/);
    assert.match(error({ requestTimeoutSeconds: 0 }).message, /^blindbox\.requestTimeoutSeconds: must be a number of seconds from 1 to 3600/);
    assert.match(error({ requestTimeoutSeconds: '30' }).message, /requestTimeoutSeconds/);
  });

  it('reads trust settings at user level only: a workspace value never wins', () => {
    assert.deepEqual(userLevelValue({ defaultValue: '', globalValue: 'https://mine', workspaceValue: 'https://attacker' }), { value: 'https://mine', ignoredWorkspaceValue: true });
    assert.deepEqual(userLevelValue({ defaultValue: '', workspaceFolderValue: 'https://attacker' }), { value: '', ignoredWorkspaceValue: true });
    assert.deepEqual(userLevelValue({ defaultValue: [], globalValue: undefined }), { value: [], ignoredWorkspaceValue: false });
    assert.deepEqual(userLevelValue(undefined), { value: undefined, ignoredWorkspaceValue: false });
  });
});

describe('blindbox.transcript.language', () => {
  it('auto (the default) asks for no language; a tag is passed as given; anything else is refused', () => {
    assert.equal(parseSettings({}, HOME).transcriptLanguage, undefined);
    assert.equal(parseSettings({ transcriptLanguage: 'auto' }, HOME).transcriptLanguage, undefined);
    assert.equal(parseSettings({ transcriptLanguage: 'pt-BR' }, HOME).transcriptLanguage, 'pt-BR');
    for (const bad of ['french', 'en_US', 42, 'en\nfr']) assert.match(error({ transcriptLanguage: bad }).message, /^blindbox\.transcript\.language: must be "auto" or a language tag/);
  });
});

describe('blindbox.allowInspectedTls', () => {
  it('is off by default (inspected TLS refused), a boolean otherwise, and a trust setting read at user level only', () => {
    assert.equal(parseSettings({}, HOME).allowInspectedTls, false);
    assert.equal(parseSettings({ allowInspectedTls: true }, HOME).allowInspectedTls, true);
    assert.match(error({ allowInspectedTls: 'yes' }).message, /^blindbox\.allowInspectedTls: must be true or false/);
    assert.ok(TRUST_SETTINGS.includes('allowInspectedTls'));
  });
});

describe('blindbox.transcript.saveNextToAudio', () => {
  it('is off by default, a boolean otherwise', () => {
    assert.equal(parseSettings({}, HOME).saveNextToAudio, false);
    assert.equal(parseSettings({ saveNextToAudio: true }, HOME).saveNextToAudio, true);
    assert.match(error({ saveNextToAudio: 'yes' }).message, /^blindbox\.transcript\.saveNextToAudio: must be true or false/);
  });
});

describe('blindbox.transcript.stream', () => {
  it('is on by default (also when unset, as the manifest says), a boolean otherwise', () => {
    assert.equal(parseSettings({}, HOME).transcriptStream, true);
    assert.equal(parseSettings({ transcriptStream: false }, HOME).transcriptStream, false);
    assert.match(error({ transcriptStream: 'no' }).message, /^blindbox\.transcript\.stream: must be true or false/);
  });
});

describe('VS Code proxy settings', () => {
  it('are read as the route needs them; nothing set is an empty setting (the core then follows the environment)', () => {
    assert.deepEqual({ ...parseSettings({}, HOME).proxy }, { proxy: undefined, noProxy: [], proxySupport: undefined, proxyAuthorization: undefined });
    const s = parseSettings(
      { proxy: ' http://u:p@proxy.corp:3128 ', noProxy: ['.corp', 'intranet:8443'], proxySupport: 'fallback', proxyAuthorization: 'Negotiate abc', environment: { HTTPS_PROXY: 'http://env:1' } },
      HOME,
    );
    assert.deepEqual({ ...s.proxy }, { proxy: 'http://u:p@proxy.corp:3128', noProxy: ['.corp', 'intranet:8443'], proxySupport: 'fallback', proxyAuthorization: 'Negotiate abc' });
    assert.deepEqual(s.proxyEnvironment, { HTTPS_PROXY: 'http://env:1' });
    assert.equal(parseSettings({ proxy: '', proxyAuthorization: null }, HOME).proxy.proxy, undefined);
  });

  it('refuses a proxy BlindBox cannot use, naming VS Code’s setting (never the credentials)', () => {
    assert.match(error({ proxy: 'proxy.corp:3128' }).message, /^http\.proxy: "proxy\.corp:3128" is not a URL: give http:\/\/host:port$/);
    const socks = error({ proxy: 'socks5://alice:s3cret@proxy.corp:1080' });
    assert.equal(socks.setting, 'http.proxy');
    assert.match(socks.message, /^http\.proxy: uses socks5:\/\/, which BlindBox does not support/);
    assert.doesNotMatch(socks.message, /s3cret/);
    assert.match(error({ proxy: 3128 }).message, /^http\.proxy: must be a URL/);
    assert.match(error({ noProxy: '.corp' }).message, /^http\.noProxy: must be a list/);
    assert.match(error({ proxySupport: 'maybe' }).message, /^http\.proxySupport: must be one of "off", "on", "override", "fallback"$/);
    assert.match(error({ proxyAuthorization: { basic: 'x' } }).message, /^http\.proxyAuthorization: /);
  });

  it('keeps only the proxy variables of the environment', () => {
    assert.deepEqual(proxyEnvironment({ HOME: '/h', https_proxy: 'http://a:1', NO_PROXY: '.corp', PATH: '/bin', HTTP_PROXY: 'http://b:2' }), { https_proxy: 'http://a:1', HTTP_PROXY: 'http://b:2', NO_PROXY: '.corp' });
  });
});
