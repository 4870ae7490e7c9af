// The notifier's receiver under `npm start`: a webhook endpoint on loopback that checks the
// signature and prints each notification to the terminal — so a new user sees alerts without
// configuring Slack or PagerDuty.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { sign } from "../notifier/receivers/webhook.js";

export async function startConsoleReceiver(print: (line: string) => void): Promise<{
  url: string;
  secret: string;
  received: () => number;
  close(): Promise<void>;
}> {
  const secret = randomBytes(24).toString("hex");
  let count = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const expected = Buffer.from(sign(secret, String(req.headers["x-vigil-timestamp"]), body));
      const given = Buffer.from(String(req.headers["x-vigil-signature"] ?? ""));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res.writeHead(401).end("bad signature");
        return;
      }
      count++;
      const n = JSON.parse(body) as {
        status: string;
        alerts: { status: string; annotations: { summary: string } }[];
      };
      print(
        `[notification] ${n.status.toUpperCase()}: ${n.alerts.map((a) => `${a.status} ${a.annotations.summary}`).join("; ")}`,
      );
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`,
    secret,
    received: () => count,
    close: () => new Promise((done) => server.close(() => done())),
  };
}
