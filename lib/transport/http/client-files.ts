// The browser chat client (client/): plain files, no build step. Only the files listed at start are
// served, by exact name: no request path ever reaches the file system.
import type { Hono } from "hono";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const CLIENT_DIR = join(import.meta.dir, "..", "..", "..", "client");

export function addClientRoutes(app: Hono<any>, dir = CLIENT_DIR): void {
  const files = new Map<string, ReturnType<typeof Bun.file>>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isFile()) files.set(entry.name, Bun.file(join(dir, entry.name)));
  const serve = (name: string) => {
    const file = files.get(name);
    return file && new Response(file, { headers: { "content-type": file.type } });
  };
  app.get("/", (c) => serve("index.html") ?? c.notFound());
  app.get("/client/:name", (c) => serve(c.req.param("name")) ?? c.notFound());
}
