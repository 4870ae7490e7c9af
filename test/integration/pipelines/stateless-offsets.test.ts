// A pipeline without state (no changelog) is exactly once too. Its consumer fetches the group's
// committed offsets when it joins, and kafkajs cannot ask for stable ones: a commit still being
// completed then (a broker killed mid-commit, a commit whose answer was lost) is not seen, and the
// consumer hands the stage records the commit already covered. The stage reads the group's offsets
// again when a task opens — after its writer initialised the partition's transactional id, so the
// last commit is complete — and skips those records.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pipelineSettings } from "../../../pipelines/config.js";
import { startPipelines } from "../../../pipelines/service.js";
import { decode } from "../../../schemas/codec.js";
import { kafkaClient, uniqueName } from "../../support/clients.js";
import { createTopics, metricRecord, produceIds, readTopic, waitFor } from "../../support/kafka.js";
import type { Service } from "../../../services/chassis/service.js";
import { chassisFor } from "../../support/services.js";

const endpoint = inject("servers").kafka;
const kafka = kafkaClient(endpoint);
const admin = kafka.admin();

const skippedBy = async (service: Service) =>
  (await service.metrics.dropped.get()).values.find((v) =>
    String(v.labels.reason).endsWith(":already_in_state"),
  )?.value ?? 0;

describe("a pipeline's stage", () => {
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it.each([
    ["without a changelog", false, false],
    ["with a changelog that does not hold it yet", true, false],
    // A batch wholly before what the state covers must leave it there: set back to that batch's
    // end, the next batch (r3, r4) would run a second time.
    ["without a changelog, its first batch wholly covered", false, true],
    ["with a changelog, its first batch wholly covered", true, true],
  ])(
    "skips what its group's last commit covered, though its consumer joined before that commit was visible (%s)",
    async (_, stateful, split) => {
      const [input, output, dlq] = await createTopics(admin, 1, "sl-in", "sl-out", "sl-dlq");
      const name = uniqueName("stateless");
      const groupId = `vigil-pipeline-${name}`;
      // The partition's writer of an earlier owner, half way through its commit: the output of the
      // first 5 records and the offsets they reach, not visible yet when the pipeline joins.
      const earlier = kafka.producer({
        transactionalId: `${groupId}-0`,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await earlier.connect();
      await admin.fetchOffsets({ groupId, topics: [input!] }); // its coordinator found and loaded
      const transaction = await earlier.transaction();
      await transaction.send({
        topic: output!,
        messages: ["r0", "r1", "r2", "r3", "r4"].map(metricRecord),
      });
      await transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic: input!, partitions: [{ partition: 0, offset: "5" }] }],
      });

      const pipeline = await startPipelines(
        pipelineSettings.parse({
          ...chassisFor(endpoint, dlq),
          pipelines: [
            {
              name,
              inputs: [input],
              output,
              stateful,
              processors: [{ validate: { maxAge: "100000h", maxFuture: "24000h" } }],
            },
          ],
        }),
      );
      try {
        await waitFor("the pipeline in its group", async () => {
          const [group] = (await admin.describeGroups([groupId])).groups;
          return group?.state === "Stable" && group.members.length === 1;
        });
        // Its consumer has fetched the group's offsets (none visible) and placed itself at 0.
        await new Promise((done) => setTimeout(done, 2_000));
        await transaction.commit();
        const ids = Array.from({ length: 10 }, (_, i) => `r${i}`);
        if (split) {
          await produceIds(kafka, input!, ids.slice(0, 3));
          await waitFor("the first three skipped", async () => (await skippedBy(pipeline)) === 3);
          await produceIds(kafka, input!, ids.slice(3));
        } else await produceIds(kafka, input!, ids);
        await waitFor(
          "the pipeline through its input",
          async () => {
            const [committed] = await admin.fetchOffsets({ groupId, topics: [input!] });
            return committed!.partitions[0]!.offset === "10";
          },
          60_000,
        );
      } finally {
        await pipeline.stop();
        await earlier.disconnect();
      }
      const out = (await readTopic(kafka, output!)).map(
        (r) => decode("metric-batch", r.value).source,
      );
      expect(out).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
      expect(await skippedBy(pipeline)).toBe(5);
    },
    120_000,
  );
});
