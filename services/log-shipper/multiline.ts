// Joins the lines of one record — a stack trace, a multi-line message — before shipping.
// A line is a continuation when it matches `continuation` (by default: it starts with white
// space, "Caused by:" or "... N more", as Java and Python traces do), or, when `start` is given,
// when it does not match `start`. The last record of a file is held until a line follows or
// `flushAfterMs` passes without one; until then its lines are not checkpointed.
import type { Line } from "./files.js";

export interface MultilineRule {
  start?: RegExp;
  continuation: RegExp;
  maxLines: number;
  flushAfterMs: number;
}

export const DEFAULT_CONTINUATION = /^(\s|Caused by:|\.\.\. \d+ more)/;

export interface JoinedRecord {
  bytes: Buffer;
  /** Offset just past the record's last line: the checkpoint once it is shipped. */
  end: number;
}

export class MultilineJoiner {
  private pending: Line[] = [];
  private lastAt = 0;

  constructor(private readonly rule: MultilineRule) {}

  private continues(line: Line): boolean {
    const text = line.bytes.toString("latin1"); // patterns are ASCII; any byte sequence is safe here
    return this.rule.start ? !this.rule.start.test(text) : this.rule.continuation.test(text);
  }

  private take(): JoinedRecord[] {
    if (this.pending.length === 0) return [];
    const lines = this.pending;
    this.pending = [];
    const joined: Buffer[] = [];
    lines.forEach((l, i) => joined.push(...(i > 0 ? [Buffer.from("\n"), l.bytes] : [l.bytes])));
    return [{ bytes: Buffer.concat(joined), end: lines[lines.length - 1]!.end }];
  }

  push(lines: Line[], now: number): JoinedRecord[] {
    const out: JoinedRecord[] = [];
    for (const line of lines) {
      if (
        this.pending.length > 0 &&
        (!this.continues(line) || this.pending.length >= this.rule.maxLines)
      )
        out.push(...this.take());
      this.pending.push(line);
      this.lastAt = now;
    }
    return out;
  }

  /** The held record, once nothing has followed it for `flushAfterMs`. */
  flush(now: number, force = false): JoinedRecord[] {
    return force || now - this.lastAt >= this.rule.flushAfterMs ? this.take() : [];
  }
}
