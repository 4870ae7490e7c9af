// Where each file was shipped to, kept in a compacted Kafka topic and written in the same
// transaction as the lines it covers: a crash between the two cannot happen, so a restart neither
// loses nor repeats a line. Loaded once at start, reading committed records only.
import type { Kafka, Transaction } from "kafkajs";
import { decode, encode } from "../../schemas/codec.js";
import type { ShipperCheckpoint } from "../../schemas/types.js";

export const checkpointKey = (shipper: string, fileId: string) => `${shipper}|${fileId}`;

export async function loadCheckpoints(
  kafka: Kafka,
  topic: string,
  shipper: string,
): Promise<Map<string, ShipperCheckpoint>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map(
    (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]),
  );
  await admin.disconnect();
  const found = new Map<string, ShipperCheckpoint>();
  const pending = new Set(
    [...ends].filter(([, high]) => high > 0n).map(([partition]) => partition),
  );
  if (pending.size === 0) return found;

  const consumer = kafka.consumer({
    groupId: `vigil-shipper-restore-${shipper}-${Date.now()}`,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    // The last offsets may be transaction markers, which are never delivered: stop at the end or
    // once nothing more comes.
    let idle = setTimeout(resolve, 3_000);
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          clearTimeout(idle);
          for (const message of batch.messages) {
            const checkpoint = decode("shipper-checkpoint", message.value);
            if (checkpoint.shipper === shipper) found.set(checkpoint.fileId, checkpoint);
          }
          if (BigInt(batch.lastOffset()) + 1n >= ends.get(batch.partition)!)
            pending.delete(batch.partition);
          if (pending.size === 0) resolve();
          else idle = setTimeout(resolve, 1_500);
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return found;
}

export async function writeCheckpoint(
  transaction: Transaction,
  topic: string,
  checkpoint: ShipperCheckpoint,
): Promise<void> {
  await transaction.send({
    topic,
    acks: -1,
    messages: [
      {
        key: checkpointKey(checkpoint.shipper, checkpoint.fileId),
        value: encode("shipper-checkpoint", checkpoint),
      },
    ],
  });
}
