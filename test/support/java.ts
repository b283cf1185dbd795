// Java programs against the seed lineage's own libraries (test/java/lineage/): compiled once per
// test process against Debian's jars in /usr/share/java (scripts/test-deps.sh installs them).
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";


const JAR_DIR = "/usr/share/java";
/** The jars of the lineage: Jackson, the RabbitMQ client, Curator and ZooKeeper, and what they need. */
const JARS = [
  "jackson-databind", "jackson-core", "jackson-annotations", "amqp-client", "slf4j-api", "slf4j-nop",
  "curator-client", "curator-framework", "curator-recipes", "zookeeper", "zookeeper-jute", "guava",
  "netty-handler", "netty-transport-native-epoll", "netty-transport", "netty-common", "netty-buffer", "netty-codec", "netty-resolver",
  "netty-transport-native-unix-common",
];
const SOURCES = join(import.meta.dir, "../java/lineage");

let compiled: string | undefined;

/** The classpath: the compiled probes and every lineage jar; throws a message a person can act on. */
export async function javaClasspath(): Promise<string> {
  if (compiled) return compiled;
  const missing = JARS.filter((j) => !existsSync(join(JAR_DIR, `${j}.jar`)));
  if (missing.length) throw new Error(`missing Java libraries in ${JAR_DIR}: ${missing.join(", ")}: run bash scripts/test-deps.sh`);
  const cp = JARS.map((j) => join(JAR_DIR, `${j}.jar`)).join(":");
  const out = mkdtempSync(join(tmpdir(), "im-java-"));
  const files = readdirSync(SOURCES).filter((f) => f.endsWith(".java")).map((f) => join(SOURCES, f));
  const javac = Bun.spawn(["javac", "-nowarn", "-d", out, "-cp", cp, ...files], { stdout: "pipe", stderr: "pipe" });
  if ((await javac.exited) !== 0) throw new Error(`javac failed:\n${await new Response(javac.stderr).text()}`);
  return (compiled = `${out}:${cp}`);
}

/** Runs `lineage.<main>` with `stdin` and resolves with its stdout lines. */
export async function runJava(main: string, args: string[], stdin = ""): Promise<string[]> {
  const proc = Bun.spawn(["java", "-cp", await javaClasspath(), `lineage.${main}`, ...args], { stdin: new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`lineage.${main} exited ${code}:\n${err}`);
  return out.split("\n").filter(Boolean);
}

/** A long-running Java program whose stdout lines collect in `lines`. */
export interface JavaProcess {
  readonly lines: string[];
  /** Resolves with the first line (from now on or already seen) matching `pred`, within `timeoutMs`. */
  line(pred: (l: string) => boolean, timeoutMs?: number): Promise<string>;
  kill(): Promise<void>;
}

export async function spawnJava(main: string, args: string[]): Promise<JavaProcess> {
  const proc = Bun.spawn(["java", "-cp", await javaClasspath(), `lineage.${main}`, ...args], { stdout: "pipe", stderr: "pipe" });
  const lines: string[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    const reader = proc.stdout.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
  })();
  return {
    lines,
    async line(pred, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find(pred);
        if (found) return found;
        if (proc.exitCode !== null) throw new Error(`lineage.${main} exited ${proc.exitCode}: ${await new Response(proc.stderr).text()}`);
        if (Date.now() > deadline) throw new Error(`lineage.${main}: no matching line within ${timeoutMs} ms; have ${JSON.stringify(lines.slice(-5))}`);
        await Bun.sleep(20);
      }
    },
    async kill() {
      proc.kill();
      await proc.exited;
    },
  };
}
