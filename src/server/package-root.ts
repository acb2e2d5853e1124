/**
 * Where the server package's own files are (its package.json, binding.gyp and the addon node-gyp builds into
 * `build/`). The TypeScript is compiled by the root `tsc -p .` into out/src/server/, so this module runs from
 * out/src/server/package-root.js while the package's non-TypeScript files stay in src/server/: the one place that
 * knows how the two trees relate.
 */
import { fileURLToPath } from 'node:url';

/** The server package's directory (src/server/, with a trailing separator). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../src/server/', import.meta.url));
