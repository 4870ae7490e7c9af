// What the notifier remembers, each kept in memory and in a compacted topic (so restarts and the
// standby instance know it too): the notification log, silences and acknowledgements.
import { randomUUID } from "node:crypto";
import type { Acknowledgement, NotificationLogEntry, Silence } from "../../schemas/types.js";
import { compileMatchers, type LabelMatch } from "./matchers.js";

export const logKey = (receiver: string, groupKey: string) => `${receiver}|${groupKey}`;

/** What each receiver was last told about each group, and (bounded) what each alert was told. */
export class NotificationLog {
  private entries = new Map<string, NotificationLogEntry>();
  private byAlert = new Map<string, NotificationLogEntry[]>();
  private static readonly PER_ALERT = 50;
  private static readonly ALERTS = 10_000;

  /** What receivers were told about this alert, oldest first (the latest 50). */
  history(fingerprint: string): NotificationLogEntry[] {
    return this.byAlert.get(fingerprint) ?? [];
  }

  private remember(entry: NotificationLogEntry): void {
    for (const fingerprint of new Set([...entry.firing, ...entry.resolved])) {
      let list = this.byAlert.get(fingerprint);
      if (!list) {
        if (this.byAlert.size >= NotificationLog.ALERTS)
          this.byAlert.delete(this.byAlert.keys().next().value!);
        this.byAlert.set(fingerprint, (list = []));
      }
      if (
        list.some(
          (e) =>
            e.at === entry.at && e.receiver === entry.receiver && e.groupKey === entry.groupKey,
        )
      )
        continue;
      list.push(entry);
      list.sort((a, b) => a.at - b.at);
      if (list.length > NotificationLog.PER_ALERT) list.shift();
    }
  }

  get(receiver: string, groupKey: string): NotificationLogEntry | undefined {
    return this.entries.get(logKey(receiver, groupKey));
  }

  apply(entry: NotificationLogEntry): void {
    this.remember(entry);
    const known = this.entries.get(logKey(entry.receiver, entry.groupKey));
    if (!known || known.at <= entry.at)
      this.entries.set(logKey(entry.receiver, entry.groupKey), entry);
  }

  clear(): void {
    this.entries.clear();
  }
}

export class SilenceError extends Error {}

export interface SilenceInput {
  matchers: string;
  /** Milliseconds from now, or an absolute end. */
  duration?: number;
  endsAt?: number;
  startsAt?: number;
  createdBy: string;
  comment: string;
}

/** Checks a request for a silence and makes the record; errors name the field. */
export function newSilence(input: SilenceInput, now: number, id: string = randomUUID()): Silence {
  if (!input.createdBy?.trim()) throw new SilenceError("createdBy: say who creates the silence");
  if (!input.comment?.trim()) throw new SilenceError("comment: say why");
  try {
    compileMatchers(input.matchers);
  } catch (error) {
    throw new SilenceError(`matchers: ${(error as Error).message}`);
  }
  if (!/[=~]/.test(input.matchers)) throw new SilenceError("matchers: give at least one matcher");
  const startsAt = input.startsAt ?? now;
  const endsAt = input.endsAt ?? (input.duration !== undefined ? startsAt + input.duration : NaN);
  if (!Number.isFinite(endsAt) || endsAt <= startsAt)
    throw new SilenceError("endsAt: give a duration or an end after the start");
  return {
    id,
    matchers: input.matchers,
    startsAt,
    endsAt,
    createdBy: input.createdBy.trim(),
    comment: input.comment.trim(),
    updatedAt: now,
  };
}

export class Silences {
  private all = new Map<string, { silence: Silence; match: LabelMatch }>();

  apply(silence: Silence): void {
    const known = this.all.get(silence.id);
    if (known && known.silence.updatedAt > silence.updatedAt) return;
    this.all.set(silence.id, { silence, match: compileMatchers(silence.matchers) });
  }

  get(id: string): Silence | undefined {
    return this.all.get(id)?.silence;
  }

  list(): Silence[] {
    return [...this.all.values()].map((s) => s.silence).sort((a, b) => a.startsAt - b.startsAt);
  }

  /** The active silence muting these labels, if any. */
  muting(labels: Record<string, string>, now: number): Silence | undefined {
    for (const { silence, match } of this.all.values())
      if (silence.startsAt <= now && now < silence.endsAt && match(labels)) return silence;
    return undefined;
  }
}

export class Acks {
  private all = new Map<string, Acknowledgement>();

  apply(ack: Acknowledgement): void {
    const known = this.all.get(ack.fingerprint);
    if (!known || known.at <= ack.at) this.all.set(ack.fingerprint, ack);
  }

  /** The acknowledgement of this firing of the alert (one made before it started again does not count). */
  of(fingerprint: string, startsAt: number): Acknowledgement | undefined {
    const ack = this.all.get(fingerprint);
    return ack && !ack.withdrawn && ack.at >= startsAt ? ack : undefined;
  }
}
