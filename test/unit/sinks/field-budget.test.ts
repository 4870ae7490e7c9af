import { describe, expect, it } from "vitest";
import { FieldBudget } from "../../../services/elasticsearch-sink/field-budget.js";

const attrs = (...keys: string[]) => Object.fromEntries(keys.map((k) => [k, `${k}-value`]));

describe("the attribute field budget", () => {
  it("maps a source's first keys and keeps the rest flattened, per index", async () => {
    const budget = new FieldBudget({ perSource: 2, perIndex: 10 }, async () => []);
    expect(await budget.split("logs-a", "s1", attrs("a", "b", "c"))).toEqual({
      mapped: attrs("a", "b"),
      extra: attrs("c"),
    });
    // Keys already mapped stay mapped for everyone, at no cost to their budget.
    expect(await budget.split("logs-a", "s2", attrs("a", "c", "d", "e"))).toEqual({
      mapped: attrs("a", "c", "d"),
      extra: attrs("e"),
    });
    // Another index has its own.
    expect((await budget.split("logs-b", "s1", attrs("x", "y"))).mapped).toEqual(attrs("x", "y"));
  });

  it("stops at the index's cap whoever asks, and counts keys the index already maps", async () => {
    const budget = new FieldBudget({ perSource: 100, perIndex: 3 }, async () => ["old1", "old2"]);
    expect(await budget.split("logs", "s1", attrs("old1", "n1", "n2"))).toEqual({
      mapped: attrs("old1", "n1"),
      extra: attrs("n2"),
    });
  });

  it("asks again for an index whose mapping could not be read", async () => {
    let calls = 0;
    const budget = new FieldBudget({ perSource: 5, perIndex: 5 }, async () => {
      calls += 1;
      if (calls === 1) throw new Error("unavailable");
      return [];
    });
    await expect(budget.split("logs", "s", attrs("a"))).rejects.toThrow("unavailable");
    expect((await budget.split("logs", "s", attrs("a"))).mapped).toEqual(attrs("a"));
  });
});
