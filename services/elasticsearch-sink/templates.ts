// Index templates with explicit mappings, installed at start: keyword labels and attributes,
// text messages, dates. Unknown top-level fields are refused (dynamic: strict), so a malformed
// document is dead-lettered with Elasticsearch's reason instead of growing the mapping.
import type { Client } from "@elastic/elasticsearch";
import type { IndexMode } from "./documents.js";

const keywordStrings = [
  {
    strings_as_keyword: {
      match_mapping_type: "string",
      mapping: { type: "keyword", ignore_above: 8191 },
    },
  },
];

const LOG_MAPPINGS = {
  dynamic: "strict",
  dynamic_templates: keywordStrings,
  properties: {
    "@timestamp": { type: "date" },
    severity: { type: "keyword" },
    message: { type: "text" },
    service: { type: "keyword" },
    host: { type: "keyword" },
    source: { type: "keyword" },
    attributes: { type: "object", dynamic: true },
    /** Attributes beyond the field budget (field-budget.ts): one field, whatever their keys. */
    attributes_extra: { type: "flattened" },
    trace: { properties: { id: { type: "keyword" } } },
    span: { properties: { id: { type: "keyword" } } },
  },
} as const;

const ALERT_MAPPINGS = {
  dynamic: "strict",
  dynamic_templates: keywordStrings,
  properties: {
    "@timestamp": { type: "date" },
    fingerprint: { type: "keyword" },
    rule: { type: "keyword" },
    severity: { type: "keyword" },
    status: { type: "keyword" },
    labels: { type: "object", dynamic: true },
    summary: { type: "text" },
    description: { type: "text" },
    runbook_url: { type: "keyword" },
    startsAt: { type: "date" },
    endsAt: { type: "date" },
    value: { type: "double" },
    threshold: { type: "double" },
  },
} as const;

/** The attribute keys the log index (or data stream) `index` maps now; none when it is new. */
export async function mappedAttributeKeys(client: Client, index: string): Promise<string[]> {
  const answer = await client.indices.getMapping({
    index,
    ignore_unavailable: true,
    allow_no_indices: true,
  });
  const keys = new Set<string>();
  for (const { mappings } of Object.values(answer)) {
    const attributes = mappings.properties?.attributes as
      { properties?: Record<string, unknown> } | undefined;
    for (const key of Object.keys(attributes?.properties ?? {})) keys.add(key);
  }
  return [...keys];
}

/** Data streams where the server has them (Elasticsearch 7.9+ with the data-streams module). */
export async function resolveMode(client: Client, wanted: "auto" | IndexMode): Promise<IndexMode> {
  if (wanted !== "auto") return wanted;
  try {
    await client.indices.getDataStream({ name: "*" });
    return "data-stream";
  } catch {
    return "dated";
  }
}

export async function installTemplates(
  client: Client,
  mode: IndexMode,
  logIndex: string,
  alertIndex: string,
): Promise<void> {
  for (const [base, mappings] of [
    [logIndex, LOG_MAPPINGS],
    [alertIndex, ALERT_MAPPINGS],
  ] as const) {
    await client.indices.putIndexTemplate({
      name: `${base}-${mode}`,
      index_patterns: [mode === "data-stream" ? base : `${base}-*`],
      priority: 200,
      ...(mode === "data-stream" && { data_stream: {} }),
      template: { mappings: mappings as never },
      _meta: { managed_by: "vigil" },
    });
  }
  // Indices made by an earlier template (today's, or a data stream's current backing index)
  // learn the fields added since; new ones get them from the template.
  await client.indices.putMapping({
    index: mode === "data-stream" ? logIndex : `${logIndex}-*`,
    allow_no_indices: true,
    ignore_unavailable: true,
    properties: { attributes_extra: LOG_MAPPINGS.properties.attributes_extra },
  });
}
