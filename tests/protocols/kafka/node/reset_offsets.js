// A Node.js user's offset reset with kafkajs: node reset_offsets.js <broker> <topic> <earliest|latest>
// Produces 5 messages, consumes them in group "resetters" (auto-commit), resets the
// group's offsets with admin.resetOffsets, then consumes again in the same group.
// Prints {"before": ..., "after": ..., "again": [values read after the reset]}.
const { Kafka, logLevel } = require('kafkajs')

const COUNT = 5

async function consumeAll (kafka, topic, want) {
  const consumer = kafka.consumer({ groupId: 'resetters', maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = []
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value.toString())
        if (seen.length >= want) resolve()
      }
    }).catch(reject)
    if (want === 0) consumer.on(consumer.events.FETCH, () => resolve())
  })
  await consumer.disconnect() // commits what eachMessage resolved
  return seen
}

async function main () {
  const [broker, topic, where] = process.argv.slice(2)
  const kafka = new Kafka({ clientId: 'mqlite-reset', brokers: [broker], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
  const producer = kafka.producer()
  await producer.connect()
  const values = [...Array(COUNT).keys()].map(i => `m${i}`)
  await producer.send({ topic, messages: values.map(value => ({ value })) })
  await producer.disconnect()

  const first = await consumeAll(kafka, topic, COUNT)
  const committed = async () => (await admin.fetchOffsets({ groupId: 'resetters', topics: [topic] }))[0].partitions
  const before = await committed()
  await admin.resetOffsets({ groupId: 'resetters', topic, earliest: where === 'earliest' })
  const after = await committed()
  const again = await consumeAll(kafka, topic, where === 'earliest' ? COUNT : 0)
  await admin.disconnect()
  console.log(JSON.stringify({ first, before, after, again }))
}

main().catch(err => { console.error(err.stack || err.message); process.exit(1) })
