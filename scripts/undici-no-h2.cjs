/**
 * undici's HTTP/2 client, for the CLI bundle (bundle-cli.mjs puts this in its place): the core's connections offer no
 * ALPN, so undici only ever speaks HTTP/1.1 on them, and its HTTP/2 module would load node:http2 at every start for
 * nothing. Should a socket ever say it speaks h2, the connection fails with this error instead.
 */
'use strict';
module.exports = function connectH2() {
  throw new Error('HTTP/2 is not part of the blindbox CLI: its connections speak HTTP/1.1 only');
};
