// A statsd backend that sends nothing anywhere (a blackhole) and reports, through the management
// interface's `stats` command, how many packets the server has received in all:
//   packetcount.packets_total: N     packetcount.flushes: F
// statsd's own `statsd.packets_received` counter is reset at every flush; this backend keeps the
// counters object it is handed at a flush and adds what was flushed to what is still pending, all
// on statsd's one event loop, so the total is exact. It is 0 until the first flush (the benchmark
// waits for that). It adds no work per packet.
'use strict';

exports.init = function (startupTime, config, events) {
  let flushedTotal = 0;
  let flushes = 0;
  let counters = null;
  const key = (config.prefixStats !== undefined ? config.prefixStats : 'statsd') + '.packets_received';
  events.on('flush', (timestamp, metrics) => {
    counters = metrics.counters;
    flushedTotal += counters[key] || 0;
    flushes += 1;
  });
  events.on('status', (write) => {
    write(null, 'packetcount', 'packets_total', flushedTotal + (counters ? counters[key] || 0 : 0));
    write(null, 'packetcount', 'flushes', flushes);
  });
  return true;
};
