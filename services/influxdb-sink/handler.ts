// The InfluxDB sink's batch handler: every sample of every record becomes a point; the points
// are written; a record any of whose points the server refused (or that line protocol cannot
// carry) is dead-lettered whole with the reasons, while all its other points are written.
// Non-finite values (Prometheus NaN markers, ±Inf) are skipped and counted, not dead-lettered.
import { REASON_BYTES, reasonsText, truncated } from "../chassis/dead-letter.js";
import { appendTo } from "../chassis/group.js";
import type { MetricBatch } from "../../schemas/types.js";
import type { BatchHandler, InboundRecord, Rejection } from "../chassis/processing-loop.js";
import type { ServiceMetrics } from "../chassis/metrics.js";
import { toLine } from "./line-protocol.js";
import type { LineWriter } from "./writer.js";

export function createInfluxHandler(
  writer: LineWriter,
  metrics: ServiceMetrics,
): BatchHandler<MetricBatch> {
  return async (records) => {
    const lines: string[] = [];
    const owner: number[] = [];
    const problems = new Map<number, string[]>();
    const note = (record: number, reason: string) => appendTo(problems, record, reason);

    records.forEach((record, index) => {
      for (const sample of record.decoded.samples) {
        const result = toLine(sample, "ns");
        if (result.ok) {
          lines.push(result.line);
          owner.push(index);
        } else if (result.droppable) {
          metrics.dropped.inc({ reason: "influx_non_finite_value" });
        } else {
          note(index, `${sample.name}: ${result.reason}`);
        }
      }
    });

    const refused = await writer.write(lines);
    for (const [line, message] of refused)
      note(owner[line]!, `${lines[line]!.slice(0, 200)} → ${truncated(message, REASON_BYTES)}`);

    const rejected: Rejection<MetricBatch>[] = [...problems].map(([index, reasons]) => ({
      record: records[index] as InboundRecord<MetricBatch>,
      stage: "influxdb-sink",
      code: "VGL_SINK_REJECTED",
      message: reasonsText(reasons),
    }));
    return { rejected };
  };
}
