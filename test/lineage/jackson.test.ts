// The lineage's types, checked against its own parser: every input below goes through Jackson
// (a plain ObjectMapper into the seed's ChatMsg POJO, test/java/lineage/) and through this
// project's decode; both accept it with the same values, or both refuse it, unless the table says
// why this project differs on purpose.
import { beforeAll, describe, expect, test } from "bun:test";
import { LINEAGE_CHAT_MSG_FIELDS, decode } from "../../lib/protocol/frames.ts";
import { javaClasspath, runJava } from "../support/java.ts";

/** ChatMsg inputs: Jackson's coercions, and what it refuses. */
const INPUTS = [
  '{"senderId":"u1","receiverId":"u2","msg":"hi","msgType":1,"msgId":"1234","chatTime":"2024-01-05 03:04:09","showMsgDateTimeFlag":1,' +
    '"videoPath":"/v.mp4","videoWidth":640,"videoHeight":480,"videoTimes":12,"voicePath":"/a.mp3","speakVoiceDuration":3,"isRead":false,' +
    '"communicationType":1,"isReceiverOnLine":true}',
  '{"showMsgDateTimeFlag":1}', '{"showMsgDateTimeFlag":0}', '{"showMsgDateTimeFlag":"1"}',
  '{"videoWidth":"640","msgType":"4"}', '{"videoWidth":" 640 "}', '{"videoWidth":"+5"}', '{"videoWidth":"007"}',
  '{"videoTimes":12.9}', '{"videoWidth":1e2}', '{"videoHeight":""}', '{"videoHeight":" "}', '{"videoHeight":"null"}',
  '{"msgType":"one"}', '{"videoWidth":"1.5"}', '{"videoWidth":"0x10"}', '{"videoWidth":"640px"}',
  '{"msgType":2147483648}', '{"videoWidth":3e9}', '{"speakVoiceDuration":"2147483648"}', '{"msgType":true}', '{"videoWidth":[]}',
  '{"isRead":"TRUE","isReceiverOnLine":"false"}', '{"isRead":"True"}', '{"isRead":" true"}', '{"isRead":"tRuE"}',
  '{"isRead":0,"isReceiverOnLine":2}', '{"isRead":-1}', '{"isRead":1.5}', '{"isRead":"1"}', '{"isRead":"yes"}',
  '{"isRead":""}', '{"isRead":"null"}', '{"isRead":[]}',
  '{"senderId":5,"msg":1.5,"voicePath":true}', '{"receiverId":7}', '{"msg":"null"}', '{"senderId":{}}', '{"msg":[1]}',
  '{"msgId":"7283946512837465123"}', '{"msgId":7283946512837465}',
  '{"senderId":null,"msg":null,"msgType":null,"isRead":null}',
];

/** Where this project decides otherwise, and why. */
const DIFFERENT_ON_PURPOSE: Record<string, string> = {
  '{"showMsgDateTimeFlag":true}': "older clients of this project sent a boolean; it is read as 1",
  '{"msgId":1.5}': "a msgId names a stored message: only a decimal id (Jackson makes a String \"1.5\")",
  '{"msgId":true}': "a msgId names a stored message: only a decimal id (Jackson makes a String \"true\")",
  '{"receiverId":"a b"}': "user ids are [A-Za-z0-9_.@:-]: Jackson takes any String",
};

/** Jackson's ChatMsg of a probe line, or undefined when it refused the input. */
function javaView(line: string): Record<string, unknown> | undefined {
  if (line.startsWith("ERR ")) return undefined;
  expect(line.startsWith("OK ")).toBe(true);
  return JSON.parse(line.slice(3));
}

/** This project's ChatMsg of the same input, with every lineage field (null when absent). */
function ourView(input: string): Record<string, unknown> | undefined {
  const d = decode(`{"chatMsg":${input}}`);
  if (!d.ok) return undefined;
  const m = d.frame.chatMsg as Record<string, unknown>;
  return Object.fromEntries(LINEAGE_CHAT_MSG_FIELDS.map((k) => [k, m[k] ?? null]));
}

describe("ChatMsg types against the lineage's Jackson", () => {
  let java: string[] = [];
  const all = [...INPUTS, ...Object.keys(DIFFERENT_ON_PURPOSE)];
  beforeAll(async () => {
    await javaClasspath();
    java = await runJava("JacksonProbe", ["ChatMsg"], all.join("\n") + "\n");
  }, 60_000);

  test("the probe answered every input", () => {
    expect(java.length).toBe(all.length);
  });

  test("the harness is live: Jackson refuses a ChatMsg with a field it does not know", async () => {
    const [line] = await runJava("JacksonProbe", ["ChatMsg"], '{"senderId":"u1","clientMsgId":"c1"}\n');
    expect(line).toStartWith("ERR UnrecognizedPropertyException");
  });

  INPUTS.forEach((input, i) => {
    test(`${input.length > 60 ? "a full ChatMsg of every field" : input}: same as Jackson`, () => {
      const theirs = javaView(java[i]);
      const ours = ourView(input);
      if (theirs === undefined) expect({ input, ours }).toEqual({ input, ours: undefined });
      else expect({ input, ours }).toEqual({ input, ours: theirs });
    });
  });

  Object.entries(DIFFERENT_ON_PURPOSE).forEach(([input, why], k) => {
    test(`${input}: differs on purpose (${why})`, () => {
      const theirs = javaView(java[INPUTS.length + k]);
      const ours = ourView(input);
      expect(ours).not.toEqual(theirs);
    });
  });
});
