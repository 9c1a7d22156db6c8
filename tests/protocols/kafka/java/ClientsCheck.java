// The Java client (kafka-clients) against mqlite: producer, classic-group consumer, admin.
// Run by tests/protocols/kafka/test_kafka_java.py: java ClientsCheck <scenario> <bootstrap> [args]
// Prints key=value lines the test checks; throws (exit 1) on anything unexpected.

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class ClientsCheck {
    static final Duration POLL = Duration.ofMillis(200);
    static final long DEADLINE_MS = 60_000;

    static void check(boolean ok, String what) {
        if (!ok) throw new IllegalStateException("check failed: " + what);
    }

    static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        return Admin.create(p);
    }

    static KafkaProducer<String, String> producer(String bootstrap, Properties extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.putAll(extra);
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    static KafkaConsumer<String, String> consumer(String bootstrap, String group, Properties extra) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.putAll(extra);
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    /** Poll until `want` records arrived (or fail after DEADLINE_MS: the test's safety net). */
    static List<ConsumerRecord<String, String>> pollFor(KafkaConsumer<String, String> c, int want) {
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        long end = System.currentTimeMillis() + DEADLINE_MS;
        while (got.size() < want) {
            check(System.currentTimeMillis() < end, "received " + got.size() + " of " + want);
            for (ConsumerRecord<String, String> r : c.poll(POLL)) got.add(r);
        }
        return got;
    }

    static void produceConsume(String bootstrap, String topic) throws Exception {
        int n = 300;
        try (Admin admin = admin(bootstrap)) {
            admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();
        }
        Map<TopicPartition, Long> ends = new HashMap<>();
        try (KafkaProducer<String, String> producer = producer(bootstrap, new Properties())) {
            List<java.util.concurrent.Future<RecordMetadata>> sent = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ProducerRecord<String, String> r = new ProducerRecord<>(topic, "k" + (i % 7), "v" + i);
                r.headers().add("index", Integer.toString(i).getBytes());
                sent.add(producer.send(r));
            }
            for (java.util.concurrent.Future<RecordMetadata> f : sent) {
                RecordMetadata m = f.get();
                ends.merge(new TopicPartition(m.topic(), m.partition()), m.offset() + 1, Math::max);
            }
        }
        System.out.println("produced=" + n);
        System.out.println("partitions_written=" + ends.size());
        String group = topic + "-group";
        try (KafkaConsumer<String, String> c = consumer(bootstrap, group, new Properties())) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> got = pollFor(c, n);
            Map<String, Integer> lastByKey = new HashMap<>();
            Map<String, Integer> partitionByKey = new HashMap<>();
            boolean ordered = true, headers = true, sticky = true;
            for (ConsumerRecord<String, String> r : got) {
                int i = Integer.parseInt(r.value().substring(1));
                ordered &= lastByKey.getOrDefault(r.key(), -1) < i;
                lastByKey.put(r.key(), i);
                sticky &= partitionByKey.computeIfAbsent(r.key(), k -> r.partition()) == r.partition();
                Header h = r.headers().lastHeader("index");
                headers &= h != null && new String(h.value()).equals(Integer.toString(i));
            }
            System.out.println("consumed=" + got.size());
            System.out.println("ordered_per_key=" + ordered);
            System.out.println("key_sticks_to_partition=" + sticky);
            System.out.println("headers_intact=" + headers);
            c.commitSync();
        }
        try (Admin admin = admin(bootstrap)) {
            Map<TopicPartition, OffsetAndMetadata> committed =
                admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
            long total = committed.values().stream().mapToLong(OffsetAndMetadata::offset).sum();
            System.out.println("committed_total=" + total);
            System.out.println("committed_matches_ends=" + committed.entrySet().stream()
                .allMatch(e -> e.getValue().offset() == ends.getOrDefault(e.getKey(), 0L)));
        }
        // a new member of the group resumes after the commit: it sees only what comes next
        try (KafkaProducer<String, String> producer = producer(bootstrap, new Properties());
             KafkaConsumer<String, String> c = consumer(bootstrap, group, new Properties())) {
            producer.send(new ProducerRecord<>(topic, "k0", "after")).get();
            c.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> got = pollFor(c, 1);
            System.out.println("resumed_with=" + got.get(0).value());
        }
    }

    static String errorName(ExecutionException e) {
        return e.getCause().getClass().getSimpleName();
    }

    static void adminCalls(String bootstrap) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            DescribeClusterResult cluster = admin.describeCluster();
            System.out.println("cluster_nodes=" + cluster.nodes().get().size());
            System.out.println("cluster_id_set=" + (cluster.clusterId().get() != null));
            System.out.println("controller_id=" + cluster.controller().get().id());

            admin.createTopics(List.of(new NewTopic("adm-a", 2, (short) 1)
                .configs(Map.of("retention.ms", "3600000")))).all().get();
            try {
                admin.createTopics(List.of(new NewTopic("adm-a", 2, (short) 1))).all().get();
                System.out.println("create_again=ok");
            } catch (ExecutionException e) {
                System.out.println("create_again=" + errorName(e));
            }
            System.out.println("listed=" + admin.listTopics().names().get().contains("adm-a"));
            admin.createPartitions(Map.of("adm-a", NewPartitions.increaseTo(4))).all().get();
            TopicDescription d = admin.describeTopics(List.of("adm-a")).allTopicNames().get().get("adm-a");
            System.out.println("partitions=" + d.partitions().size());

            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, "adm-a");
            Config cfg = admin.describeConfigs(List.of(res)).all().get().get(res);
            System.out.println("retention_ms=" + cfg.get("retention.ms").value());
            Map<ConfigResource, Collection<AlterConfigOp>> ops = Map.of(res, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET)));
            admin.incrementalAlterConfigs(ops).all().get();
            cfg = admin.describeConfigs(List.of(res)).all().get().get(res);
            System.out.println("retention_ms_altered=" + cfg.get("retention.ms").value());

            try (KafkaProducer<String, String> p = producer(bootstrap, new Properties())) {
                for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>("adm-a", 0, null, "r" + i));
                p.flush();
            }
            TopicPartition tp = new TopicPartition("adm-a", 0);
            long latest = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get().offset();
            admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(2))).all().get();
            long earliest = admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).partitionResult(tp).get().offset();
            System.out.println("latest=" + latest);
            System.out.println("earliest_after_delete=" + earliest);

            try {
                admin.describeTopics(List.of("no-such-topic")).allTopicNames().get();
                System.out.println("describe_missing=ok");
            } catch (ExecutionException e) {
                System.out.println("describe_missing=" + errorName(e));
            }
            // OffsetDelete: refused while a member subscribes to the topic, then done
            String group = "adm-group";
            Properties extra = new Properties();
            try (KafkaConsumer<String, String> c = consumer(bootstrap, group, extra)) {
                c.subscribe(List.of("adm-a"));
                pollFor(c, 3);
                c.commitSync();
                try {
                    admin.deleteConsumerGroupOffsets(group, Set.of(tp)).all().get();
                    System.out.println("delete_offsets_active=ok");
                } catch (ExecutionException e) {
                    System.out.println("delete_offsets_active=" + errorName(e));
                }
            }
            admin.deleteConsumerGroupOffsets(group, Set.of(tp)).all().get();
            Set<TopicPartition> left = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().keySet();
            System.out.println("offsets_left=" + left.size() + (left.contains(tp) ? "+deleted-one" : ""));
            admin.deleteTopics(List.of("adm-a")).all().get();
            System.out.println("listed_after_delete=" + admin.listTopics().names().get().contains("adm-a"));
        }
    }

    /** Two members split a 4-partition topic; `protocol`: classic or consumer (KIP-848). */
    static void rebalance(String bootstrap, String topic, String protocol) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            admin.createTopics(List.of(new NewTopic(topic, 4, (short) 1))).all().get();
        }
        String group = topic + "-group";
        Properties extra = new Properties();
        extra.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        try (KafkaConsumer<String, String> a = consumer(bootstrap, group, extra);
             KafkaConsumer<String, String> b = consumer(bootstrap, group, extra)) {
            a.subscribe(List.of(topic));
            long end = System.currentTimeMillis() + DEADLINE_MS;
            while (a.assignment().size() < 4) {
                check(System.currentTimeMillis() < end, "first member never got all 4 partitions");
                a.poll(POLL);
            }
            System.out.println("alone=" + a.assignment().size());
            b.subscribe(List.of(topic));
            while (true) {
                check(System.currentTimeMillis() < end, "the two members never split the partitions");
                a.poll(POLL);
                b.poll(POLL);
                Set<TopicPartition> union = new HashSet<>(a.assignment());
                union.addAll(b.assignment());
                boolean disjoint = a.assignment().stream().noneMatch(b.assignment()::contains);
                if (union.size() == 4 && disjoint && !a.assignment().isEmpty() && !b.assignment().isEmpty()) break;
            }
            System.out.println("split=" + a.assignment().size() + "+" + b.assignment().size());
            try (Admin admin = admin(bootstrap)) {
                ConsumerGroupDescription g = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                System.out.println("members=" + g.members().size());
                System.out.println("state=" + g.groupState());
            }
        }
    }

    /** A consumer asking for the KIP-848 protocol (group.protocol=consumer). */
    static void consumerProtocol(String bootstrap, String topic) throws Exception {
        try (Admin admin = admin(bootstrap)) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
        }
        try (KafkaProducer<String, String> p = producer(bootstrap, new Properties())) {
            for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
            p.flush();
        }
        Properties extra = new Properties();
        extra.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
        try (KafkaConsumer<String, String> c = consumer(bootstrap, topic + "-group", extra)) {
            c.subscribe(List.of(topic));
            List<ConsumerRecord<String, String>> got = pollFor(c, 10);
            System.out.println("consumed=" + got.size());
            c.commitSync();
            System.out.println("assigned=" + c.assignment().size());
        } catch (RuntimeException e) {
            System.out.println("error=" + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "produce-consume" -> produceConsume(args[1], args[2]);
            case "admin" -> adminCalls(args[1]);
            case "rebalance" -> rebalance(args[1], args[2], args.length > 3 ? args[3] : "classic");
            case "consumer-protocol" -> consumerProtocol(args[1], args[2]);
            default -> throw new IllegalArgumentException("unknown scenario " + args[0]);
        }
    }
}
