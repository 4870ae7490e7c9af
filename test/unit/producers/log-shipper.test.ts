import { appendFileSync, mkdtempSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toEvent } from "../../../services/log-shipper/events.js";
import { FileTail, expandGlob } from "../../../services/log-shipper/files.js";
import { DEFAULT_CONTINUATION, MultilineJoiner } from "../../../services/log-shipper/multiline.js";

const origin = { host: "node-1", service: "trainer", file: "/var/log/trainer.log" };
const lines = (...texts: string[]) => {
  let end = 0;
  return texts.map((t) => ({ bytes: Buffer.from(t), end: (end += t.length + 1) }));
};

describe("file tail", () => {
  it("returns complete lines with their end offsets, holds a partial one, and restarts after truncation", () => {
    const path = join(mkdtempSync(join(tmpdir(), "vigil-tail-")), "app.log");
    writeFileSync(path, "one\ntwo\nthr");
    const tail = new FileTail("id", path, 0);
    expect(tail.read(1024).lines.map((l) => [l.bytes.toString(), l.end])).toEqual([
      ["one", 4],
      ["two", 8],
    ]);
    appendFileSync(path, "ee\r\n");
    expect(tail.read(1024).lines.map((l) => [l.bytes.toString(), l.end])).toEqual([["three", 15]]);
    truncateSync(path, 0);
    appendFileSync(path, "new\n");
    const after = tail.read(1024);
    expect([after.truncated, after.lines.map((l) => l.bytes.toString())]).toEqual([true, ["new"]]);
    tail.close();
  });

  it("resumes from a checkpoint offset", () => {
    const path = join(mkdtempSync(join(tmpdir(), "vigil-tail-")), "app.log");
    writeFileSync(path, "one\ntwo\n");
    expect(new FileTail("id", path, 4).read(1024).lines.map((l) => l.bytes.toString())).toEqual([
      "two",
    ]);
  });

  it("expands wildcards in the file name", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-glob-"));
    for (const name of ["a.log", "b.log", "b.log.1", "c.txt"]) writeFileSync(join(dir, name), "");
    expect(expandGlob(join(dir, "*.log"))).toEqual([join(dir, "a.log"), join(dir, "b.log")]);
    expect(expandGlob(join(dir, "b.log*"))).toEqual([join(dir, "b.log"), join(dir, "b.log.1")]);
  });
});

describe("multiline records", () => {
  it("joins a stack trace to the line that starts it, by the default continuation rule", () => {
    const joiner = new MultilineJoiner({
      continuation: DEFAULT_CONTINUATION,
      maxLines: 100,
      flushAfterMs: 1000,
    });
    const out = joiner.push(
      lines("ERROR boom", "    at a.b(C.java:1)", "Caused by: x", "... 3 more", "INFO next"),
      0,
    );
    expect(out.map((r) => [r.bytes.toString(), r.end])).toEqual([
      ["ERROR boom\n    at a.b(C.java:1)\nCaused by: x\n... 3 more", 56],
    ]);
    expect(joiner.flush(500)).toEqual([]); // the last record waits for what may follow
    expect(joiner.flush(1000).map((r) => r.bytes.toString())).toEqual(["INFO next"]);
  });

  it("starts records only at lines matching a start pattern when one is given", () => {
    const joiner = new MultilineJoiner({
      start: /^\d{4}-/,
      continuation: DEFAULT_CONTINUATION,
      maxLines: 100,
      flushAfterMs: 0,
    });
    const out = joiner.push(
      lines(
        "2026-11-25 Traceback (most recent call last):",
        'File "x.py", line 1',
        "ValueError: bad",
        "2026-11-25 ok",
      ),
      0,
    );
    expect(out.map((r) => r.bytes.toString())).toEqual([
      '2026-11-25 Traceback (most recent call last):\nFile "x.py", line 1\nValueError: bad',
    ]);
  });
});

describe("log events", () => {
  it("reads JSON lines field by field, keeping unknown fields as attributes", () => {
    const event = toEvent(
      Buffer.from(
        '{"time":"2026-11-25T10:00:00Z","level":"warning","msg":"slow step","rank":3,"trace_id":"t1"}',
      ),
      origin,
      5,
    );
    expect(event).toEqual({
      timestamp: Date.parse("2026-11-25T10:00:00Z"),
      severity: "warn",
      message: "slow step",
      service: "trainer",
      host: "node-1",
      attributes: { file: origin.file, rank: "3" },
      traceId: "t1",
      spanId: null,
    });
  });

  it("detects severity and a leading timestamp in plain text", () => {
    const event = toEvent(
      Buffer.from("2026-11-25 10:00:01,250 ERROR [rank 3] CUDA error"),
      origin,
      5,
    );
    expect([event.timestamp, event.severity, event.message]).toEqual([
      Date.parse("2026-11-25T10:00:01.250"),
      "error",
      "2026-11-25 10:00:01,250 ERROR [rank 3] CUDA error",
    ]);
    expect(toEvent(Buffer.from("all good"), origin, 5)).toMatchObject({
      timestamp: 5,
      severity: "unknown",
    });
  });

  it("keeps a line that is not UTF-8, marked, with its raw bytes", () => {
    const bytes = Buffer.from([0x47, 0x50, 0x55, 0x20, 0xff, 0xfe, 0x21]);
    const event = toEvent(bytes, origin, 5);
    expect(event.message).toBe("GPU \uFFFD\uFFFD!");
    expect(event.attributes).toMatchObject({
      encoding_error: "invalid UTF-8 replaced with U+FFFD",
      raw_base64: bytes.toString("base64"),
    });
  });
});
