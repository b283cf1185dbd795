// The browser chat client (client/): plain files, no build step, embedded in the executable by
// `bun build --compile` (client-assets.js). Only these files are served, by exact name: no request
// path ever reaches the file system. test/unit/client-files.test.ts checks the list is all of client/.
import type { Hono } from "hono";
import { CLIENT_FILES } from "./client-assets.js";

export function addClientRoutes(app: Hono<any>, files: Readonly<Record<string, string>> = CLIENT_FILES): void {
  const served = new Map(Object.entries(files).map(([name, path]) => [name, Bun.file(path)]));
  const serve = (name: string) => {
    const file = served.get(name);
    return file && new Response(file, { headers: { "content-type": file.type } });
  };
  app.get("/", (c) => serve("index.html") ?? c.notFound());
  app.get("/client/:name", (c) => serve(c.req.param("name")) ?? c.notFound());
}
