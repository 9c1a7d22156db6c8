// MQTT.js against an MQTT broker on 127.0.0.1:<port>; prints what it saw as JSON.
// Run by tests/protocols/mqtt/test_mqttjs.py (mqlite) and scripts/conformance-mqtt.sh
// (mqlite and mosquitto, same output expected).
const mqtt = require("mqtt");

const port = Number(process.argv[2]);
const prefix = process.argv[3] || "js";
const url = `mqtt://127.0.0.1:${port}`;

function connect(opts) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10000, ...opts });
    c.once("connect", (ack) => resolve([c, ack]));
    c.once("error", reject);
  });
}

function next(client, n) {
  return new Promise((resolve) => {
    const got = [];
    const on = (topic, payload, packet) => {
      got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain,
                 props: packet.properties || {} });
      if (got.length === n) { client.removeListener("message", on); resolve(got); }
    };
    client.on("message", on);
  });
}

async function main() {
  const out = {};
  // 5.0: QoS 0/1/2, user properties, content type, subscription identifier
  const [sub] = await connect({ protocolVersion: 5, clientId: `${prefix}-sub` });
  const granted = await sub.subscribeAsync(`${prefix}/+/t`, { qos: 2, properties: { subscriptionIdentifier: 5 } });
  const [pub] = await connect({ protocolVersion: 5, clientId: `${prefix}-pub` });
  const three = next(sub, 3);
  for (const qos of [0, 1, 2]) {
    await pub.publishAsync(`${prefix}/a/t`, `m${qos}`, {
      qos, properties: { userProperties: { k: "v" }, contentType: "text/plain" } });
  }
  const msgs = await three;
  out.v5 = {
    granted: granted.map((g) => g.qos),
    messages: msgs.map((m) => ({ topic: m.topic, payload: m.payload, qos: m.qos,
                                 user: m.props.userProperties, contentType: m.props.contentType,
                                 subId: m.props.subscriptionIdentifier })),
  };
  // retained: a later subscriber gets it with RETAIN set
  await pub.publishAsync(`${prefix}/retained`, "kept", { qos: 1, retain: true });
  const [late] = await connect({ protocolVersion: 5, clientId: `${prefix}-late` });
  const one = next(late, 1);
  await late.subscribeAsync(`${prefix}/retained`, { qos: 1 });
  const [r] = await one;
  out.retained = { payload: r.payload, retain: r.retain };
  await pub.publishAsync(`${prefix}/retained`, "", { qos: 1, retain: true });
  // 3.1.1: QoS 1 round trip
  const [sub4] = await connect({ protocolVersion: 4, clientId: `${prefix}-sub4` });
  await sub4.subscribeAsync(`${prefix}/v4/#`, { qos: 1 });
  const [pub4] = await connect({ protocolVersion: 4, clientId: `${prefix}-pub4` });
  const four = next(sub4, 1);
  await pub4.publishAsync(`${prefix}/v4/x`, "hello", { qos: 1 });
  const [m4] = await four;
  out.v311 = { topic: m4.topic, payload: m4.payload, qos: m4.qos };
  // will: an abnormal close publishes it
  const [watch] = await connect({ protocolVersion: 5, clientId: `${prefix}-watch` });
  await watch.subscribeAsync(`${prefix}/will`, { qos: 1 });
  const [dev] = await connect({ protocolVersion: 5, clientId: `${prefix}-dev`,
                                will: { topic: `${prefix}/will`, payload: Buffer.from("lost"), qos: 1 } });
  const w = next(watch, 1);
  dev.stream.destroy();
  const [wm] = await w;
  out.will = { payload: wm.payload };
  for (const c of [sub, pub, late, sub4, pub4, watch]) await c.endAsync();
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
