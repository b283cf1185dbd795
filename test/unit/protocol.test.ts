// Unit tests of lib/protocol/frames.ts: decode never throws, error codes, field types, time formats, encoding.
import { describe, expect, test } from "bun:test";
import {
  compact,
  decode,
  encodeAck,
  encodeDataContent,
  encodeError,
  ErrorCode,
  formatChatTime,
  formatFrameTime,
  MAX_JSON_DEPTH,
  MsgType,
  type Decoded,
} from "../../lib/protocol/frames.ts";

/** decode() that must not throw; fails the test with the input when it does. */
function safeDecode(text: string): Decoded {
  let out: Decoded | undefined;
  expect(() => {
    out = decode(text);
  }).not.toThrow();
  return out!;
}

function expectError(d: Decoded, code: ErrorCode): string {
  expect(d.ok).toBe(false);
  if (d.ok) throw new Error("unreachable");
  expect(d.code).toBe(code);
  expect(typeof d.message).toBe("string");
  expect(d.message.length).toBeGreaterThan(0);
  return d.message;
}

function frameOf(d: Decoded) {
  if (!d.ok) throw new Error(`expected a decoded frame, got ${d.code}: ${d.message}`);
  return d.frame;
}

describe("decode", () => {
  test("a CONNECT_INIT frame decodes to its chatMsg", () => {
    const f = frameOf(decode('{"chatMsg":{"senderId":"u1","msgType":0}}'));
    expect(f.chatMsg).toEqual({ senderId: "u1", msgType: MsgType.CONNECT_INIT });
  });

  test("a full chat frame keeps every known field with its type", () => {
    const chatMsg = {
      senderId: "u1",
      receiverId: "u2",
      msg: "hi",
      msgType: 4,
      msgId: "1234",
      chatTime: "2024-01-05 03:04:09",
      showMsgDateTimeFlag: 1,
      videoPath: "/v.mp4",
      videoWidth: 640,
      videoHeight: 480,
      videoTimes: 12,
      voicePath: "/a.mp3",
      speakVoiceDuration: 3,
      isRead: false,
      communicationType: 1,
      isReceiverOnLine: true,
      clientMsgId: "c1",
    };
    const f = frameOf(decode(JSON.stringify({ chatMsg, chatTime: "2024/01/05 03:04:09", extend: "conn-1", serverNode: { ip: "1.2.3.4", port: 875 } })));
    expect(f.chatMsg).toEqual(chatMsg);
    expect(f.chatTime).toBe("2024/01/05 03:04:09");
    expect(f.extend).toBe("conn-1");
  });

  test("null fields are accepted as absent values", () => {
    const f = frameOf(decode('{"chatMsg":{"senderId":"u1","msg":null,"msgType":1,"msgId":null},"extend":null}'));
    expect(f.chatMsg.senderId).toBe("u1");
    expect(f.chatMsg.msg).toBeNull();
  });

  const notJson = ["", " ", "{", "}", "{chatMsg:{}}", "{'chatMsg':{}}", "undefined", "NaN", '{"chatMsg":{}}}', "\u0000\u0001\u00ff", "[1,2", '"unterminated'];
  for (const text of notJson) {
    test(`text that is not JSON (${JSON.stringify(text)}) gives BAD_JSON`, () => {
      expectError(safeDecode(text), ErrorCode.BAD_JSON);
    });
  }

  const notFrames: Array<[string, string]> = [
    ["null", "null"],
    ["a number", "42"],
    ["a string", '"hello"'],
    ["true", "true"],
    ["an empty array", "[]"],
    ["an array of frames", '[{"chatMsg":{}}]'],
    ["an object without chatMsg", "{}"],
    ["chatMsg null", '{"chatMsg":null}'],
    ["chatMsg a string", '{"chatMsg":"hi"}'],
  ];
  for (const [what, text] of notFrames) {
    test(`valid JSON that is not a frame (${what}) gives BAD_FRAME`, () => {
      expectError(safeDecode(text), ErrorCode.BAD_FRAME);
    });
  }

  test("a frame without chatMsg names chatMsg in the message", () => {
    expect(expectError(decode('{"chatTime":"x"}'), ErrorCode.BAD_FRAME)).toContain("chatMsg");
  });

  test("random garbage never throws and always gives BAD_JSON or BAD_FRAME", () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const alphabet = '{}[]":,0123456789.-eE truefalsnul\\u"chatMsg';
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(rand() * 40);
      let s = "";
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
      const d = safeDecode(s);
      if (!d.ok) expect<string[]>([ErrorCode.BAD_JSON, ErrorCode.BAD_FRAME]).toContain(d.code);
    }
  });

  test("JSON nested 10,000 levels deep at the top gives an error, not a throw", () => {
    const deep = "[".repeat(10_000) + "]".repeat(10_000);
    const d = safeDecode(deep);
    expect(d.ok).toBe(false);
  });

  test("JSON nested deeper than MAX_JSON_DEPTH anywhere, even in an unknown field, gives BAD_FRAME saying so", () => {
    const deepArr = "[".repeat(10_000) + "]".repeat(10_000);
    const deepObj = '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000);
    for (const frame of [`{"chatMsg":{"senderId":"u1","x":${deepArr}}}`, `{"chatMsg":{"msg":${deepObj}}}`, `{"chatMsg":{},"serverNode":${deepObj}}`]) {
      expect(expectError(safeDecode(frame), ErrorCode.BAD_FRAME)).toContain(`deeper than ${MAX_JSON_DEPTH}`);
    }
  });

  test("nesting up to MAX_JSON_DEPTH is accepted, and brackets inside strings do not count", () => {
    const inner = '{"a":'.repeat(MAX_JSON_DEPTH - 2) + "1" + "}".repeat(MAX_JSON_DEPTH - 2);
    expect(frameOf(safeDecode(`{"chatMsg":{"senderId":"u1","x":${inner}}}`)).chatMsg).toEqual({ senderId: "u1" });
    const f = frameOf(safeDecode(JSON.stringify({ chatMsg: { msg: "[{".repeat(1000) + '\\"' } })));
    expect(f.chatMsg.msg).toStartWith("[{[{");
  });

  test("JSON nested a million levels deep never throws", () => {
    const d = safeDecode("[".repeat(1_000_000) + "]".repeat(1_000_000));
    expect(d.ok).toBe(false);
  });

  test("a huge msg string (8 MB) decodes intact", () => {
    const big = "x".repeat(8 * 1024 * 1024);
    const f = frameOf(safeDecode(JSON.stringify({ chatMsg: { msgType: 1, msg: big } })));
    expect(f.chatMsg.msg?.length).toBe(big.length);
  });

  test("a huge garbage string (8 MB) gives BAD_JSON", () => {
    expectError(safeDecode("x}".repeat(4 * 1024 * 1024)), ErrorCode.BAD_JSON);
  });

  test("unknown fields are ignored and dropped, at the top and inside chatMsg", () => {
    const f = frameOf(decode('{"chatMsg":{"senderId":"u1","msgType":1,"colour":"red","nested":{"a":1}},"extra":[1,2],"chatTime":"t"}'));
    expect(f.chatMsg).toEqual({ senderId: "u1", msgType: 1 });
    expect(Object.keys(f)).not.toContain("extra");
    expect(Object.keys(f.chatMsg)).not.toContain("colour");
  });

  test("a __proto__ key neither pollutes Object.prototype nor sets fields", () => {
    const f = frameOf(decode('{"chatMsg":{"__proto__":{"senderId":"evil"},"msgType":1},"__proto__":{"polluted":true}}'));
    expect(f.chatMsg.senderId).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).senderId).toBeUndefined();
  });

  test("serverNode sent by a client is accepted whatever its shape", () => {
    for (const node of ['{"ip":"1.2.3.4","port":875}', "null", "7", '"x"', "[1]"]) {
      expect(decode(`{"chatMsg":{"msgType":0,"senderId":"u1"},"serverNode":${node}}`).ok).toBe(true);
    }
  });

  test("a numeric msgId becomes a decimal string", () => {
    const f = frameOf(decode('{"chatMsg":{"msgType":8,"msgId":123456789}}'));
    expect(f.chatMsg.msgId).toBe("123456789");
  });

  test("a numeric msgId beyond 2^53 keeps every digit", () => {
    const id = "7283946512837465123"; // a snowflake: > 2^53, not exactly representable as a double
    expect(String(Number(id))).not.toBe(id);
    const f = frameOf(decode(`{"chatMsg":{"msgType":8,"msgId":${id}}}`));
    expect(f.chatMsg.msgId).toBe(id);
  });

  test("a string msgId is kept as given", () => {
    expect(frameOf(decode('{"chatMsg":{"msgId":"7283946512837465123"}}')).chatMsg.msgId).toBe("7283946512837465123");
  });

  // What the lineage's Jackson refuses too (test/java/ checks the same table against Jackson itself).
  const wrongTypes: Array<[string, string, string]> = [
    ["senderId as an object", '{"chatMsg":{"senderId":{}}}', "chatMsg.senderId"],
    ["receiverId as an object", '{"chatMsg":{"receiverId":{}}}', "chatMsg.receiverId"],
    ["msg as an array", '{"chatMsg":{"msg":[1]}}', "chatMsg.msg"],
    ["msgType as a word", '{"chatMsg":{"msgType":"one"}}', "chatMsg.msgType"],
    ["msgType beyond Integer", '{"chatMsg":{"msgType":2147483648}}', "chatMsg.msgType"],
    ["msgType as a boolean", '{"chatMsg":{"msgType":true}}', "chatMsg.msgType"],
    ["msgId as a boolean", '{"chatMsg":{"msgId":true}}', "chatMsg.msgId"],
    ["msgId as a fraction", '{"chatMsg":{"msgId":1.5}}', "chatMsg.msgId"],
    ["isRead as a word", '{"chatMsg":{"isRead":"yes"}}', "chatMsg.isRead"],
    ["videoWidth with a unit", '{"chatMsg":{"videoWidth":"640px"}}', "chatMsg.videoWidth"],
    ["clientMsgId as a number", '{"chatMsg":{"clientMsgId":7}}', "chatMsg.clientMsgId"],
    ["chatTime as an object", '{"chatMsg":{},"chatTime":{"a":1}}', "chatTime"],
    ["extend as an array", '{"chatMsg":{},"extend":[]}', "extend"],
  ];
  // Jackson's default coercions, as the lineage parses frames (test/java/ checks them against Jackson).
  const coerced: Array<[string, string, Record<string, unknown>]> = [
    ["a seed client's showMsgDateTimeFlag 1", '{"chatMsg":{"showMsgDateTimeFlag":1}}', { showMsgDateTimeFlag: 1 }],
    ["an older client's showMsgDateTimeFlag true", '{"chatMsg":{"showMsgDateTimeFlag":true}}', { showMsgDateTimeFlag: 1 }],
    ["a numeric string for an Integer", '{"chatMsg":{"videoWidth":"640","msgType":"4"}}', { videoWidth: 640, msgType: 4 }],
    ["a float for an Integer (truncated)", '{"chatMsg":{"videoTimes":12.9}}', { videoTimes: 12 }],
    ["an empty string for an Integer (null)", '{"chatMsg":{"videoHeight":""}}', { videoHeight: null }],
    ["strings for Booleans", '{"chatMsg":{"isRead":"TRUE","isReceiverOnLine":"false"}}', { isRead: true, isReceiverOnLine: false }],
    ["integers for Booleans", '{"chatMsg":{"isRead":0,"isReceiverOnLine":2}}', { isRead: false, isReceiverOnLine: true }],
    ["numbers and booleans for Strings", '{"chatMsg":{"senderId":5,"msg":1.5,"voicePath":true}}', { senderId: "5", msg: "1.5", voicePath: "true" }],
  ];
  for (const [what, text, fields] of coerced) {
    test(`${what} is coerced as Jackson does`, () => {
      expect(frameOf(decode(text)).chatMsg).toEqual(fields);
    });
  }

  for (const [what, text, path] of wrongTypes) {
    test(`${what} gives BAD_FRAME naming ${path}`, () => {
      const message = expectError(decode(text), ErrorCode.BAD_FRAME);
      expect(message.startsWith(`${path}:`)).toBe(true);
    });
  }
});

describe("time formats", () => {
  test("formatChatTime is yyyy-MM-dd HH:mm:ss with zero padding", () => {
    expect(formatChatTime(new Date(2024, 0, 5, 3, 4, 9))).toBe("2024-01-05 03:04:09");
  });

  test("formatChatTime keeps two-digit fields as they are", () => {
    expect(formatChatTime(new Date(2023, 11, 31, 23, 59, 58))).toBe("2023-12-31 23:59:58");
  });

  test("formatChatTime shows midnight as 00:00:00", () => {
    expect(formatChatTime(new Date(2025, 9, 10, 0, 0, 0))).toBe("2025-10-10 00:00:00");
  });

  test("formatFrameTime is yyyy/MM/dd HH:mm:ss with zero padding", () => {
    expect(formatFrameTime(new Date(2024, 0, 5, 3, 4, 9))).toBe("2024/01/05 03:04:09");
    expect(formatFrameTime(new Date(2023, 11, 31, 23, 59, 58))).toBe("2023/12/31 23:59:58");
  });

  test("both formats use server local time and agree on the instant", () => {
    const d = new Date();
    expect(formatChatTime(d)).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(formatFrameTime(d)).toBe(formatChatTime(d).replaceAll("-", "/"));
    expect(Number(formatChatTime(d).slice(11, 13))).toBe(d.getHours());
  });
});

describe("encoding", () => {
  test("encodeDataContent drops null and undefined fields of chatMsg", () => {
    const text = encodeDataContent({
      chatMsg: { senderId: "u1", receiverId: "u2", msg: "hi", msgType: 1, msgId: "9", videoPath: null, voicePath: undefined, isRead: false },
      chatTime: "2024/01/05 03:04:09",
      extend: "conn-1",
    });
    const parsed = JSON.parse(text);
    expect(parsed).toEqual({
      chatMsg: { senderId: "u1", receiverId: "u2", msg: "hi", msgType: 1, msgId: "9", isRead: false },
      chatTime: "2024/01/05 03:04:09",
      extend: "conn-1",
    });
    expect(text).not.toContain("null");
    expect(text).not.toContain("videoPath");
  });

  test("encodeDataContent keeps falsy values that are not null (0, false, empty string)", () => {
    const parsed = JSON.parse(encodeDataContent({ chatMsg: { msgType: 0, isRead: false, msg: "" }, chatTime: "t" }));
    expect(parsed.chatMsg).toEqual({ msgType: 0, isRead: false, msg: "" });
  });

  test("encodeDataContent leaves out a null extend", () => {
    const parsed = JSON.parse(encodeDataContent({ chatMsg: { msgType: 1 }, chatTime: "t", extend: null }));
    expect("extend" in parsed).toBe(false);
    expect(parsed.chatTime).toBe("t");
  });

  test("a frame encoded by encodeDataContent decodes back to the same chatMsg", () => {
    const chatMsg = { senderId: "u1", receiverId: "u2", msg: 'quote " and \\ and \u2028', msgType: 1, msgId: "7283946512837465123", clientMsgId: "c1" };
    const f = frameOf(decode(encodeDataContent({ chatMsg, chatTime: "2024/01/05 03:04:09", extend: "x" })));
    expect(f.chatMsg).toEqual(chatMsg);
  });

  test("compact returns a copy without null or undefined fields and leaves its input alone", () => {
    const input = { a: 1, b: null, c: undefined, d: 0 };
    expect(compact(input) as object).toEqual({ a: 1, d: 0 });
    expect(Object.keys(compact(input))).toEqual(["a", "d"]);
    expect(input.b).toBeNull();
  });

  test("encodeError gives {error:{code,message}}", () => {
    expect(JSON.parse(encodeError(ErrorCode.FORBIDDEN, "only the receiver may sign"))).toEqual({
      error: { code: "FORBIDDEN", message: "only the receiver may sign" },
    });
  });

  test("encodeAck gives {ack:{clientMsgId,msgId,chatTime}}", () => {
    expect(JSON.parse(encodeAck({ clientMsgId: "c1", msgId: "9", chatTime: "2024-01-05 03:04:09" }))).toEqual({
      ack: { clientMsgId: "c1", msgId: "9", chatTime: "2024-01-05 03:04:09" },
    });
    expect(JSON.parse(encodeAck({ clientMsgId: "c1" }))).toEqual({ ack: { clientMsgId: "c1" } });
  });
});
