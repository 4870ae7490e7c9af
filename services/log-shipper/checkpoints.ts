// Where each file was shipped to, kept in a compacted Kafka topic and written in the same
// transaction as the lines it covers: a crash between the two cannot happen, so a restart neither
// loses nor repeats a line. Loaded once at start, reading committed records only.
import type { KafkaClient as Kafka } from "../chassis/kafka.js";
import type { OutboundRecord } from "../chassis/producer.js";
import { decode, encode } from "../../schemas/codec.js";
import type { ShipperCheckpoint } from "../../schemas/types.js";
import { latestByKey } from "../chassis/read-to-end.js";

export const checkpointKey = (shipper: string, fileId: string) => `${shipper}|${fileId}`;

export async function loadCheckpoints(
  kafka: Kafka,
  topic: string,
  shipper: string,
): Promise<Map<string, ShipperCheckpoint>> {
  const found = new Map<string, ShipperCheckpoint>();
  const latest = await latestByKey(kafka, topic, {
    group: `vigil-shipper-restore-${shipper}`,
    // Shippers of other hosts write this topic in transactions too: one killed with a
    // transaction open holds every reader until the broker aborts it (the transaction timeout,
    // 60 s). Wait that out: a read that stopped short of our own last checkpoint ships twice.
    stallMs: 90_000,
  });
  for (const value of latest.values()) {
    const checkpoint = decode("shipper-checkpoint", value);
    if (checkpoint.shipper === shipper) found.set(checkpoint.fileId, checkpoint);
  }
  return found;
}

/** The checkpoint's record, committed in the same transaction as the lines it covers. */
export function checkpointRecord(topic: string, checkpoint: ShipperCheckpoint): OutboundRecord {
  return {
    topic,
    key: checkpointKey(checkpoint.shipper, checkpoint.fileId),
    value: encode("shipper-checkpoint", checkpoint),
  };
}
