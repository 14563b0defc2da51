// stompjs 7 under Node sending and receiving N messages over WebSocket (benchmarks/websocket.py runs it).
//   node bench.js URL [N] [BODY_BYTES]
// A consumer connection subscribes (ack:auto) to a fresh queue, then a producer connection sends N messages
// in windows of 500, waiting for each window's RECEIPT so the producer's socket never holds more than one window;
// timed from the first SEND to the N-th MESSAGE. Prints {"messages", "seconds", "rate"} as JSON.
'use strict';
const StompJs = require('@stomp/stompjs');
const WebSocket = require('ws');

const [url, n = '20000', size = '100'] = process.argv.slice(2);
const count = Number(n);
const body = 'x'.repeat(Number(size));
const WINDOW = 500;

function open() {
  return new Promise((resolve, reject) => {
    const client = new StompJs.Client({
      webSocketFactory: () => new WebSocket(url, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
      connectHeaders: { login: 'guest', passcode: 'guest', host: '/' },
      reconnectDelay: 0, heartbeatIncoming: 0, heartbeatOutgoing: 0, debug: () => {},
    });
    client.onConnect = () => resolve(client);
    client.onStompError = (frame) => reject(new Error(frame.headers.message));
    client.onWebSocketClose = (evt) => reject(new Error(`closed ${evt.code}`));
    client.activate();
  });
}

function receipt(client, send) {
  const id = `r-${Math.random().toString(36).slice(2)}`;
  return new Promise((resolve) => { client.watchForReceipt(id, resolve); send(id); });
}

(async () => {
  const queue = `/queue/bench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const [consumer, producer] = await Promise.all([open(), open()]);
  let received = 0;
  let began = 0;
  const done = new Promise((resolve) => {
    receipt(consumer, (id) => consumer.subscribe(queue, () => {
      received += 1;
      if (received === count) resolve(process.hrtime.bigint());
    }, { receipt: id })).then(async () => {
      began = process.hrtime.bigint();
      for (let sent = 0; sent < count; sent += WINDOW) {
        const last = Math.min(count, sent + WINDOW);
        for (let i = sent; i < last - 1; i++) producer.publish({ destination: queue, body });
        await receipt(producer, (id) => producer.publish({ destination: queue, body, headers: { receipt: id } }));
      }
    });
  });
  const ended = await done;
  const seconds = Number(ended - began) / 1e9;
  process.stdout.write(JSON.stringify({ messages: count, seconds, rate: count / seconds }) + '\n');
  await Promise.all([consumer.deactivate(), producer.deactivate()]);
  process.exit(0);
})().catch((error) => { process.stderr.write(`${error.stack || error}\n`); process.exit(1); });
