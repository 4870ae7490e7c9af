// Vigil's services through the local stack's SASL_SSL listener: SCRAM-SHA-512 over TLS, the broker
// certificate checked against the CA given by secret reference (keytool made both at
// provisioning). A producing service (HTTP ingest) and a consuming one (a pipeline) carry samples
// end to end; a wrong password stops a service at start with a clear error, the password nowhere.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pipelineSettings } from "../../../pipelines/config.js";
import { startPipelines } from "../../../pipelines/service.js";
import { decode } from "../../../schemas/codec.js";
import { startIngest } from "../../../services/http-ingest/main.js";
import { ingestSettings } from "../../../services/http-ingest/settings.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { createTopics, readTopic, spawnService, waitFor } from "../../support/kafka.js";
import { chassisFor } from "../../support/services.js";

const endpoint = inject("servers").kafka;
const secure = endpoint.secure;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();

describe.runIf(secure)("Kafka over SASL_SSL", () => {
  const password = () => readFileSync(secure!.passwordFile, "utf8").trim();
  const secured = (passwordEnv: string) => ({
    brokers: secure!.brokers,
    tls: { ca: { file: secure!.caFile }, servername: "localhost" },
    sasl: {
      mechanism: "scram-sha-512",
      username: secure!.username,
      password: { env: passwordEnv },
    },
  });
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("carries samples from a producing to a consuming service, each authenticated and encrypted", async () => {
    const [metrics, output] = await createTopics(admin, 2, "sasl-in", "sasl-out");
    process.env.VIGIL_TEST_SCRAM_PASSWORD = password();
    process.env.VIGIL_TEST_SASL_INGEST = "sasl-ingest-token";
    const ingest = await startIngest(
      ingestSettings.parse({
        ...chassisFor(endpoint),
        kafka: secured("VIGIL_TEST_SCRAM_PASSWORD"),
        ingest: { port: 0, token: { env: "VIGIL_TEST_SASL_INGEST" }, metricsTopic: metrics },
      }),
    );
    const name = uniqueName("sasl");
    const pipelines = await startPipelines(
      pipelineSettings.parse({
        ...chassisFor(endpoint),
        kafka: secured("VIGIL_TEST_SCRAM_PASSWORD"),
        pipelines: [{ name, inputs: [metrics], output, processors: [{ validate: {} }] }],
      }),
    );
    try {
      const now = Date.now();
      const response = await fetch(`http://127.0.0.1:${ingest.ingestPort}/write?precision=ms`, {
        method: "POST",
        body: [1, 2, 3].map((v) => `gpu_util,host=node-${v} value=${v} ${now}`).join("\n"),
        headers: { authorization: "Token sasl-ingest-token" },
      });
      expect(response.status).toBe(204);
      await waitFor(
        "the samples through the pipeline",
        async () => {
          const out = (await readTopic(kafka, output!)).flatMap(
            (r) => decode("metric-batch", r.value).samples,
          );
          return out.length === 3;
        },
        60_000,
      );
    } finally {
      await pipelines.stop();
      await ingest.stop();
    }
  }, 120_000);

  it("stops a service given a wrong password with a clear error that holds no secret", async () => {
    const wrong = `Wr0ng-${uniqueName("pw")}`;
    const real = password();
    const child = spawnService("services/log-pipeline/main.ts", endpoint, {
      VIGIL__KAFKA__BROKERS: secure!.brokers.join(","),
      VIGIL__KAFKA__TLS__CA__FILE: secure!.caFile,
      VIGIL__KAFKA__TLS__SERVERNAME: "localhost",
      VIGIL__KAFKA__SASL__MECHANISM: "scram-sha-512",
      VIGIL__KAFKA__SASL__USERNAME: secure!.username,
      VIGIL__KAFKA__SASL__PASSWORD__ENV: "VIGIL_SCRAM_PASSWORD",
      VIGIL_SCRAM_PASSWORD: wrong,
    });
    let out = "";
    child.child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    const code = await child.exited;
    const all = out + child.stderr();
    expect(code).not.toBe(0);
    expect(all).toMatch(/SASL SCRAM SHA512 authentication failed/i);
    expect(all).not.toContain(wrong);
    expect(all).not.toContain(real);
  }, 60_000);
});
