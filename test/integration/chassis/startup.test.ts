import { describe, expect, inject, it } from "vitest";
import { spawnService } from "../../support/kafka.js";

describe("service start-up", () => {
  it("refuses to start on a bad configuration, with a message naming the key", async () => {
    const service = spawnService("test/fixtures/relay-service.ts", inject("servers").kafka, {
      VIGIL__CONSUMER__GROUP_ID: "g",
      VIGIL__CONSUMER__TOPICS: "[t]",
      VIGIL__CONSUMER__CONCURENCY: "4",
      RELAY_OUTPUT: "out",
    });
    expect(await service.exited).not.toBe(0);
    expect(service.stderr()).toContain(
      "consumer.concurency (from VIGIL__CONSUMER__CONCURENCY): unknown key",
    );
  });
});
