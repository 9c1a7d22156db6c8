// AWS SDK for JavaScript v3 scenarios against a running mqlite: the same ones the boto3
// tests drive. Usage: node scenarios.mjs ENDPOINT SCENARIO. The SDK speaks SQS's JSON
// protocol and checks MD5s of bodies and attributes itself, so it catches what boto3
// forgives. Exit 0 and print "ok SCENARIO" when every assertion held.
import assert from "node:assert/strict";
import * as sqsApi from "@aws-sdk/client-sqs";
import * as snsApi from "@aws-sdk/client-sns";

const [endpoint, scenario] = process.argv.slice(2);
const config = {
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
};
const sqs = new sqsApi.SQSClient(config);
const sns = new snsApi.SNSClient(config);
const q = (name, input) => sqs.send(new sqsApi[`${name}Command`](input));
const n = (name, input) => sns.send(new snsApi[`${name}Command`](input));

// The error a call fails with: its name (the SDK's modelled exception or AWS's code),
// HTTP status and message.
async function failure(promise) {
  try {
    await promise;
  } catch (err) {
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
  }
  assert.fail("the call succeeded");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function receiveAll(QueueUrl, count) {
  const out = [];
  for (let i = 0; i < 50 && out.length < count; i++) {
    const r = await q("ReceiveMessage", {
      QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
      MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"],
    });
    out.push(...(r.Messages ?? []));
  }
  return out;
}

const scenarios = {
  async sqs_queue_lifecycle() {
    const { QueueUrl } = await q("CreateQueue", { QueueName: "js-q", Attributes: { VisibilityTimeout: "40" } });
    assert.match(QueueUrl, /\/000000000000\/js-q$/);
    assert.equal((await q("GetQueueUrl", { QueueName: "js-q" })).QueueUrl, QueueUrl);
    assert.deepEqual((await q("ListQueues", { QueueNamePrefix: "js-" })).QueueUrls, [QueueUrl]);
    const attrs = (await q("GetQueueAttributes", { QueueUrl, AttributeNames: ["All"] })).Attributes;
    assert.equal(attrs.VisibilityTimeout, "40");
    assert.equal(attrs.QueueArn, "arn:aws:sqs:us-east-1:000000000000:js-q");
    await q("SetQueueAttributes", { QueueUrl, Attributes: { DelaySeconds: "2" } });
    assert.equal((await q("GetQueueAttributes", { QueueUrl, AttributeNames: ["DelaySeconds"] })).Attributes.DelaySeconds, "2");
    await q("TagQueue", { QueueUrl, Tags: { team: "a" } });
    assert.deepEqual((await q("ListQueueTags", { QueueUrl })).Tags, { team: "a" });
    const bad = await failure(q("SetQueueAttributes", { QueueUrl, Attributes: { VisibilityTimeout: "99999" } }));
    assert.equal(bad.name, "InvalidAttributeValue");
    assert.equal(bad.status, 400);
    await q("DeleteQueue", { QueueUrl });
    const gone = await failure(q("GetQueueUrl", { QueueName: "js-q" }));
    assert.deepEqual([gone.name, gone.status, gone.message], ["QueueDoesNotExist", 400, "The specified queue does not exist."]);
  },

  async sqs_messages_attributes_and_md5() {
    const { QueueUrl } = await q("CreateQueue", { QueueName: "js-m" });
    const sent = await q("SendMessage", {
      QueueUrl, MessageBody: "héllo ✓",
      MessageAttributes: {
        s: { DataType: "String", StringValue: "v" },
        num: { DataType: "Number", StringValue: "12.5" },
        bin: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 255]) },
        custom: { DataType: "String.custom", StringValue: "x" },
      },
      MessageSystemAttributes: { AWSTraceHeader: { DataType: "String", StringValue: "Root=1-abc" } },
    });
    assert.ok(sent.MD5OfMessageAttributes && sent.MD5OfMessageSystemAttributes);
    // The SDK recomputes MD5OfBody and MD5OfMessageAttributes and throws on a mismatch.
    const [m] = await receiveAll(QueueUrl, 1);
    assert.equal(m.Body, "héllo ✓");
    assert.equal(m.MessageAttributes.num.StringValue, "12.5");
    assert.deepEqual([...m.MessageAttributes.bin.BinaryValue], [0, 1, 2, 255]);
    assert.equal(m.Attributes.ApproximateReceiveCount, "1");
    assert.equal(m.Attributes.AWSTraceHeader, "Root=1-abc");
    await q("ChangeMessageVisibility", { QueueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 });
    const [again] = await receiveAll(QueueUrl, 1);
    assert.equal(again.Attributes.ApproximateReceiveCount, "2");
    await q("DeleteMessage", { QueueUrl, ReceiptHandle: again.ReceiptHandle });
    const bad = await failure(q("DeleteMessage", { QueueUrl, ReceiptHandle: "not-a-handle" }));
    assert.deepEqual([bad.name, bad.message], ["ReceiptHandleIsInvalid", "The input receipt handle is invalid."]);
    const badName = await failure(q("SendMessage", {
      QueueUrl, MessageBody: "x", MessageAttributes: { "bad name": { DataType: "String", StringValue: "v" } },
    }));
    // Real SQS (JSON protocol) answers this with x-amzn-query-error InvalidParameterValue,
    // which the SDK surfaces as the error name.
    assert.equal(badName.name, "InvalidParameterValue");
    assert.equal(badName.status, 400);
    const wildcard = await q("SendMessage", {
      QueueUrl, MessageBody: "w", MessageAttributes: {
        Custom1: { DataType: "String", StringValue: "1" }, Other: { DataType: "String", StringValue: "2" } },
    });
    assert.ok(wildcard.MessageId);
    const r = await q("ReceiveMessage", { QueueUrl, MessageAttributeNames: ["Custom.*"], WaitTimeSeconds: 1 });
    assert.deepEqual(Object.keys(r.Messages[0].MessageAttributes), ["Custom1"]);
  },

  async sqs_batches() {
    const { QueueUrl } = await q("CreateQueue", { QueueName: "js-b" });
    const sent = await q("SendMessageBatch", {
      QueueUrl, Entries: [
        { Id: "a", MessageBody: "one" },
        { Id: "b", MessageBody: "two", DelaySeconds: 1800 },
      ],
    });
    assert.deepEqual(sent.Successful.map((e) => e.Id), ["a"]);
    assert.deepEqual(sent.Failed.map((e) => [e.Id, e.Code, e.SenderFault]), [["b", "InvalidParameterValue", true]]);
    const msgs = await receiveAll(QueueUrl, 1);
    const del = await q("DeleteMessageBatch", {
      QueueUrl, Entries: [{ Id: "x", ReceiptHandle: msgs[0].ReceiptHandle }, { Id: "y", ReceiptHandle: "junk" }],
    });
    assert.deepEqual(del.Successful.map((e) => e.Id), ["x"]);
    assert.deepEqual(del.Failed.map((e) => [e.Id, e.Code, e.Message]),
      [["y", "ReceiptHandleIsInvalid", 'The input receipt handle "junk" is not a valid receipt handle.']]);
    const empty = await failure(q("DeleteMessageBatch", { QueueUrl, Entries: [] }));
    assert.deepEqual([empty.name, empty.message],
      ["EmptyBatchRequest", "There should be at least one DeleteMessageBatchRequestEntry in the request."]);
  },

  async sqs_fifo() {
    const { QueueUrl } = await q("CreateQueue", { QueueName: "js-f.fifo", Attributes: { FifoQueue: "true" } });
    for (const body of ["1", "2", "3"]) {
      await q("SendMessage", { QueueUrl, MessageBody: body, MessageGroupId: "g", MessageDeduplicationId: `d${body}` });
    }
    const dup = await q("SendMessage", { QueueUrl, MessageBody: "1", MessageGroupId: "g", MessageDeduplicationId: "d1" });
    assert.ok(dup.SequenceNumber);
    const got = await receiveAll(QueueUrl, 3);
    assert.deepEqual(got.map((m) => m.Body), ["1", "2", "3"]);
    assert.equal(got[0].Attributes.MessageGroupId, "g");
    const noGroup = await failure(q("SendMessage", { QueueUrl, MessageBody: "x", MessageDeduplicationId: "z" }));
    assert.deepEqual([noGroup.name, noGroup.message], ["MissingParameter", "The request must contain the parameter MessageGroupId."]);
  },

  async sqs_dead_letter_queue() {
    const dlq = (await q("CreateQueue", { QueueName: "js-dlq" })).QueueUrl;
    const src = (await q("CreateQueue", {
      QueueName: "js-src",
      Attributes: {
        VisibilityTimeout: "0",
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: "arn:aws:sqs:us-east-1:000000000000:js-dlq", maxReceiveCount: 1 }),
      },
    })).QueueUrl;
    await q("SendMessage", { QueueUrl: src, MessageBody: "poison" });
    await receiveAll(src, 1);
    let moved = [];
    for (let i = 0; i < 20 && moved.length === 0; i++) {
      await q("ReceiveMessage", { QueueUrl: src, WaitTimeSeconds: 0 });
      moved = await receiveAll(dlq, 1);
      if (!moved.length) await sleep(100);
    }
    assert.equal(moved[0].Body, "poison");
    assert.equal(moved[0].Attributes.DeadLetterQueueSourceArn, "arn:aws:sqs:us-east-1:000000000000:js-src");
    const sources = await q("ListDeadLetterSourceQueues", { QueueUrl: dlq });
    assert.deepEqual(sources.queueUrls, [src]);
  },

  async sns_topics() {
    const { TopicArn } = await n("CreateTopic", { Name: "js-t", Attributes: { DisplayName: "JS" }, Tags: [{ Key: "k", Value: "v" }] });
    assert.equal(TopicArn, "arn:aws:sns:us-east-1:000000000000:js-t");
    const attrs = (await n("GetTopicAttributes", { TopicArn })).Attributes;
    assert.equal(attrs.DisplayName, "JS");
    assert.ok(attrs.EffectiveDeliveryPolicy);
    assert.deepEqual((await n("ListTagsForResource", { ResourceArn: TopicArn })).Tags, [{ Key: "k", Value: "v" }]);
    assert.ok((await n("ListTopics", {})).Topics.some((t) => t.TopicArn === TopicArn));
    await n("DeleteTopic", { TopicArn });
    const gone = await failure(n("GetTopicAttributes", { TopicArn }));
    assert.deepEqual([gone.name, gone.status, gone.message], ["NotFoundException", 404, "Topic does not exist"]);
    const fifoName = await failure(n("CreateTopic", { Name: "nofifo", Attributes: { FifoTopic: "true" } }));
    assert.equal(fifoName.name, "InvalidParameterException");
  },

  async sns_fanout_to_sqs() {
    const { TopicArn } = await n("CreateTopic", { Name: "js-fan" });
    const url = (await q("CreateQueue", { QueueName: "js-sub" })).QueueUrl;
    const raw = (await q("CreateQueue", { QueueName: "js-raw" })).QueueUrl;
    await n("Subscribe", { TopicArn, Protocol: "sqs", Endpoint: "arn:aws:sqs:us-east-1:000000000000:js-sub" });
    await n("Subscribe", {
      TopicArn, Protocol: "sqs", Endpoint: "arn:aws:sqs:us-east-1:000000000000:js-raw",
      Attributes: { RawMessageDelivery: "true", FilterPolicy: JSON.stringify({ price: [{ numeric: [">", 10] }] }) },
    });
    await n("Publish", { TopicArn, Message: "cheap", MessageAttributes: { price: { DataType: "Number", StringValue: "5" } } });
    const pub = await n("Publish", { TopicArn, Message: "dear", Subject: "s", MessageAttributes: { price: { DataType: "Number", StringValue: "10.5" } } });
    const batch = await n("PublishBatch", { TopicArn, PublishBatchRequestEntries: [{ Id: "1", Message: "b1" }, { Id: "2", Message: "b2" }] });
    assert.equal(batch.Successful.length, 2);
    const wrapped = await receiveAll(url, 4);
    const notes = wrapped.map((m) => JSON.parse(m.Body));
    assert.deepEqual(notes.map((d) => d.Message).sort(), ["b1", "b2", "cheap", "dear"]);
    const dear = notes.find((d) => d.Message === "dear");
    assert.equal(dear.MessageId, pub.MessageId);
    assert.equal(dear.Type, "Notification");
    assert.equal(dear.Subject, "s");
    assert.equal(dear.SignatureVersion, "1");
    const rawMsgs = await receiveAll(raw, 1);
    assert.deepEqual(rawMsgs.map((m) => m.Body), ["dear"]);
    const long = await failure(n("Publish", { TopicArn, Message: "x", Subject: "s".repeat(101) }));
    assert.deepEqual([long.name, long.message], ["InvalidParameterException", "Subject must be less than 100 characters"]);
  },

  async sns_fifo_topic() {
    const { TopicArn } = await n("CreateTopic", { Name: "js-ft.fifo", Attributes: { FifoTopic: "true", ContentBasedDeduplication: "true" } });
    const url = (await q("CreateQueue", { QueueName: "js-fq.fifo", Attributes: { FifoQueue: "true" } })).QueueUrl;
    await n("Subscribe", { TopicArn, Protocol: "sqs", Endpoint: "arn:aws:sqs:us-east-1:000000000000:js-fq.fifo" });
    for (const m of ["a", "b", "c"]) await n("Publish", { TopicArn, Message: m, MessageGroupId: "g" });
    await n("Publish", { TopicArn, Message: "a", MessageGroupId: "g" }); // a duplicate: dropped
    const got = await receiveAll(url, 3);
    const docs = got.map((m) => JSON.parse(m.Body));
    assert.deepEqual(docs.map((d) => d.Message), ["a", "b", "c"]);
    assert.ok(docs[0].SequenceNumber);
    const noGroup = await failure(n("Publish", { TopicArn, Message: "x" }));
    assert.equal(noGroup.name, "InvalidParameterException");
  },

  async sns_platform_endpoints() {
    const app = (await n("CreatePlatformApplication", { Name: "js-app", Platform: "GCM", Attributes: { PlatformCredential: "k" } })).PlatformApplicationArn;
    const ep = (await n("CreatePlatformEndpoint", { PlatformApplicationArn: app, Token: "device" })).EndpointArn;
    assert.ok((await n("Publish", { TargetArn: ep, Message: "push" })).MessageId);
    await n("SetEndpointAttributes", { EndpointArn: ep, Attributes: { Enabled: "false" } });
    const off = await failure(n("Publish", { TargetArn: ep, Message: "push" }));
    assert.deepEqual([off.name, off.message], ["EndpointDisabledException", "Endpoint is disabled"]);
    await n("DeletePlatformApplication", { PlatformApplicationArn: app });
    assert.deepEqual((await n("ListPlatformApplications", {})).PlatformApplications, []);
  },
};

if (scenario === "--list") {
  console.log(Object.keys(scenarios).join("\n"));
  process.exit(0);
}
if (!scenarios[scenario]) {
  console.error(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(" ")}`);
  process.exit(2);
}
await scenarios[scenario]();
console.log(`ok ${scenario}`);
