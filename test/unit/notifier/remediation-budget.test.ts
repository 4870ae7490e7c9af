// The fleet remediation budget: at most N targets in remediation at once and M an hour, a cool-down
// per target, waiting (never dropping) beyond, every decision recorded — and the budget read back
// from its ledger holds for a restarted or failed-over notifier.
import { describe, expect, it } from "vitest";
import type { RemediationLease } from "../../../schemas/types.js";
import { RemediationLedger, type BudgetPolicy } from "../../../services/notifier/remediation.js";

const POLICY: BudgetPolicy = {
  name: "fleet",
  target: ["host"],
  maxActive: 1,
  maxPerHour: 3,
  cooldown: 600_000,
  hold: 3_600_000,
};

function setup(start = 1_000_000) {
  const clock = { now: start };
  const written: [string, RemediationLease][] = [];
  const ledger = new RemediationLedger(
    async (key, lease) => void written.push([key, lease]),
    () => clock.now,
  );
  const ran: string[] = [];
  const run = async (payload: string) => void ran.push(JSON.parse(payload).host);
  ledger.register("cordon", POLICY, run);
  const ask = (host: string, fingerprint: string) =>
    ledger.request(
      {
        policy: POLICY,
        receiver: "cordon",
        fingerprint,
        alertname: "GpuXidCritical",
        labels: { host },
        dryRun: true,
        payload: JSON.stringify({ host }),
      },
      run,
    );
  return { clock, written, ledger, ran, ask };
}

describe("the fleet remediation budget", () => {
  it("lets one target into remediation with a budget of one; the second waits, then runs when the first is released", async () => {
    const { clock, ledger, ran, ask } = setup();
    expect(await ask("n1", "aaaaaaaaaaaaaaaa")).toMatchObject({ decision: "dry_run" });
    const second = await ask("n2", "bbbbbbbbbbbbbbbb");
    expect(second.decision).toBe("waiting");
    expect(second.reason).toContain("1 of 1 target(s) in remediation (host=n1)");
    expect(ran).toEqual(["n1"]);
    // asking again changes nothing and records nothing new
    await ask("n1", "aaaaaaaaaaaaaaaa");
    await ask("n2", "bbbbbbbbbbbbbbbb");
    expect(ran).toEqual(["n1"]);
    expect(ledger.decisions("bbbbbbbbbbbbbbbb").map((d) => d.decision)).toEqual(["waiting"]);

    clock.now += 60_000;
    await ledger.resolved("aaaaaaaaaaaaaaaa");
    expect(ran).toEqual(["n1", "n2"]);
    expect(ledger.decisions("aaaaaaaaaaaaaaaa").map((d) => d.decision)).toEqual([
      "dry_run",
      "released",
    ]);
    expect(ledger.decisions("bbbbbbbbbbbbbbbb").map((d) => d.decision)).toEqual([
      "waiting",
      "dry_run",
    ]);
  });

  it("releases a target when its hold runs out, and a waiting alert that resolves is cancelled", async () => {
    const { clock, ledger, ran, ask } = setup();
    await ask("n1", "aaaaaaaaaaaaaaaa");
    await ask("n2", "bbbbbbbbbbbbbbbb");
    await ask("n3", "cccccccccccccccc");
    await ledger.resolved("bbbbbbbbbbbbbbbb");
    expect(ledger.decisions("bbbbbbbbbbbbbbbb").map((d) => d.decision)).toEqual([
      "waiting",
      "cancelled",
    ]);
    clock.now += POLICY.hold - 1;
    await ledger.tick();
    expect(ran).toEqual(["n1"]);
    clock.now += 1;
    await ledger.tick();
    expect(ran).toEqual(["n1", "n3"]);
  });

  it("keeps a released target out for its cool-down, and at most max_per_hour actions an hour", async () => {
    const { clock, ledger, ran, ask } = setup();
    await ask("n1", "aaaaaaaaaaaaaaaa");
    await ledger.resolved("aaaaaaaaaaaaaaaa");
    const again = await ask("n1", "dddddddddddddddd");
    expect(again.decision).toBe("waiting");
    expect(again.reason).toMatch(/^host=n1 cools down until /);
    clock.now += POLICY.cooldown;
    await ledger.tick();
    expect(ran).toEqual(["n1", "n1"]);
    await ledger.resolved("dddddddddddddddd");
    await ask("n2", "eeeeeeeeeeeeeeee");
    await ledger.resolved("eeeeeeeeeeeeeeee");
    const fourth = await ask("n3", "ffffffffffffffff");
    expect(fourth.reason).toBe("fleet budget fleet: 3 action(s) in the last hour, at most 3");
    clock.now += 3_600_000;
    await ledger.tick();
    expect(ran).toEqual(["n1", "n1", "n2", "n3"]);
  });

  it("refuses an alert without the target's label, saying which", async () => {
    const { ledger, ran } = setup();
    const decision = await ledger.request(
      {
        policy: POLICY,
        receiver: "cordon",
        fingerprint: "aaaaaaaaaaaaaaaa",
        alertname: "X",
        labels: { gpu: "3" },
        dryRun: true,
        payload: "{}",
      },
      async () => void ran.push("?"),
    );
    expect(decision).toMatchObject({ decision: "refused" });
    expect(decision.reason).toContain("no host label");
    expect(ran).toEqual([]);
  });

  it("holds the budget after a restart: a ledger read back from what was written knows who is in remediation", async () => {
    const first = setup();
    await first.ask("n1", "aaaaaaaaaaaaaaaa");
    const second = setup(first.clock.now);
    for (const [, lease] of first.written) second.ledger.restore(lease);
    expect((await second.ask("n2", "bbbbbbbbbbbbbbbb")).decision).toBe("waiting");
    expect(second.ran).toEqual([]);
    expect(second.ledger.active("fleet").map((l) => l.target)).toEqual(["host=n1"]);
  });
});

describe("the fleet remediation budget under concurrent deliveries", () => {
  it("takes decisions one at a time: two requests at once still let only one target in", async () => {
    const { ran, ask, ledger } = setup();
    const decisions = await Promise.all([
      ask("n1", "aaaaaaaaaaaaaaaa"),
      ask("n2", "bbbbbbbbbbbbbbbb"),
    ]);
    expect(decisions.map((d) => d.decision)).toEqual(["dry_run", "waiting"]);
    expect(ran).toEqual(["n1"]);
    expect(ledger.active("fleet")).toHaveLength(1);
  });
});

describe("the fleet remediation budget's ticks", () => {
  it("fold ticks that come while an action runs into the one under way, instead of queueing them", async () => {
    let release!: () => void;
    const slow = new Promise<void>((done) => (release = done));
    let ticks = 0;
    const ledger = new RemediationLedger(
      async () => undefined,
      () => 0,
    );
    const original = (ledger as unknown as { ticked: () => Promise<void> }).ticked.bind(ledger);
    (ledger as unknown as { ticked: () => Promise<void> }).ticked = async () => {
      ticks += 1;
      await slow;
      await original();
    };
    const pending = Array.from({ length: 50 }, () => ledger.tick());
    release();
    await Promise.all(pending);
    expect(ticks).toBe(1);
  });
});
