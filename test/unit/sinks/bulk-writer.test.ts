// The per-item policy of the bulk writer, on scripted bulk responses: which items count as
// written, which are retried alone, which come back as refused. (Round trips, replays, mapping
// errors and outages run against the real Elasticsearch in test/integration/sinks.)
import type { Client } from "@elastic/elasticsearch";
import { describe, expect, it } from "vitest";
import { RetryableError } from "../../../services/chassis/errors.js";
import { createMetrics } from "../../../services/chassis/metrics.js";
import type { Doc } from "../../../services/elasticsearch-sink/documents.js";
import { elasticsearchSettings } from "../../../services/elasticsearch-sink/settings.js";
import { bulkChunks, createDocWriter } from "../../../services/elasticsearch-sink/writer.js";

const doc = (id: string): Doc => ({ index: "vigil-logs", id, body: { message: id } });
type Item = { create: { status: number; error?: { type: string; reason: string } } };

/** A bulk endpoint that answers each document by a script keyed by id and attempt. */
function scripted(answer: (id: string, attempt: number) => Item["create"]) {
  const attempts = new Map<string, number>();
  const requests: string[][] = [];
  const client = {
    bulk: async ({ operations }: { operations: unknown[] }) => {
      const ids = operations
        .filter((_, i) => i % 2 === 0)
        .map((op) => (op as { create: { _id: string } }).create._id);
      requests.push(ids);
      return {
        errors: true,
        items: ids.map((id) => {
          const attempt = (attempts.get(id) ?? 0) + 1;
          attempts.set(id, attempt);
          return { create: answer(id, attempt) };
        }),
      };
    },
  } as unknown as Client;
  return { client, requests };
}

const settings = elasticsearchSettings.parse({ itemRetries: 2 });
const noSleep = async () => undefined;

describe("bulk writer", () => {
  it("counts 201 and 409 as written, retries 429 and 5xx items alone, and returns mapping errors", async () => {
    const { client, requests } = scripted((id, attempt) => {
      if (id === "dup") return { status: 409 };
      if (id === "bad")
        return {
          status: 400,
          error: { type: "document_parsing_exception", reason: "failed to parse [@timestamp]" },
        };
      if (id === "busy" && attempt === 1) return { status: 429 };
      if (id === "flaky" && attempt < 3) return { status: 503 };
      return { status: 201 };
    });
    const metrics = createMetrics("es-test");
    const refused = await createDocWriter(client, settings, metrics, noSleep).write(
      ["ok", "dup", "bad", "busy", "flaky"].map(doc),
    );
    expect([...refused]).toEqual([
      [2, "Elasticsearch 400 document_parsing_exception: failed to parse [@timestamp]"],
    ]);
    expect(requests).toEqual([["ok", "dup", "bad", "busy", "flaky"], ["busy", "flaky"], ["flaky"]]);
    expect((await metrics.sinkWritten.get()).values[0]?.value).toBe(4);
  });

  it("makes the batch wait when items keep failing with 429", async () => {
    const { client } = scripted(() => ({ status: 429 }));
    const writer = createDocWriter(client, settings, createMetrics("es-test"), noSleep);
    await expect(writer.write([doc("a")])).rejects.toBeInstanceOf(RetryableError);
  });

  it("bounds bulk requests by documents and by bytes", () => {
    const items = ["a", "b", "c", "d", "e"].map((id) => ({ doc: doc(id) }));
    expect(bulkChunks(items, 2, 1_000_000).map((c) => c.map((i) => i.doc.id))).toEqual([
      ["a", "b"],
      ["c", "d"],
      ["e"],
    ]);
    expect(bulkChunks(items, 100, 140).map((c) => c.length)).toEqual([2, 2, 1]);
  });

  it("refuses index names whose dated indices would overlap", () => {
    expect(() =>
      elasticsearchSettings.parse({ logIndex: "vigil-logs", alertIndex: "vigil-logs-alerts" }),
    ).toThrow(/must not be prefixes/);
  });
});
