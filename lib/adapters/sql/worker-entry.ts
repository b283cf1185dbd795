// Where a thread's module is: beside this file under `bun run`; in an executable built by
// `bun build --compile` (each worker a further entrypoint, package.json `build`) the embedded one,
// named by its path from the project root.

/** The module URL of `file`, a worker module in this folder (`checkpoint-worker.ts`). */
export function workerEntry(file: string): string {
  if (Bun.main.startsWith("/$bunfs/")) return `./lib/adapters/sql/${file}`;
  return new URL(`./${file}`, import.meta.url).href;
}
