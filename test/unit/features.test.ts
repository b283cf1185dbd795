// The feature frames at the edge (lib/protocol/features.ts, decodeClient) and feature envelopes on
// the bus (lib/adapters/rabbitmq/envelope.ts).
import { describe, expect, test } from "bun:test";
import { decodeBatch, decodeHeader, encodeBatch, encodeHeader } from "../../lib/adapters/rabbitmq/envelope.ts";
import type { Envelope } from "../../lib/core/ports.ts";
import { decode, decodeClient } from "../../lib/protocol/frames.ts";

describe("decodeClient", () => {
  test("a CONNECT_INIT keeps its declared features; a DataContent without them decodes as before", () => {
    const d = decodeClient(JSON.stringify({ chatMsg: { senderId: "a", msgType: 0 }, features: ["presence", "x"] }));
    expect(d.ok && d.frame?.features).toEqual(["presence", "x"]);
    const plain = decodeClient(JSON.stringify({ chatMsg: { senderId: "a", msgType: 0 } }));
    expect(plain.ok && plain.frame?.features).toBeUndefined();
  });

  test("features that are not a short list of strings are BAD_FRAME naming the field", () => {
    for (const features of ["presence", [1], Array(17).fill("p"), ["x".repeat(33)]]) {
      const d = decodeClient(JSON.stringify({ chatMsg: { senderId: "a", msgType: 0 }, features }));
      expect(d.ok).toBe(false);
      expect(!d.ok && d.message).toContain("features");
    }
  });

  test("presence and typing frames decode to requests; a frame with chatMsg is always a DataContent", () => {
    expect(decodeClient('{"presence":{"subscribe":["b"],"clientMsgId":"c"}}')).toEqual({
      ok: true, request: { kind: "presence", subscribe: ["b"], unsubscribe: [], clientMsgId: "c" },
    });
    expect(decodeClient('{"typing":{"receiverId":"group:12","stop":true}}')).toEqual({
      ok: true, request: { kind: "typing", receiverId: "group:12", stop: true, clientMsgId: undefined },
    });
    const both = decodeClient('{"chatMsg":{"msgType":9},"typing":{"receiverId":"b"}}');
    expect(both.ok && both.frame?.chatMsg.msgType).toBe(9);
    // decode (the bus, seed frames) never takes a feature frame for anything.
    expect(decode('{"typing":{"receiverId":"b"}}').ok).toBe(false);
  });

  test("malformed feature frames are BAD_FRAME naming what is wrong", () => {
    const cases: Array<[string, string]> = [
      ['{"presence":{"subscribe":"b"}}', "presence.subscribe"],
      ['{"presence":{"subscribe":["group:1"]}}', "not a group"],
      ['{"presence":{"unsubscribe":["a b"]}}', "presence.unsubscribe"],
      ['{"typing":{}}', "typing.receiverId"],
      ['{"typing":{"receiverId":"group:abc"}}', "typing.receiverId"],
      ['{"typing":{"receiverId":"b","stop":1}}', "typing.stop"],
      ['{"typing":{"receiverId":"b","clientMsgId":""}}', "typing.clientMsgId"],
    ];
    for (const [text, named] of cases) {
      const d = decodeClient(text);
      expect(d).toMatchObject({ ok: false, code: "BAD_FRAME" });
      expect(!d.ok && d.message).toContain(named);
    }
  });

  test("a refused feature frame's error names its clientMsgId when that one is usable", () => {
    expect(decodeClient('{"typing":{"receiverId":"b\\u0000","clientMsgId":"t1"}}')).toMatchObject({ ok: false, clientMsgId: "t1" });
    expect(decodeClient('{"presence":{"subscribe":[1],"clientMsgId":"p1"}}')).toMatchObject({ ok: false, clientMsgId: "p1" });
    const bad = decodeClient('{"presence":{"subscribe":[1],"clientMsgId":""}}');
    expect(!bad.ok && bad.clientMsgId).toBeUndefined();
  });
});

describe("feature envelopes on the direct exchange", () => {
  const typing: Envelope = { audience: { kind: "members", userIds: ["b"] }, frame: '{"typing":{"senderId":"a","receiverId":"b"}}', except: "c1", feature: "typing" };
  const presence: Envelope = { audience: { kind: "watchers", userId: "b" }, frame: '{"presence":{"userId":"b","online":true,"lastSeen":null}}', feature: "presence" };

  test("round-trip with their feature, beside chat envelopes", () => {
    const chat: Envelope = { audience: { kind: "pair", receiverId: "b", senderId: "a" }, frame: '{"chatMsg":{}}', except: "c1" };
    expect(decodeBatch(encodeBatch([chat, typing, presence]))).toEqual({ envelopes: [chat, typing, presence], bad: 0 });
  });

  test("their header kinds are ones an older version does not know (it skips them), and a feature this version does not know is skipped", () => {
    expect(JSON.parse(encodeHeader(typing)).k).toBe("fm");
    expect(JSON.parse(encodeHeader(presence)).k).toBe("fw");
    expect(decodeHeader('{"k":"fm","u":["b"],"f":"video"}', "{}")).toBeUndefined();
    expect(decodeHeader('{"k":"w","w":"b"}', "{}")).toBeUndefined(); // watchers only as a feature envelope
  });
});

describe("a stored message's positions on the bus", () => {
  test("travel in the header (`q`), on either exchange; a malformed one is dropped and the frame still delivered", () => {
    const chat: Envelope = { audience: { kind: "pair", receiverId: "b", senderId: "a" }, frame: '{"chatMsg":{}}', except: "c1", seq: { b: 7, a: 3 } };
    const group: Envelope = { audience: { kind: "members", userIds: ["a", "b"] }, frame: '{"chatMsg":{}}', seq: { "group:1": 9, a: 4 } };
    expect(decodeBatch(encodeBatch([chat, group]))).toEqual({ envelopes: [chat, group], bad: 0 });
    expect(JSON.parse(encodeHeader(chat)).q).toEqual({ b: 7, a: 3 });
    for (const q of ['{"b":0}', '{"b":1.5}', '{"b":"7"}', "[7]", '"7"']) {
      const e = decodeHeader(`{"k":"p","r":"b","s":"a","q":${q}}`, '{"chatMsg":{}}');
      expect(e).toEqual({ audience: { kind: "pair", receiverId: "b", senderId: "a" }, frame: '{"chatMsg":{}}', except: undefined });
    }
  });
});
