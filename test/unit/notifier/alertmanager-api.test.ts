import { describe, expect, it } from "vitest";
import { alertFromPost, labelsFingerprint } from "../../../services/notifier/alertmanager-api.js";

const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);

describe("alerts posted to /api/v2/alerts", () => {
  it("are fingerprinted as Alertmanager fingerprints a label set", () => {
    // prometheus/common model TestMetricToFingerprint
    expect(labelsFingerprint({})).toBe(14695981039346656037n.toString(16));
    expect(labelsFingerprint({ name: "garland, briggs", fear: "love is not enough" })).toBe(
      5799056148416392346n.toString(16).padStart(16, "0"),
    );
  });

  it("keep every annotation and the generator URL, and fire until endsAt", () => {
    const a = alertFromPost(
      {
        labels: { alertname: "GpuXid79", severity: "critical" },
        annotations: {
          summary: "fell off the bus",
          runbook_url: "https://r",
          dashboard: "https://d",
        },
        startsAt: "2026-11-29T11:59:00Z",
        endsAt: "2026-11-29T12:04:00Z",
        generatorURL: "http://prometheus/graph",
      },
      0,
      NOW,
      300_000,
    );
    expect(a).toMatchObject({
      rule: "GpuXid79",
      severity: "critical",
      status: "firing",
      startsAt: Date.UTC(2026, 10, 29, 11, 59),
      endsAt: Date.UTC(2026, 10, 29, 12, 4),
      annotations: { summary: "fell off the bus", description: "", runbook_url: "https://r" },
      extraAnnotations: { dashboard: "https://d" },
      generatorUrl: "http://prometheus/graph",
      source: "api",
    });
  });

  it("resolve when endsAt has passed, and last resolve_timeout when they give none", () => {
    const past = alertFromPost(
      { labels: { a: "1" }, startsAt: "2026-11-29T11:00:00Z", endsAt: "2026-11-29T11:30:00Z" },
      0,
      NOW,
      300_000,
    );
    expect(past.status).toBe("resolved");
    const open = alertFromPost(
      { labels: { a: "1" }, endsAt: "0001-01-01T00:00:00Z" },
      0,
      NOW,
      300_000,
    );
    expect(open).toMatchObject({ status: "firing", startsAt: NOW, endsAt: NOW + 300_000 });
  });

  it("map Prometheus' severities onto Vigil's", () => {
    const severity = (s: string) => alertFromPost({ labels: { severity: s } }, 0, NOW, 1).severity;
    expect([severity("critical"), severity("warning"), severity("info"), severity("page")]).toEqual(
      ["critical", "major", "minor", "critical"],
    );
  });

  it("are refused naming the field when malformed", () => {
    const errorOf = (given: unknown) => {
      try {
        alertFromPost(given, 3, NOW, 1);
        return "";
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(errorOf({ labels: {} })).toBe("alerts[3].labels: at least one label");
    expect(errorOf({ labels: { a: 1 } })).toBe("alerts[3].labels.a: expected a string");
    expect(errorOf({ labels: { a: "1" }, startsAt: "yesterday" })).toBe(
      "alerts[3].startsAt: expected an RFC 3339 time",
    );
    expect(
      errorOf({
        labels: { a: "1" },
        startsAt: "2026-11-29T12:00:00Z",
        endsAt: "2026-11-29T11:00:00Z",
      }),
    ).toBe("alerts[3].endsAt: before startsAt");
    expect(errorOf("x")).toBe("alerts[3]: expected an alert object");
  });
});
