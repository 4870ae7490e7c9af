import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { murmur2, partitionOf } from "../../../services/chassis/partition.js";

const require = createRequire(import.meta.url);
// The reference: kafkajs's own port of the Java client's murmur2 (test support may reach in).
const reference = require("kafkajs/src/producer/partitioners/default/murmur2.js") as (
  key: Buffer | string,
) => number;

describe("the default partitioner", () => {
  it("hashes every key as Kafka's murmur2 does, for keys of every length and byte", () => {
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
    for (let n = 0; n < 2_000; n += 1) {
      const key = Buffer.from(Array.from({ length: n % 67 }, () => Math.floor(random() * 256)));
      expect(murmur2(key)).toBe(reference(key));
    }
    for (const key of ["", "a", "ab", "abc", "abcd", 'cpu{host="h1"}', "ünïcödé"])
      expect(murmur2(key)).toBe(reference(key));
  });

  it("places a key on the partition a keyed record of it goes to", () => {
    // kafkajs 2 (its DefaultPartitioner, the Java client's) puts a keyed record there.
    const positive = (reference("h17") & 0x7fffffff) % 6;
    expect(partitionOf("h17", 6)).toBe(positive);
    for (let p = 1; p <= 12; p += 1) expect(partitionOf("series", p)).toBeLessThan(p);
  });
});
