// Runs scenario.js under Node with the `ws` package as WebSocket: node run.js '<targets JSON>' [step ...]
// Targets: [{"name": ..., "url": "ws://127.0.0.1:PORT/ws"}, ...]. Prints {target: {step: outcome}} as JSON.
'use strict';
const StompJs = require('@stomp/stompjs');
const WebSocket = require('ws');
const { runTargets } = require('./scenario.js');

const targets = JSON.parse(process.argv[2]);
const only = process.argv.length > 3 ? process.argv.slice(3) : null;
runTargets(StompJs, targets, (url, protocols) => new WebSocket(url, protocols), only).then((results) => {
  process.stdout.write(JSON.stringify(results) + '\n');
  process.exit(0);
});
