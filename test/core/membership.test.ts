// Cross-instance rules of the core (lib/core/membership.ts) on in-memory stand-ins: what an instance
// does when another leaves, when it is registered again, when the routes reset, and the audit.
import { afterEach, expect, test } from "bun:test";
import { createMembership, ROUTES_REBUILD_GRACE_MS } from "../../lib/core/membership.ts";
import type { SessionRoutes } from "../../lib/core/ports.ts";
import { silentLogger } from "../../lib/log.ts";
import { startMemoryCluster, type MemoryCluster } from "../support/memory-cluster.ts";

let c: MemoryCluster;
afterEach(() => c?.close());

const words = (senderId: string, receiverId: string, msg: string, clientMsgId = crypto.randomUUID()) => ({
  chatMsg: { senderId, receiverId, msg, msgType: 1, clientMsgId },
});
const messages = (conn: { sent: any[] }) => conn.sent.filter((f) => f.chatMsg?.msgType === 1).map((f) => f.chatMsg.msg);

test("a message goes to the one instance holding the receiver, found through the routes", async () => {
  c = await startMemoryCluster();
  const [a, b, x] = [await c.join(), await c.join(), await c.join()];
  const alice = await a.connect("alice");
  const bob = await b.connect("bob");
  await a.send(alice, words("alice", "bob", "hi"));
  expect(alice.sent.at(-1).ack).toBeDefined();
  expect(messages(bob)).toEqual(["hi"]);
  expect(a.published.map((p) => p.targets)).toEqual([[b.id]]);
  expect(x.published).toEqual([]);
});

test("when an instance leaves, the others purge its routes, free its port and broadcast until the grace ends", async () => {
  c = await startMemoryCluster();
  const [a, b, gone] = [await c.join(), await c.join(), await c.join()];
  await gone.connect("carol");
  expect(c.routes.get("carol")?.size).toBe(1);
  c.leave(gone);
  await a.membership.idle();
  expect(c.routes.get("carol")?.size).toBe(0);
  expect(c.ports.has(gone.port)).toBe(false);
  expect(a.membership.routesTrusted()).toBe(false);
  expect(b.membership.routesTrusted()).toBe(false);

  // Meanwhile a message is broadcast (the instance may only have lost its registry session).
  const alice = await a.connect("alice");
  await b.connect("bob");
  await a.send(alice, words("alice", "bob", "during the grace"));
  expect(a.published.at(-1)!.targets).toBe("all");

  c.clock.now += ROUTES_REBUILD_GRACE_MS;
  expect(a.membership.routesTrusted()).toBe(true);
  await a.send(alice, words("alice", "bob", "after it"));
  expect(a.published.at(-1)!.targets).toEqual([b.id]);
});

test("an instance's own old registration going away (a lost session) is not another instance leaving", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  await a.connect("alice");
  a.hearsGone(a.id, a.port);
  await a.membership.idle();
  expect(c.ports.has(a.port)).toBe(true);
  expect(c.routes.get("alice")?.size).toBe(1);
  expect(a.membership.routesTrusted()).toBe(true);
});

test("while route lookups are distrusted a receiver whose routes are missing still gets the message", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const alice = await a.connect("alice");
  const bob = await b.connect("bob");
  c.routes.clear(); // the routes' store came back empty, and b has not rebuilt its own yet
  a.routesReset(); // a rebuilds its own and distrusts lookups until the others have too
  await a.membership.idle();
  expect(c.routes.get("bob")).toBeUndefined();
  await a.send(alice, words("alice", "bob", "still delivered"));
  expect(messages(bob)).toEqual(["still delivered"]);
  expect(a.published.at(-1)!.targets).toBe("all");
});

test("registered again (after a lost registry session), an instance writes its port and routes back", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  await b.connect("bob");
  await b.connect("bob");
  c.leave(b); // a purges b's routes and frees its port, as after b's session expired
  await a.membership.idle();
  expect(c.routes.get("bob")?.size).toBe(0);
  expect(c.ports.has(b.port)).toBe(false);
  b.registeredAgain();
  await b.membership.idle();
  expect(c.routes.get("bob")?.size).toBe(2);
  expect(c.ports.has(b.port)).toBe(true);
});

test("the audit rebuilds only after two disagreeing rounds in a row, and not while the routes' store is down", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  await a.connect("alice");
  c.routes.clear(); // FLUSHDB with the connection up: no reset event
  c.ports.clear();
  await a.membership.audit();
  expect(c.routes.get("alice")).toBeUndefined(); // one round: could be a connection coming or going
  expect(a.membership.routesTrusted()).toBe(true);
  await a.membership.audit();
  await a.membership.idle();
  expect(c.routes.get("alice")?.size).toBe(1);
  expect(c.ports.has(a.port)).toBe(true);
  expect(a.membership.routesTrusted()).toBe(false);

  c.routes.clear();
  c.routesUp = false;
  await a.membership.audit();
  await a.membership.audit();
  c.routesUp = true;
  expect(c.routes.get("alice")).toBeUndefined(); // the store's reconnect resyncs, not the audit
});

test("a disagreement that clears by the next round does not rebuild", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  await a.connect("alice");
  c.ports.delete(a.port);
  await a.membership.audit();
  c.ports.add(a.port);
  await a.membership.audit();
  c.clock.now += 1;
  expect(a.membership.routesTrusted()).toBe(true);
});

test("registered again after a lost session, its connections get what was acked meanwhile and routed nowhere", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const alice = await a.connect("alice");
  const bob = await b.connect("bob");
  await c.advance(2000); // route caches of the connect have expired
  const lostAt = c.clock.now;
  c.leave(b); // b's session expired: a purges bob's route and distrusts lookups for the grace
  await a.membership.idle();
  await c.advance(ROUTES_REBUILD_GRACE_MS);
  await a.send(alice, words("alice", "bob", "while b was out of the view"));
  expect(alice.sent.at(-1).ack).toBeDefined(); // stored, acked, routed to no instance
  expect(a.published).toEqual([]); // no instance holds bob in the view
  expect(messages(bob)).toEqual([]);

  b.registeredAgain(lostAt);
  await b.membership.idle();
  await c.advance(2000); // past the others' route cache: the catch-up runs
  expect(messages(bob)).toEqual(["while b was out of the view"]);
  await a.send(alice, words("alice", "bob", "live again"));
  expect(messages(bob)).toEqual(["while b was out of the view", "live again"]);
});

test("registered again after a lost session with its clock 15 s ahead: the catch-up starts from the positions its connections had, not from its clock", async () => {
  c = await startMemoryCluster();
  const a = await c.join();
  const b = await c.join({}, { clockAheadMs: 15_000 });
  const alice = await a.connect("alice");
  const bob = await b.connect("bob"); // a seed client: the positions are the core's, not the client's
  const carol = await b.connect("carol");
  await a.send(alice, words("alice", "bob", "before"));
  await c.advance(2000);
  const lostSince = b.registryLost(); // by b's clock, 15 s ahead of the ids a mints
  c.leave(b);
  await a.membership.idle();
  await c.advance(ROUTES_REBUILD_GRACE_MS);
  const bobLater = await b.connect("bob"); // a device that connects while b is out of the view
  await a.send(alice, words("alice", "bob", "while b was out of the view"));
  await b.send(carol, words("carol", "bob", "from b itself")); // delivered live, a position past the one routed nowhere
  expect(messages(bob)).toEqual(["before", "from b itself"]);

  b.registeredAgain(lostSince);
  await b.membership.idle();
  await c.advance(2000);
  // After the position bob's connection had when b lost the registry (the later device: when it
  // connected); "from b itself" again is dropped by msgId.
  expect(messages(bob)).toEqual(["before", "from b itself", "while b was out of the view", "from b itself"]);
  expect(messages(bobLater)).toEqual(["from b itself", "while b was out of the view", "from b itself"]);
});

test("registered again without a lost session (its node was deleted), no catch-up is sent", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const alice = await a.connect("alice");
  const bob = await b.connect("bob");
  await a.send(alice, words("alice", "bob", "live"));
  b.registeredAgain();
  await b.membership.idle();
  await c.advance(5000);
  expect(messages(bob)).toEqual(["live"]);
});

test("an instance out of the view that dies before it is registered again: its users replay from the mark the purge left, though it gave them newer messages", async () => {
  c = await startMemoryCluster();
  const [a, b] = [await c.join(), await c.join()];
  const alice = await a.connect("alice");
  const bob = await b.connect("bob");
  const carol = await b.connect("carol");
  await c.advance(2000);
  c.leave(b); // b lost its session but still serves bob and carol; a purges their routes
  await a.membership.idle();
  expect(c.missed.has("bob")).toBe(true);
  await c.advance(ROUTES_REBUILD_GRACE_MS);
  await a.send(alice, words("alice", "bob", "routed nowhere"));
  expect(alice.sent.at(-1).ack).toBeDefined();
  expect(messages(bob)).toEqual([]);
  await c.advance(15_000);
  await b.send(carol, words("carol", "bob", "from b itself")); // b delivers to bob locally
  expect(messages(bob)).toEqual(["from b itself"]);

  // b is killed before it registers again: no catch-up. bob reconnects on a and replays from the
  // highest msgId it saw minus the 10 s margin README asks for, which is after "routed nowhere".
  const highest = bob.sent.filter((f) => f.chatMsg?.msgId).at(-1).chatMsg.msgId;
  const from = String(BigInt(highest) - (10_000n << 22n));
  const again = await a.connect();
  await a.send(again, { chatMsg: { senderId: "bob", msgType: 0, msgId: from } });
  expect(messages(again)).toEqual(["routed nowhere", "from b itself"]);
});

test("a stop waits for the rebuild under way, and after it nothing writes the port or routes back", async () => {
  const writes: string[] = [];
  let finishRenew!: () => void;
  const registered: Array<(again: { lostSince?: number }) => void> = [];
  const gone: Array<(node: { instanceId: string; port: number }) => void> = [];
  const resets: Array<() => void> = [];
  const m = createMembership({
    instanceId: "a",
    events: { onInstanceGone: (fn) => void gone.push(fn), onRegistered: (fn) => void registered.push(fn) },
    routes: {
      rebuild: async () => void writes.push("routes"),
      onReset: (fn: () => void) => void resets.push(fn),
      ownCount: async () => 0,
      usersOf: async () => [],
      purgeInstance: async () => (writes.push("purge"), 0),
    } as unknown as SessionRoutes,
    lease: {
      port: 1,
      renew: () => new Promise<void>((resolve) => (finishRenew = () => (writes.push("port"), resolve()))),
      isHeld: async () => false,
      releaseOther: async () => void writes.push("release other"),
    },
    sessions: { routes: () => [], onlineCounts: 0 },
    log: silentLogger,
    auditEveryMs: 0,
    catchUpAll: () => writes.push("catch-up"),
  });
  registered.forEach((fn) => fn({ lostSince: 1 })); // registered just before the stop: its rebuild is under way
  let closed = false;
  const closing = m.close().then(() => (closed = true));
  await Bun.sleep(0);
  expect(closed).toBe(false); // the port would be released while its renewal is in flight
  finishRenew();
  await closing;
  expect(writes).toEqual(["routes", "port"]);

  // Once closed: no rebuild, catch-up, purge or port write, whatever comes.
  registered.forEach((fn) => fn({ lostSince: 1 }));
  resets.forEach((fn) => fn());
  gone.forEach((fn) => fn({ instanceId: "b", port: 2 }));
  await m.audit();
  await m.audit();
  await m.idle();
  expect(writes).toEqual(["routes", "port"]);
});
