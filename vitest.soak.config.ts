// npm run test:soak — the exactly-once soak (test/soak): rounds of scale-out, kill -9 and
// scale-in of the pipeline and the detector, with a broker restart, against the local stack.
// Bounded (VIGIL_SOAK_ROUNDS, 20 by default), loopback only; run by .ci/run after npm test.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["verbose"],
    env: { KAFKAJS_NO_PARTITIONER_WARNING: "1" },
    expect: { requireAssertions: true },
    include: ["test/soak/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 1_500_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
