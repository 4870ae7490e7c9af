// A receiver kind: its configuration (zod) and how it delivers one notification. Delivery throws a
// DeliveryError saying whether trying again may help (5xx, 429, a timeout) or not (4xx); the
// delivery loop (../delivery.ts) retries, rate-limits and dead-letters — receivers only speak
// their protocol.
import type { z } from "zod";
import type { Alert } from "../../../schemas/types.js";
import type { Logger } from "../../chassis/logger.js";
import type { RemediationLedger } from "../remediation.js";

export interface Notification {
  receiver: string;
  /** Which of the receiver's integrations this is for (its id); the receiver's name when it has one. */
  integration?: string;
  /** Route and group labels: what the notification log is keyed by. */
  groupKey: string;
  /** Short stable hash of groupKey: PagerDuty's dedup_key, the e-mail thread id. */
  groupId: string;
  status: "firing" | "resolved";
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  /** Firing alerts first, then the resolved ones being announced. */
  alerts: Alert[];
  externalUrl: string;
  /** Set when this is an escalation: the step (1-based). */
  escalation?: number;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface ReceiverContext {
  logger: Logger;
  now: () => number;
  /** The integration's id (the receiver's name when it has one integration). */
  id?: string;
  /** The fleet remediation budget, shared by every action hook (see ../remediation.ts). */
  ledger?: RemediationLedger;
}

export type Send = (notification: Notification, signal: AbortSignal) => Promise<void>;

export interface ReceiverKind<C extends z.ZodType = z.ZodType> {
  kind: string;
  config: C;
  create(config: z.output<C>, context: ReceiverContext): Send;
}

export function defineReceiver<C extends z.ZodType>(spec: ReceiverKind<C>): ReceiverKind<C> {
  return spec;
}

/** POSTs a body; maps the answer to success or a DeliveryError. */
export async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<void> {
  // Node's fetch quotes a URL it cannot parse in its error — with the secret in its path: a bad
  // URL is refused here, for good (retrying will not fix a configuration), and no message below
  // can carry the URL itself.
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new DeliveryError("POST (invalid url): the receiver's URL is not an http(s) URL", false);
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", body, headers, signal });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = [(error as Error).message, cause?.code ?? cause?.message].filter(Boolean);
    const message = `${why[0]}${why[1] ? ` (${why[1]})` : ""}`.replaceAll(url, redactUrl(url));
    throw new DeliveryError(`POST ${redactUrl(url)}: ${message}`, true);
  }
  if (response.ok) {
    await response.arrayBuffer();
    return;
  }
  const text = (await response.text().catch(() => "")).slice(0, 300);
  const retryAfter = Number(response.headers.get("retry-after"));
  throw new DeliveryError(
    `POST ${redactUrl(url)}: ${response.status} ${text}`,
    response.status >= 500 || response.status === 429 || response.status === 408,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
  );
}

/** Webhook URLs carry their secret in the path: only the origin goes into messages and logs. */
export function redactUrl(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return "(invalid url)";
  }
}

export const severityOf = (n: Notification) =>
  n.alerts.find((a) => a.status === "firing")?.severity ?? n.alerts[0]?.severity ?? "minor";

export const firingOf = (n: Notification) => n.alerts.filter((a) => a.status === "firing");

/** "[FIRING:3] GpuHot" — the one line every chat and pager shows first. */
export function title(n: Notification): string {
  const count = n.status === "firing" ? firingOf(n).length : n.alerts.length;
  const name = n.commonLabels.alertname ?? n.groupLabels.alertname ?? n.alerts[0]?.rule ?? "alerts";
  const escalated = n.escalation ? ` (escalated, step ${n.escalation})` : "";
  return `[${n.status.toUpperCase()}:${count}] ${name}${escalated}`;
}

/** Where the notification's alert (or, for several, its group) is shown in the web console. */
export function consoleLink(n: Notification): string {
  const base = n.externalUrl.replace(/\/+$/, "");
  const firing = firingOf(n);
  const shown = firing.length > 0 ? firing : n.alerts;
  return shown.length === 1
    ? `${base}/console/#/alert/${shown[0]!.fingerprint}`
    : `${base}/console/#/group/${n.groupId}`;
}

/**
 * An alert's annotations as Alertmanager sends them: every annotation it has, none empty (so a
 * group's commonAnnotations hold only what its alerts' annotations hold).
 */
export function alertAnnotations(a: Alert): Record<string, string> {
  return {
    ...a.extraAnnotations,
    summary: a.annotations.summary,
    ...(a.annotations.description && { description: a.annotations.description }),
    ...(a.annotations.runbook_url && { runbook_url: a.annotations.runbook_url }),
  };
}
