import { Point } from "@influxdata/influxdb-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { influxClient, testDatabase } from "../support/clients.js";

/** InfluxQL over the v1 API: databases are created and dropped there (1.8 has no bucket API). */
async function influxql(url: string, q: string): Promise<void> {
  const response = await fetch(`${url}/query`, {
    method: "POST",
    body: new URLSearchParams({ q }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

describe("InfluxDB smoke", () => {
  const endpoint = inject("servers").influx;
  const database = testDatabase("smoke");

  beforeAll(() => influxql(endpoint.url, `CREATE DATABASE "${database}"`));
  afterAll(() => influxql(endpoint.url, `DROP DATABASE "${database}"`));

  it("writes points through the v2 write API and reads them back with Flux", async () => {
    const client = influxClient(endpoint);
    const write = client.getWriteApi(endpoint.org, `${database}/autogen`, "ms");
    const start = Date.now() - 60_000;
    write.writePoints([
      new Point("gpu")
        .tag("host", "node-1")
        .tag("gpu", "0")
        .floatField("temperature_c", 71.5)
        .timestamp(start),
      new Point("gpu")
        .tag("host", "node-1")
        .tag("gpu", "0")
        .floatField("temperature_c", 73.25)
        .timestamp(start + 10_000),
      new Point("gpu")
        .tag("host", "node-2")
        .tag("gpu", "0")
        .floatField("temperature_c", 64)
        .timestamp(start + 10_000),
    ]);
    await write.close();

    const rows = await client
      .getQueryApi(endpoint.org)
      .collectRows<{ _time: string; _value: number; host: string }>(
        `from(bucket: "${database}/autogen")
        |> range(start: -5m)
        |> filter(fn: (r) => r._measurement == "gpu" and r._field == "temperature_c" and r.host == "node-1")
        |> sort(columns: ["_time"])`,
      );
    expect(rows.map((r) => [Date.parse(r._time), r._value, r.host])).toEqual([
      [start, 71.5, "node-1"],
      [start + 10_000, 73.25, "node-1"],
    ]);
  });
});
