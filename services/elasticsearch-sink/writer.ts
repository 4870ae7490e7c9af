// Writes documents with the bulk API (op_type create), in requests bounded by documents and
// bytes, and reads every item's result: created or 409 (already there: a replay) count as
// written; 429 and 5xx items are retried alone with backoff, and if they keep failing the whole
// batch waits (RetryableError); any other refusal (mapping or parse error) comes back with
// Elasticsearch's reason, for the dead-letter topic.
import { Client, errors } from "@elastic/elasticsearch";
import { RetryableError } from "../chassis/errors.js";
import type { ServiceMetrics } from "../chassis/metrics.js";
import { readSecret } from "../chassis/settings.js";
import type { Doc } from "./documents.js";
import type { ElasticsearchSettings } from "./settings.js";

export interface DocWriter {
  /** Writes every document it can; returns the index and reason of each refused document. */
  write(docs: Doc[]): Promise<Map<number, string>>;
}

const STORE = "elasticsearch";
const realSleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export function createClient(settings: ElasticsearchSettings): Client {
  const auth = settings.apiKey
    ? { apiKey: readSecret(settings.apiKey) }
    : settings.username && settings.password
      ? { username: settings.username, password: readSecret(settings.password) }
      : undefined;
  // Retries are ours (per item, then the consumer's); the client's would re-send whole bulks.
  return new Client({
    node: settings.url,
    ...(auth && { auth }),
    maxRetries: 0,
    requestTimeout: settings.timeout,
    compression: true,
  });
}

/** Consecutive runs of documents within the request bounds (bytes as serialised JSON). */
export function bulkChunks<T extends { doc: Doc }>(
  items: T[],
  maxDocs: number,
  maxBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const { doc } = item;
    const size =
      Buffer.byteLength(JSON.stringify(doc.body)) + doc.index.length + doc.id.length + 40;
    if (current.length > 0 && (current.length >= maxDocs || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Item errors that no document causes: a missing index (auto-creation off), a missing privilege,
 * a read-only block. Retried with the batch, never dead-lettered.
 */
const CONFIGURATION_FAULTS = new Set([
  "index_not_found_exception",
  "security_exception",
  "cluster_block_exception",
]);

function unavailable(error: unknown): RetryableError {
  const status = error instanceof errors.ResponseError ? error.statusCode : undefined;
  const retryAfter =
    error instanceof errors.ResponseError ? Number(error.headers?.["retry-after"]) * 1000 : NaN;
  return new RetryableError(
    `Elasticsearch bulk request failed${status ? ` (${status})` : ""}: ${(error as Error).message}`,
    Number.isFinite(retryAfter) ? retryAfter : undefined,
  );
}

export function createDocWriter(
  client: Client,
  settings: ElasticsearchSettings,
  metrics: ServiceMetrics,
  sleep: (ms: number) => Promise<void> = realSleep,
): DocWriter {
  async function bulk(
    docs: { doc: Doc; at: number }[],
    refused: Map<number, string>,
  ): Promise<{ doc: Doc; at: number }[]> {
    const timer = metrics.sinkRequests.startTimer({ store: STORE });
    let response;
    try {
      response = await client.bulk({
        operations: docs.flatMap(({ doc }) => [
          { create: { _index: doc.index, _id: doc.id } },
          doc.body,
        ]),
      });
    } catch (error) {
      timer({ outcome: "retry" });
      throw unavailable(error);
    }
    const again: { doc: Doc; at: number }[] = [];
    let fault: { type: string; reason?: string | null } | undefined;
    let written = 0;
    response.items.forEach((item, i) => {
      const result = item.create!;
      const status = result.status;
      if (status === 200 || status === 201 || status === 409) written += 1;
      else if (status === 429 || status >= 500) again.push(docs[i]!);
      else if (CONFIGURATION_FAULTS.has(result.error?.type ?? "")) fault ??= result.error!;
      else {
        refused.set(
          docs[i]!.at,
          `Elasticsearch ${status} ${result.error?.type ?? "error"}: ${result.error?.reason ?? "no reason given"}`,
        );
        metrics.sinkRejected.inc({ store: STORE });
      }
    });
    metrics.sinkWritten.inc({ store: STORE }, written);
    if (fault) {
      // Not the document's fault: the whole batch waits (the written ones answer 409 next time).
      timer({ outcome: "retry" });
      throw new RetryableError(
        `Elasticsearch configuration fault: ${fault.type}: ${fault.reason ?? "no reason given"}`,
      );
    }
    timer({ outcome: again.length > 0 ? "retry" : refused.size > 0 ? "rejected" : "ok" });
    return again;
  }

  return {
    async write(docs) {
      const refused = new Map<number, string>();
      const indexed = docs.map((doc, at) => ({ doc, at }));
      for (const chunk of bulkChunks(indexed, settings.maxDocs, settings.maxBytes)) {
        let pending = chunk;
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt > settings.itemRetries) {
            throw new RetryableError(
              `Elasticsearch kept refusing ${pending.length} document(s) with 429/5xx`,
            );
          }
          if (attempt > 0) await sleep(Math.min(100 * 2 ** attempt, 5_000));
          pending = await bulk(pending, refused);
        }
      }
      return refused;
    },
  };
}
