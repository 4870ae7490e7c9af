// Metric and label names as Prometheus accepts them without quoting: what every stage may rely
// on. Names from elsewhere (InfluxDB's `cpu-load`, OpenTelemetry's `http.server.duration`, a tag
// key `my-tag`) are made so — invalid characters become "_" — rather than refused.
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A valid metric name for `name`: invalid characters → "_", a leading digit prefixed by "_". */
export function metricNameOf(name: string, lowercase = false): string {
  const replaced = name.replace(/[^a-zA-Z0-9_:]/g, "_");
  const valid = /^[0-9]/.test(replaced) || replaced === "" ? `_${replaced}` : replaced;
  return lowercase ? valid.toLowerCase() : valid;
}

/** A valid label name for `name`: as metricNameOf, and ":" is not allowed either. */
export const labelNameOf = (name: string, lowercase = false): string =>
  metricNameOf(name, lowercase).replace(/:/g, "_");

/**
 * Labels with valid names. Two keys that become one name keep both values, joined by ";" in key
 * order (as Prometheus's OTLP translation does).
 */
export function validLabels(labels: Record<string, string>): Record<string, string> {
  let changed = false;
  for (const key of Object.keys(labels))
    if (!LABEL_NAME.test(key)) {
      changed = true;
      break;
    }
  if (!changed) return labels;
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) {
    const name = labelNameOf(key);
    out[name] = name in out ? `${out[name]};${labels[key]}` : labels[key]!;
  }
  return out;
}
