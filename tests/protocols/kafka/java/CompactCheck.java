// Log compaction configs through the Java AdminClient, and a Kafka Streams word count
// (state store, repartition and compacted changelog topics, exactly_once_v2) against mqlite.
// Run by tests/protocols/kafka/test_kafka_compaction_java.py:
//   java CompactCheck <admin|wordcount> <bootstrap> [state dir]
// Prints key=value lines the test checks; throws (exit 1) on anything unexpected.

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

public class CompactCheck {
    // helpers shared with ClientsCheck (compiled together by the harness)
    static void check(boolean ok, String what) { ClientsCheck.check(ok, what); }

    static Admin admin(String bootstrap) { return ClientsCheck.admin(bootstrap); }

    static Map<String, String> configs(Admin admin, String topic) throws Exception {
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config cfg = admin.describeConfigs(List.of(res)).all().get().get(res);
        Map<String, String> out = new TreeMap<>();
        for (ConfigEntry e : cfg.entries()) out.put(e.name(), e.value());
        return out;
    }

    static void adminScenario(String bootstrap) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            NewTopic t = new NewTopic("java-compact", 1, (short) 1).configs(Map.of(
                "cleanup.policy", "compact", "min.compaction.lag.ms", "100", "delete.retention.ms", "1000"));
            admin.createTopics(List.of(t)).all().get();
            Map<String, String> got = configs(admin, "java-compact");
            System.out.println("policy=" + got.get("cleanup.policy"));
            System.out.println("lag=" + got.get("min.compaction.lag.ms"));
            System.out.println("tombstones=" + got.get("delete.retention.ms"));
            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, "java-compact");
            admin.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(
                new ConfigEntry("cleanup.policy", "delete,compact"), AlterConfigOp.OpType.SET)))).all().get();
            System.out.println("altered=" + configs(admin, "java-compact").get("cleanup.policy"));
            try {
                admin.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(
                    new ConfigEntry("cleanup.policy", "shred"), AlterConfigOp.OpType.SET)))).all().get();
                System.out.println("bad=accepted");
            } catch (java.util.concurrent.ExecutionException e) {
                System.out.println("bad=" + e.getCause().getClass().getSimpleName());
            }
        }
    }

    static void wordCount(String bootstrap, String stateDir) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            admin.createTopics(List.of(new NewTopic("wc-in", 2, (short) 1), new NewTopic("wc-out", 2, (short) 1)))
                .all().get();
        }
        String[] lines = {"the quick brown fox", "the lazy dog", "The fox jumps over the dog", "quick quick"};
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < lines.length; i++) p.send(new ProducerRecord<>("wc-in", "line" + i, lines[i])).get();
        }
        Properties sp = new Properties();
        sp.put(StreamsConfig.APPLICATION_ID_CONFIG, "wordcount");
        sp.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        sp.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        sp.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        sp.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "200");
        sp.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.String().getClass());
        sp.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.String().getClass());
        sp.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        StreamsBuilder b = new StreamsBuilder();
        KStream<String, String> in = b.stream("wc-in");
        in.flatMapValues(v -> Arrays.asList(v.toLowerCase().split("\\W+")))
          .groupBy((k, w) -> w)
          .count(Materialized.as("counts"))
          .toStream()
          .to("wc-out", Produced.with(Serdes.String(), Serdes.Long()));
        Map<String, Long> latest = new TreeMap<>();
        try (KafkaStreams streams = new KafkaStreams(b.build(), sp)) {
            streams.start();
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, "wc-reader");
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            try (KafkaConsumer<String, Long> c = new KafkaConsumer<>(cp, new StringDeserializer(), new LongDeserializer())) {
                c.subscribe(List.of("wc-out"));
                long end = System.currentTimeMillis() + 90_000;
                while (!(Long.valueOf(4).equals(latest.get("the")) && Long.valueOf(3).equals(latest.get("quick"))
                         && latest.size() == 8)) {
                    check(System.currentTimeMillis() < end, "counts so far " + latest + " state " + streams.state());
                    for (ConsumerRecord<String, Long> r : c.poll(Duration.ofMillis(200))) latest.put(r.key(), r.value());
                }
            }
            try (Admin admin = admin(bootstrap)) {
                String changelog = "wordcount-counts-changelog";
                String repartition = "wordcount-counts-repartition";
                java.util.Set<String> names = admin.listTopics().names().get();
                System.out.println("changelog_exists=" + names.contains(changelog));
                System.out.println("repartition_exists=" + names.contains(repartition));
                System.out.println("changelog_policy=" + configs(admin, changelog).get("cleanup.policy"));
            }
        }
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Long> e : latest.entrySet()) sb.append(sb.length() == 0 ? "" : ",").append(e.getKey()).append(":").append(e.getValue());
        System.out.println("counts=" + sb);
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "admin" -> adminScenario(args[1]);
            case "wordcount" -> wordCount(args[1], args[2]);
            default -> throw new IllegalArgumentException(args[0]);
        }
    }
}
