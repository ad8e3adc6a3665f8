// Sends one scenario's DogStatsD metrics, an event and a service check with hot-shots, unchanged,
// to 127.0.0.1:$STATSD_PORT, then closes the client. tests/statsd/run.py starts it and asserts what
// dogwatch stored. Metric names start with $PREFIX. Prints `sent N` (messages) on success.
'use strict';

const StatsD = require('hot-shots');

const port = parseInt(process.env.STATSD_PORT, 10);
const prefix = process.env.PREFIX;
if (!port || !prefix) {
  console.error('send.js needs STATSD_PORT and PREFIX');
  process.exit(2);
}

let failed = null;
const client = new StatsD({
  host: '127.0.0.1',
  port,
  protocol: 'udp',
  mock: false,
  globalTags: ['suite:statsd', 'client:node'],
  errorHandler: (err) => { failed = err; },
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let sent = 0;
let pending = [];

// Each call is one datagram (no maxBufferSize): wait for the sends every 20 messages and pause a
// moment, so a burst never outruns the receiver's socket buffer.
async function send(fn) {
  pending.push(new Promise((resolve) => fn((err) => { if (err) failed = err; resolve(); })));
  sent += 1;
  if (pending.length >= 20) {
    await Promise.all(pending);
    pending = [];
    await sleep(2);
  }
}

async function main() {
  // counts: 40 increments of 1 and one of 10 = 50
  for (let i = 0; i < 40; i++) {
    await send((cb) => client.increment(prefix + 'node.count', 1, ['env:prod'], cb));
  }
  await send((cb) => client.increment(prefix + 'node.count', 10, ['env:prod'], cb));
  // decrement: 3 increments of 5, one decrement of 2 -> 13
  for (let i = 0; i < 3; i++) {
    await send((cb) => client.increment(prefix + 'node.dec', 5, cb));
  }
  await send((cb) => client.decrement(prefix + 'node.dec', 2, cb));
  // gauge: the last value wins
  for (const v of [3, 9, 27]) {
    await send((cb) => client.gauge(prefix + 'node.gauge', v, ['env:prod'], cb));
  }
  // histogram, timing (ms), distribution
  for (let v = 1; v <= 100; v++) {
    await send((cb) => client.histogram(prefix + 'node.hist', v, ['env:prod'], cb));
    await send((cb) => client.timing(prefix + 'node.timing', v, cb));
  }
  for (let v = 1; v <= 1000; v++) {
    await send((cb) => client.distribution(prefix + 'node.dist', v, ['env:prod'], cb));
  }
  // set: 4 unique values
  for (const v of ['x', 'y', 'x', 'z', 'w', 'y']) {
    await send((cb) => client.set(prefix + 'node.set', v, cb));
  }
  await send((cb) => client.event(prefix + 'node deploy', 'rolled out from hot-shots',
    { alert_type: 'warning', hostname: 'statsd-node-host', priority: 'low', aggregation_key: prefix + 'agg' },
    ['deploy:node'], cb));
  await send((cb) => client.check(prefix + 'node.disk_ok', client.CHECKS.WARNING,
    { hostname: 'statsd-node-host', message: 'disk at 91 percent' }, ['disk:root'], cb));
  await Promise.all(pending);
  await new Promise((resolve) => client.close((err) => { if (err) failed = err; resolve(); }));
  if (failed) {
    console.error('hot-shots reported an error: ' + (failed.stack || failed));
    process.exit(1);
  }
  console.log('sent ' + sent);
}

const guard = setTimeout(() => { console.error('send.js timed out'); process.exit(3); }, 20000);
guard.unref();
main().catch((err) => { console.error(err.stack || err); process.exit(1); });
