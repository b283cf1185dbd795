// The behavioural suite against a real 3-instance cluster on PostgreSQL: users spread over instances.
import { describeChat } from "../support/chat-behaviour.ts";
import { startCluster } from "../support/cluster.ts";
import { PG, REDIS_DB } from "../support/services.ts";


describeChat("cluster chat (3 instances, direct routing, PostgreSQL)", () =>
  startCluster({ size: 3, redisDb: REDIS_DB.clusterChatPg, env: { DATABASE_URL: PG, ROUTING: "direct" } }),
);
describeChat("cluster chat (2 instances, fanout routing, shared SQLite)", () =>
  startCluster({ size: 2, redisDb: REDIS_DB.clusterChatFanout, env: { ROUTING: "fanout" } }),
);
