// Mints a development JWT for a user: AUTH_SECRET=… bun scripts/mint-token.ts <userId> [ttlSeconds]
import { mintToken } from "../lib/transport/auth.ts";

const [userId, ttl = "3600"] = process.argv.slice(2);
const secret = Bun.env.AUTH_SECRET;
if (!secret || !userId) {
  console.error("usage: AUTH_SECRET=<the servers' secret> bun scripts/mint-token.ts <userId> [ttlSeconds]");
  process.exit(2);
}
console.log(await mintToken(secret, userId, Number(ttl)));
