package lineage;

/** The seed lineage's frame: one WebSocket frame, one fanout_exchange payload. */
public class DataContent {
    public ChatMsg chatMsg;
    public String chatTime;
    public String extend;
    public NettyServerNode serverNode;
}
