import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["verbose"],
    // Integration files mostly wait on the brokers: three at a time fill two cores.
    maxWorkers: 3,
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
          // Files run side by side: each uses topics, groups, databases, indices and ports of its
          // own (uniqueName, port 0), so none sees another's data.
          fileParallelism: true,
        },
      },
    ],
  },
});
