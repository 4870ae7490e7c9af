// Avro against JSON for a realistic metric batch, and one batch record against one record per
// sample — the figures behind carrying a scrape's samples in one Kafka record.
import { decode, encode } from "../schemas/codec.js";
import { bench, opsPerSecond, scrapeBatch } from "./fixtures.js";

export async function codecBench(): Promise<void> {
  const batch = scrapeBatch("gpu-node-17");
  const n = batch.samples.length;
  const avro = encode("metric-batch", batch);
  const json = Buffer.from(JSON.stringify(batch));
  bench("codec_batch_bytes_avro", avro.length, "bytes");
  bench("codec_batch_bytes_json", json.length, "bytes");

  bench("codec_avro_encode", opsPerSecond(() => encode("metric-batch", batch)) * n, "samples/s");
  bench("codec_avro_decode", opsPerSecond(() => decode("metric-batch", avro)) * n, "samples/s");
  bench(
    "codec_json_encode",
    opsPerSecond(() => Buffer.from(JSON.stringify(batch))) * n,
    "samples/s",
  );
  bench("codec_json_decode", opsPerSecond(() => JSON.parse(json.toString())) * n, "samples/s");

  const singles = batch.samples.map((s) => ({ source: batch.source, samples: [s] }));
  const singleBytes = singles.reduce((sum, one) => sum + encode("metric-batch", one).length, 0);
  bench("codec_per_sample_records_bytes", singleBytes, "bytes");
  bench(
    "codec_avro_encode_per_sample_records",
    opsPerSecond(() => singles.forEach((one) => encode("metric-batch", one)), 1000) * n,
    "samples/s",
  );
}
