// Java transactions (KafkaProducer with transactional.id) against mqlite: commit, abort,
// zombie fencing, and consume-transform-produce with sendOffsetsToTransaction.
// Run by tests/protocols/kafka/test_kafka_transactions_java.py: java TxnCheck <scenario> <bootstrap> [args]
// Prints key=value lines the test checks; throws (exit 1) on anything unexpected.

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

public class TxnCheck {
    static Properties txnProps(String txnId) {
        Properties p = new Properties();
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "30000");
        return p;
    }

    static void create(String bootstrap, String... topics) throws Exception {
        try (Admin admin = ClientsCheck.admin(bootstrap)) {
            List<NewTopic> ts = new ArrayList<>();
            for (String t : topics) ts.add(new NewTopic(t, 1, (short) 1));
            admin.createTopics(ts).all().get();
        }
    }

    /** Everything a fresh consumer (no group) reads from the start, up to the end it sees. */
    static List<String> readAll(String bootstrap, String topic, String isolation) {
        Properties extra = new Properties();
        extra.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        extra.remove(ConsumerConfig.GROUP_ID_CONFIG);
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p,
                new org.apache.kafka.common.serialization.StringDeserializer(),
                new org.apache.kafka.common.serialization.StringDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp); // the LSO under read_committed
            List<String> got = new ArrayList<>();
            long deadline = System.currentTimeMillis() + ClientsCheck.DEADLINE_MS;
            while (c.position(tp) < end) {
                ClientsCheck.check(System.currentTimeMillis() < deadline, "never reached " + end);
                for (ConsumerRecord<String, String> r : c.poll(ClientsCheck.POLL)) got.add(r.value());
            }
            System.out.println(topic + "_end_" + isolation + "=" + end);
            return got;
        }
    }

    static void basic(String bootstrap, String topic) throws Exception {
        create(bootstrap, topic);
        try (KafkaProducer<String, String> p = ClientsCheck.producer(bootstrap, txnProps(topic + "-tx"))) {
            p.initTransactions();
            p.beginTransaction();
            for (int i = 0; i < 3; i++) p.send(new ProducerRecord<>(topic, "c" + i));
            p.commitTransaction();
            p.beginTransaction();
            for (int i = 0; i < 2; i++) p.send(new ProducerRecord<>(topic, "a" + i));
            p.flush();
            p.abortTransaction();
            p.beginTransaction();
            p.send(new ProducerRecord<>(topic, "c3"));
            p.commitTransaction();
        }
        System.out.println("committed=" + String.join(",", readAll(bootstrap, topic, "read_committed")));
        System.out.println("uncommitted=" + String.join(",", readAll(bootstrap, topic, "read_uncommitted")));
    }

    static void zombie(String bootstrap, String topic) throws Exception {
        create(bootstrap, topic);
        String txnId = topic + "-tx";
        try (KafkaProducer<String, String> zombie = ClientsCheck.producer(bootstrap, txnProps(txnId))) {
            zombie.initTransactions();
            zombie.beginTransaction();
            zombie.send(new ProducerRecord<>(topic, "zombie-1")).get();
            try (KafkaProducer<String, String> fresh = ClientsCheck.producer(bootstrap, txnProps(txnId))) {
                fresh.initTransactions(); // fences the zombie and aborts its transaction
                fresh.beginTransaction();
                fresh.send(new ProducerRecord<>(topic, "fresh-1"));
                fresh.commitTransaction();
            }
            try {  // the partition refuses the zombie's old epoch
                zombie.send(new ProducerRecord<>(topic, "zombie-2")).get();
                System.out.println("zombie_send=ok");
            } catch (Exception e) {
                System.out.println("zombie_send=" + (e.getCause() != null ? e.getCause() : e).getClass().getSimpleName());
            }
            try {  // and the coordinator its EndTxn
                zombie.abortTransaction();
                System.out.println("zombie_end=ok");
            } catch (Exception e) {
                System.out.println("zombie_end=" + e.getClass().getSimpleName());
            }
        }
        System.out.println("committed=" + String.join(",", readAll(bootstrap, topic, "read_committed")));
        System.out.println("uncommitted=" + String.join(",", readAll(bootstrap, topic, "read_uncommitted")));
    }

    /** Consume-transform-produce: upper-case `in` to `out`, offsets committed in the
     *  transaction; a second round is aborted and changes nothing. */
    static void ctp(String bootstrap, String in, String out) throws Exception {
        create(bootstrap, in, out);
        String group = in + "-ctp";
        try (KafkaProducer<String, String> p = ClientsCheck.producer(bootstrap, new Properties())) {
            for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>(in, "w" + i));
            p.flush();
        }
        Properties cprops = new Properties();
        cprops.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<String, String> c = ClientsCheck.consumer(bootstrap, group, cprops);
             KafkaProducer<String, String> p = ClientsCheck.producer(bootstrap, txnProps(group + "-tx"))) {
            p.initTransactions();
            c.subscribe(List.of(in));
            for (int round = 0; round < 2; round++) {
                if (round == 1) {
                    try (KafkaProducer<String, String> plain = ClientsCheck.producer(bootstrap, new Properties())) {
                        for (int i = 10; i < 15; i++) plain.send(new ProducerRecord<>(in, "w" + i));
                    }
                }
                List<ConsumerRecord<String, String>> got = ClientsCheck.pollFor(c, round == 0 ? 10 : 5);
                p.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (ConsumerRecord<String, String> r : got) {
                    p.send(new ProducerRecord<>(out, r.value().toUpperCase()));
                    offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                p.sendOffsetsToTransaction(offsets, c.groupMetadata());
                p.flush();  // the records reach the log either way; only the marker differs
                if (round == 0) p.commitTransaction(); else p.abortTransaction();
            }
        }
        try (Admin admin = ClientsCheck.admin(bootstrap)) {
            Map<TopicPartition, OffsetAndMetadata> committed =
                admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            System.out.println("group_offset=" + committed.get(new TopicPartition(in, 0)).offset());
        }
        System.out.println("out_committed=" + String.join(",", readAll(bootstrap, out, "read_committed")));
        System.out.println("out_uncommitted_count=" + readAll(bootstrap, out, "read_uncommitted").size());
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "basic" -> basic(args[1], args[2]);
            case "zombie" -> zombie(args[1], args[2]);
            case "ctp" -> ctp(args[1], args[2], args[3]);
            default -> throw new IllegalArgumentException("unknown scenario " + args[0]);
        }
    }
}
