import { describe, expect, it } from "vitest";
import { TaskStores } from "../../../services/chassis/state-store.js";

describe("task state stores", () => {
  it("write only the keys changed since the last commit, and a tombstone for a deleted one", () => {
    const stores = new TaskStores("changelog", 3);
    const counts = stores.store<number>("counts");
    counts.set("a", 1);
    counts.set("b", 2);
    expect(stores.changes().map((r) => [r.key, r.partition, r.value?.toString()])).toEqual([
      ["counts|a", 3, "1"],
      ["counts|b", 3, "2"],
    ]);
    counts.set("a", 5);
    counts.delete("b");
    expect(stores.changes().map((r) => [r.key, r.value?.toString() ?? null])).toEqual([
      ["counts|a", "5"],
      ["counts|b", null],
    ]);
    expect(stores.changes()).toEqual([]);
  });

  it("write nothing for a key created and deleted between two commits, and a tombstone for one the changelog holds", () => {
    const stores = new TaskStores("changelog", 0);
    const windows = stores.store<number>("windows");
    windows.set("kept", 1);
    stores.changes();
    windows.set("brief", 1); // opened and closed within one commit: never in the changelog
    windows.set("brief", 2);
    windows.delete("brief");
    windows.delete("kept"); // in the changelog: a tombstone
    windows.set("again", 1);
    windows.delete("again");
    windows.set("again", 3); // created again: its value
    expect(stores.changes().map((r) => [r.key, r.value?.toString() ?? null])).toEqual([
      ["windows|kept", null],
      ["windows|again", "3"],
    ]);
    windows.set("kept", 4); // deleted in the last commit: new again
    windows.delete("kept");
    windows.delete("again");
    expect(stores.changes().map((r) => [r.key, r.value?.toString() ?? null])).toEqual([
      ["windows|again", null],
    ]);
  });

  it("leave out a changelog record they cannot read, name it, and restore the rest", () => {
    const unreadable: string[] = [];
    const stores = new TaskStores("changelog", 0, (key) => unreadable.push(key));
    stores.restore("counts|good", Buffer.from("7"));
    stores.restore("counts|torn", Buffer.from("{not json"));
    stores.restore("sets|refused", Buffer.from('"a string"'));
    const counts = stores.store<number>("counts");
    const sets = stores.store<Set<string>>("sets", {
      encode: (set) => [...set],
      decode: (json) => {
        if (!Array.isArray(json)) throw new Error("expected a list");
        return new Set(json as string[]);
      },
    });
    expect([...counts.entries()]).toEqual([["good", 7]]);
    expect(sets.size).toBe(0);
    expect(unreadable).toEqual(["counts|torn", "sets|refused"]);
  });

  it("write a codec's binary form and read it back beside values written as JSON before", () => {
    const codec = {
      encode: (v: { n: number; key?: string }) => ({ n: v.n }),
      decode: (json: unknown) => json as { n: number },
      toBytes: (v: { n: number }) => Buffer.from([v.n]),
      fromBytes: (bytes: Buffer, key: string) => ({ n: bytes[0]!, key }),
    };
    const before = new TaskStores("changelog", 0);
    before.store("w", codec).set("a", { n: 9 });
    const [record] = before.changes();
    expect(record!.value![0]).toBe(0);
    expect(record!.value!.length).toBe(2);

    const after = new TaskStores("changelog", 0);
    after.restore(String(record!.key), record!.value);
    after.restore("w|legacy", Buffer.from('{"n":4}'));
    expect([...after.store("w", codec).entries()]).toEqual([
      ["a", { n: 9, key: "a" }],
      ["legacy", { n: 4 }],
    ]);
  });
});
