// Regular expressions that users and labels supply — silences, routes, inhibit rules, rule
// selectors, relabelling — run on RE2 (re2js, a pure-JavaScript port of Go's regexp): matching is
// linear in the input, so `(a+)+b` against 34 `a`s answers in microseconds, where JavaScript's
// backtracking engine spends minutes. It is also the dialect of the configurations users bring:
// Prometheus and Alertmanager compile every label regex as Go's RE2, fully anchored and dot-all
// (`^(?s:…)$`), so `.` matches a newline, and lookaheads or backreferences are refused, not run.
import { RE2JS } from "re2js";

export interface LabelRegex {
  /** The regex as written (unanchored). */
  readonly source: string;
  /** Whether the whole of `value` matches. */
  test(value: string): boolean;
  /** The groups of a whole-value match (index 0: the value; named groups in `groups`), or null. */
  exec(value: string): RegExpExecArray | null;
}

export class LabelRegexError extends Error {
  override name = "LabelRegexError";
}

// Compiled once per distinct source (rules hold few); bounded, since silences come from anyone
// allowed to post one.
const cache = new Map<string, LabelRegex>();
const CACHE_SIZE = 10_000;

/** Compiles `source` with Prometheus's semantics; throws LabelRegexError saying why not. */
export function labelRegex(source: string): LabelRegex {
  let found = cache.get(source);
  if (found) return found;
  let re: RE2JS;
  try {
    re = RE2JS.compile(`^(?s:${source})$`);
  } catch (error) {
    throw new LabelRegexError((error as Error).message);
  }
  found = {
    source,
    test: (value) => re.testExact(value),
    exec: (value) => re.exec(value) as RegExpExecArray | null,
  };
  if (cache.size >= CACHE_SIZE) cache.clear();
  cache.set(source, found);
  return found;
}

/** Why `source` is not a valid label regex, or undefined when it is. */
export function labelRegexProblem(source: string): string | undefined {
  try {
    labelRegex(source);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
