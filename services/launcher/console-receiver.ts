// The notifier's receiver under `npm start`: a webhook endpoint on loopback that checks the
// signature and prints each notification to the terminal — so a new user sees alerts without
// configuring Slack or PagerDuty.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { signatureVerifier } from "../notifier/receivers/webhook.js";

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export async function startConsoleReceiver(print: (line: string) => void): Promise<{
  url: string;
  secret: string;
  received: () => number;
  close(): Promise<void>;
}> {
  const secret = randomBytes(24).toString("hex");
  const verify = signatureVerifier(secret);
  let count = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const refused = verify(
        header(req.headers["x-vigil-timestamp"]),
        header(req.headers["x-vigil-signature"]),
        body,
      );
      if (refused) {
        res.writeHead(401).end(refused);
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
