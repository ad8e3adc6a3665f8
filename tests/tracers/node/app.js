// A small node:http service traced by Datadog's dd-trace, unchanged. dd-trace is initialised
// before anything else is required, as Datadog's setup notes say; DD_SERVICE, DD_ENV,
// DD_VERSION and DD_TRACE_AGENT_URL (or DD_TRACE_AGENT_PORT) come from the environment.
// Listens on 127.0.0.1:$NODE_APP_PORT.
//
//   GET /hello?name=x  answers {"greeting": "hello x"} after a custom span `greeter.compose`
//   anything else      404
//
// Every answer carries `X-Trace-Id` (the low 64 bits of the trace id, decimal) for the tests.

const tracer = require("dd-trace").init();
const http = require("node:http");

function compose(name) {
  return tracer.trace("greeter.compose", { resource: "compose_greeting", tags: { "greeter.name": name } }, (span) => {
    span.setTag("greeter.length", name.length);
    return `hello ${name}`;
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  const span = tracer.scope().active();
  if (span) {
    res.setHeader("X-Trace-Id", span.context().toTraceId());
  }
  if (req.method === "GET" && url.pathname === "/hello") {
    if (span) {
      span.setTag("resource.name", "GET /hello");
      span.setTag("customer.tier", "silver");
    }
    const body = JSON.stringify({ greeting: compose(url.searchParams.get("name") ?? "world") });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
    return;
  }
  res.writeHead(404, { "content-type": "application/json" });
  res.end('{"error":"not found"}');
});

server.listen(Number(process.env.NODE_APP_PORT ?? 3000), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
