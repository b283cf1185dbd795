// The browser client's files embedded in the executable (lib/transport/http/client-assets.js)
// are every file of client/: a file added there and not to the list would be missing from the binary.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { CLIENT_FILES } from "../../lib/transport/http/client-assets.js";

test("the embedded client list names every file of client/, each at its own path", () => {
  const dir = join(import.meta.dir, "../../client");
  const onDisk = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort();
  expect(Object.keys(CLIENT_FILES).sort()).toEqual(onDisk);
  for (const [name, path] of Object.entries(CLIENT_FILES)) expect(path).toBe(join(dir, name));
});
