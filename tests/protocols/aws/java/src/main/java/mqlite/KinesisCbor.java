package mqlite;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisClient;
import software.amazon.awssdk.services.kinesis.model.*;

/**
 * The AWS SDK for Java v2's Kinesis client (CBOR, its default wire format) against mqlite:
 * `java -cp ... mqlite.KinesisCbor <endpoint> <stream> <account>`. Prints one line per check and
 * exits 1 on the first mismatch; tests/protocols/aws/kinesis/test_kinesis_cbor.py runs it.
 */
public final class KinesisCbor {
    private static final Set<String> CONTENT_TYPES = new TreeSet<>();

    static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL " + what);
            System.exit(1);
        }
        System.out.println("OK " + what);
    }

    public static void main(String[] args) throws Exception {
        String endpoint = args[0];
        String name = args[1];
        String account = args[2];
        ExecutionInterceptor recordType = new ExecutionInterceptor() {
            @Override
            public void beforeTransmission(Context.BeforeTransmission ctx, ExecutionAttributes attrs) {
                ctx.httpRequest().firstMatchingHeader("Content-Type").ifPresent(CONTENT_TYPES::add);
            }
        };
        KinesisClient kinesis = KinesisClient.builder()
            .endpointOverride(URI.create(endpoint))
            .region(Region.US_EAST_1)
            .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
            .httpClient(UrlConnectionHttpClient.create())
            .overrideConfiguration(c -> c.addExecutionInterceptor(recordType))
            .build();
        Instant before = Instant.now().minusSeconds(60);

        kinesis.createStream(b -> b.streamName(name).shardCount(2));
        kinesis.waiter().waitUntilStreamExists(b -> b.streamName(name));
        StreamDescription desc = kinesis.describeStream(b -> b.streamName(name)).streamDescription();
        check(desc.streamStatus() == StreamStatus.ACTIVE, "stream ACTIVE after the stream_exists waiter");
        check(desc.shards().size() == 2, "two shards");
        Duration age = Duration.between(desc.streamCreationTimestamp(), Instant.now()).abs();
        check(age.toMinutes() < 10, "StreamCreationTimestamp is now (epoch millis in tag 1): " + desc.streamCreationTimestamp());

        byte[] binary = new byte[256];
        for (int i = 0; i < 256; i++) binary[i] = (byte) i;
        PutRecordResponse put = kinesis.putRecord(b -> b.streamName(name).partitionKey("k0")
            .data(SdkBytes.fromByteArray(binary)));
        check(put.sequenceNumber() != null && put.shardId().startsWith("shardId-"), "PutRecord " + put.shardId());
        List<PutRecordsRequestEntry> entries = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            entries.add(PutRecordsRequestEntry.builder().partitionKey("k" + i)
                .data(SdkBytes.fromString("record-" + i, StandardCharsets.UTF_8)).build());
        }
        PutRecordsResponse batch = kinesis.putRecords(b -> b.streamName(name).records(entries));
        check(batch.failedRecordCount() == 0 && batch.records().size() == 20, "PutRecords 20 records");

        int seen = 0;
        boolean binaryBack = false;
        for (Shard shard : kinesis.listShards(b -> b.streamName(name)).shards()) {
            String it = kinesis.getShardIterator(b -> b.streamName(name).shardId(shard.shardId())
                .shardIteratorType(ShardIteratorType.TRIM_HORIZON)).shardIterator();
            GetRecordsResponse got = kinesis.getRecords(b -> b.shardIterator(it));
            for (software.amazon.awssdk.services.kinesis.model.Record r : got.records()) {
                seen++;
                Duration lag = Duration.between(r.approximateArrivalTimestamp(), Instant.now()).abs();
                check(lag.toMinutes() < 10, "ApproximateArrivalTimestamp of " + r.partitionKey() + " is now");
                if (r.partitionKey().equals("k0")) binaryBack = Arrays.equals(r.data().asByteArray(), binary);
            }
            String at = kinesis.getShardIterator(b -> b.streamName(name).shardId(shard.shardId())
                .shardIteratorType(ShardIteratorType.AT_TIMESTAMP).timestamp(before)).shardIterator();
            int again = kinesis.getRecords(b -> b.shardIterator(at)).records().size();
            check(again == got.records().size(), "AT_TIMESTAMP (tag 1 in the request) reads the shard's " + again + " records");
            try {
                kinesis.getShardIterator(b -> b.streamName(name).shardId(shard.shardId())
                    .shardIteratorType(ShardIteratorType.AT_TIMESTAMP).timestamp(Instant.now().plusSeconds(3600)));
                check(false, "AT_TIMESTAMP an hour ahead is refused");
            } catch (InvalidArgumentException e) {
                check(e.awsErrorDetails().errorMessage().startsWith(
                    "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis."),
                    "AT_TIMESTAMP an hour ahead: InvalidArgumentException");
            }
        }
        check(seen == 21, "GetRecords returns all 21 records");
        check(binaryBack, "binary Data (bytes 0-255) round-trips as a CBOR byte string");

        try {
            kinesis.describeStream(b -> b.streamName(name + "-missing"));
            check(false, "DescribeStream of a missing stream fails");
        } catch (ResourceNotFoundException e) {
            check(e.awsErrorDetails().errorMessage().equals(
                "Stream " + name + "-missing under account " + account + " not found."),
                "ResourceNotFoundException: " + e.awsErrorDetails().errorMessage());
        }
        try {
            kinesis.putRecord(b -> b.streamName(name).partitionKey("big")
                .data(SdkBytes.fromByteArray(new byte[1024 * 1024 + 1])));
            check(false, "a record over 1 MiB is refused");
        } catch (KinesisException e) {
            check(e.awsErrorDetails().errorCode().equals("ValidationException") && e.statusCode() == 400,
                "record over 1 MiB: " + e.awsErrorDetails().errorCode());
        }
        kinesis.deleteStream(b -> b.streamName(name));
        check(CONTENT_TYPES.equals(Set.of("application/x-amz-cbor-1.1")), "every request was CBOR: " + CONTENT_TYPES);
        System.out.println("DONE");
    }
}
