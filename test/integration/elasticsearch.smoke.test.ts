import { afterAll, describe, expect, inject, it } from "vitest";
import { elasticsearchClient, testIndex } from "../support/clients.js";

describe("Elasticsearch smoke", () => {
  const client = elasticsearchClient(inject("servers").elasticsearch);
  const index = testIndex("smoke");

  afterAll(() => client.indices.delete({ index, ignore_unavailable: true }));

  it("bulk-indexes log documents that a search then finds", async () => {
    await client.indices.create({
      index,
      mappings: {
        properties: {
          "@timestamp": { type: "date" },
          host: { type: "keyword" },
          message: { type: "text" },
        },
      },
    });
    const docs = [
      {
        "@timestamp": "2026-11-25T10:00:00Z",
        host: "node-1",
        message: "CUDA error: out of memory on GPU 3",
      },
      {
        "@timestamp": "2026-11-25T10:00:01Z",
        host: "node-2",
        message: "training step 1200 finished",
      },
      { "@timestamp": "2026-11-25T10:00:02Z", host: "node-1", message: "NCCL watchdog timeout" },
    ];
    const bulk = await client.bulk({
      refresh: "wait_for",
      operations: docs.flatMap((doc, i) => [{ create: { _index: index, _id: `doc-${i}` } }, doc]),
    });
    expect(bulk.errors).toBe(false);

    const found = await client.search<{ host: string; message: string }>({
      index,
      query: {
        bool: {
          filter: [{ term: { host: "node-1" } }],
          must: [{ match: { message: "gpu memory" } }],
        },
      },
    });
    expect(found.hits.hits.map((hit) => [hit._id, hit._source?.message])).toEqual([
      ["doc-0", "CUDA error: out of memory on GPU 3"],
    ]);
  });
});
