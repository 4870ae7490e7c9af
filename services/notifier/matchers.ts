// Label matchers as Alertmanager writes them — ['severity="critical"', 'host=~gpu-.*',
// '{owner="team-A"}'] — in the one grammar of chassis/label-matchers (also the inside of a
// detector selector). Each list entry may hold several matchers; all of them must hold.
import {
  compileMatcherSet,
  MatcherSyntaxError,
  parseMatchers,
  type LabelMatch,
  type Matcher,
} from "../chassis/label-matchers.js";

export type { LabelMatch } from "../chassis/label-matchers.js";

export class MatcherError extends Error {
  override name = "MatcherError";
}

/** The matchers of a list of entries (or of one string); throws a MatcherError saying why not. */
export function readMatchers(matchers: string[] | string): Matcher[] {
  const list = Array.isArray(matchers) ? matchers : [matchers];
  return list.flatMap((entry, i) => {
    try {
      return parseMatchers(entry);
    } catch (error) {
      if (!(error instanceof MatcherSyntaxError)) throw error;
      throw new MatcherError(
        `${list.length > 1 ? `[${i}] ` : ""}${JSON.stringify(entry)}: ${error.message}`,
      );
    }
  });
}

/** Matchers given as a list of `label op value` strings, or as one `{…}` string. */
export function compileMatchers(matchers: string[] | string): LabelMatch {
  return compileMatcherSet(readMatchers(matchers));
}

/** A zod-friendly check: undefined when fine, else why not. */
export function matcherProblem(matchers: string[] | string): string | undefined {
  try {
    compileMatchers(matchers);
    return undefined;
  } catch (error) {
    if (error instanceof MatcherError) return error.message;
    throw error;
  }
}
