// The Elasticsearch sink's batch handler: log events (and alerts) become documents; a record any
// of whose documents Elasticsearch refused is dead-lettered whole with the reasons, while its
// other documents are written (a replay of it re-creates nothing: 409 counts as written).
import { reasonsText } from "../chassis/dead-letter.js";
import { appendTo } from "../chassis/group.js";
import type { Alert, LogBatch } from "../../schemas/types.js";
import type { BatchHandler, Rejection } from "../chassis/processing-loop.js";
import type { ServiceMetrics } from "../chassis/metrics.js";
import { alertDocument, logDocument, type Doc, type IndexMode } from "./documents.js";
import type { FieldBudget } from "./field-budget.js";
import type { DocWriter } from "./writer.js";

export type SinkInput = { kind: "logs"; batch: LogBatch } | { kind: "alert"; alert: Alert };

export interface DocumentTargets {
  mode: IndexMode;
  logIndex: string;
  alertIndex: string;
}

export function documentsOf(input: SinkInput, targets: DocumentTargets): Doc[] {
  if (input.kind === "alert") return [alertDocument(input.alert, targets.alertIndex, targets.mode)];
  const seen = new Map<string, number>();
  return input.batch.events.map((event) => {
    const key = JSON.stringify(event);
    const occurrence = seen.get(key) ?? 0;
    seen.set(key, occurrence + 1);
    return logDocument(input.batch.source, event, occurrence, targets.logIndex, targets.mode);
  });
}

/** Moves a log document's attributes beyond the field budget into `attributes_extra`. */
async function keepWithinBudget(
  doc: Doc,
  { fields, metrics }: { fields: FieldBudget; metrics: ServiceMetrics },
): Promise<void> {
  const attributes = doc.body.attributes as Record<string, string>;
  const { mapped, extra } = await fields.split(doc.index, String(doc.body.source), attributes);
  const flattened = Object.keys(extra).length;
  if (flattened === 0) return;
  doc.body.attributes = mapped;
  doc.body.attributes_extra = extra;
  metrics.flattenedAttributes.inc({ index: doc.index }, flattened);
}

export function createElasticsearchHandler(
  writer: DocWriter,
  targets: DocumentTargets,
  budget?: { fields: FieldBudget; metrics: ServiceMetrics },
): BatchHandler<SinkInput> {
  return async (records) => {
    const docs: Doc[] = [];
    const owner: number[] = [];
    for (const [index, record] of records.entries()) {
      for (const doc of documentsOf(record.decoded, targets)) {
        if (budget && record.decoded.kind === "logs") await keepWithinBudget(doc, budget);
        docs.push(doc);
        owner.push(index);
      }
    }
    const refused = await writer.write(docs);
    const reasons = new Map<number, string[]>();
    for (const [at, reason] of refused) appendTo(reasons, owner[at]!, `${docs[at]!.id}: ${reason}`);
    const rejected: Rejection<SinkInput>[] = [...reasons].map(([index, list]) => ({
      record: records[index]!,
      stage: "elasticsearch-sink",
      code: "VGL_SINK_REJECTED",
      message: reasonsText(list),
    }));
    return { rejected };
  };
}
