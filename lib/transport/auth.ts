// Authentication: HS256 JWTs (Hono's verifier) whose `sub` is the user id.
import { sign, verify } from "hono/jwt";
import { USER_ID } from "../protocol/ids.ts";

export type AuthResult = { ok: true; userId: string } | { ok: false; reason: string };

export interface Auth {
  /** False when AUTH_SECRET is unset: client-declared ids are trusted (development only). */
  readonly enabled: boolean;
  /** Verifies a token: signature (HS256 only), `exp`/`nbf`, and a `sub` that is a valid user id. */
  verify(token: string | undefined | null): Promise<AuthResult>;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined | null): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1];
}

/** Creates the authenticator; without a secret every check passes with no user. */
export function createAuth(secret: string | undefined): Auth {
  if (!secret) return { enabled: false, verify: async () => ({ ok: false, reason: "authentication is disabled" }) };
  return {
    enabled: true,
    async verify(token) {
      if (!token) return { ok: false, reason: "a token is required" };
      let payload: Record<string, unknown>;
      try {
        // The algorithm is fixed here, not taken from the token: "none" and RS256 headers fail.
        payload = await verify(token, secret, "HS256");
      } catch (err) {
        return { ok: false, reason: (err as Error).name || "invalid token" };
      }
      const sub = payload.sub;
      if (typeof sub !== "string" || !USER_ID.test(sub)) return { ok: false, reason: "the token has no valid sub (user id)" };
      return { ok: true, userId: sub };
    },
  };
}

/** Mints a development token for `userId` valid `ttlS` seconds (scripts/mint-token.ts, tests). */
export function mintToken(secret: string, userId: string, ttlS = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: userId, iat: now, exp: now + ttlS }, secret, "HS256");
}
