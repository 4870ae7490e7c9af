// `vigil silence …` and `vigil ack …`: written straight to the notifier's compacted topics (the
// same functions its HTTP API uses), so they work whether or not a notifier is running.
import type { KafkaClient as Kafka } from "../chassis/kafka.js";
import { TOPICS } from "../../schemas/topics.js";
import type { Silence } from "../../schemas/types.js";
import { duration } from "../chassis/config.js";
import { createMetrics } from "../chassis/metrics.js";
import { createProducer } from "../chassis/producer.js";
import { acknowledge, addSilence, expireSilence, readAll } from "../notifier/commands.js";
import { SilenceError } from "../notifier/stores.js";

type Values = Record<string, string | boolean | undefined>;

/** The CLI option that carries each field a silence or an acknowledgement is checked for. */
const OPTION_OF_FIELD: Record<string, string> = {
  matchers: "matchers",
  comment: "comment",
  createdBy: "author",
  by: "author",
  endsAt: "duration",
};

const show = (s: Silence, now: number) =>
  `${s.id}  ${s.endsAt <= now ? "expired" : s.startsAt > now ? "pending" : "active "}  until ${new Date(s.endsAt).toISOString()}  ${s.matchers}  by ${s.createdBy}: ${s.comment}`;

async function silences(kafka: Kafka): Promise<Map<string, Silence>> {
  const all = new Map<string, Silence>();
  await readAll(kafka, TOPICS.silences.name, "silence", (s) => {
    const known = all.get(s.id);
    if (!known || known.updatedAt <= s.updatedAt) all.set(s.id, s);
  });
  return all;
}

export async function alertingCommand(
  kafka: Kafka,
  positionals: string[],
  values: Values,
  usage: string,
): Promise<number> {
  const [what, verb, arg] = positionals;
  const now = Date.now();
  const producer = createProducer(kafka, createMetrics("vigil-cli"));
  await producer.connect();
  try {
    if (what === "silence" && verb === "list") {
      const list = [...(await silences(kafka)).values()].filter(
        (s) => values.all || s.endsAt > now,
      );
      for (const s of list.sort((a, b) => a.startsAt - b.startsAt)) console.log(show(s, now));
      console.log(`${list.length} silence(s)`);
      return 0;
    }
    if (what === "silence" && verb === "add") {
      const parsed = duration.safeParse(values.duration ?? "");
      if (!parsed.success) throw new SilenceError(`--duration: ${parsed.error.issues[0]?.message}`);
      const silence = await addSilence(
        producer,
        TOPICS.silences.name,
        {
          matchers: String(values.matchers ?? ""),
          duration: parsed.data,
          createdBy: String(values.author ?? ""),
          comment: String(values.comment ?? ""),
        },
        now,
      );
      console.log(show(silence, now));
      return 0;
    }
    if (what === "silence" && verb === "expire" && arg) {
      const expired = await expireSilence(
        producer,
        TOPICS.silences.name,
        (await silences(kafka)).get(arg),
        now,
      );
      console.log(show(expired, now));
      return 0;
    }
    if (what === "ack" && verb) {
      const ack = await acknowledge(
        producer,
        TOPICS.acks.name,
        {
          fingerprint: verb,
          by: String(values.author ?? ""),
          comment: String(values.comment ?? ""),
        },
        now,
      );
      console.log(
        `acknowledged ${ack.fingerprint} by ${ack.by} at ${new Date(ack.at).toISOString()}`,
      );
      return 0;
    }
    console.error(usage);
    return 2;
  } catch (error) {
    if (!(error instanceof SilenceError)) throw error;
    // Names the CLI option for the field the check named.
    const field = /^(\w+):/.exec(error.message)?.[1] ?? "";
    const option = OPTION_OF_FIELD[field];
    console.error(option ? error.message.replace(`${field}:`, `--${option}:`) : error.message);
    return 2;
  } finally {
    await producer.disconnect();
  }
}
