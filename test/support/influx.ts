// Real InfluxDB helpers: a database per test, and every point in it read back with Flux.
import { influxClient, testDatabase } from "./clients.js";
import type { InfluxEndpoint } from "./servers.js";

export async function influxql(endpoint: InfluxEndpoint, q: string, db?: string): Promise<unknown> {
  const response = await fetch(
    `${endpoint.url}/query${db ? `?db=${encodeURIComponent(db)}` : ""}`,
    {
      method: "POST",
      body: new URLSearchParams({ q }),
    },
  );
  if (!response.ok) throw new Error(`InfluxQL ${q}: ${response.status} ${await response.text()}`);
  return response.json();
}

export async function createDatabase(endpoint: InfluxEndpoint): Promise<string> {
  const db = testDatabase("db");
  await influxql(endpoint, `CREATE DATABASE "${db}"`);
  return db;
}

export interface StoredPoint {
  measurement: string;
  tags: Record<string, string>;
  value: number;
  time: number;
}

const META = new Set([
  "result",
  "table",
  "_start",
  "_stop",
  "_time",
  "_value",
  "_field",
  "_measurement",
]);

/** Every point of field `value` in the database, sorted for comparison. */
export async function readPoints(endpoint: InfluxEndpoint, db: string): Promise<StoredPoint[]> {
  const rows = await influxClient(endpoint)
    .getQueryApi(endpoint.org)
    .collectRows<Record<string, unknown>>(
      `from(bucket: "${db}/autogen") |> range(start: 2000-01-01T00:00:00Z) |> filter(fn: (r) => r._field == "value")`,
    );
  return rows
    .map((row) => ({
      measurement: String(row._measurement),
      tags: Object.fromEntries(
        Object.entries(row)
          .filter(([k, v]) => !META.has(k) && v !== "" && v !== undefined)
          .map(([k, v]) => [k, String(v)]),
      ),
      value: Number(row._value),
      time: Date.parse(String(row._time)),
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
