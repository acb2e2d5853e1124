/**
 * What the client core imports from undici (Client, buildConnector), for the CLI bundle (bundle-cli.mjs maps `undici`
 * here): undici's index also loads fetch, WebSocket, cookies, caches, mocks and every other dispatcher, a third of a
 * `blindbox verify`'s start. Attaching the Dispatcher API (request, connect…) to the prototype is the one thing the
 * index does that Client needs, so it is done here too; bundle-cli.mjs checks the index still exports these names.
 */
'use strict';
const Dispatcher = require('undici/lib/dispatcher/dispatcher');

Object.assign(Dispatcher.prototype, require('undici/lib/api'));

module.exports = {
  Client: require('undici/lib/dispatcher/client'),
  Dispatcher,
  buildConnector: require('undici/lib/core/connect'),
};
