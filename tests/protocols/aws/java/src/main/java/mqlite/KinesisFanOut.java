package mqlite;

import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.ProtocolNegotiation;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kinesis.KinesisAsyncClient;
import software.amazon.awssdk.services.kinesis.model.*;

/**
 * Enhanced fan-out as the Kinesis Client Library does it: the AWS SDK for Java v2's async
 * client over HTTP/2 (Netty, prior knowledge on a plaintext endpoint), CBOR, and
 * SubscribeToShard's event stream: `java -cp ... mqlite.KinesisFanOut <endpoint> <stream>`.
 * Prints one line per check and exits 1 on the first mismatch.
 */
public final class KinesisFanOut {
    static void check(boolean ok, String what) {
        KinesisCbor.check(ok, what);
    }

    public static void main(String[] args) throws Exception {
        String name = args[1];
        Set<String> contentTypes = new ConcurrentSkipListSet<>();
        ExecutionInterceptor recordType = new ExecutionInterceptor() {
            @Override
            public void beforeTransmission(Context.BeforeTransmission ctx, ExecutionAttributes attrs) {
                String op = attrs.getAttribute(software.amazon.awssdk.core.interceptor.SdkExecutionAttribute.OPERATION_NAME);
                ctx.httpRequest().firstMatchingHeader("Content-Type").ifPresent(t -> contentTypes.add(op + " " + t));
            }
        };
        KinesisAsyncClient kinesis = KinesisAsyncClient.builder()
            .overrideConfiguration(c -> c.addExecutionInterceptor(recordType))
            .endpointOverride(URI.create(args[0]))
            .region(Region.US_EAST_1)
            .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
            .httpClientBuilder(NettyNioAsyncHttpClient.builder()
                .protocol(Protocol.HTTP2)
                .protocolNegotiation(ProtocolNegotiation.ASSUME_PROTOCOL))
            .build();
        kinesis.createStream(b -> b.streamName(name).shardCount(1)).get(60, TimeUnit.SECONDS);
        String arn = kinesis.describeStreamSummary(b -> b.streamName(name)).get(60, TimeUnit.SECONDS)
            .streamDescriptionSummary().streamARN();
        String consumer = kinesis.registerStreamConsumer(b -> b.streamARN(arn).consumerName("kcl"))
            .get(60, TimeUnit.SECONDS).consumer().consumerARN();
        check(consumer.matches(".*/consumer/kcl:[0-9]+"), "consumer ARN " + consumer);
        byte[] data = {0, 1, 2, (byte) 0xff};
        kinesis.putRecord(b -> b.streamName(name).partitionKey("k").data(SdkBytes.fromByteArray(data)))
            .get(60, TimeUnit.SECONDS);

        AtomicReference<SubscribeToShardEvent> first = new AtomicReference<>();
        CompletableFuture<Void> got = new CompletableFuture<>();
        SubscribeToShardResponseHandler handler = SubscribeToShardResponseHandler.builder()
            .onError(got::completeExceptionally)
            .subscriber(SubscribeToShardResponseHandler.Visitor.builder()
                .onSubscribeToShardEvent(event -> {
                    if (!event.records().isEmpty() && first.compareAndSet(null, event)) got.complete(null);
                })
                .build())
            .build();
        CompletableFuture<Void> call = kinesis.subscribeToShard(b -> b.consumerARN(consumer)
            .shardId("shardId-000000000000")
            .startingPosition(p -> p.type(ShardIteratorType.TRIM_HORIZON)), handler);
        got.get(60, TimeUnit.SECONDS);
        software.amazon.awssdk.services.kinesis.model.Record r = first.get().records().get(0);
        check(Arrays.equals(r.data().asByteArray(), data), "SubscribeToShard delivered the record's bytes");
        check(Duration.between(r.approximateArrivalTimestamp(), java.time.Instant.now()).abs().toMinutes() < 10,
            "its arrival timestamp is now (tag 1 milliseconds)");
        call.cancel(true);
        // the SDK sends the event-stream call itself as JSON (and reads JSON events back)
        check(contentTypes.stream().allMatch(t -> t.endsWith(" application/x-amz-cbor-1.1")
                                                 || t.equals("SubscribeToShard application/x-amz-json-1.1")),
              "every request but SubscribeToShard was CBOR: " + contentTypes);
        kinesis.close();
        System.out.println("DONE");
        System.exit(0);
    }
}
