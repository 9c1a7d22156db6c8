// The AWS SDK for JavaScript v3's Kinesis, Firehose and EventBridge clients, as built by
// default (the Kinesis client's default request handler speaks HTTP/2), against mqlite:
// `node scenarios.mjs ENDPOINT SCENARIO`; prints "ok SCENARIO" or throws.
// Driven by tests/protocols/aws/test_js_h2.py.
import assert from "node:assert/strict";
import {
  KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand,
  PutRecordsCommand, ListShardsCommand, GetShardIteratorCommand, GetRecordsCommand,
  DescribeStreamCommand, ResourceNotFoundException as KinesisNotFound, waitUntilStreamExists,
  RegisterStreamConsumerCommand, SubscribeToShardCommand,
} from "@aws-sdk/client-kinesis";
import {
  FirehoseClient, ListDeliveryStreamsCommand, DescribeDeliveryStreamCommand,
  ResourceNotFoundException as FirehoseNotFound,
} from "@aws-sdk/client-firehose";
import {
  EventBridgeClient, PutRuleCommand, ListRulesCommand, PutEventsCommand, DescribeRuleCommand,
  ResourceNotFoundException as EventsNotFound,
} from "@aws-sdk/client-eventbridge";

const [endpoint, scenario] = process.argv.slice(2);
const config = { endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };
const SCENARIOS = ["kinesis_default_client", "firehose_default_client", "eventbridge_default_client"];

async function kinesis_default_client() {
  const client = new KinesisClient(config);
  assert.equal(client.config.requestHandler.constructor.name, "NodeHttp2Handler", "the default handler is HTTP/2");
  await client.send(new CreateStreamCommand({ StreamName: "h2", ShardCount: 2 }));
  await waitUntilStreamExists({ client, maxWaitTime: 30 }, { StreamName: "h2" });
  const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: "h2" }));
  assert.equal(summary.StreamDescriptionSummary.StreamStatus, "ACTIVE");
  const data = new Uint8Array(256).map((_, i) => i);
  await client.send(new PutRecordCommand({ StreamName: "h2", PartitionKey: "k", Data: data }));
  const batch = await client.send(new PutRecordsCommand({
    StreamName: "h2", Records: Array.from({ length: 50 }, (_, i) => ({ PartitionKey: `k${i}`, Data: new TextEncoder().encode(`r${i}`) })),
  }));
  assert.equal(batch.FailedRecordCount, 0);
  let seen = 0;
  let binary = false;
  for (const shard of (await client.send(new ListShardsCommand({ StreamName: "h2" }))).Shards) {
    const it = await client.send(new GetShardIteratorCommand({ StreamName: "h2", ShardId: shard.ShardId, ShardIteratorType: "TRIM_HORIZON" }));
    const got = await client.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
    seen += got.Records.length;
    for (const r of got.Records) if (r.PartitionKey === "k") binary = Buffer.from(r.Data).equals(Buffer.from(data));
  }
  assert.equal(seen, 51);
  assert.ok(binary, "binary data round-trips");
  await assert.rejects(client.send(new DescribeStreamCommand({ StreamName: "missing" })), (err) =>
    err instanceof KinesisNotFound && err.message === "Stream missing under account 000000000000 not found.");
  // many calls in parallel share the one HTTP/2 connection
  const puts = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    client.send(new PutRecordCommand({ StreamName: "h2", PartitionKey: `p${i}`, Data: new Uint8Array([i]) }))));
  assert.equal(new Set(puts.map((p) => p.SequenceNumber)).size, 40);
  // SubscribeToShard: an event stream over HTTP/2
  const arn = summary.StreamDescriptionSummary.StreamARN;
  const consumer = await client.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: "c" }));
  const shardOfK = puts.length && (await client.send(new ListShardsCommand({ StreamName: "h2" }))).Shards[0].ShardId;
  const sub = await client.send(new SubscribeToShardCommand({
    ConsumerARN: consumer.Consumer.ConsumerARN, ShardId: shardOfK, StartingPosition: { Type: "TRIM_HORIZON" },
  }));
  let streamed = 0;
  for await (const event of sub.EventStream) {
    if (event.SubscribeToShardEvent) {
      streamed += event.SubscribeToShardEvent.Records.length;
      if (streamed > 0) break;
    }
  }
  assert.ok(streamed > 0, "SubscribeToShard streamed records over HTTP/2");
  client.destroy();
}

async function firehose_default_client() {
  const client = new FirehoseClient(config);
  const listed = await client.send(new ListDeliveryStreamsCommand({}));
  assert.deepEqual(listed.DeliveryStreamNames, []);
  await assert.rejects(client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: "missing" })),
    (err) => err instanceof FirehoseNotFound);
  client.destroy();
}

async function eventbridge_default_client() {
  const client = new EventBridgeClient(config);
  await client.send(new PutRuleCommand({ Name: "r", EventPattern: JSON.stringify({ source: ["shop"] }) }));
  const rules = await client.send(new ListRulesCommand({}));
  assert.deepEqual(rules.Rules.map((r) => r.Name), ["r"]);
  const put = await client.send(new PutEventsCommand({ Entries: [{ Source: "shop", DetailType: "t", Detail: "{}" }] }));
  assert.equal(put.FailedEntryCount, 0);
  await assert.rejects(client.send(new DescribeRuleCommand({ Name: "missing" })),
    (err) => err instanceof EventsNotFound && err.message === "Rule missing does not exist.");
  client.destroy();
}

if (scenario === "--list") {
  console.log(SCENARIOS.join("\n"));
} else {
  const fns = { kinesis_default_client, firehose_default_client, eventbridge_default_client };
  await fns[scenario]();
  console.log(`ok ${scenario}`);
}
