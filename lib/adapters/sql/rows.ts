// Rows of chat_message to and from StoredMsg.
import type { StoredMsg } from "../../core/ports.ts";
import { seqsOf } from "./timelines.ts";
import { EDITED, RECALLED } from "./edits.ts";

/** The columns a query selects, the id as text (a BIGINT beyond 2^53 keeps its digits). */
export const SELECT_COLS = `CAST(id AS TEXT) AS id, sender_id, receiver_id, receiver_type, msg, msg_type, chat_time,
  show_msg_date_time_flag, video_path, video_width, video_height, video_times, voice_path,
  speak_voice_duration, is_read, client_msg_id, CAST(ref_id AS TEXT) AS ref_id, edit_state, receiver_seq, sender_seq`;

export type Row = ReturnType<typeof toRow>;

export function toRow(m: StoredMsg) {
  return {
    id: m.msgId,
    sender_id: m.senderId,
    receiver_id: m.receiverId,
    receiver_type: m.communicationType ?? 1,
    msg: m.msg ?? null,
    msg_type: m.msgType,
    chat_time: m.chatTime,
    show_msg_date_time_flag: m.showMsgDateTimeFlag ?? null,
    video_path: m.videoPath ?? null,
    video_width: m.videoWidth ?? null,
    video_height: m.videoHeight ?? null,
    video_times: m.videoTimes ?? null,
    voice_path: m.voicePath ?? null,
    speak_voice_duration: m.speakVoiceDuration ?? null,
    is_read: m.isRead ? 1 : 0,
    client_msg_id: m.clientMsgId ?? null,
    ref_id: m.refId ?? null,
    // Given by the writer in the transaction that inserts the row (timelines.ts).
    receiver_seq: null as number | null,
    sender_seq: null as number | null,
  };
}

export function fromRow(r: any): StoredMsg {
  const msg: StoredMsg = {
    msgId: String(r.id),
    senderId: r.sender_id,
    receiverId: r.receiver_id,
    communicationType: Number(r.receiver_type),
    msg: r.msg,
    msgType: Number(r.msg_type),
    chatTime: r.chat_time,
    isRead: Number(r.is_read) === 1,
  } as StoredMsg;
  if (r.show_msg_date_time_flag != null) msg.showMsgDateTimeFlag = Number(r.show_msg_date_time_flag);
  if (r.video_path != null) msg.videoPath = r.video_path;
  if (r.video_width != null) msg.videoWidth = Number(r.video_width);
  if (r.video_height != null) msg.videoHeight = Number(r.video_height);
  if (r.video_times != null) msg.videoTimes = Number(r.video_times);
  if (r.voice_path != null) msg.voicePath = r.voice_path;
  if (r.speak_voice_duration != null) msg.speakVoiceDuration = Number(r.speak_voice_duration);
  if (r.client_msg_id != null) msg.clientMsgId = r.client_msg_id;
  if (r.ref_id != null) msg.refId = String(r.ref_id);
  const state = r.edit_state == null ? 0 : Number(r.edit_state);
  if (state === EDITED) msg.edited = true;
  else if (state === RECALLED) msg.recalled = true;
  return msg;
}

/** A row with its positions (replay and catch-up send them; history and conversation pages do not). */
export function fromRowWithSeq(r: any): StoredMsg {
  const msg = fromRow(r);
  if (r.receiver_seq != null) msg.seq = seqsOf(msg.receiverId, msg.senderId, [Number(r.receiver_seq), r.sender_seq == null ? null : Number(r.sender_seq)]);
  return msg;
}

