// Drives ioredis and node-redis against a Redis server (mqlite in the tests): pub/sub
// (channels and patterns) and streams (XADD, XRANGE, XREAD BLOCK, consumer groups).
// Prints one JSON object of what each client saw; the Python test checks it.
// usage: node clients.js PORT
'use strict';
const Redis = require('ioredis');
const { createClient } = require('redis');

const port = Number(process.argv[2]);

async function withIoredis() {
  const out = {};
  const pub = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  const sub = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  await pub.connect();
  await sub.connect();
  const got = [];
  sub.on('message', (ch, msg) => got.push(['message', ch, msg]));
  sub.on('pmessage', (pat, ch, msg) => got.push(['pmessage', pat, ch, msg]));
  await sub.subscribe('io:news');
  await sub.psubscribe('io:*');
  out.receivers = await pub.publish('io:news', 'hello');
  while (got.length < 2) await new Promise((r) => setTimeout(r, 10));
  out.pubsub = got.sort((a, b) => a[0].localeCompare(b[0]));
  const id1 = await pub.xadd('io:stream', '*', 'f', 'v1');
  const id2 = await pub.xadd('io:stream', 'MAXLEN', '~', '1000', '*', 'f', 'v2');
  out.range = (await pub.xrange('io:stream', '-', '+')).map(([id, fields]) => [id === id1 || id === id2, fields]);
  await pub.xgroup('CREATE', 'io:stream', 'g', '0');
  const read = await pub.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 10, 'STREAMS', 'io:stream', '>');
  out.group = read[0][1].map(([, fields]) => fields);
  out.acked = await pub.xack('io:stream', 'g', id1, id2);
  const blocked = pub.duplicate();
  const waiting = blocked.xread('BLOCK', 5000, 'STREAMS', 'io:stream', '$');
  await new Promise((r) => setTimeout(r, 100));
  await pub.xadd('io:stream', '*', 'f', 'v3');
  out.blocked = (await waiting)[0][1].map(([, fields]) => fields);
  blocked.disconnect();
  sub.disconnect();
  pub.disconnect();
  return out;
}

async function withNodeRedis() {
  const out = {};
  const client = createClient({ socket: { port, host: '127.0.0.1' } });
  const sub = client.duplicate();
  await client.connect();
  await sub.connect();
  const got = [];
  await sub.subscribe('nr:news', (msg, ch) => got.push(['message', ch, msg]));
  await sub.pSubscribe('nr:*', (msg, ch) => got.push(['pmessage', ch, msg]));
  out.receivers = await client.publish('nr:news', 'hello');
  while (got.length < 2) await new Promise((r) => setTimeout(r, 10));
  out.pubsub = got.sort((a, b) => a[0].localeCompare(b[0]));
  await client.xAdd('nr:stream', '*', { f: 'v1' });
  await client.xAdd('nr:stream', '*', { f: 'v2' });
  out.len = await client.xLen('nr:stream');
  out.range = (await client.xRange('nr:stream', '-', '+')).map((m) => m.message);
  await client.xGroupCreate('nr:stream', 'g', '0');
  const read = await client.xReadGroup('g', 'c1', { key: 'nr:stream', id: '>' }, { COUNT: 10 });
  out.group = read[0].messages.map((m) => m.message);
  out.acked = await client.xAck('nr:stream', 'g', read[0].messages.map((m) => m.id));
  const pending = await client.xPending('nr:stream', 'g');
  out.pending = pending.pending;
  const info = await client.xInfoStream('nr:stream');
  out.info = { length: info.length, groups: info.groups };
  await sub.quit();
  await client.quit();
  return out;
}

(async () => {
  const result = { ioredis: await withIoredis(), nodeRedis: await withNodeRedis() };
  process.stdout.write(JSON.stringify(result));
})().catch((err) => {
  process.stderr.write(String(err && err.stack || err));
  process.exit(1);
});
