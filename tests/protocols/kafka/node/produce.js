// Produce messages with kafkajs: node produce.js <broker> <topic> '<json messages>'
// Each message is {"value": "...", "timestamp": "<ms>" | null}; prints the offsets acked.
const { Kafka, logLevel } = require('kafkajs')

async function main () {
  const [broker, topic, json] = process.argv.slice(2)
  const kafka = new Kafka({ clientId: 'mqlite-test', brokers: [broker], logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const messages = JSON.parse(json).map(m => (m.timestamp == null ? { value: m.value } : m))
  const result = await producer.send({ topic, messages })
  console.log(JSON.stringify(result))
  await producer.disconnect()
}

main().catch(err => { console.error(err.message); process.exit(1) })
