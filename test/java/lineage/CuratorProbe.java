package lineage;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FileWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.retry.RetryOneTime;

/**
 * The seed's ZooKeeper side, with the real Curator:
 *   watch <connect> <path>     a CuratorCache on the seed's /server-list: prints READY, then
 *       "CREATED <child> <JacksonProbe line of its data as NettyServerNode>" and "DELETED <child>"
 *   loop <connect> <lock> <id> <n> <markers> <counter> <startAtMs> [nolock]   n times: the write
 *       lock of an InterProcessReadWriteLock on <lock>, then a read-modify-write of the <counter>
 *       znode between "enter"/"exit" lines in <markers> (nolock: the same without the lock, the
 *       harness's positive control)
 *   participants <connect> <lock>   prints the write lock's participant nodes, one per line
 */
public final class CuratorProbe {
    public static void main(String[] args) throws Exception {
        CuratorFramework zk = CuratorFrameworkFactory.newClient(args[1], 4000, 5000, new RetryOneTime(200));
        zk.start();
        if (!zk.blockUntilConnected(10, TimeUnit.SECONDS)) throw new IllegalStateException("no ZooKeeper at " + args[1]);
        switch (args[0]) {
            case "watch" -> watch(zk, args[2]);
            case "loop" -> loop(zk, args);
            case "participants" -> {
                for (String node : new InterProcessReadWriteLock(zk, args[2]).writeLock().getParticipantNodes()) System.out.println(node);
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
        zk.close();
    }

    static void watch(CuratorFramework zk, String path) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        CuratorCache cache = CuratorCache.build(zk, path);
        CuratorCacheListener listener = CuratorCacheListener.builder()
            .forCreates(node -> {
                if (node.getPath().equals(path)) return;
                String data = new String(node.getData(), StandardCharsets.UTF_8);
                print("CREATED " + child(node.getPath()) + " " + JacksonProbe.parse(mapper, NettyServerNode.class, data));
            })
            .forDeletes(node -> {
                if (!node.getPath().equals(path)) print("DELETED " + child(node.getPath()));
            })
            .forInitialized(() -> print("READY"))
            .build();
        cache.listenable().addListener(listener);
        cache.start();
        Thread.currentThread().join(); // until the test kills the process
    }

    static void loop(CuratorFramework zk, String[] args) throws Exception {
        String lockPath = args[2], id = args[3], markers = args[5], counter = args[6];
        int n = Integer.parseInt(args[4]);
        boolean locked = !(args.length > 8 && args[8].equals("nolock"));
        Thread.sleep(Math.max(0, Long.parseLong(args[7]) - System.currentTimeMillis()));
        InterProcessMutex write = new InterProcessReadWriteLock(zk, lockPath).writeLock();
        for (int i = 0; i < n; i++) {
            if (locked && !write.acquire(30, TimeUnit.SECONDS)) throw new IllegalStateException("no write lock within 30 s");
            try {
                mark(markers, "enter " + id + " " + i);
                int value = Integer.parseInt(new String(zk.getData().forPath(counter), StandardCharsets.UTF_8));
                Thread.sleep(ThreadLocalRandom.current().nextInt(5));
                zk.setData().forPath(counter, String.valueOf(value + 1).getBytes(StandardCharsets.UTF_8));
                mark(markers, "exit " + id + " " + i);
            } finally {
                if (locked) write.release();
            }
        }
        System.out.println("done");
    }

    static String child(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    static synchronized void print(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static void mark(String file, String line) throws IOException {
        try (FileWriter w = new FileWriter(file, StandardCharsets.UTF_8, true)) {
            w.write(line + "\n");
        }
    }
}
