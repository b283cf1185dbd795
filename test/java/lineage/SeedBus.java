package lineage;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.MessageProperties;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * A seed instance's side of RabbitMQ, with the real Java client:
 *   consume <amqp-uri> <exchange> <binding-key> <Class>   a queue of its own bound to the exchange;
 *       prints READY, then per message the JacksonProbe line of its body parsed into Class
 *   compete <amqp-uri> <queue> <Class>    the same on an existing queue, as one of its competing
 *       consumers (autoAck, as the seed's listener)
 *   publish <amqp-uri> <exchange> <routing-key>           publishes each stdin line (persistent,
 *       confirmed) as the seed's MessagePublisher does, then prints PUBLISHED <n>
 */
public final class SeedBus {
    public static void main(String[] args) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(args[1]);
        Connection conn = factory.newConnection("seed-probe");
        Channel ch = conn.createChannel();
        switch (args[0]) {
            case "consume" -> {
                String queue = ch.queueDeclare().getQueue(); // server-named, exclusive, auto-delete
                ch.queueBind(queue, args[2], args[3]);
                consume(ch, queue, Class.forName("lineage." + args[4]));
            }
            case "compete" -> consume(ch, args[2], Class.forName("lineage." + args[3]));
            default -> publish(conn, ch, args[2], args[3]);
        }
    }

    static void consume(Channel ch, String queue, Class<?> type) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        ch.basicConsume(queue, true, (tag, delivery) -> {
            String body = new String(delivery.getBody(), StandardCharsets.UTF_8);
            synchronized (System.out) {
                System.out.println(JacksonProbe.parse(mapper, type, body));
                System.out.flush();
            }
        }, tag -> {});
        System.out.println("READY");
        System.out.flush();
        Thread.currentThread().join(); // until the test kills the process
    }

    static void publish(Connection conn, Channel ch, String exchange, String key) throws Exception {
        ch.confirmSelect();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int n = 0;
        for (String line; (line = in.readLine()) != null; n++) {
            ch.basicPublish(exchange, key, MessageProperties.PERSISTENT_TEXT_PLAIN, line.getBytes(StandardCharsets.UTF_8));
        }
        ch.waitForConfirmsOrDie(10_000);
        System.out.println("PUBLISHED " + n);
        conn.close();
    }
}
