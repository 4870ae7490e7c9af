// npm run test:faults — the tests too slow for `npm test` (a three-node cluster with its leaders
// killed; InfluxDB and Elasticsearch stopped mid-stream; a real Prometheus, minutes to build; the
// whole GPU fleet end to end): run by .ci/run after `npm test`.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["verbose"],
    expect: { requireAssertions: true },
    env: { KAFKAJS_NO_PARTITIONER_WARNING: "1" },
    include: ["test/faults/**/*.test.ts", "test/clients/**/*.test.ts", "test/e2e/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
