// kafkajs transactions as a Node.js user writes them: node transactions.js <broker> <topic>
// commit (c0 c1), abort (a0 a1), commit (c2) with sendOffsets for group "jsg"; then a
// read_committed consumer (kafkajs's default, readUncommitted: false) reads the topic.
// Prints {"committed": [values read], "offsets": [group jsg's committed offsets]}.
const { Kafka, logLevel } = require('kafkajs')

async function main () {
  const [broker, topic] = process.argv.slice(2)
  const kafka = new Kafka({ clientId: 'mqlite-txn', brokers: [broker], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
  const producer = kafka.producer({ transactionalId: `${topic}-tx`, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const send = async (values, end, offsets) => {
    const txn = await producer.transaction()
    await txn.send({ topic, messages: values.map(value => ({ value })) })
    if (offsets) await txn.sendOffsets({ consumerGroupId: 'jsg', topics: [{ topic, partitions: offsets }] })
    await (end === 'commit' ? txn.commit() : txn.abort())
  }
  await send(['c0', 'c1'], 'commit')
  await send(['a0', 'a1'], 'abort')
  await send(['c2'], 'commit', [{ partition: 0, offset: '3' }])
  await producer.disconnect()

  const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const committed = []
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        committed.push(message.value.toString())
        if (committed.length >= 3) resolve()
      }
    }).catch(reject)
  })
  await consumer.disconnect()
  const offsets = (await admin.fetchOffsets({ groupId: 'jsg', topics: [topic] }))[0].partitions
  await admin.disconnect()
  console.log(JSON.stringify({ committed, offsets }))
}

main().catch(err => { console.error(err.stack || err.message); process.exit(1) })
