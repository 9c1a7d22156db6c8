// @stomp/stompjs 7.5.0 over raw TCP (@stomp/tcp-wrapper 1.0.1) against a STOMP broker
// on 127.0.0.1:PORT; prints what it saw as JSON (tests/protocols/stomp/test_stompjs.py).
import { Client } from '@stomp/stompjs';
import { TCPWrapper } from '@stomp/tcp-wrapper';

const port = Number(process.argv[2]);
const run = process.argv[3] || 'x';
const seen = {};
const timer = setTimeout(() => { console.error('timed out', JSON.stringify(seen)); process.exit(2); }, 30000);

function nextMessage(client, destination, headers = {}) {
  const queue = [];
  const waiters = [];
  const sub = client.subscribe(destination, (m) => {
    const w = waiters.shift();
    if (w) w(m); else queue.push(m);
  }, headers);
  return { sub, next: () => new Promise((resolve) => { const m = queue.shift(); if (m) resolve(m); else waiters.push(resolve); }) };
}

function receipt(client, id) {
  return new Promise((resolve) => client.watchForReceipt(id, resolve));
}

const client = new Client({
  webSocketFactory: () => new TCPWrapper('127.0.0.1', port),
  connectHeaders: { login: 'guest', passcode: 'guest', host: '/' },
  heartbeatIncoming: 1000,
  heartbeatOutgoing: 1000,
  reconnectDelay: 0,
  onStompError: (frame) => { seen.error = frame.headers.message; },
});

client.onConnect = async (frame) => {
  seen.version = frame.headers.version;
  seen.heartBeat = frame.headers['heart-beat'];
  // queue with client-individual acks, NACK requeues
  const q = `/queue/js-${run}`;
  const c = nextMessage(client, q, { ack: 'client-individual' });
  client.publish({ destination: q, body: 'one', headers: { 'content-type': 'text/plain', app: 'js' } });
  client.publish({ destination: q, body: 'two' });
  const m1 = await c.next();
  const m2 = await c.next();
  m1.ack();
  m2.nack();
  const m3 = await c.next();
  m3.ack();
  seen.queue = { bodies: [m1.body, m2.body, m3.body], redelivered: m3.headers.redelivered,
                 contentType: m1.headers['content-type'], app: m1.headers.app };
  // transaction: nothing until commit
  const tq = `/queue/jstx-${run}`;
  const t = nextMessage(client, tq);
  const tx = client.begin();
  client.publish({ destination: tq, body: 'in tx', headers: { transaction: tx.id } });
  tx.commit();
  seen.tx = (await t.next()).body;
  // topic with a wildcard, receipt on SEND
  const topic = nextMessage(client, `/topic/js-${run}.*`);
  const r = receipt(client, 'r-topic');
  client.publish({ destination: `/topic/js-${run}.a`, body: 'fan', headers: { receipt: 'r-topic' } });
  await r;
  const tm = await topic.next();
  seen.topic = { body: tm.body, destination: tm.headers.destination.replace(run, 'RUN') };
  // binary body with NULs (content-length)
  const bq = nextMessage(client, `/queue/jsbin-${run}`);
  client.publish({ destination: `/queue/jsbin-${run}`, binaryBody: new Uint8Array([1, 0, 2, 0, 3]),
                   headers: { 'content-type': 'application/octet-stream' } });
  seen.binary = Array.from((await bq.next()).binaryBody);
  clearTimeout(timer);
  await client.deactivate();
  console.log(JSON.stringify(seen));
};
client.activate();
