import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { chassisFor } from "../../support/services.js";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { decode } from "../../../schemas/codec.js";
import type { MetricBatch } from "../../../schemas/types.js";
import { startService } from "../../../services/chassis/service.js";
import { baseSettings } from "../../../services/chassis/settings.js";
import { startScraper } from "../../../services/prometheus-scrape/main.js";
import { scrapeSettings } from "../../../services/prometheus-scrape/settings.js";
import { kafkaClient } from "../../support/clients.js";
import { createTopics, readTopic, waitFor } from "../../support/kafka.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();

async function serve(
  handler: (respond: (type: string, body: string) => void) => void,
): Promise<Server & { instance: string }> {
  const server = createServer((_req, res) =>
    handler((type, body) => res.writeHead(200, { "content-type": type }).end(body)),
  );
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return Object.assign(server, { instance: `127.0.0.1:${(server.address() as AddressInfo).port}` });
}

describe("Prometheus scrape producer", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it("scrapes Vigil's own /metrics and file-discovered targets, and a slow or broken target delays none of them", async () => {
    const [topic] = await createTopics(admin, 1, "scrapes");
    // A real Vigil service: its /metrics is prom-client's own output.
    const vigil = await startService({
      name: "scraped-service",
      settings: baseSettings.parse({
        ...chassisFor(endpoint),
      }),
    });
    vigil.metrics.deadLetters.inc({ code: "VGL_VALIDATE" }, 3);
    const slow = await serve((respond) =>
      setTimeout(() => respond("text/plain", "late 1\n"), 3_000),
    );
    const broken = await serve((respond) =>
      respond("text/plain; version=0.0.4", "cpu{mode=idle} 1\n"),
    );
    const openmetrics = await serve((respond) =>
      respond(
        "application/openmetrics-text; version=1.0.0",
        readFileSync("test/fixtures/exposition/openmetrics.txt", "utf8"),
      ),
    );
    const vigilInstance = `127.0.0.1:${vigil.http.port}`;
    const sdFile = join(mkdtempSync(join(tmpdir(), "vigil-sd-")), "targets.yaml");
    writeFileSync(sdFile, `- targets: ["${vigilInstance}"]\n  labels: { team: platform }\n`);

    const scraper = await startScraper(
      scrapeSettings.parse({
        ...chassisFor(endpoint),
        scrape: {
          topic,
          refresh: "200ms",
          jobs: [
            {
              name: "vigil",
              interval: "600ms",
              timeout: "500ms",
              targets: [slow.instance, broken.instance],
              fileSd: [sdFile],
            },
          ],
        },
      }),
    );
    const batches = async () =>
      (await readTopic(kafka, topic!)).map((r) => decode("metric-batch", r.value));
    const of = (all: MetricBatch[], instance: string) =>
      all.filter((b) => b.source === `scrape/vigil/${instance}`);
    try {
      await waitFor(
        "the first scrapes",
        async () => of(await batches(), vigilInstance).length >= 1,
      );
      writeFileSync(
        sdFile,
        `- targets: ["${vigilInstance}"]\n  labels: { team: platform }\n- targets: ["${openmetrics.instance}"]\n`,
      );
      await waitFor(
        "the discovered target",
        async () => of(await batches(), openmetrics.instance).length >= 1,
        10_000,
      );
      await new Promise((done) => setTimeout(done, 1_500));
    } finally {
      await scraper.stop();
      await vigil.stop();
      for (const s of [slow, broken, openmetrics]) s.close();
    }

    const all = await batches();
    const value = (batch: MetricBatch | undefined, name: string) =>
      batch?.samples.find((s) => s.name === name)?.value;
    const own = of(all, vigilInstance);
    expect(own.length).toBeGreaterThanOrEqual(3); // scraped on time while the slow target timed out
    expect(own.every((b) => value(b, "up") === 1)).toBe(true);
    const sample = own[0]!.samples.find((s) => s.name === "vigil_dead_letters_total");
    expect(sample).toMatchObject({
      value: 3,
      type: "counter",
      labels: {
        code: "VGL_VALIDATE",
        service: "scraped-service",
        job: "vigil",
        instance: vigilInstance,
        team: "platform",
      },
    });
    expect(
      own[0]!.samples
        .filter((s) => s.name === "vigil_batch_processing_seconds_bucket")
        .every((s) => s.type === "histogram_bucket"),
    ).toBe(true);
    expect(value(own[0], "scrape_samples_scraped")).toBe(own[0]!.samples.length - 4);

    const late = of(all, slow.instance);
    expect(late.length).toBeGreaterThanOrEqual(1);
    expect(late.every((b) => value(b, "up") === 0 && b.samples.length === 4)).toBe(true);
    expect(value(late[0], "scrape_duration_seconds")).toBeGreaterThanOrEqual(0.45);
    expect(
      of(all, broken.instance).every(
        (b) => value(b, "up") === 0 && value(b, "scrape_samples_scraped") === 0,
      ),
    ).toBe(true);

    const discovered = of(all, openmetrics.instance)[0]!;
    expect(value(discovered, "up")).toBe(1);
    expect(discovered.samples.find((s) => s.name === "process_cpu_seconds_total")).toMatchObject({
      timestamp: 1_764_000_001_500,
      startTimestamp: 1_700_000_000_250,
      unit: "seconds",
    });
  }, 60_000);
});
