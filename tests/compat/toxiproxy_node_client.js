// Drives faultline with Toxiproxy's own Node client (toxiproxy-node-client, unchanged), to show
// the API is a drop-in replacement. Usage: node toxiproxy_node_client.js <faultline binary>
// with NODE_PATH pointing at a node_modules that holds toxiproxy-node-client.
"use strict";
const assert = require("node:assert/strict");
const { spawn } = require("node:child_process");
const net = require("node:net");
const { Toxiproxy, ToxiproxyError } = require("toxiproxy-node-client");

const binary = process.argv[2];
let proxyProcess;
process.on("exit", () => proxyProcess && proxyProcess.kill("SIGKILL"));

function startFaultline() {
  return new Promise((resolve, reject) => {
    proxyProcess = spawn(binary, ["proxy", "--host", "127.0.0.1", "--port", "0", "--seed", "1"]);
    let output = "";
    proxyProcess.stdout.on("data", (chunk) => {
      output += chunk;
      const match = output.match(/API on (http:\/\/[0-9.]+:\d+)/);
      if (match) resolve(match[1]);
    });
    proxyProcess.stderr.on("data", (chunk) => process.stderr.write(chunk));
    proxyProcess.on("exit", (code) => reject(new Error(`faultline exited early (${code})`)));
  });
}

function startEcho() {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => socket.pipe(socket));
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

function roundTripMs(address) {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port), noDelay: true }, () => {
      const start = process.hrtime.bigint();
      socket.write("ping");
      socket.once("data", (data) => {
        assert.equal(data.toString(), "ping");
        socket.end();
        resolve(Number(process.hrtime.bigint() - start) / 1e6);
      });
    });
    socket.on("error", reject);
  });
}

async function main() {
  const url = await startFaultline();
  const echo = await startEcho();
  const upstream = `127.0.0.1:${echo.address().port}`;
  const toxiproxy = new Toxiproxy(url);

  assert.match(await toxiproxy.getVersion(), /"version"/);

  const proxy = await toxiproxy.createProxy({ name: "echo", listen: "127.0.0.1:0", upstream });
  assert.equal(proxy.name, "echo");
  assert.equal(proxy.enabled, true);
  assert.notEqual(proxy.listen, "127.0.0.1:0");
  assert.ok((await roundTripMs(proxy.listen)) < 1000);

  const toxic = await proxy.addToxic({
    type: "latency", stream: "downstream", toxicity: 1, attributes: { latency: 120, jitter: 0 },
  });
  assert.equal(toxic.name, "latency_downstream");
  assert.ok((await roundTripMs(proxy.listen)) >= 120);

  const updated = await toxic.update({ toxicity: 1, attributes: { latency: 10, jitter: 0 } });
  assert.equal(updated.attributes.latency, 10);
  const fetched = await proxy.getToxic("latency_downstream");
  assert.equal(fetched.attributes.latency, 10);

  await assert.rejects(
    toxiproxy.createProxy({ name: "echo", listen: "127.0.0.1:0", upstream }), ToxiproxyError);

  const populated = await toxiproxy.populate([
    { name: "echo", listen: proxy.listen, upstream },
    { name: "second", listen: "127.0.0.1:0", upstream },
  ]);
  assert.deepEqual(Object.keys(populated).sort(), ["echo", "second"]);

  const all = await toxiproxy.getAll();
  assert.deepEqual(Object.keys(all).sort(), ["echo", "second"]);
  // populate left the identical "echo" proxy, and its toxic, untouched.
  assert.equal((await proxy.getToxic("latency_downstream")).attributes.latency, 10);

  const disabled = await proxy.update({ enabled: false, listen: proxy.listen, upstream });
  assert.equal(disabled.enabled, false);
  await toxiproxy.reset();
  const reset = await toxiproxy.get("echo");
  assert.equal(reset.enabled, true);
  await assert.rejects(reset.getToxic("latency_downstream"), ToxiproxyError);
  await (await toxiproxy.get("second")).remove();
  await reset.remove();
  assert.deepEqual(Object.keys(await toxiproxy.getAll()), []);

  echo.close();
  console.log("toxiproxy-node-client: 1 passed, 0 failed");
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
