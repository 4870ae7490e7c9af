// Label matchers as Alertmanager writes them — ['severity="critical"', 'host=~"gpu-.*"'] — read
// with the detector's selector parser, so both speak one syntax (= != =~ !~, anchored regexes).
import { parseSelector, SelectorError } from "../detector/rules/selector.js";

export type LabelMatch = (labels: Record<string, string>) => boolean;

export class MatcherError extends Error {}

/** Matchers given as a list of `label op "value"` strings, or as one `{…}` string. */
export function compileMatchers(matchers: string[] | string): LabelMatch {
  const text = Array.isArray(matchers) ? `{${matchers.join(",")}}` : matchers;
  if (text.trim() === "{}") return () => true;
  try {
    const selector = parseSelector(text.trim().startsWith("{") ? text : `{${text}}`);
    return (labels) => selector.matches({ name: "", labels });
  } catch (error) {
    if (error instanceof SelectorError) throw new MatcherError(error.message);
    throw error;
  }
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
