// The alert rules (deploy/prometheus-rules.yml) pass `promtool check rules`, their unit tests
// (deploy/prometheus-rules.test.yml) pass `promtool test rules`, every alert has a case that fires
// and one that stays quiet, and those cases catch a rule that never fires or always does.
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prometheusMissing, run } from "../support/prometheus.ts";

const DEPLOY = join(import.meta.dir, "../../deploy");
const RULES = join(DEPLOY, "prometheus-rules.yml");
const TESTS = join(DEPLOY, "prometheus-rules.test.yml");

type Rule = { alert: string; expr: string; for?: string };
const rulesDoc = Bun.YAML.parse(await Bun.file(RULES).text()) as { groups: Array<{ name: string; rules: Rule[] }> };
const alerts = rulesDoc.groups.flatMap((g) => g.rules).map((r) => r.alert);
const testsDoc = Bun.YAML.parse(await Bun.file(TESTS).text()) as {
  tests: Array<{ name: string; alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
};

const missing = await prometheusMissing();
if (missing) console.warn(`SKIPPED test/deploy/prometheus-rules.test.ts: ${missing}`);

test("every alert has a unit test that fires and one that stays quiet, and a runbook line in README", async () => {
  const cases = testsDoc.tests.flatMap((t) => t.alert_rule_test);
  const readme = await Bun.file(join(DEPLOY, "../README.md")).text();
  expect(alerts.length).toBeGreaterThanOrEqual(8);
  for (const alert of alerts) {
    expect({ alert, fires: cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0) }).toEqual({ alert, fires: true });
    expect({ alert, quiet: cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0) }).toEqual({ alert, quiet: true });
    expect({ alert, runbook: readme.includes(`**${alert}**`) }).toEqual({ alert, runbook: true });
  }
});

describe.skipIf(!!missing)("promtool", () => {
  const dir = mkdtempSync(join(tmpdir(), "im-rules-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("check rules: the file is valid", async () => {
    const { code, out } = await run(["promtool", "check", "rules", RULES]);
    expect(out).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(code).toBe(0);
  });

  test("test rules: every case passes", async () => {
    const { code, out } = await run(["promtool", "test", "rules", TESTS]);
    expect(out).toContain("SUCCESS");
    expect(code).toBe(0);
  });

  // The unit tests are only worth something if they fail on a broken rule: replace one alert's
  // expression at a time by one that never fires, then by one that always fires.
  test("test rules fails when any one alert never fires or always fires", async () => {
    for (const alert of alerts) {
      for (const [broken, expr] of [["never fires", "vector(1) < 0"], ["always fires", "vector(1)"]] as const) {
        const mutated = structuredClone(rulesDoc);
        for (const g of mutated.groups) for (const r of g.rules) if (r.alert === alert) Object.assign(r, { expr, for: "0s" });
        // JSON is YAML: promtool reads it as the rules file the unit tests name.
        writeFileSync(join(dir, "prometheus-rules.yml"), JSON.stringify(mutated));
        cpSync(TESTS, join(dir, "prometheus-rules.test.yml"));
        const { code } = await run(["promtool", "test", "rules", join(dir, "prometheus-rules.test.yml")]);
        expect({ alert, broken, failed: code !== 0 }).toEqual({ alert, broken, failed: true });
      }
    }
  }, 30_000);
});
