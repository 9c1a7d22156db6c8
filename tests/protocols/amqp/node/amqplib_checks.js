// Drives amqplib (npm) against an AMQP 0-9-1 server (mqlite in the tests): topology,
// publisher confirms, consumer cancel notifications, dead-lettering with x-death and
// direct reply-to. Prints one JSON object of what the client saw; the Python test checks it.
// usage: node amqplib_checks.js PORT
'use strict';
const amqp = require('amqplib');

const url = `amqp://guest:guest@127.0.0.1:${process.argv[2]}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function getOne(ch, queue) {
  for (let i = 0; i < 200; i++) {
    const m = await ch.get(queue, { noAck: true });
    if (m) return m;
    await sleep(25);
  }
  throw new Error(`nothing in ${queue}`);
}

async function topology(conn) {
  const ch = await conn.createChannel();
  await ch.assertExchange('js.topic', 'topic', { durable: false });
  await ch.assertExchange('js.fan', 'fanout', { durable: false });
  await ch.bindExchange('js.fan', 'js.topic', 'logs.#');
  const q = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(q.queue, 'js.fan', '');
  ch.publish('js.topic', 'logs.app.error', Buffer.from('e2e'));
  ch.publish('js.topic', 'metrics.cpu', Buffer.from('unrouted'));
  const m = await getOne(ch, q.queue);
  const check = await ch.checkQueue(q.queue);
  let missing = null;
  const probe = await conn.createChannel();
  probe.on('error', () => {});
  try { await probe.checkExchange('js.nope'); } catch (e) { missing = e.code; }
  await ch.close();
  return { body: m.content.toString(), routingKey: m.fields.routingKey, exchange: m.fields.exchange,
           remaining: check.messageCount, missingExchangeCode: missing };
}

async function confirms(conn) {
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('js.confirmed', { durable: true });
  const acked = [];
  for (let i = 0; i < 5; i++) {
    ch.sendToQueue('js.confirmed', Buffer.from(`m${i}`), { persistent: true }, (err) => acked.push(err === null));
  }
  await ch.waitForConfirms();
  const returned = [];
  ch.on('return', (m) => returned.push(m.fields.replyCode));
  await new Promise((resolve) => ch.publish('amq.direct', 'nobody', Buffer.from('x'), { mandatory: true }, resolve));
  await sleep(100);
  const q = await ch.checkQueue('js.confirmed');
  await ch.deleteQueue('js.confirmed');
  await ch.close();
  return { acked, returned, count: q.messageCount };
}

async function cancelNotify(conn) {
  const ch = await conn.createChannel();
  await ch.assertQueue('js.doomed', { durable: false });
  let cancelled = false;
  await ch.consume('js.doomed', (msg) => { if (msg === null) cancelled = true; });
  const other = await conn.createChannel();
  await other.deleteQueue('js.doomed');
  for (let i = 0; i < 100 && !cancelled; i++) await sleep(20);
  await other.close();
  await ch.close();
  return { cancelled };
}

async function deadLetter(conn) {
  const ch = await conn.createChannel();
  await ch.assertExchange('js.dlx', 'direct', { durable: false });
  await ch.assertQueue('js.dead', { durable: false });
  await ch.bindQueue('js.dead', 'js.dlx', 'work');
  await ch.assertQueue('js.work', { durable: false, deadLetterExchange: 'js.dlx', deadLetterRoutingKey: 'work' });
  ch.sendToQueue('js.work', Buffer.from('bad job'), { headers: { attempt: 1 } });
  const m = await getOne(ch, 'js.work').catch(() => null);
  // get with noAck=true already settled it: publish again and reject a manual-ack one
  ch.sendToQueue('js.work', Buffer.from('bad job'), { headers: { attempt: 1 } });
  let got = null;
  for (let i = 0; i < 200 && !got; i++) { got = await ch.get('js.work', { noAck: false }); if (!got) await sleep(25); }
  ch.nack(got, false, false);
  const dead = await getOne(ch, 'js.dead');
  const death = dead.properties.headers['x-death'][0];
  await ch.close();
  return { first: m && m.content.toString(), body: dead.content.toString(), attempt: dead.properties.headers.attempt,
           reason: death.reason, queue: death.queue, count: death.count,
           firstReason: dead.properties.headers['x-first-death-reason'] };
}

async function directReplyTo(conn) {
  const server = await conn.createChannel();
  await server.assertQueue('js.rpc', { durable: false });
  await server.consume('js.rpc', (msg) => {
    server.sendToQueue(msg.properties.replyTo, Buffer.from(`echo:${msg.content}`),
                       { correlationId: msg.properties.correlationId });
    server.ack(msg);
  });
  const client = await conn.createChannel();
  const reply = new Promise((resolve) => {
    client.consume('amq.rabbitmq.reply-to', (msg) => resolve(msg), { noAck: true });
  });
  await sleep(50);
  client.sendToQueue('js.rpc', Buffer.from('ping'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c-1' });
  const msg = await reply;
  await client.close();
  await server.close();
  return { body: msg.content.toString(), correlationId: msg.properties.correlationId,
           replyToPrefix: msg.fields.routingKey.startsWith('amq.rabbitmq.reply-to.') };
}

(async () => {
  const conn = await amqp.connect(url);
  const result = {
    topology: await topology(conn), confirms: await confirms(conn), cancel: await cancelNotify(conn),
    deadLetter: await deadLetter(conn), directReplyTo: await directReplyTo(conn),
  };
  await conn.close();
  process.stdout.write(JSON.stringify(result));
})().catch((err) => {
  process.stderr.write(String(err && err.stack || err));
  process.exit(1);
});
