// Alert groups and when to notify them, as Alertmanager does it:
//   * an alert joins one group per route that handles it (route + its group_by labels);
//   * a new group is first notified group_wait after it appeared (so a burst goes out as one);
//   * after that it is looked at every group_interval: it is notified again when alerts joined it,
//     or alerts it was notified about resolved, or — nothing having changed — repeat_interval has
//     passed since the last notification (acknowledged alerts do not repeat);
//   * silenced and inhibited alerts are left out; a route muted by a time interval sends nothing;
//   * critical alerts nobody acknowledges escalate along the route's policy, once per step.
// What each receiver was told is in the notification log, so a restart or the standby instance
// taking over notifies nothing again before it is due.
import type { z } from "zod";
import type { Acknowledgement, Alert, NotificationLogEntry } from "../../schemas/types.js";
import type { Logger } from "../chassis/logger.js";
import { Inhibitions, type InhibitionIndex } from "./inhibition.js";
import { alertAnnotations, type Notification } from "./receivers/api.js";
import {
  compileRoute,
  groupIdOf,
  groupKeyOf,
  groupLabels,
  matchRoutes,
  type Route,
} from "./routing.js";
import type { Alerting } from "./settings.js";
import type { Acks, NotificationLog, Silences } from "./stores.js";
import { routeOpen } from "./time-intervals.js";
import type { timeIntervalSchema } from "./settings.js";

interface Group {
  key: string;
  id: string;
  route: Route;
  labels: Record<string, string>;
  alerts: Map<string, Alert>;
  nextFlush: number;
  flushing: boolean;
}

export interface DispatcherDeps {
  log: NotificationLog;
  silences: Silences;
  acks: Acks;
  /** Delivers a notification (with retries); resolves true once the receiver has it. */
  deliver: (notification: Notification) => Promise<boolean>;
  /** Makes the notification log entry durable. */
  record: (entry: NotificationLogEntry) => Promise<void>;
  externalUrl: string;
  logger: Logger;
}

export interface AlertView {
  alert: Alert;
  groups: string[];
  /** The receivers of the routes that handle it. */
  receivers: string[];
  silencedBy?: string;
  inhibited: boolean;
  /** Fingerprints of the firing alerts that inhibit it. */
  inhibitedBy: string[];
  /** Time intervals muting a route it is on, now. */
  mutedBy: string[];
  acknowledgedBy?: string;
  ack?: Acknowledgement;
}

export interface EscalationView {
  policy: string;
  step: number;
  /** How long after the alert started, unacknowledged, this step is taken. */
  after: number;
  receiver: string;
  /** When the step's receiver was told, if it was. */
  sentAt?: number;
}

export interface GroupView {
  key: string;
  id: string;
  receiver: string;
  labels: Record<string, string>;
  fingerprints: string[];
}

export class Dispatcher {
  private groups = new Map<string, Group>();
  /** Every alert known, by fingerprint: the latest event of each. */
  private alerts = new Map<string, Alert>();
  private root: Route;
  private intervals!: Map<string, z.infer<typeof timeIntervalSchema>>;
  private inhibitions!: Inhibitions;
  private policies!: Map<string, Alerting["escalation_policies"][number]>;
  /** Receiver name → the ids of its integrations (each has its own notification log entry). */
  private integrations!: Map<string, string[]>;

  constructor(
    alerting: Alerting,
    private deps: DispatcherDeps,
  ) {
    this.root = this.configure(alerting);
  }

  /**
   * A new configuration (a reload): routes, receivers, inhibitions and intervals are replaced;
   * every known alert is routed again into the new groups. The notification log stays, so what
   * a receiver was already told is not sent again.
   */
  reconfigure(alerting: Alerting, now: number): void {
    this.root = this.configure(alerting);
    const alerts = [...this.alerts.values()];
    this.groups.clear();
    this.alerts.clear();
    for (const alert of alerts) this.insert(alert, now);
  }

  private configure(alerting: Alerting): Route {
    this.integrations = new Map(
      alerting.receivers.map((r) => [r.name, r.integrations.map((i) => i.id)]),
    );
    this.intervals = new Map(alerting.time_intervals.map((t) => [t.name, t]));
    this.inhibitions = new Inhibitions(alerting.inhibit_rules);
    this.policies = new Map(alerting.escalation_policies.map((p) => [p.name, p]));
    return compileRoute(alerting.route);
  }

  /** What each integration of a receiver was last told about a group. */
  private told(receiver: string, logKey: string): NotificationLogEntry[] {
    return (this.integrations.get(receiver) ?? [])
      .map((id) => this.deps.log.get(id, logKey))
      .filter((e): e is NotificationLogEntry => e !== undefined);
  }

  /** An alert event arrives (or is restored). Older events than the one known are ignored. */
  insert(alert: Alert, now: number): void {
    const known = this.alerts.get(alert.fingerprint);
    if (known && known.sentAt > alert.sentAt) return;
    this.alerts.set(alert.fingerprint, alert);
    for (const route of matchRoutes(this.root, alert.labels)) {
      const labels = groupLabels(route, alert.labels);
      const key = groupKeyOf(route, labels);
      let group = this.groups.get(key);
      if (!group) {
        if (alert.status === "resolved" && !this.everNotified(route, key, alert.fingerprint))
          continue;
        group = {
          key,
          id: groupIdOf(key),
          route,
          labels,
          alerts: new Map(),
          nextFlush: now + route.groupWait,
          flushing: false,
        };
        this.groups.set(key, group);
      }
      group.alerts.set(alert.fingerprint, alert);
    }
  }

  /** Forgets all groups and alerts (this instance stopped being the active one). */
  clear(): void {
    this.groups.clear();
    this.alerts.clear();
  }

  /** Flushes the groups that are due; resolves when their notifications are done. */
  async tick(now: number): Promise<void> {
    this.expire(now);
    const due = [...this.groups.values()].filter((g) => !g.flushing && g.nextFlush <= now);
    if (due.length === 0) return;
    const inhibiting = this.inhibitions.index(this.alerts.values());
    await Promise.all(due.map((group) => this.flush(group, now, inhibiting)));
  }

  /** Every alert with what mutes it, for the API. */
  view(now: number): AlertView[] {
    // Indexed once per call: the API is polled (Karma, the console) with any number of alerts.
    const inhibiting = this.inhibitions.index(this.alerts.values());
    const groupsOf = new Map<string, Group[]>();
    for (const group of this.groups.values())
      for (const fingerprint of group.alerts.keys())
        groupsOf.set(fingerprint, [...(groupsOf.get(fingerprint) ?? []), group]);
    return [...this.alerts.values()].map((alert) => {
      const silence = this.deps.silences.muting(alert.labels, now);
      const ack = this.deps.acks.of(alert.fingerprint, alert.startsAt);
      const groups = groupsOf.get(alert.fingerprint) ?? [];
      const inhibitedBy = this.inhibitions.of(alert, inhibiting);
      return {
        alert,
        groups: groups.map((g) => g.key),
        receivers: [...new Set(groups.map((g) => g.route.receiver))],
        ...(silence && { silencedBy: silence.id }),
        inhibited: inhibitedBy.length > 0,
        inhibitedBy,
        mutedBy: [
          ...new Set(
            groups.flatMap((g) =>
              g.route.mute.filter((name) => !routeOpen([name], [], this.intervals, now)),
            ),
          ),
        ],
        ...(ack && { acknowledgedBy: ack.by, ack }),
      };
    });
  }

  /** The groups as the routes form them, for the API and the console. */
  groupsView(): GroupView[] {
    return [...this.groups.values()].map((g) => ({
      key: g.key,
      id: g.id,
      receiver: g.route.receiver,
      labels: g.labels,
      fingerprints: [...g.alerts.keys()],
    }));
  }

  /** The escalation steps of the routes an alert is on, and when each was sent for it. */
  escalationOf(fingerprint: string): EscalationView[] {
    const out: EscalationView[] = [];
    for (const group of this.groups.values()) {
      if (!group.alerts.has(fingerprint) || !group.route.escalation) continue;
      const policy = this.policies.get(group.route.escalation);
      if (!policy) continue;
      policy.steps.forEach((step, i) => {
        const told = this.told(step.receiver, `${group.key}#escalation-${i + 1}`).filter((e) =>
          e.firing.includes(fingerprint),
        );
        out.push({
          policy: policy.name,
          step: i + 1,
          after: step.after,
          receiver: step.receiver,
          ...(told.length > 0 && { sentAt: Math.min(...told.map((e) => e.at)) }),
        });
      });
    }
    return out;
  }

  /** The receiver names the configuration knows. */
  receivers(): string[] {
    return [...this.integrations.keys()];
  }

  /**
   * Alerts posted through the API resolve when their endsAt passes without a newer post (as in
   * Alertmanager: Prometheus re-sends what still fires). Detector alerts resolve by event.
   */
  expire(now: number): void {
    for (const alert of [...this.alerts.values()])
      if (alert.status === "firing" && alert.endsAt !== null && alert.endsAt <= now)
        this.insert(
          { ...alert, status: "resolved", sentAt: Math.max(alert.sentAt, alert.endsAt) },
          now,
        );
  }

  private everNotified(route: Route, key: string, fingerprint: string): boolean {
    return this.told(route.receiver, key).some((e) => e.firing.includes(fingerprint));
  }

  private async flush(group: Group, now: number, inhibiting: InhibitionIndex): Promise<void> {
    group.flushing = true;
    group.nextFlush = now + group.route.groupInterval;
    try {
      if (!routeOpen(group.route.mute, group.route.active, this.intervals, now)) return;
      const all = [...group.alerts.values()];
      const firing = all.filter(
        (a) =>
          a.status === "firing" &&
          !this.deps.silences.muting(a.labels, now) &&
          this.inhibitions.of(a, inhibiting).length === 0,
      );
      const stillFiring = new Set(
        all.filter((a) => a.status === "firing").map((a) => a.fingerprint),
      );
      await this.notify(
        group,
        group.route.receiver,
        firing,
        stillFiring,
        group.route.repeatInterval,
        now,
      );
      await this.escalate(group, firing, stillFiring, now);
    } finally {
      group.flushing = false;
      this.settle(group);
    }
  }

  /** Resolved alerts the receiver no longer has as firing are done with; so is an empty group. */
  private settle(group: Group): void {
    const told = this.told(group.route.receiver, group.key);
    for (const [fingerprint, alert] of group.alerts)
      if (alert.status === "resolved" && !told.some((e) => e.firing.includes(fingerprint)))
        group.alerts.delete(fingerprint);
    if (group.alerts.size === 0 && this.groups.get(group.key) === group)
      this.groups.delete(group.key);
  }

  /**
   * What a flush would leave, without sending anything: for a replica that follows the active
   * one's alerts and notification log and answers reads from them (never ticked).
   */
  settleAll(now: number): void {
    this.expire(now);
    for (const group of [...this.groups.values()]) this.settle(group);
  }

  private async notify(
    group: Group,
    receiver: string,
    firing: Alert[],
    stillFiring: Set<string>,
    repeatInterval: number,
    now: number,
    escalation?: number,
    logKey = group.key,
  ): Promise<void> {
    await Promise.all(
      (this.integrations.get(receiver) ?? []).map((integration) =>
        this.notifyIntegration(
          group,
          receiver,
          integration,
          firing,
          stillFiring,
          repeatInterval,
          now,
          escalation,
          logKey,
        ),
      ),
    );
  }

  private async notifyIntegration(
    group: Group,
    receiver: string,
    integration: string,
    firing: Alert[],
    stillFiring: Set<string>,
    repeatInterval: number,
    now: number,
    escalation: number | undefined,
    logKey: string,
  ): Promise<void> {
    const told = this.deps.log.get(integration, logKey);
    const resolved = (told?.firing ?? [])
      .filter((fp) => !stillFiring.has(fp))
      .map((fp) => group.alerts.get(fp))
      .filter((a): a is Alert => a?.status === "resolved");
    const unacked = firing.filter((a) => !this.deps.acks.of(a.fingerprint, a.startsAt));
    const due =
      firing.some((a) => !told?.firing.includes(a.fingerprint)) ||
      resolved.length > 0 ||
      (told !== undefined && unacked.length > 0 && now - told.at >= repeatInterval);
    if (!due) return;
    const notification = {
      ...this.notification(group, receiver, firing, resolved, escalation),
      ...(integration !== receiver && { integration }),
    };
    if (!(await this.deps.deliver(notification))) return;
    await this.deps.record({
      receiver: integration,
      groupKey: logKey,
      firing: firing.map((a) => a.fingerprint).sort(),
      resolved: resolved.map((a) => a.fingerprint).sort(),
      at: now,
    });
  }

  private async escalate(
    group: Group,
    firing: Alert[],
    stillFiring: Set<string>,
    now: number,
  ): Promise<void> {
    const policy = group.route.escalation ? this.policies.get(group.route.escalation) : undefined;
    if (!policy) return;
    for (const [i, step] of policy.steps.entries()) {
      const waiting = firing.filter(
        (a) =>
          policy.severities.includes(a.severity) &&
          !this.deps.acks.of(a.fingerprint, a.startsAt) &&
          now - a.startsAt >= step.after,
      );
      const logKey = `${group.key}#escalation-${i + 1}`;
      const told = this.told(step.receiver, logKey);
      // Escalated once per step; resolutions follow to whoever was escalated to.
      if (waiting.length > 0 || told.some((e) => e.firing.length > 0))
        await this.notify(group, step.receiver, waiting, stillFiring, Infinity, now, i + 1, logKey);
    }
  }

  private notification(
    group: Group,
    receiver: string,
    firing: Alert[],
    resolved: Alert[],
    escalation?: number,
  ): Notification {
    const alerts = [...firing, ...resolved];
    const common = (pick: (a: Alert) => Record<string, string | null>) => {
      const [first, ...rest] = alerts.map(pick);
      return Object.fromEntries(
        Object.entries(first ?? {}).filter(
          (entry): entry is [string, string] =>
            entry[1] !== null && rest.every((other) => other[entry[0]] === entry[1]),
        ),
      );
    };
    return {
      receiver,
      groupKey: group.key,
      groupId: group.id,
      status: firing.length > 0 ? "firing" : "resolved",
      groupLabels: group.labels,
      commonLabels: common((a) => a.labels),
      commonAnnotations: common(alertAnnotations),
      alerts,
      externalUrl: this.deps.externalUrl,
      ...(escalation && { escalation }),
    };
  }
}
