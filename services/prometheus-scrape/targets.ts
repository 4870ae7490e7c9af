// Targets of a scrape job: its static list plus Prometheus file_sd files, each entry
// { targets: ["host:port"], labels: { … } }, in JSON or YAML.
import { readFileSync, statSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { relabelLabels } from "../chassis/relabel.js";
import type { JobSettings } from "./settings.js";

export interface Target {
  job: string;
  /** "host:port" */
  instance: string;
  url: string;
  labels: Record<string, string>;
}

const fileSd = z.array(
  z.strictObject({
    targets: z.array(z.string().regex(/^[^\s/]+:\d+$/, 'expected "host:port"')),
    labels: z.record(z.string(), z.string()).default({}),
  }),
);

export function readFileSd(path: string): { targets: string[]; labels: Record<string, string> }[] {
  const parsed = fileSd.safeParse(parseYaml(readFileSync(path, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${path}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * A target as Prometheus makes it: its labels (__address__, __scheme__, __metrics_path__, job,
 * the job's and its group's labels) through the job's relabel_configs; undefined when a rule drops
 * it. `instance` defaults to the address; `__param_<name>` labels become URL parameters; labels
 * starting with "__" are not kept.
 */
export function relabelTarget(
  job: JobSettings,
  address: string,
  groupLabels: Record<string, string>,
): Target | undefined {
  const labels = relabelLabels(job.relabelConfigs, {
    ...job.labels,
    ...groupLabels,
    __address__: address,
    __scheme__: job.scheme,
    __metrics_path__: job.path,
    job: job.name,
  });
  if (!labels?.__address__) return undefined;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(labels))
    if (name.startsWith("__param_")) params.set(name.slice("__param_".length), value);
  const query = params.size > 0 ? `?${params}` : "";
  const kept = Object.fromEntries(Object.entries(labels).filter(([k]) => !k.startsWith("__")));
  const { job: jobName = job.name, instance = labels.__address__, ...rest } = kept;
  return {
    job: jobName,
    instance,
    url: `${labels.__scheme__ ?? job.scheme}://${labels.__address__}${labels.__metrics_path__ ?? job.path}${query}`,
    labels: rest,
  };
}

/** The job's targets now; a file_sd file that cannot be read keeps its previous targets. */
export function resolveTargets(
  job: JobSettings,
  previous: Map<string, Target[]> = new Map(),
): { targets: Target[]; fromFiles: Map<string, Target[]>; errors: string[] } {
  const make = (address: string, labels: Record<string, string>): Target[] => {
    const target = relabelTarget(job, address, labels);
    return target ? [target] : [];
  };
  const fromFiles = new Map<string, Target[]>();
  const errors: string[] = [];
  for (const path of job.fileSd) {
    try {
      fromFiles.set(
        path,
        readFileSd(path).flatMap((group) => group.targets.flatMap((t) => make(t, group.labels))),
      );
    } catch (error) {
      errors.push((error as Error).message);
      fromFiles.set(path, previous.get(path) ?? []);
    }
  }
  const all = [...job.targets.flatMap((t) => make(t, {})), ...[...fromFiles.values()].flat()];
  const unique = new Map(all.map((t) => [t.url, t]));
  return { targets: [...unique.values()], fromFiles, errors };
}

/** Modification times of the job's file_sd files, to notice changes. */
export function fileStamps(job: JobSettings): string {
  return job.fileSd
    .map((path) => {
      try {
        const s = statSync(path);
        return `${path}:${s.mtimeMs}:${s.size}`;
      } catch {
        return `${path}:missing`;
      }
    })
    .join("|");
}
