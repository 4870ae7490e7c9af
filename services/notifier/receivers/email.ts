// E-mail through SMTP with nodemailer: a plain-text and an HTML part, the subject the chat title,
// and the group id in a References header so mail clients thread one incident's messages.
import nodemailer from "nodemailer";
import { z } from "zod";
import { readSecret, secretRef } from "../../chassis/settings.js";
import {
  consoleLink,
  DeliveryError,
  defineReceiver,
  firingOf,
  title,
  type Notification,
} from "./api.js";
import { htmlText, lineText, safeUrl } from "./text.js";

const escape = htmlText;
const runbookLink = (url: string | null | undefined) => {
  const safe = safeUrl(url);
  return safe ? ` <a href="${escape(safe)}">runbook</a>` : "";
};

export function emailContent(n: Notification): { subject: string; text: string; html: string } {
  const shown = n.status === "firing" ? firingOf(n) : n.alerts;
  const lines = shown.map(
    (a) =>
      `${a.status.toUpperCase()} ${a.annotations.summary}\n  ${Object.entries(a.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}${a.annotations.runbook_url ? `\n  runbook: ${a.annotations.runbook_url}` : ""}`,
  );
  const text = `${title(n)}\n\n${lines.join("\n\n")}\n\n${consoleLink(n)}\n`;
  const html = `<h2>${escape(title(n))}</h2><ul>${shown
    .map(
      (a) =>
        `<li><b>${escape(a.annotations.summary)}</b><br><code>${escape(
          Object.entries(a.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(" "),
        )}</code>${runbookLink(a.annotations.runbook_url)}</li>`,
    )
    .join("")}</ul><p><a href="${escape(consoleLink(n))}">Open in Vigil</a></p>`;
  return { subject: lineText(title(n), 200), text, html };
}

export const email = defineReceiver({
  kind: "email",
  config: z.strictObject({
    to: z.array(z.email()).min(1),
    from: z.email(),
    /** host:port of the SMTP server. */
    smarthost: z.string().regex(/^[^:]+:\d+$/, "expected host:port"),
    auth_username: z.string().optional(),
    auth_password: secretRef.optional(),
    /** STARTTLS required (true), or plain SMTP allowed (false: local relays, tests). */
    require_tls: z.boolean().default(true),
  }),
  create(config) {
    const [host, port] = config.smarthost.split(":");
    const transport = nodemailer.createTransport({
      host,
      port: Number(port),
      secure: false,
      requireTLS: config.require_tls,
      ignoreTLS: !config.require_tls,
      ...(config.auth_username &&
        config.auth_password && {
          auth: { user: config.auth_username, pass: readSecret(config.auth_password) },
        }),
    });
    return async (n) => {
      const content = emailContent(n);
      try {
        await transport.sendMail({
          from: config.from,
          to: config.to,
          ...content,
          messageId: undefined,
          references: `<vigil-${n.groupId}@vigil>`,
          headers: { "X-Vigil-Group": n.groupId, "X-Vigil-Status": n.status },
        });
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode;
        // 5xx SMTP replies are permanent; connection trouble and 4xx are worth retrying.
        throw new DeliveryError(
          `SMTP ${config.smarthost}: ${(error as Error).message}`,
          !(code && code >= 500),
        );
      }
    };
  },
});
