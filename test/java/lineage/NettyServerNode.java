package lineage;

/** The seed lineage's /server-list node data. */
public class NettyServerNode {
    public String ip;
    public Integer port;
    public Integer onlineCounts;
}
