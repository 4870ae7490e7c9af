// Which partition a key belongs to: Kafka's default partitioner (murmur2 of the key's bytes,
// positive, modulo the partition count) — the same answer as the Java client and kafkajs give for
// a keyed record. A stage that writes one record per target partition (the repartition hop) picks
// the partition itself with this, so each group lands where a record keyed by it would.
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (32-bit) of a key's UTF-8 bytes. */
export function murmur2(key: Buffer | string): number {
  const data = typeof key === "string" ? Buffer.from(key) : key;
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2]! << 16;
    if (rest >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of `key` among `partitions`, as Kafka's default partitioner chooses it. */
export const partitionOf = (key: Buffer | string, partitions: number): number =>
  (murmur2(key) & 0x7fffffff) % partitions;
