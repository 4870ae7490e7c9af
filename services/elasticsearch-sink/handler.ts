// The Elasticsearch sink's batch handler: log events (and alerts) become documents; a record any
// of whose documents Elasticsearch refused is dead-lettered whole with the reasons, while its
// other documents are written (a replay of it re-creates nothing: 409 counts as written).
import { reasonsText } from "../chassis/dead-letter.js";
import { appendTo } from "../chassis/group.js";
import type { Alert, LogBatch } from "../../schemas/types.js";
import type { BatchHandler, Rejection } from "../chassis/consumer.js";
import { alertDocument, logDocument, type Doc, type IndexMode } from "./documents.js";
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

export function createElasticsearchHandler(
  writer: DocWriter,
  targets: DocumentTargets,
): BatchHandler<SinkInput> {
  return async (records) => {
    const docs: Doc[] = [];
    const owner: number[] = [];
    records.forEach((record, index) => {
      for (const doc of documentsOf(record.decoded, targets)) {
        docs.push(doc);
        owner.push(index);
      }
    });
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
