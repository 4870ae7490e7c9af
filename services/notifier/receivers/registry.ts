// Every receiver kind, by the key that names it in a receiver's configuration.
import type { ReceiverKind } from "./api.js";
import { action } from "./action.js";
import { email } from "./email.js";
import { pagerduty } from "./pagerduty.js";
import { slack } from "./slack.js";
import { webhook } from "./webhook.js";

export const RECEIVER_KINDS: Record<string, ReceiverKind> = Object.fromEntries(
  [slack, pagerduty, webhook, email, action].map((r) => [r.kind, r as unknown as ReceiverKind]),
);
