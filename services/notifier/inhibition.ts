// Inhibition, as Alertmanager's inhibit_rules: a firing alert matching a rule's source mutes the
// firing alerts matching its target that share the values of its `equal` labels. The sources are
// indexed once per tick or API call, so finding what inhibits an alert is a lookup, not a walk
// over every alert.
import type { Alert } from "../../schemas/types.js";
import { compileMatchers, type LabelMatch } from "./matchers.js";
import type { Alerting } from "./settings.js";

interface InhibitRule {
  source: LabelMatch;
  target: LabelMatch;
  equal: string[];
}

/** Per rule, its firing source alerts by the values of its `equal` labels. */
export type InhibitionIndex = Map<string, string[]>[];

export class Inhibitions {
  private readonly rules: InhibitRule[];

  constructor(given: Alerting["inhibit_rules"]) {
    this.rules = given.map((r) => ({
      source: compileMatchers(r.source_matchers),
      target: compileMatchers(r.target_matchers),
      equal: r.equal,
    }));
  }

  index(alerts: Iterable<Alert>): InhibitionIndex {
    const firing = [...alerts].filter((a) => a.status === "firing");
    return this.rules.map((rule) => {
      const sources = new Map<string, string[]>();
      for (const alert of firing) {
        if (!rule.source(alert.labels)) continue;
        const key = JSON.stringify(rule.equal.map((l) => alert.labels[l]));
        sources.set(key, [...(sources.get(key) ?? []), alert.fingerprint]);
      }
      return sources;
    });
  }

  /** Fingerprints of the firing alerts that inhibit `target`. */
  of(target: Alert, index: InhibitionIndex): string[] {
    if (target.status !== "firing") return [];
    const found = new Set<string>();
    this.rules.forEach((rule, i) => {
      if (!rule.target(target.labels)) return;
      const key = JSON.stringify(rule.equal.map((l) => target.labels[l]));
      for (const source of index[i]!.get(key) ?? [])
        if (source !== target.fingerprint) found.add(source);
    });
    return [...found];
  }
}
