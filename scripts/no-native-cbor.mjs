/**
 * An esbuild plugin shared by the bundles: cbor-x tries `require('cbor-extract')`, an optional native accelerator,
 * inside a try/catch; it is replaced by an empty module so a bundle neither ships nor looks for a native binary
 * (plain JS decoding, identical results).
 * @type {import('esbuild').Plugin}
 */
export const noNativeCbor = {
  name: 'no-native-cbor',
  setup(b) {
    b.onResolve({ filter: /^cbor-extract$/ }, () => ({ path: 'cbor-extract', namespace: 'blindbox-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'blindbox-stub' }, () => ({ contents: 'module.exports = undefined;', loader: 'js' }));
  },
};
