/** The route rules, as VS Code's proxy resolver (@vscode/proxy-agent `createProxyResolver`) applies them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../../src/core/errors.js';
import { describeRoute, resolveRoute, type ProxyEnvironment, type ProxySettings } from '../../../src/core/transport/proxy-route.js';

const route = (url: string, settings: ProxySettings = {}, env: ProxyEnvironment = {}) => resolveRoute(new URL(url), settings, env);
const via = (url: string, settings: ProxySettings = {}, env: ProxyEnvironment = {}) => describeRoute(route(url, settings, env));
const PROXY = { HTTPS_PROXY: 'http://proxy.example:3128' };

describe('proxy route', () => {
  it('goes direct with nothing configured, and through the environment\'s proxy otherwise', () => {
    assert.deepEqual(route('https://enclave.test'), { kind: 'direct', why: 'unconfigured' });
    assert.equal(via('https://enclave.test', {}, PROXY), 'through proxy http://proxy.example:3128');
  });

  it('reads https_proxy, HTTPS_PROXY, http_proxy, HTTP_PROXY in that order', () => {
    const env = { HTTP_PROXY: 'http://d:1', http_proxy: 'http://c:1', HTTPS_PROXY: 'http://b:1', https_proxy: 'http://a:1' };
    assert.equal(via('https://e.test', {}, env), 'through proxy http://a:1');
    assert.equal(via('https://e.test', {}, { ...env, https_proxy: '' }), 'through proxy http://b:1');
    assert.equal(via('https://e.test', {}, { HTTP_PROXY: 'http://d:1', http_proxy: 'http://c:1' }), 'through proxy http://c:1');
    assert.equal(via('https://e.test', {}, { HTTP_PROXY: 'http://d:1' }), 'through proxy http://d:1');
  });

  it('sends localhost, 127.0.0.1 and ::1 direct whatever is configured', () => {
    for (const url of ['https://localhost:8443', 'https://127.0.0.1', 'https://[::1]:9', 'https://[::ffff:127.0.0.1]', 'https://LOCALHOST']) {
      assert.deepEqual(route(url, { proxy: 'http://p:1' }, PROXY), { kind: 'direct', why: 'localhost' }, url);
    }
    // Only those: another loopback address is not special to VS Code.
    assert.equal(via('https://127.0.0.2', {}, PROXY), 'through proxy http://proxy.example:3128');
  });

  it('goes direct when proxySupport is off, and resolves for on, override and fallback', () => {
    assert.deepEqual(route('https://e.test', { proxySupport: 'off', proxy: 'http://p:1' }, PROXY), { kind: 'direct', why: 'off' });
    for (const proxySupport of ['on', 'override', 'fallback'] as const) assert.equal(via('https://e.test', { proxySupport, proxy: 'http://p:1' }), 'through proxy http://p:1');
  });

  it('prefers the setting to the environment, and ignores a setting that is not a URL', () => {
    assert.equal(via('https://e.test', { proxy: 'http://setting:8080' }, PROXY), 'through proxy http://setting:8080');
    assert.equal(via('https://e.test', { proxy: 'setting:8080' }, PROXY), 'through proxy http://proxy.example:3128');
    assert.deepEqual(route('https://e.test', {}, { HTTPS_PROXY: 'proxy.example:3128' }), { kind: 'direct', why: 'unconfigured' });
  });

  it('matches NO_PROXY entries on whole labels, with or without a leading dot, and their port', () => {
    const env = (noProxy: string) => ({ ...PROXY, NO_PROXY: noProxy });
    assert.equal(via('https://enclave.test', {}, env('enclave.test')), 'directly');
    assert.equal(via('https://a.enclave.test', {}, env('enclave.test')), 'directly');
    assert.equal(via('https://a.enclave.test', {}, env('.enclave.test')), 'directly');
    assert.equal(via('https://notenclave.test', {}, env('enclave.test')), 'through proxy http://proxy.example:3128');
    assert.equal(via('https://enclave.test:8443', {}, env('other.test, Enclave.Test:8443')), 'directly');
    assert.equal(via('https://enclave.test:8443', {}, env('enclave.test:443')), 'through proxy http://proxy.example:3128');
    assert.equal(via('https://enclave.test', {}, env('enclave.test:443')), 'directly');
    assert.equal(via('https://enclave.test', {}, env('x.test,*')), 'directly');
    // No glob: VS Code matches `*.enclave.test` against nothing.
    assert.equal(via('https://a.enclave.test', {}, env('*.enclave.test')), 'through proxy http://proxy.example:3128');
    assert.equal(via('https://enclave.test', {}, { ...PROXY, no_proxy: 'enclave.test', NO_PROXY: 'other' }), 'directly');
  });

  it('lets a non-empty http.noProxy replace NO_PROXY', () => {
    const env = { ...PROXY, NO_PROXY: 'enclave.test' };
    assert.equal(via('https://enclave.test', { noProxy: ['other.test'] }, env), 'through proxy http://proxy.example:3128');
    assert.deepEqual(route('https://enclave.test', { noProxy: [' ENCLAVE.test '] }, PROXY), { kind: 'direct', why: 'noProxySetting' });
    assert.deepEqual(route('https://enclave.test', { noProxy: [] }, env), { kind: 'direct', why: 'noProxyEnv' });
  });

  it('turns the proxy URL\'s credentials into Basic authorization, never into what is shown; http.proxyAuthorization wins', () => {
    const r = route('https://e.test', { proxy: 'http://al%40ice:s%3Acret@proxy.example:3128' });
    assert.deepEqual(r, { kind: 'proxy', proxy: 'http://proxy.example:3128', authorization: `Basic ${Buffer.from('al@ice:s:cret').toString('base64')}`, source: 'setting' });
    assert.doesNotMatch(describeRoute(r), /cret|alice/);
    assert.equal((route('https://e.test', { proxy: 'http://u:p@proxy.example', proxyAuthorization: 'Negotiate abc' }) as { authorization: string }).authorization, 'Negotiate abc');
  });

  it('refuses a proxy it cannot use rather than going around it', () => {
    for (const proxy of ['https://p.example:443', 'socks5://p.example:1080']) {
      assert.throws(() => route('https://e.test', { proxy }), (e: unknown) => e instanceof InputError && e.code === 'INVALID_OPTION' && /http:\/\/ proxy/.test(e.message), proxy);
    }
    assert.throws(() => route('https://e.test', {}, { https_proxy: 'socks://p:1' }), /environment variable https_proxy uses socks:\/\//);
  });
  it('takes the proxy the editor resolved from the system or PAC last: after the setting and the environment, never past localhost, NO_PROXY or off', () => {
    const system = 'http://pac-proxy.example:8080';
    assert.deepEqual(route('https://enclave.test', { system }), { kind: 'proxy', proxy: system, authorization: undefined, source: 'system' });
    assert.equal(via('https://enclave.test', { system }, PROXY), 'through proxy http://proxy.example:3128');
    assert.equal(via('https://enclave.test', { system, proxy: 'http://set.example:1' }), 'through proxy http://set.example:1');
    assert.equal(via('https://localhost:8443', { system }), 'directly');
    assert.equal(via('https://enclave.test', { system, proxySupport: 'off' }), 'directly');
    assert.equal(via('https://enclave.test', { system }, { NO_PROXY: '.test' }), 'directly');
    assert.throws(() => route('https://enclave.test', { system: 'https://pac-proxy.example:443' }), /the system proxy \(resolved by the editor\) uses https:\/\//);
  });
});
