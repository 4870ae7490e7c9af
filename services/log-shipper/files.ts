// Files to ship, followed by identity (device:inode) rather than by name, through an open file
// descriptor: a file renamed by rotation keeps being read from where it was, to its end; a file
// truncated in place (copytruncate) is read again from its start.
import { closeSync, fstatSync, openSync, readSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Paths matching a glob whose wildcards (* and ?) are in the file name only: /var/log/app/*.log */
export function expandGlob(pattern: string): string[] {
  const dir = dirname(pattern);
  const name = basename(pattern);
  if (!/[*?]/.test(name)) return [pattern];
  const re = new RegExp(
    `^${name
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  try {
    return readdirSync(dir)
      .filter((entry) => re.test(entry))
      .sort()
      .map((entry) => join(dir, entry));
  } catch {
    return [];
  }
}

export function fileIdOf(path: string): string | undefined {
  try {
    const s = statSync(path);
    return s.isFile() ? `${s.dev}:${s.ino}` : undefined;
  } catch {
    return undefined;
  }
}

export interface Line {
  bytes: Buffer;
  /** Byte offset just past this line's newline. */
  end: number;
}

export class FileTail {
  private fd: number;
  private partial = Buffer.alloc(0);
  /** Offset of the first byte not yet returned as part of a complete line. */
  private readAt: number;

  constructor(
    readonly id: string,
    public path: string,
    offset: number,
  ) {
    this.fd = openSync(path, "r");
    this.readAt = offset;
    if (fstatSync(this.fd).size < offset) this.readAt = 0; // shorter than our checkpoint: truncated since
  }

  /** Complete lines from the file, at most about `maxBytes`; an unterminated last line waits. */
  read(maxBytes: number): { lines: Line[]; truncated: boolean } {
    const size = fstatSync(this.fd).size;
    let truncated = false;
    if (size < this.readAt + this.partial.length) {
      this.readAt = 0;
      this.partial = Buffer.alloc(0);
      truncated = true;
    }
    const start = this.readAt + this.partial.length;
    const length = Math.min(maxBytes, size - start);
    if (length <= 0) return { lines: [], truncated };
    const chunk = Buffer.alloc(length);
    const got = readSync(this.fd, chunk, 0, length, start);
    const data = Buffer.concat([this.partial, chunk.subarray(0, got)]);
    const lines: Line[] = [];
    let from = 0;
    for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, from)) {
      const end = nl > from && data[nl - 1] === 13 ? nl - 1 : nl;
      lines.push({ bytes: data.subarray(from, end), end: this.readAt + nl + 1 });
      from = nl + 1;
    }
    this.readAt += from;
    this.partial = Buffer.from(data.subarray(from));
    return { lines, truncated };
  }

  /** Whether everything in the file has been read (an unterminated last line aside). */
  atEnd(): boolean {
    return fstatSync(this.fd).size <= this.readAt + this.partial.length;
  }

  close(): void {
    closeSync(this.fd);
  }
}
