// Asks the published pikud-haoref-api client, unchanged, for the active alert once and prints
// what it reports as one JSON line: {"alert": ...} or {"error": "..."}.
//
// The client hard-codes https://www.oref.org.il/... and passes its options object through to
// axios. Its own example (examples/poll.js) routes requests with axios's `httpsAgent` option; so
// does this script, with an agent that opens a plain TCP connection to the redcolor server under
// test instead of a TLS one to www.oref.org.il. Nothing else changes: the client builds the URL,
// headers and query, reads the bytes and parses them with its own code. No TLS is intercepted
// and no certificate is faked; the request reaches redcolor as plain HTTP/1.1 with
// `Host: www.oref.org.il`.
//
// usage: node poll_once.js HOST PORT

'use strict';

const https = require('https');
const net = require('net');
const pikudHaoref = require('pikud-haoref-api');

const [host, port] = [process.argv[2], Number(process.argv[3])];
if (!host || !Number.isInteger(port)) {
  console.error('usage: node poll_once.js HOST PORT');
  process.exit(2);
}

class LoopbackAgent extends https.Agent {
  createConnection() {
    return net.connect(port, host);
  }
}

// The client logs the raw live file with console.log; keep stdout for the result.
console.log = (...args) => console.error(...args);

pikudHaoref.getActiveAlert(
  (err, alert) => {
    const out = err ? { error: String(err) } : { alert };
    process.stdout.write(JSON.stringify(out) + '\n');
  },
  { httpsAgent: new LoopbackAgent({ keepAlive: false }) },
);
