// Targets of a scrape job: its static list plus Prometheus file_sd files, each entry
// { targets: ["host:port"], labels: { … } }, in JSON or YAML.
import { readFileSync, statSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
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

/** The job's targets now; a file_sd file that cannot be read keeps its previous targets. */
export function resolveTargets(
  job: JobSettings,
  previous: Map<string, Target[]> = new Map(),
): { targets: Target[]; fromFiles: Map<string, Target[]>; errors: string[] } {
  const make = (instance: string, labels: Record<string, string>): Target => ({
    job: job.name,
    instance,
    url: `${job.scheme}://${instance}${job.path}`,
    labels: { ...job.labels, ...labels },
  });
  const fromFiles = new Map<string, Target[]>();
  const errors: string[] = [];
  for (const path of job.fileSd) {
    try {
      fromFiles.set(
        path,
        readFileSd(path).flatMap((group) => group.targets.map((t) => make(t, group.labels))),
      );
    } catch (error) {
      errors.push((error as Error).message);
      fromFiles.set(path, previous.get(path) ?? []);
    }
  }
  const all = [...job.targets.map((t) => make(t, {})), ...[...fromFiles.values()].flat()];
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
