// The behavioural suite against a real 3-instance cluster on PostgreSQL: users spread over instances.
import { describeChat } from "../support/chat-behaviour.ts";
import { startCluster } from "../support/cluster.ts";

const PG = Bun.env.TEST_DATABASE_URL ?? "postgres://im:im@127.0.0.1:5432/im_test";

describeChat("cluster chat (3 instances, direct routing, PostgreSQL)", () =>
  startCluster({ size: 3, redisDb: 1, env: { DATABASE_URL: PG, ROUTING: "direct" } }),
);
describeChat("cluster chat (2 instances, fanout routing, shared SQLite)", () =>
  startCluster({ size: 2, redisDb: 2, env: { ROUTING: "fanout" } }),
);
