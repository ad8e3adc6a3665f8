// statsd's own UDP server (node_modules/statsd/servers/udp.js), the same but for the socket's
// receive buffer: `recvBufferSize` from the server's config, so bench/statsd_udp.py --rcvbuf gives
// statsd the same buffer as dogwatch's DD_DOGSTATSD_SO_RCVBUF. Used only with --rcvbuf.
'use strict';

const dgram = require('dgram');

exports.start = function (config, callback) {
  const udpVersion = config.address_ipv6 ? 'udp6' : 'udp4';
  const server = dgram.createSocket({ type: udpVersion, recvBufferSize: config.recvBufferSize }, callback);
  server.bind(config.port || 8125, config.address || undefined);
  this.server = server;
  return true;
};
