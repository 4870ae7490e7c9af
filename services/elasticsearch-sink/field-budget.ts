// How many attribute keys may become mapped fields of a log index. Attributes come from anyone
// who can write logs, and every distinct key is a new field in the shared index's mapping — until
// Elasticsearch's field limit (1 000) refuses every event that carries a new key, everyone's, for
// the rest of the day. So each index maps at most `perIndex` attribute keys, and each source adds
// at most `perSource` of them; an attribute beyond that is kept in `attributes_extra`, one
// `flattened` field (its keys and values still searchable), and counted.

export interface FieldBudgetLimits {
  perSource: number;
  perIndex: number;
}

interface IndexFields {
  /** Attribute keys mapped in the index (read from its mapping, then as documents add them). */
  keys: Set<string>;
  /** Keys each source added. */
  bySource: Map<string, number>;
}

export interface Split {
  mapped: Record<string, string>;
  extra: Record<string, string>;
}

export class FieldBudget {
  private readonly indices = new Map<string, Promise<IndexFields>>();

  constructor(
    private readonly limits: FieldBudgetLimits,
    /** The attribute keys an index already maps (none when it does not exist yet). */
    private readonly mappedKeys: (index: string) => Promise<string[]>,
  ) {}

  /** Splits an event's attributes into those that may be fields and those kept flattened. */
  async split(index: string, source: string, attributes: Record<string, string>): Promise<Split> {
    const fields = await this.fieldsOf(index);
    const split: Split = { mapped: {}, extra: {} };
    for (const [key, value] of Object.entries(attributes)) {
      if (!fields.keys.has(key)) {
        const added = fields.bySource.get(source) ?? 0;
        if (added >= this.limits.perSource || fields.keys.size >= this.limits.perIndex) {
          split.extra[key] = value;
          continue;
        }
        fields.keys.add(key);
        fields.bySource.set(source, added + 1);
      }
      split.mapped[key] = value;
    }
    return split;
  }

  private fieldsOf(index: string): Promise<IndexFields> {
    let found = this.indices.get(index);
    if (!found) {
      found = this.mappedKeys(index).then((keys) => ({ keys: new Set(keys), bySource: new Map() }));
      // A failed read is asked again next time, not remembered.
      found.catch(() => this.indices.delete(index));
      this.indices.set(index, found);
      // Dated indices roll over daily: only the latest few are remembered.
      if (this.indices.size > 8) this.indices.delete(this.indices.keys().next().value!);
    }
    return found;
  }
}
