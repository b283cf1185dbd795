// Unit tests of the edge's value rules (lib/protocol/values.ts, ids.ts) as the frame decoder applies them.
import { describe, expect, test } from "bun:test";
import { decode, encodeError, ErrorCode, MAX_CLIENT_MSG_ID_CHARS, MAX_PATH_CHARS } from "../../lib/protocol/frames.ts";
import { isMsgId, receiverIdProblem, userIdProblem } from "../../lib/protocol/ids.ts";
import { INT32_MAX, INT32_MIN, hasControl, wellFormed } from "../../lib/protocol/values.ts";

const frame = (chatMsg: Record<string, unknown>, top: Record<string, unknown> = {}) => decode(JSON.stringify({ chatMsg, ...top }));
function refusal(d: ReturnType<typeof decode>): { message: string; clientMsgId?: string } {
  if (d.ok) throw new Error(`expected BAD_FRAME, got ${JSON.stringify(d.frame)}`);
  expect(d.code).toBe(ErrorCode.BAD_FRAME);
  return d;
}

describe("strings", () => {
  for (const field of ["msg", "chatTime", "videoPath", "voicePath", "clientMsgId", "msgId"]) {
    test(`a NUL in chatMsg.${field} gives BAD_FRAME naming the field`, () => {
      expect(refusal(frame({ msgType: 1, [field]: "a\u0000b" })).message).toBe(`chatMsg.${field}: must not contain a NUL character (\\u0000)`);
    });
  }
  for (const field of ["chatTime", "extend"]) {
    test(`a NUL in the frame's ${field} gives BAD_FRAME naming it`, () => {
      expect(refusal(frame({ msgType: 1 }, { [field]: "\u0000" })).message).toStartWith(`${field}:`);
    });
  }
  test("a NUL in an id is refused by the id's character class", () => {
    for (const field of ["senderId", "receiverId"]) expect(refusal(frame({ [field]: "a\u0000" })).message).toStartWith(`chatMsg.${field}:`);
  });
  test("a lone surrogate is replaced by U+FFFD; a whole pair is kept", () => {
    const d = frame({ msgType: 1, msg: "a\ud800b\udfffc😀", videoPath: "\udbff" });
    if (!d.ok) throw new Error(d.message);
    expect(d.frame.chatMsg.msg).toBe("a\ufffdb\ufffdc😀");
    expect(d.frame.chatMsg.videoPath).toBe("\ufffd");
    expect(wellFormed("ok")).toBe("ok");
  });
  test("other control characters are text in msg (newlines, tabs) but never in an id", () => {
    const d = frame({ msgType: 1, msg: "a\nb\tc\u0001" });
    expect(d.ok).toBe(true);
    expect(frame({ receiverId: "bob\n" }).ok).toBe(false);
    expect(hasControl("/x\u001f")).toBe(true);
    expect(hasControl("/chat/list/a/b")).toBe(false);
  });
  test(`videoPath and voicePath hold at most ${MAX_PATH_CHARS} characters`, () => {
    expect(frame({ videoPath: "x".repeat(MAX_PATH_CHARS) }).ok).toBe(true);
    expect(refusal(frame({ voicePath: "x".repeat(MAX_PATH_CHARS + 1) })).message).toBe(`chatMsg.voicePath: must be at most ${MAX_PATH_CHARS} characters`);
  });
  test(`clientMsgId holds 1 to ${MAX_CLIENT_MSG_ID_CHARS} characters (the store's VARCHAR(64))`, () => {
    expect(frame({ clientMsgId: "c".repeat(MAX_CLIENT_MSG_ID_CHARS) }).ok).toBe(true);
    expect(refusal(frame({ clientMsgId: "c".repeat(MAX_CLIENT_MSG_ID_CHARS + 1) })).message).toStartWith("chatMsg.clientMsgId:");
    expect(refusal(frame({ clientMsgId: "" })).message).toBe("chatMsg.clientMsgId: must not be empty");
  });
});

describe("integers are the lineage's Integer", () => {
  const fields = ["msgType", "videoWidth", "videoHeight", "videoTimes", "speakVoiceDuration", "communicationType"];
  for (const field of fields) {
    test(`chatMsg.${field} accepts ${INT32_MIN} and ${INT32_MAX} and refuses one past either`, () => {
      expect(frame({ [field]: INT32_MIN }).ok).toBe(true);
      expect(frame({ [field]: INT32_MAX }).ok).toBe(true);
      for (const bad of [INT32_MAX + 1, INT32_MIN - 1]) {
        expect(refusal(frame({ [field]: bad })).message).toBe(`chatMsg.${field}: must be a whole number from ${INT32_MIN} to ${INT32_MAX}`);
      }
    });
  }
  test("1e308 and 2^53 + 1 (integers to JavaScript) are refused", () => {
    expect(refusal(decode('{"chatMsg":{"videoTimes":1e308}}')).message).toStartWith("chatMsg.videoTimes:");
    expect(refusal(decode('{"chatMsg":{"speakVoiceDuration":9007199254740993}}')).message).toStartWith("chatMsg.speakVoiceDuration:");
  });
});

describe("a refused frame names its clientMsgId", () => {
  test("decode returns the clientMsgId of a frame refused for another field", () => {
    expect(refusal(frame({ msg: "\u0000", clientMsgId: "c9" })).clientMsgId).toBe("c9");
  });
  test("an unusable clientMsgId is not echoed", () => {
    expect(refusal(frame({ msg: "\u0000", clientMsgId: "c\u0000" })).clientMsgId).toBeUndefined();
    expect(refusal(frame({ msg: 1, clientMsgId: 7 })).clientMsgId).toBeUndefined();
  });
  test("encodeError carries it when given", () => {
    expect(JSON.parse(encodeError(ErrorCode.BAD_FRAME, "x", "c1"))).toEqual({ error: { code: "BAD_FRAME", message: "x", clientMsgId: "c1" } });
  });
});

describe("ids", () => {
  test("a user of its own is a valid id that is not reserved", () => {
    expect(userIdProblem("alice")).toBeUndefined();
    expect(userIdProblem("用户.1@x")).toBeUndefined();
    for (const id of ["system", "group:1", "group:", "", null, "a b", "x".repeat(65)]) expect(userIdProblem(id)).toBeString();
  });
  test("a receiver is a user or a well-formed group id, never system or everyone", () => {
    expect(receiverIdProblem("bob")).toBeUndefined();
    expect(receiverIdProblem("group:916243983900868608")).toBeUndefined();
    expect(receiverIdProblem("system")).toContain("reserved");
    expect(receiverIdProblem("group:abc")).toContain("group id");
    expect(receiverIdProblem("group:12345678901234567890")).toContain("group id");
    expect(receiverIdProblem("*")).toBeString();
  });
  test("a msgId is decimal within a signed 64-bit integer", () => {
    expect(isMsgId("1")).toBe(true);
    expect(isMsgId("9223372036854775807")).toBe(true);
    for (const id of ["9223372036854775808", "99999999999999999999", "", "-1", "1e3", " 1", null, undefined]) expect(isMsgId(id)).toBe(false);
  });
});
