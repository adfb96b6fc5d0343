// A Foxglove WebSocket client made of the official pieces only: the
// `@foxglove/ws-protocol` client over `ws`, and `protobufjs` building the
// decoders from the schemas the server advertises (as Foxglove does).
// Usage: node ws_client.js URL SUBPROTOCOL COUNT TOPIC...
// Subscribes to each TOPIC once advertised, prints one JSON line per
// decoded message, and exits 0 after COUNT messages on the first TOPIC and
// at least one on each other.
const { FoxgloveClient } = require("@foxglove/ws-protocol");
const WebSocket = require("ws");
const protobuf = require("protobufjs");
const descriptor = require("protobufjs/ext/descriptor");

const [url, subprotocol, countArg, ...topics] = process.argv.slice(2);
const count = Number(countArg);
const ws = new WebSocket(url, [subprotocol]);
const client = new FoxgloveClient({ ws });
const subs = new Map(); // subscription id -> { topic, type }
let got = 0;
const seen = new Set();

const timer = setTimeout(() => {
  console.error(`timeout: ${got} of ${count} messages`);
  process.exit(2);
}, 30000);

client.on("serverInfo", (info) => {
  console.error(`serverInfo ${info.name} protocol=${ws.protocol}`);
  console.log(JSON.stringify({ event: "serverInfo", name: info.name, protocol: ws.protocol }));
});
client.on("error", (e) => console.error(`error ${e}`));
client.on("close", () => {
  console.error("closed");
  // Not process.exit(): stdout to a pipe is written asynchronously.
  clearTimeout(timer);
  process.exitCode = got >= count ? 0 : 3;
});
client.on("advertise", (channels) => {
  for (const ch of channels) {
    console.log(JSON.stringify({ event: "advertise", topic: ch.topic, schemaName: ch.schemaName }));
    if (!topics.includes(ch.topic)) continue;
    if (ch.encoding !== "protobuf" || ch.schemaEncoding !== "protobuf") {
      console.error(`unexpected encoding on ${ch.topic}`);
      process.exit(4);
    }
    const fds = descriptor.FileDescriptorSet.decode(Buffer.from(ch.schema, "base64"));
    const root = protobuf.Root.fromDescriptor(fds);
    const type = root.lookupType(ch.schemaName);
    const id = client.subscribe(ch.id);
    subs.set(id, { topic: ch.topic, type });
  }
});
client.on("message", ({ subscriptionId, timestamp, data }) => {
  const sub = subs.get(subscriptionId);
  if (!sub) return;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const msg = sub.type.toObject(sub.type.decode(bytes), { longs: String, defaults: true });
  console.log(JSON.stringify({ event: "message", topic: sub.topic, receiveTime: String(timestamp), msg }));
  seen.add(sub.topic);
  if (sub.topic === topics[0]) got++;
  if (got >= count && topics.every((t) => seen.has(t))) {
    clearTimeout(timer);
    client.close();
  }
});
