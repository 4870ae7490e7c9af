// One scrape of one target: fetch with a timeout (and the job's auth and TLS), parse, label,
// relabel, hold to the job's limits, and add the series Prometheus adds itself — up,
// scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling.
import type { MetricSample } from "../../schemas/types.js";
import { parseExposition, type Format } from "./exposition.js";
import { relabelLabels } from "../chassis/relabel.js";
import { clientOptions, fetchPage, type Page } from "./fetch.js";
import type { JobSettings } from "./settings.js";
import type { Target } from "./targets.js";

const ACCEPT =
  "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

export interface ScrapeResult {
  samples: MetricSample[];
  /** Why the target counts as down, when it does. */
  error?: string;
}

/**
 * The target's labels over the scraped ones (honor_labels: false: clashing scraped labels become
 * exported_*), or the scraped ones over the target's (honor_labels: true).
 */
function withTargetLabels(
  scraped: Record<string, string>,
  target: Record<string, string>,
  honor: boolean,
): Record<string, string> {
  if (honor) return { ...target, ...scraped };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(scraped))
    out[key in target ? `exported_${key}` : key] = value;
  return { ...out, ...target };
}

type ScrapeJob = Pick<
  JobSettings,
  | "timeout"
  | "honorLabels"
  | "metricRelabelConfigs"
  | "sampleLimit"
  | "labelLimit"
  | "bodySizeLimit"
  | "auth"
  | "tls"
>;

/** The samples of a page, labelled and relabelled; throws when a limit is passed. */
function samplesOf(
  page: Page,
  job: ScrapeJob,
  targetLabels: Record<string, string>,
  started: number,
): { samples: MetricSample[]; scraped: number } {
  const format: Format = page.contentType.includes("openmetrics") ? "openmetrics" : "prometheus";
  const parsed = parseExposition(page.body, format);
  const samples: MetricSample[] = [];
  for (const s of parsed) {
    let name = s.name;
    let labels = withTargetLabels(s.labels, targetLabels, job.honorLabels);
    if (job.metricRelabelConfigs.length > 0) {
      const relabelled = relabelLabels(job.metricRelabelConfigs, { ...labels, __name__: name });
      if (!relabelled?.__name__) continue;
      const { __name__, ...rest } = relabelled;
      name = __name__;
      labels = Object.fromEntries(Object.entries(rest).filter(([k]) => !k.startsWith("__")));
    }
    if (job.labelLimit > 0 && Object.keys(labels).length > job.labelLimit)
      throw new Error(
        `label_limit exceeded: ${name} has ${Object.keys(labels).length} labels, more than ${job.labelLimit}`,
      );
    samples.push({
      name,
      value: s.value,
      timestamp: s.timestamp ?? started,
      labels,
      type: s.type,
      unit: s.unit,
      startTimestamp: s.created ?? null,
    });
    if (job.sampleLimit > 0 && samples.length > job.sampleLimit)
      throw new Error(`sample_limit exceeded: more than ${job.sampleLimit} samples`);
  }
  return { samples, scraped: parsed.length };
}

/**
 * One scrape. A page that cannot be fetched or read, or that passes a limit, fails the scrape
 * whole, as in Prometheus: no sample of it is kept and `up` is 0.
 */
export async function scrapeTarget(
  target: Target,
  job: ScrapeJob,
  now: () => number = Date.now,
): Promise<ScrapeResult> {
  const started = now();
  const targetLabels = { ...target.labels, job: target.job, instance: target.instance };
  let samples: MetricSample[] = [];
  let scraped = 0;
  let error: string | undefined;
  try {
    const { headers, tls } = clientOptions(job);
    const page = await fetchPage(target.url, {
      headers: { accept: ACCEPT, ...headers },
      tls,
      timeoutMs: job.timeout,
      limit: job.bodySizeLimit,
    });
    if (page.status < 200 || page.status > 299) throw new Error(`HTTP ${page.status}`);
    ({ samples, scraped } = samplesOf(page, job, targetLabels, started));
  } catch (failure) {
    error = `${target.url}: ${(failure as Error).message}`;
    samples = [];
  }
  const synthetic = (name: string, value: number, unit = ""): MetricSample => ({
    name,
    value,
    timestamp: started,
    labels: targetLabels,
    type: "gauge",
    unit,
    startTimestamp: null,
  });
  return {
    samples: [
      ...samples,
      synthetic("up", error ? 0 : 1),
      synthetic("scrape_duration_seconds", (now() - started) / 1000, "seconds"),
      synthetic("scrape_samples_scraped", scraped),
      synthetic("scrape_samples_post_metric_relabeling", samples.length),
    ],
    ...(error && { error }),
  };
}
