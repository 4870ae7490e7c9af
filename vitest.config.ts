import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["verbose"],
    env: { KAFKAJS_NO_PARTITIONER_WARNING: "1" },
    projects: [
      {
        test: {
          name: "unit",
          // A test that asserts nothing fails: it could not have caught anything.
          expect: { requireAssertions: true },
          include: [
            "test/unit/**/*.test.ts",
            "pipelines/**/*.test.ts",
            "schemas/**/*.test.ts",
            "services/**/*.test.ts",
            "deploy/**/*.test.ts",
          ],
        },
      },
      {
        test: {
          name: "integration",
          expect: { requireAssertions: true },
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Integration files share real servers; running them one at a time keeps timings honest on 2 cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
