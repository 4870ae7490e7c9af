// One scrape of one target: fetch with a timeout, parse, label, and add the series Prometheus
// adds itself — up, scrape_duration_seconds, scrape_samples_scraped.
import type { MetricSample } from "../../schemas/types.js";
import { parseExposition, type Format } from "./exposition.js";
import type { Target } from "./targets.js";

const ACCEPT =
  "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

export interface ScrapeResult {
  samples: MetricSample[];
  /** Why the target counts as down, when it does. */
  error?: string;
}

/** Target labels win over scraped ones (honor_labels: false): clashing ones become exported_*. */
function withTargetLabels(
  scraped: Record<string, string>,
  target: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(scraped))
    out[key in target ? `exported_${key}` : key] = value;
  return { ...out, ...target };
}

export async function scrapeTarget(
  target: Target,
  timeoutMs: number,
  now: () => number = Date.now,
): Promise<ScrapeResult> {
  const started = now();
  const targetLabels = { ...target.labels, job: target.job, instance: target.instance };
  let samples: MetricSample[] = [];
  let error: string | undefined;
  try {
    const response = await fetch(target.url, {
      headers: { accept: ACCEPT },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const format: Format = (response.headers.get("content-type") ?? "").includes("openmetrics")
      ? "openmetrics"
      : "prometheus";
    samples = parseExposition(body, format).map((s) => ({
      name: s.name,
      value: s.value,
      timestamp: s.timestamp ?? started,
      labels: withTargetLabels(s.labels, targetLabels),
      type: s.type,
      unit: s.unit,
      startTimestamp: s.created ?? null,
    }));
  } catch (failure) {
    const reason =
      (failure as Error).name === "TimeoutError"
        ? `timed out after ${timeoutMs}ms`
        : (failure as Error).message;
    error = `${target.url}: ${reason}`;
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
      synthetic("scrape_samples_scraped", samples.length),
    ],
    ...(error && { error }),
  };
}
