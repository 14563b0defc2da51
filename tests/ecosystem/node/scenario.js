// The ecosystem scenario for @stomp/stompjs, the same file under Node (run.js) and in a browser (page.html).
//
// runTargets(StompJs, targets, makeSocket) runs every step against every target at once, each step on
// connections of its own with fresh destinations, and resolves to {target name: {step: outcome}}.
// An outcome is a small record of what the client saw (bodies, header values, closes, counts), never a
// verdict: the pytest side (tests/ecosystem/) compares records, the fake's with the real broker's.
// makeSocket(url, protocols) returns a WebSocket (Node: the `ws` package); null: stompjs's own brokerURL.
/* eslint-disable no-var */
(function (root) {
  'use strict';

  var STEP_TIMEOUT = 8000; // ms for any one step; a step that runs out records {timeout: ...}
  var QUIET = 400; // ms to wait for a message that should not come
  var NEVER = 1500; // ms to wait for a message or a close that may never come (a broker that drops it)

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function uid() {
    return Math.random().toString(36).slice(2) + Date.now().toString(36);
  }

  // One connection: resolves when CONNECTED arrives, with helpers that turn callbacks into promises.
  function open(StompJs, makeSocket, target, options) {
    options = options || {};
    return new Promise(function (resolve, reject) {
      var config = {
        connectHeaders: { login: target.login || 'guest', passcode: target.passcode || 'guest', host: '/' },
        reconnectDelay: 0,
        heartbeatIncoming: options.heartbeat || 0,
        heartbeatOutgoing: options.heartbeat || 0,
        // stompjs closes after 2 silent periods by default; ActiveMQ (and its profile) beats first at 2 periods
        // after CONNECTED (measured), so with the default the outcome is a race: 3 periods make it certain
        heartbeatToleranceMultiplier: 3,
        debug: function () {},
      };
      if (makeSocket) {
        config.webSocketFactory = function () { return makeSocket(target.url, ['v12.stomp', 'v11.stomp', 'v10.stomp']); };
      } else {
        config.brokerURL = target.url;
      }
      var client = new StompJs.Client(config);
      var c = {
        client: client, connected: null, errors: [], close: null, beats: 0, closed: null,
      };
      var c_closed;
      c.closed = new Promise(function (r) { c_closed = r; });
      client.onConnect = function (frame) { c.connected = frame; resolve(c); };
      client.onStompError = function (frame) { c.errors.push(frame); };
      client.onWebSocketClose = function (evt) {
        c.close = { code: evt.code };
        c_closed(c.close);
        reject(new Error('closed before CONNECTED: ' + evt.code));
      };
      client.onHeartbeatReceived = function () { c.beats += 1; };
      client.activate();
    });
  }

  function receipt(c, send) {
    var id = 'r-' + uid();
    return new Promise(function (resolve) {
      c.client.watchForReceipt(id, function () { resolve(true); });
      send(id);
    });
  }

  // A subscription whose messages queue up; next() waits for the next one (null after `ms`).
  function subscribe(c, destination, headers) {
    var queue = [];
    var waiting = [];
    var sub;
    return receipt(c, function (id) {
      sub = c.client.subscribe(destination, function (message) {
        if (waiting.length) waiting.shift()(message); else queue.push(message);
      }, Object.assign({ receipt: id }, headers || {}));
    }).then(function () {
      return {
        sub: sub,
        next: function (ms) {
          if (queue.length) return Promise.resolve(queue.shift());
          return new Promise(function (resolve) {
            var done = false;
            var take = function (m) { if (!done) { done = true; resolve(m); } };
            waiting.push(take);
            setTimeout(function () {
              if (!done) { done = true; waiting.splice(waiting.indexOf(take), 1); resolve(null); }
            }, ms === undefined ? STEP_TIMEOUT : ms);
          });
        },
      };
    });
  }

  // A message, or the WebSocket's close if that comes first.
  function nextOrClose(c, s, ms) {
    return Promise.race([
      s.next(ms),
      c.closed.then(function (close) { return { closed: close.code }; }),
    ]);
  }

  function bodyOf(m) {
    return m === null ? null : m.body;
  }

  function finish(c) {
    c.client.deactivate();
  }

  var STEPS = {
    // connect, subscribe, send, receive with headers
    headers: async function (StompJs, mk, t) {
      var c = await open(StompJs, mk, t);
      var q = '/queue/eco-' + uid();
      var s = await subscribe(c, q);
      c.client.publish({ destination: q, body: 'hello', headers: { 'x-colour': 'blue', 'content-type': 'text/plain' } });
      var m = await s.next();
      finish(c);
      return {
        version: c.connected.headers.version,
        body: bodyOf(m),
        'x-colour': m && m.headers['x-colour'],
        'content-type': m && m.headers['content-type'],
        destination: m && m.headers.destination === q,
      };
    },
    // every byte value, sent as a binary body
    binary: async function (StompJs, mk, t) {
      var c = await open(StompJs, mk, t);
      var q = '/queue/eco-' + uid();
      var s = await subscribe(c, q);
      var bytes = new Uint8Array(256);
      for (var i = 0; i < 256; i++) bytes[i] = i;
      c.client.publish({ destination: q, binaryBody: bytes, headers: { 'content-type': 'application/octet-stream' } });
      var m = await nextOrClose(c, s, NEVER);
      finish(c);
      if (m === null || m.closed !== undefined) return { received: null, closed: m && m.closed };
      var got = m.binaryBody;
      var same = got.length === 256 && got.every(function (b, j) { return b === j; });
      return { received: got.length, intact: same };
    },
    // a 100 KB body in one frame
    large: async function (StompJs, mk, t) {
      var c = await open(StompJs, mk, t);
      var q = '/queue/eco-' + uid();
      var s = await subscribe(c, q);
      var body = '';
      while (body.length < 100 * 1024) body += 'stomptest-0123456789-';
      body = body.slice(0, 100 * 1024);
      c.client.publish({ destination: q, body: body });
      var m = await nextOrClose(c, s, NEVER);
      finish(c);
      if (m === null || m.closed !== undefined) return { received: null, closed: m && m.closed };
      return { received: m.body.length, intact: m.body === body };
    },
    // client-individual: ACK the first, NACK the second, see what comes back
    ack: async function (StompJs, mk, t) {
      var c = await open(StompJs, mk, t);
      var q = '/queue/eco-' + uid();
      var s = await subscribe(c, q, { ack: 'client-individual' });
      c.client.publish({ destination: q, body: 'first' });
      c.client.publish({ destination: q, body: 'second' });
      var a = await s.next();
      var b = await s.next();
      a.ack();
      b.nack();
      var again = [];
      for (;;) {
        var m = await s.next(QUIET);
        if (m === null || again.length >= 3) break;
        again.push({ body: m.body, redelivered: m.headers.redelivered || null });
        m.ack();
      }
      await receipt(c, function (id) { c.client.publish({ destination: q + '-done', headers: { receipt: id } }); });
      finish(c);
      return { delivered: [bodyOf(a), bodyOf(b)], after_nack: again };
    },
    // a committed transaction delivers at COMMIT, an aborted one never
    transaction: async function (StompJs, mk, t) {
      var c = await open(StompJs, mk, t);
      var q = '/queue/eco-' + uid();
      var s = await subscribe(c, q);
      var tx = c.client.begin();
      c.client.publish({ destination: q, body: 'committed', headers: { transaction: tx.id } });
      var before = await s.next(QUIET);
      tx.commit();
      var after = await s.next();
      var tx2 = c.client.begin();
      c.client.publish({ destination: q, body: 'aborted', headers: { transaction: tx2.id } });
      tx2.abort();
      c.client.publish({ destination: q, body: 'plain' });
      var next = await s.next();
      finish(c);
      return { before_commit: bodyOf(before), at_commit: bodyOf(after), after_abort: bodyOf(next) };
    },
    // two connections subscribed to one topic both get a message
    fanout: async function (StompJs, mk, t) {
      var conns = await Promise.all([open(StompJs, mk, t), open(StompJs, mk, t), open(StompJs, mk, t)]);
      var topic = '/topic/eco-' + uid();
      var subs = await Promise.all([subscribe(conns[0], topic), subscribe(conns[1], topic)]);
      conns[2].client.publish({ destination: topic, body: 'to all' });
      var got = await Promise.all(subs.map(function (s) { return s.next(); }));
      conns.forEach(finish);
      return { received: got.map(bodyOf) };
    },
    // after UNSUBSCRIBE nothing more comes to the subscription; the queue keeps the message
    unsubscribe: async function (StompJs, mk, t) {
      var c = await open(StompJs, mk, t);
      var q = '/queue/eco-' + uid();
      var s = await subscribe(c, q);
      c.client.publish({ destination: q, body: 'one' });
      var one = await s.next();
      await receipt(c, function (id) { s.sub.unsubscribe({ receipt: id }); });
      c.client.publish({ destination: q, body: 'two' });
      var none = await s.next(QUIET);
      var s2 = await subscribe(c, q);
      var later = await s2.next();
      finish(c);
      return { before: bodyOf(one), after_unsubscribe: bodyOf(none), resubscribed: bodyOf(later) };
    },
    // heart-beats at 1 s both ways through 3 s of silence; the connection still works after
    heartbeat: async function (StompJs, mk, t) {
      var c = await open(StompJs, mk, t, { heartbeat: 1000 });
      await sleep(3000);
      var beats = c.beats;
      var q = '/queue/eco-' + uid();
      var s = await subscribe(c, q);
      c.client.publish({ destination: q, body: 'awake' });
      var m = await s.next();
      finish(c);
      return {
        'heart-beat': c.connected.headers['heart-beat'],
        beats_received: beats >= 1,
        closed: c.close && c.close.code,
        after_idle: bodyOf(m),
      };
    },
    // COMMIT of a transaction never begun: an ERROR frame, then the broker closes
    error: async function (StompJs, mk, t) {
      var c = await open(StompJs, mk, t);
      c.client.commit('no-such-transaction');
      await sleep(0);
      var close = await Promise.race([c.closed, sleep(NEVER).then(function () { return null; })]);
      finish(c);
      var e = c.errors[0];
      return {
        errors: c.errors.length,
        message: e ? e.headers.message !== undefined && e.headers.message !== '' : null,
        closed: close !== null,
      };
    },
  };

  function withTimeout(promise) {
    return Promise.race([
      promise.catch(function (e) { return { failed: String(e && e.message ? e.message : e) }; }),
      sleep(STEP_TIMEOUT + 2000).then(function () { return { timeout: true }; }),
    ]);
  }

  async function runTargets(StompJs, targets, makeSocket, only) {
    var names = Object.keys(STEPS).filter(function (n) { return !only || only.indexOf(n) >= 0; });
    var jobs = [];
    targets.forEach(function (t) {
      names.forEach(function (n) {
        jobs.push(withTimeout(STEPS[n](StompJs, makeSocket || null, t)).then(function (r) { return [t.name, n, r]; }));
      });
    });
    var results = {};
    (await Promise.all(jobs)).forEach(function (x) {
      results[x[0]] = results[x[0]] || {};
      results[x[0]][x[1]] = x[2];
    });
    return results;
  }

  root.stomptestEcosystem = { runTargets: runTargets, steps: Object.keys(STEPS) };
  if (typeof module !== 'undefined' && module.exports) module.exports = root.stomptestEcosystem;
})(typeof globalThis !== 'undefined' ? globalThis : this);
