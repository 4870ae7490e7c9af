import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  groupPids,
  launch,
  portIsFree,
  runningPid,
  stopGroup,
  tail,
} from "../../../deploy/local/process.js";
import { createServer } from "node:net";

const scratch = () => mkdtempSync(join(tmpdir(), "vigil-process-"));

describe("local server processes", () => {
  it("recognises its own process by pid file and marker, and stops its whole process group", async () => {
    const dir = scratch();
    const marker = join(dir, "marker-arg");
    // A parent that starts a child: both must be gone after stopGroup.
    const pid = launch({
      command: "sh",
      args: ["-c", `sleep 30 & sleep 30; echo ${marker}`],
      cwd: dir,
      logFile: join(dir, "out.log"),
      pidFile: join(dir, "server.pid"),
    });
    expect(runningPid(join(dir, "server.pid"), marker)).toBe(pid);
    // The shell starts its background child a moment after it starts itself: wait for it.
    for (let waited = 0; groupPids(pid).length < 2 && waited < 5_000; waited += 50)
      await new Promise((done) => setTimeout(done, 50));
    expect(groupPids(pid).length).toBeGreaterThanOrEqual(2);

    expect(await stopGroup(pid, 5_000)).toBe("stopped");
    expect(groupPids(pid)).toEqual([]);
    expect(runningPid(join(dir, "server.pid"), marker)).toBeUndefined();
  });

  it("does not take a recycled pid belonging to another program for ours", () => {
    const dir = scratch();
    const stranger = spawn("sleep", ["5"]);
    writeFileSync(join(dir, "server.pid"), `${stranger.pid}\n`);
    expect(runningPid(join(dir, "server.pid"), join(dir, "server.properties"))).toBeUndefined();
    stranger.kill();
  });

  it("tells a taken port from a free one", async () => {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const { port } = server.address() as { port: number };
    expect(await portIsFree("127.0.0.1", port)).toBe(false);
    await new Promise((done) => server.close(done));
    expect(await portIsFree("127.0.0.1", port)).toBe(true);
  });

  it("shows the last lines of a log, or says there is none", () => {
    const dir = scratch();
    writeFileSync(join(dir, "a.log"), "one\ntwo\nthree\n");
    expect(tail(join(dir, "a.log"), 2)).toBe("two\nthree");
    expect(tail(join(dir, "missing.log"))).toMatch(/no log at/);
  });
});
