// `vigil silence` and `vigil ack` against the real broker: what they write is what the notifier
// reads; a bad request names the option.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { TOPICS } from "../../../schemas/topics.js";
import { kafkaClient } from "../../support/clients.js";
import { readAll } from "../../../services/notifier/commands.js";

const endpoint = inject("servers").kafka;
const run = promisify(execFile);

async function vigil(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "services/cli/vigil.ts", ...args],
      {
        env: { ...process.env, VIGIL__KAFKA__BROKERS: endpoint.brokers.join(",") },
      },
    );
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe("the vigil CLI for silences and acknowledgements", () => {
  beforeAll(async () => {
    expect((await vigil("topics", "apply")).code).toBe(0);
  }, 60_000);

  it("adds, lists and expires a silence, and refuses one without an author", async () => {
    const marker = `cli-${Date.now()}`;
    const added = await vigil(
      "silence",
      "add",
      "--matchers",
      `alertname="DiskFull", host="${marker}"`,
      "--duration",
      "2h",
      "--author",
      "sre@example.com",
      "--comment",
      "disk swap",
    );
    expect(added.code).toBe(0);
    const id = added.out.split(/\s+/)[0]!;
    expect((await vigil("silence", "list")).out).toContain(`${id}  active`);
    expect((await vigil("silence", "expire", id)).code).toBe(0);
    expect((await vigil("silence", "list")).out).not.toContain(id);
    expect((await vigil("silence", "list", "--all")).out).toContain(`${id}  expired`);
    const refused = await vigil(
      "silence",
      "add",
      "--matchers",
      'alertname="X"',
      "--duration",
      "1h",
      "--comment",
      "c",
    );
    expect(refused).toMatchObject({
      code: 2,
      out: expect.stringContaining("--author: say who creates the silence"),
    });
  }, 60_000);

  it("records an acknowledgement on the acks topic", async () => {
    const fingerprint = Date.now().toString(16).padStart(16, "0").slice(-16);
    expect(
      (await vigil("ack", fingerprint, "--author", "sre@example.com", "--comment", "on it")).code,
    ).toBe(0);
    const acks: string[] = [];
    await readAll(kafkaClient(endpoint), TOPICS.acks.name, "ack", (a) =>
      acks.push(`${a.fingerprint} ${a.by} ${a.comment}`),
    );
    expect(acks).toContain(`${fingerprint} sre@example.com on it`);
    expect((await vigil("ack", "not-a-fingerprint", "--author", "x")).out).toContain(
      "fingerprint: expected",
    );
  }, 60_000);
});
