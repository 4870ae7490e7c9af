// The fleet remediation budget: automated remediation (cordon a node, reset a GPU) is safe only
// when it cannot take out the fleet. Every action hook with a `budget` asks the ledger first:
//
//   * at most `max_active` targets of the budget in remediation at once, and `max_per_hour`
//     actions an hour — beyond, the request WAITS (it runs when a target is released), never
//     dropped;
//   * a target released less than `cooldown` ago waits too (no cordon/uncordon loops);
//   * a target is released when its alert resolves, or `hold` after its action.
//
// Each (target, alert) is one lease, its latest state on a compacted topic (key
// "<target>|<fingerprint>", remediation.v1): every instance and every restart reads the ledger
// back before acting, so the budget holds through failover. Every decision — acted (or dry run),
// waiting and why, cancelled, released — is appended to the lease and shown with the alert in the
// console.
import type { RemediationDecision, RemediationLease } from "../../schemas/types.js";

export interface BudgetPolicy {
  name: string;
  /** Labels naming the target (host; host and gpu). */
  target: string[];
  maxActive: number;
  maxPerHour: number;
  cooldown: number;
  hold: number;
}

export interface RemediationRequest {
  policy: BudgetPolicy;
  receiver: string;
  fingerprint: string;
  alertname: string;
  labels: Record<string, string>;
  dryRun: boolean;
  payload: string;
}

/** Runs an action (or, dry run, records that it would); keyed by receiver. */
export type Runner = (payload: string) => Promise<void>;

const HOUR = 3_600_000;
const KEPT_DECISIONS = 20;

export const leaseKey = (target: string, fingerprint: string) => `${target}|${fingerprint}`;

export class RemediationLedger {
  private leases = new Map<string, RemediationLease>();
  private runners = new Map<string, Runner>();
  private policies = new Map<string, BudgetPolicy>();
  /** Decisions are taken one at a time: two deliveries at once must not both see a free slot. */
  private turn: Promise<unknown> = Promise.resolve();
  private ticking: Promise<void> | undefined;

  constructor(
    /** Writes a lease's latest state (durably: the compacted topic) before it counts. */
    private readonly write: (key: string, lease: RemediationLease) => Promise<void>,
    private readonly now: () => number,
  ) {}

  /** A lease as read back from the topic. */
  restore(lease: RemediationLease): void {
    this.leases.set(leaseKey(lease.target, lease.fingerprint), lease);
  }

  /** The action a receiver runs when one of its waiting leases gets its turn. */
  register(receiver: string, policy: BudgetPolicy, run: Runner): void {
    this.runners.set(receiver, run);
    this.policies.set(receiver, policy);
  }

  /** Every decision taken for an alert, oldest first (for the console). */
  decisions(fingerprint: string): (RemediationDecision & { target: string; state: string })[] {
    return [...this.leases.values()]
      .filter((l) => l.fingerprint === fingerprint)
      .flatMap((l) => l.decisions.map((d) => ({ ...d, target: l.target, state: l.state })))
      .sort((a, b) => a.at - b.at);
  }

  /** Leases of a budget now in remediation. */
  active(budget: string): RemediationLease[] {
    return [...this.leases.values()].filter((l) => l.budget === budget && l.state === "active");
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.turn.then(work, work);
    this.turn = next.catch(() => undefined);
    return next;
  }

  /** A firing alert asks for remediation: it acts now or waits, and says which. */
  request(req: RemediationRequest, run: Runner): Promise<RemediationDecision> {
    return this.serial(() => this.requested(req, run));
  }

  /** The alert resolved: its targets leave remediation (or stop waiting). */
  resolved(fingerprint: string): Promise<void> {
    return this.serial(() => this.released(fingerprint));
  }

  /** Processing time passes: holds run out, waiting leases get their turn. */
  tick(): Promise<void> {
    // The notifier ticks twice a second; an action may run for a minute: ticks that come while
    // one waits or runs are that one, not a queue of them.
    this.ticking ??= this.serial(() => this.ticked()).finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async requested(req: RemediationRequest, run: Runner): Promise<RemediationDecision> {
    const missing = req.policy.target.filter((l) => !req.labels[l]);
    const at = this.now();
    if (missing.length > 0)
      return {
        at,
        decision: "refused",
        reason: `the alert has no ${missing.join(", ")} label: no target to remediate`,
      };
    const target = req.policy.target.map((l) => `${l}=${req.labels[l]}`).join(",");
    const key = leaseKey(target, req.fingerprint);
    const known = this.leases.get(key);
    if (known && known.state !== "released") return known.decisions[known.decisions.length - 1]!;
    const lease: RemediationLease = {
      budget: req.policy.name,
      target,
      fingerprint: req.fingerprint,
      alertname: req.alertname,
      receiver: req.receiver,
      state: "waiting",
      since: at,
      actedAt: 0,
      releasedAt: 0,
      dryRun: req.dryRun,
      payload: req.payload,
      decisions: known?.decisions ?? [],
    };
    return this.attempt(key, lease, req.policy, run);
  }

  private async released(fingerprint: string): Promise<void> {
    for (const [key, lease] of this.leases)
      if (lease.fingerprint === fingerprint && lease.state !== "released")
        await this.release(
          key,
          lease,
          lease.state === "active" ? "released" : "cancelled",
          "the alert resolved",
        );
    await this.promote();
  }

  private async ticked(): Promise<void> {
    const at = this.now();
    for (const [key, lease] of this.leases) {
      const policy = this.policies.get(lease.receiver);
      if (policy && lease.state === "active" && at - lease.actedAt >= policy.hold)
        await this.release(key, lease, "released", `held for ${policy.hold / 1000}s`);
    }
    await this.promote();
  }

  private async promote(): Promise<void> {
    const waiting = [...this.leases.entries()]
      .filter(([, l]) => l.state === "waiting")
      .sort(([, a], [, b]) => a.since - b.since);
    for (const [key, lease] of waiting) {
      const policy = this.policies.get(lease.receiver);
      const run = this.runners.get(lease.receiver);
      if (policy && run) await this.attempt(key, lease, policy, run);
    }
  }

  /** Acts when the budget allows, else records why it waits (once per reason). */
  private async attempt(
    key: string,
    lease: RemediationLease,
    policy: BudgetPolicy,
    run: Runner,
  ): Promise<RemediationDecision> {
    const at = this.now();
    const why = this.mustWait(lease, policy, at);
    if (why) {
      const last = lease.decisions[lease.decisions.length - 1];
      if (last?.decision === "waiting" && last.reason === why && this.leases.get(key) === lease)
        return last;
      return this.decide(key, lease, { at, decision: "waiting", reason: why });
    }
    // Recorded before it runs: a crash mid-action leaves the target counted, never acted twice
    // unknowingly.
    const decision = {
      at,
      decision: lease.dryRun ? "dry_run" : "acted",
      reason: `${lease.dryRun ? "would run" : "ran"} for ${lease.target} (${this.active(policy.name).length + 1} of ${policy.maxActive} in remediation)`,
    };
    const acting = { ...lease, state: "active" as const, actedAt: at, payload: "" };
    await this.decide(key, acting, decision);
    try {
      await run(lease.payload);
    } catch (error) {
      // Still counted against the budget: a half-done cordon needs a person, not another try.
      await this.decide(key, this.leases.get(key) ?? acting, {
        at: this.now(),
        decision: "failed",
        reason: (error as Error).message.slice(0, 300),
      });
      throw error;
    }
    return decision;
  }

  private mustWait(lease: RemediationLease, policy: BudgetPolicy, at: number): string | undefined {
    const active = this.active(policy.name);
    if (active.length >= policy.maxActive)
      return `fleet budget ${policy.name}: ${active.length} of ${policy.maxActive} target(s) in remediation (${active.map((l) => l.target).join("; ")})`;
    const lastHour = [...this.leases.values()].filter(
      (l) => l.budget === policy.name && l.actedAt > 0 && l.actedAt > at - HOUR,
    );
    if (lastHour.length >= policy.maxPerHour)
      return `fleet budget ${policy.name}: ${lastHour.length} action(s) in the last hour, at most ${policy.maxPerHour}`;
    const cooling = [...this.leases.values()].find(
      (l) =>
        l.target === lease.target &&
        l.state === "released" &&
        l.actedAt > 0 &&
        at - l.releasedAt < policy.cooldown,
    );
    if (cooling)
      return `${lease.target} cools down until ${new Date(cooling.releasedAt + policy.cooldown).toISOString()}`;
    return undefined;
  }

  private async release(key: string, lease: RemediationLease, decision: string, reason: string) {
    await this.decide(
      key,
      { ...lease, state: "released", releasedAt: this.now(), payload: "" },
      { at: this.now(), decision, reason },
    );
  }

  private async decide(
    key: string,
    lease: RemediationLease,
    decision: RemediationDecision,
  ): Promise<RemediationDecision> {
    const next = { ...lease, decisions: [...lease.decisions, decision].slice(-KEPT_DECISIONS) };
    await this.write(key, next);
    this.leases.set(key, next);
    return decision;
  }
}
