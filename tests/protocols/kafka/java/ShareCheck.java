// The Java KafkaShareConsumer (KIP-932 share groups) against mqlite.
// Run by tests/protocols/kafka/test_kafka_share_java.py: java ShareCheck <scenario> <bootstrap> <topic> <group>
// Prints key=value lines the test checks; throws (exit 1) on anything unexpected.

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class ShareCheck {
    static final Duration POLL = Duration.ofMillis(200);
    static final long DEADLINE_MS = 60_000;

    static void check(boolean ok, String what) {
        if (!ok) throw new IllegalStateException("check failed: " + what);
    }

    static KafkaShareConsumer<String, String> consumer(String bootstrap, String group, boolean explicit, int maxRecords) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", group);
        p.put("key.deserializer", StringDeserializer.class.getName());
        p.put("value.deserializer", StringDeserializer.class.getName());
        p.put("share.acknowledgement.mode", explicit ? "explicit" : "implicit");
        p.put("max.poll.records", Integer.toString(maxRecords));
        return new KafkaShareConsumer<>(p);
    }

    static void produce(String bootstrap, String topic, List<String> values) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            for (String v : values) producer.send(new ProducerRecord<>(topic, 0, null, v)).get();
        }
    }

    static List<String> values(String prefix, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(prefix + i);
        return out;
    }

    static short count(ConsumerRecord<String, String> r) {
        return r.deliveryCount().orElse((short) -1);
    }

    // Two share consumers of one group split the records of one partition: each record once.
    static void split(String bootstrap, String topic, String group) throws Exception {
        produce(bootstrap, topic, values("s", 40));
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        Map<String, Integer> perConsumer = new ConcurrentHashMap<>();
        AtomicBoolean done = new AtomicBoolean(false);
        List<Thread> threads = new ArrayList<>();
        for (String name : new String[] {"a", "b"}) {
            Thread t = new Thread(() -> {
                try (KafkaShareConsumer<String, String> c = consumer(bootstrap, group, false, 2)) {
                    c.subscribe(List.of(topic));
                    long end = System.currentTimeMillis() + DEADLINE_MS;
                    while (!done.get() && System.currentTimeMillis() < end) {
                        for (ConsumerRecord<String, String> r : c.poll(POLL)) {
                            seen.merge(r.value(), 1, Integer::sum);
                            perConsumer.merge(name, 1, Integer::sum);
                            Thread.sleep(30);  // a slow worker: the other member takes the next records
                        }
                        if (seen.size() == 40) done.set(true);
                    }
                    c.commitSync();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) t.join();
        System.out.println("distinct=" + seen.size());
        System.out.println("each_once=" + seen.values().stream().allMatch(v -> v == 1));
        System.out.println("both_got_records=" + (perConsumer.getOrDefault("a", 0) > 0 && perConsumer.getOrDefault("b", 0) > 0));
    }

    // Explicit acknowledgement: a released record comes back with delivery count 2, a
    // rejected one never again, an accepted one never again.
    static void ackTypes(String bootstrap, String topic, String group) throws Exception {
        produce(bootstrap, topic, List.of("accept", "release", "reject"));
        try (KafkaShareConsumer<String, String> c = consumer(bootstrap, group, true, 10)) {
            c.subscribe(List.of(topic));
            Map<String, List<Short>> deliveries = new HashMap<>();
            long end = System.currentTimeMillis() + DEADLINE_MS;
            boolean sentLast = false;
            while (!deliveries.containsKey("last") && System.currentTimeMillis() < end) {
                for (ConsumerRecord<String, String> r : c.poll(POLL)) {
                    deliveries.computeIfAbsent(r.value(), k -> new ArrayList<>()).add(count(r));
                    AcknowledgeType type = switch (r.value()) {
                        case "release" -> deliveries.get("release").size() == 1 ? AcknowledgeType.RELEASE : AcknowledgeType.ACCEPT;
                        case "reject" -> AcknowledgeType.REJECT;
                        default -> AcknowledgeType.ACCEPT;
                    };
                    c.acknowledge(r, type);
                }
                c.commitSync();
                if (!sentLast && deliveries.containsKey("release") && deliveries.get("release").size() == 2) {
                    produce(bootstrap, topic, List.of("last"));  // everything before it is settled by now
                    sentLast = true;
                }
            }
            System.out.println("accept=" + deliveries.get("accept"));
            System.out.println("release=" + deliveries.get("release"));
            System.out.println("reject=" + deliveries.get("reject"));
            System.out.println("last=" + deliveries.get("last"));
        }
    }

    // A record whose lease runs out goes to another member with a higher delivery count;
    // after `group.share.delivery.count.limit` deliveries it is archived.
    static void lockTimeout(String bootstrap, String topic, String group) throws Exception {
        produce(bootstrap, topic, List.of("held"));
        List<Short> counts = new ArrayList<>();
        try (KafkaShareConsumer<String, String> holder = consumer(bootstrap, group, true, 10)) {
            holder.subscribe(List.of(topic));
            long end = System.currentTimeMillis() + DEADLINE_MS;
            while (counts.isEmpty() && System.currentTimeMillis() < end) {
                for (ConsumerRecord<String, String> r : holder.poll(POLL)) counts.add(count(r));
            }
            // the holder never acknowledges (and polls no more): its lease runs out
            try (KafkaShareConsumer<String, String> other = consumer(bootstrap, group, true, 10)) {
                other.subscribe(List.of(topic));
                boolean sentLast = false;
                boolean last = false;
                while (!last && System.currentTimeMillis() < end) {
                    for (ConsumerRecord<String, String> r : other.poll(POLL)) {
                        if (r.value().equals("held")) {
                            counts.add(count(r));
                            other.acknowledge(r, AcknowledgeType.RELEASE);
                        } else {
                            last = true;
                            other.acknowledge(r, AcknowledgeType.ACCEPT);
                        }
                    }
                    other.commitSync();
                    if (!sentLast && counts.size() >= 3) {
                        produce(bootstrap, topic, List.of("last"));
                        sentLast = true;
                    }
                }
            }
        }
        System.out.println("deliveries=" + counts);
    }

    public static void main(String[] args) throws Exception {
        String scenario = args[0], bootstrap = args[1], topic = args[2], group = args[3];
        switch (scenario) {
            case "split" -> split(bootstrap, topic, group);
            case "ack-types" -> ackTypes(bootstrap, topic, group);
            case "lock-timeout" -> lockTimeout(bootstrap, topic, group);
            default -> throw new IllegalArgumentException(scenario);
        }
    }
}
