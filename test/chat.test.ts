// The behavioural suite against a standalone instance (embedded adapters, SQLite).
import { describeChat } from "./support/chat-behaviour.ts";
import { standaloneTarget } from "./support/target.ts";

describeChat("standalone chat", () => standaloneTarget());
