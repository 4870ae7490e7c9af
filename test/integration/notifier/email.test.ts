// E-mail delivery through nodemailer to a real SMTP server on loopback (smtp-server, the SMTP
// server implementation from nodemailer's authors, speaking the protocol — not a mock of a client).
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../services/chassis/logger.js";
import type { Notification } from "../../../services/notifier/receivers/api.js";
import { RECEIVER_KINDS } from "../../../services/notifier/receivers/registry.js";
import { alert } from "../../support/notifier.js";

interface Mail {
  from: string;
  to: string[];
  raw: string;
  user?: string;
}

describe("e-mail receiver", () => {
  const mails: Mail[] = [];
  let server: SMTPServer;
  let port: number;

  beforeAll(async () => {
    server = new SMTPServer({
      secure: false,
      disabledCommands: ["STARTTLS"],
      authOptional: true,
      onAuth(auth, _session, callback) {
        if (auth.username === "vigil" && auth.password === "smtp-pass")
          callback(null, { user: auth.username });
        else callback(new Error("535 authentication failed"));
      },
      onData(stream, session, callback) {
        let raw = "";
        stream.on("data", (c: Buffer) => (raw += c.toString()));
        stream.on("end", () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            ...(typeof session.user === "string" && { user: session.user }),
          });
          callback();
        });
      },
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  /** The e-mail receiver, logging in with this password (by reference, as configured). */
  function sender(password: string) {
    process.env.VIGIL_TEST_SMTP_PASSWORD = password;
    const spec = RECEIVER_KINDS.email!;
    return spec.create(
      spec.config.parse({
        to: ["oncall@example.com"],
        from: "vigil@example.com",
        smarthost: `127.0.0.1:${port}`,
        auth_username: "vigil",
        auth_password: { env: "VIGIL_TEST_SMTP_PASSWORD" },
        require_tls: false,
      }),
      { logger: createLogger("t", "silent"), now: Date.now },
    );
  }
  const notification: Notification = {
    receiver: "mail",
    groupKey: "0:{}",
    groupId: "fedcba9876543210",
    status: "firing",
    groupLabels: {},
    commonLabels: { alertname: "GpuTemperatureHigh" },
    commonAnnotations: {},
    alerts: [alert("GpuTemperatureHigh", { host: "node-3", gpu: "1" })],
    externalUrl: "http://127.0.0.1:9473",
  };

  it("sends the group as a threaded message with a text and an HTML part, authenticated by a secret reference", async () => {
    await sender("smtp-pass")(notification, AbortSignal.timeout(10_000));
    expect(mails).toHaveLength(1);
    const [mail] = mails as [Mail];
    expect(mail).toMatchObject({
      from: "vigil@example.com",
      to: ["oncall@example.com"],
      user: "vigil",
    });
    expect(mail.raw).toMatch(/^Subject: \[FIRING:1\] GpuTemperatureHigh$/m);
    expect(mail.raw).toMatch(/^References: <vigil-fedcba9876543210@vigil>$/m);
    expect(mail.raw).toContain("Content-Type: text/plain");
    expect(mail.raw).toContain("Content-Type: text/html");
    expect(mail.raw).toContain("GpuTemperatureHigh on node-3");
  });

  it("reports a refused login as a delivery error that retrying will not fix", async () => {
    await expect(sender("wrong")(notification, AbortSignal.timeout(10_000))).rejects.toMatchObject({
      retryable: false,
    });
    expect(mails).toHaveLength(1);
  });
});
