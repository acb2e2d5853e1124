/**
 * The proxy VS Code itself would take to a URL, including one from the operating system or a PAC script. VS Code has
 * no public API for it: its extension host leaves its resolver (`resolveProxyURL`: localhost, `http.noProxy`,
 * `http.proxy`, the environment, then the system/PAC answer from its main process) on its own copy of
 * `@vscode/proxy-agent`, where Microsoft's network-proxy-test extension reads it too. Only the answer (a proxy URL) is
 * used: the connection stays BlindBox's own, with its pin. Where the resolver is absent (another editor, an older
 * VS Code, tests) or does not answer in time, only the settings and the environment decide the route.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

/** A proxy URL for a URL (`http://host:port`, `https://…`, `socks://…`), or undefined for a direct connection. */
export type ProxyResolver = (url: string) => Promise<string | undefined>;

/** How long the editor's answer is waited for (a PAC script is fetched and run in VS Code's main process). */
export const EDITOR_PROXY_TIMEOUT_MS = 3_000;

/** VS Code's resolver, loaded from its installation (`vscode.env.appRoot`), or undefined where there is none. */
export function editorProxyResolver(appRoot: string | undefined): ProxyResolver | undefined {
  if (!appRoot) return undefined;
  const load = createRequire(path.join(appRoot, 'package.json'));
  for (const folder of ['node_modules.asar', 'node_modules']) {
    let mod: { resolveProxyURL?: unknown; default?: { resolveProxyURL?: unknown } };
    try {
      mod = load(path.join(appRoot, folder, '@vscode', 'proxy-agent')) as typeof mod;
    } catch {
      continue;
    }
    const resolve = mod.resolveProxyURL ?? mod.default?.resolveProxyURL;
    if (typeof resolve === 'function') return (url) => Promise.resolve((resolve as ProxyResolver)(url));
  }
  return undefined;
}

/** The resolver's proxy for `url`, or undefined when it has none, fails or takes longer than `timeoutMs`. */
export async function editorProxyFor(resolver: ProxyResolver | undefined, url: string, timeoutMs = EDITOR_PROXY_TIMEOUT_MS): Promise<string | undefined> {
  if (!resolver) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, timeoutMs, undefined)));
  try {
    const answer = await Promise.race([resolver(url).catch(() => undefined), late]);
    return typeof answer === 'string' && answer.trim() ? answer.trim() : undefined;
  } finally {
    clearTimeout(timer);
  }
}
