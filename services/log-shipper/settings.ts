// Configuration of the log shipper, on top of the chassis's.
import { hostname } from "node:os";
import { z } from "zod";
import { TOPICS } from "../../schemas/topics.js";
import { duration } from "../chassis/config.js";
import { baseSettings } from "../chassis/settings.js";

const regex = z.string().transform((source, ctx) => {
  try {
    return new RegExp(source);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: `not a valid regular expression: ${(error as Error).message}`,
    });
    return z.NEVER;
  }
});

const shipper = z.strictObject({
  /** Stable identity of this shipper: its checkpoints and its Kafka transactional id. */
  id: z.string().min(1).default(hostname()),
  /** Globs with wildcards in the file name: /var/log/trainer/*.log */
  paths: z.array(z.string().min(1)).default([]),
  stdin: z.boolean().default(false),
  host: z.string().min(1).default(hostname()),
  service: z.string().default(""),
  multiline: z
    .strictObject({
      /** A record starts at a line matching this; others continue it. */
      start: regex.optional(),
      /** Without `start`: lines matching this continue the previous record. */
      continuation: regex.default(/^(\s|Caused by:|\.\.\. \d+ more)/),
      maxLines: z.number().int().min(1).default(500),
      flushAfter: duration.default(1_000),
    })
    .default({
      continuation: /^(\s|Caused by:|\.\.\. \d+ more)/,
      maxLines: 500,
      flushAfter: 1_000,
    }),
  pollInterval: duration.default(250),
  /** Bytes read per file per poll, and so the memory a poll holds. */
  maxReadBytes: z.number().int().min(1024).default(1_048_576),
  eventsPerRecord: z.number().int().min(1).default(500),
  topic: z.string().min(1).default(TOPICS.logsRaw.name),
  checkpointTopic: z.string().min(1).default(TOPICS.shipperCheckpoints.name),
});

export const shipperSettings = baseSettings.extend({ shipper: shipper.default(shipper.parse({})) });
export type ShipperSettings = z.infer<typeof shipperSettings>;
