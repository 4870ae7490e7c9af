// The Prometheus scrape producer: every target of every job on its own timer (so a slow or
// failing target never delays another), each scrape published as one metric batch keyed by the
// target's instance. file_sd files are re-read when they change; targets come and go with them.
import { encode } from "../../schemas/codec.js";
import { loadConfig } from "../chassis/config.js";
import { every } from "../chassis/periodic.js";
import { isMain, runMain, startService, type Service } from "../chassis/service.js";
import { scrapeTarget } from "./scrape.js";
import { scrapeSettings, type JobSettings, type ScrapeSettings } from "./settings.js";
import { fileStamps, resolveTargets, type Target } from "./targets.js";

interface Loop {
  target: Target;
  stop: () => Promise<void>;
}

export async function startScraper(
  settings: ScrapeSettings,
  now: () => number = Date.now,
): Promise<Service> {
  const { scrape } = settings;
  const loops = new Map<string, Loop>();
  let scraped = false;
  const service = await startService({
    name: settings.service ?? "prometheus-scrape",
    settings,
    now,
    ...(scrape.edgeBuffer && { edgeBuffer: scrape.edgeBuffer }),
    notReady: () => (scraped ? undefined : "no scrape published yet"),
  });
  const { logger, metrics, producer } = service;

  function startLoop(job: JobSettings, target: Target): Loop {
    const once = async () => {
      const result = await scrapeTarget(target, job, now);
      if (result.error) {
        metrics.dropped.inc({ reason: "scrape_failed" });
        logger.warn(
          { job: job.name, instance: target.instance, error: result.error },
          "scrape failed; target is down",
        );
      }
      try {
        await producer.send([
          {
            topic: scrape.topic,
            key: target.instance,
            value: encode("metric-batch", {
              source: `scrape/${job.name}/${target.instance}`,
              samples: result.samples,
            }),
          },
        ]);
        scraped = true;
      } catch (error) {
        metrics.dropped.inc({ reason: "scrape_publish_failed" });
        logger.error(
          { err: error, job: job.name, instance: target.instance },
          "publishing a scrape failed",
        );
      }
    };
    return { target, ...every(job.interval, once, now) };
  }

  const fileTargets = new Map<string, Map<string, Target[]>>();
  function reconcile(job: JobSettings): void {
    const { targets, fromFiles, errors } = resolveTargets(job, fileTargets.get(job.name));
    fileTargets.set(job.name, fromFiles);
    for (const error of errors)
      logger.error(
        { job: job.name, error },
        "file_sd file unreadable; keeping its previous targets",
      );
    const wanted = new Map(targets.map((t) => [`${job.name}|${t.url}`, t]));
    for (const [key, loop] of loops) {
      if (key.startsWith(`${job.name}|`) && !wanted.has(key)) {
        loops.delete(key);
        void loop.stop();
        logger.info({ job: job.name, instance: loop.target.instance }, "target removed");
      }
    }
    for (const [key, target] of wanted) {
      if (!loops.has(key)) {
        loops.set(key, startLoop(job, target));
        logger.info({ job: job.name, instance: target.instance }, "target added");
      }
    }
  }

  const stamps = new Map<string, string>();
  for (const job of scrape.jobs) {
    stamps.set(job.name, fileStamps(job));
    reconcile(job);
  }
  const watcher = setInterval(() => {
    for (const job of scrape.jobs) {
      const stamp = fileStamps(job);
      if (stamp !== stamps.get(job.name)) {
        stamps.set(job.name, stamp);
        reconcile(job);
      }
    }
  }, scrape.refresh);

  const stop = service.stop;
  return {
    ...service,
    stop: async () => {
      clearInterval(watcher);
      await Promise.all([...loops.values()].map((loop) => loop.stop()));
      await stop();
    },
  };
}

if (isMain(import.meta.url)) {
  const settings = loadConfig(scrapeSettings);
  await runMain(() => startScraper(settings), settings.shutdown.deadline);
}
