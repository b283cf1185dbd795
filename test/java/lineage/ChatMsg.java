package lineage;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import java.time.LocalDateTime;

/** The seed lineage's ChatMsg: exactly its field names and Java types (Lombok @Data in the seed). */
public class ChatMsg {
    public String senderId;
    public String receiverId;
    public String msg;
    public Integer msgType;
    public String msgId;
    @JsonSerialize(using = ChatTime.Out.class)
    @JsonDeserialize(using = ChatTime.In.class)
    public LocalDateTime chatTime;
    public Integer showMsgDateTimeFlag;
    public String videoPath;
    public Integer videoWidth;
    public Integer videoHeight;
    public Integer videoTimes;
    public String voicePath;
    public Integer speakVoiceDuration;
    public Boolean isRead;
    public Integer communicationType;
    public Boolean isReceiverOnLine;
}
