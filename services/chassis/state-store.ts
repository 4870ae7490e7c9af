// Keyed state of one task (one input partition of a stateful stage), written incrementally.
//
// A task holds named stores. Each store is a map from key to value that remembers which keys
// changed since the last commit; at commit the stage writes exactly those to the task's changelog
// partition — the value for a key put, a tombstone (null) for a key deleted — in the same Kafka
// transaction as the task's outputs and input offsets. The changelog is compacted, so it holds the
// latest value of every live key; restoring a task reads its one changelog partition back.
//
//   changelog record: key = "<store>|<state key>", value = the store codec's bytes, or null
//   value bytes: 0x00 + the codec's binary form (toBytes), or JSON (a codec without one; every
//   record written before binary values) — JSON never starts with 0x00, so both read back.
//
// A value changed in place (a window's count) must be put again, or it is not written.
import type { OutboundRecord } from "./producer.js";

/** Turns a store's values into JSON and back, when they are not JSON already (a sketch, a Set). */
export interface StoreCodec<V> {
  encode(value: V): unknown;
  decode(json: unknown): V;
  /**
   * A compact binary form, preferred to JSON when given: what the key already says (a window's
   * series) need not be in it, so both are told the state key.
   */
  toBytes?(value: V, key: string): Buffer;
  fromBytes?(bytes: Buffer, key: string): V;
}

const BINARY = 0x00;

/** A value's changelog bytes under its codec. */
export function valueBytes<V>(codec: StoreCodec<V>, key: string, value: V): Buffer {
  if (!codec.toBytes) return Buffer.from(JSON.stringify(codec.encode(value)));
  const body = codec.toBytes(value, key);
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = BINARY;
  body.copy(out, 1);
  return out;
}

/** A value back from its changelog bytes (binary or JSON). */
export function valueFrom<V>(codec: StoreCodec<V>, key: string, bytes: Buffer): V {
  if (bytes[0] === BINARY) {
    if (!codec.fromBytes) throw new Error("a binary value, but the store's codec reads only JSON");
    return codec.fromBytes(bytes.subarray(1), key);
  }
  return codec.decode(JSON.parse(bytes.toString("utf8")));
}

const identity: StoreCodec<never> = { encode: (v) => v, decode: (j) => j as never };

// What a commit writes: the keys changed since the last one. At that point the store's keys are
// the changelog's, so a key created since (`fresh`) is not in the changelog: deleted again before
// the commit — a window opened and closed within one — it leaves no record, not even a tombstone.
export class KeyedStore<V> {
  private map = new Map<string, V>();
  private changed = new Set<string>();
  private fresh = new Set<string>();

  constructor(
    readonly name: string,
    readonly codec: StoreCodec<V> = identity,
    /** Off for state that is never written anywhere (an offline run). */
    private readonly track = true,
  ) {}

  get = (key: string): V | undefined => this.map.get(key);
  has = (key: string): boolean => this.map.has(key);

  /** Sets a key's value; it is written at the next commit. */
  set(key: string, value: V): void {
    if (this.track) {
      if (!this.map.has(key) && !this.changed.has(key)) this.fresh.add(key);
      this.changed.add(key);
    }
    this.map.set(key, value);
  }

  /** Marks a key changed in place, so its current value is written at the next commit. */
  touch(key: string): void {
    if (this.track && this.map.has(key)) this.changed.add(key);
  }

  /** Removes a key; a tombstone is written at the next commit. */
  delete(key: string): void {
    if (!this.map.delete(key) || !this.track) return;
    if (this.fresh.delete(key)) this.changed.delete(key);
    else this.changed.add(key);
  }

  get size(): number {
    return this.map.size;
  }

  entries = (): IterableIterator<[string, V]> => this.map.entries();
  keys = (): IterableIterator<string> => this.map.keys();

  /** Keys changed since the last call, with their value now (undefined: deleted). */
  takeChanges(): [string, V | undefined][] {
    const out: [string, V | undefined][] = [...this.changed].map((k) => [k, this.map.get(k)]);
    this.changed.clear();
    this.fresh.clear();
    return out;
  }

  get pending(): number {
    return this.changed.size;
  }

  /** Restores a key from its changelog bytes, without marking it changed. */
  load(key: string, bytes: Buffer): void {
    this.map.set(key, valueFrom(this.codec, key, bytes));
  }
}

const SEP = "|";

/** The stores of one task, and the changelog records of what changed in them. */
export class TaskStores {
  private stores = new Map<string, KeyedStore<unknown>>();
  /** What the changelog held for stores not opened yet: store → key → value bytes. */
  private restored = new Map<string, Map<string, Buffer>>();
  /** Changelog keys of a store adopted under a new name: tombstoned at the next commit. */
  private retired: string[] = [];

  constructor(
    readonly changelog: string | undefined,
    readonly partition: number,
    /**
     * A changelog value that cannot be read back (not its codec's bytes, or refused by it) is
     * left out and reported here: one bad record must not keep a partition from starting.
     */
    private readonly unreadable: (key: string, error: Error) => void = (key, error) => {
      throw new Error(`changelog record ${key}: ${error.message}`);
    },
  ) {}

  /**
   * The store `name`, holding what the changelog had for it. Names may not contain "|".
   * `formerly`: the name the same state had before (stores were once named by position): when the
   * changelog holds nothing under `name` but something under `formerly`, the store adopts it, and
   * the next commit writes it under `name` with tombstones for the old keys — a migration done
   * once, by the first restore after an upgrade.
   */
  store<V>(name: string, codec?: StoreCodec<V>, formerly?: string): KeyedStore<V> {
    if (name.includes(SEP)) throw new Error(`store name "${name}" may not contain "${SEP}"`);
    let store = this.stores.get(name) as KeyedStore<V> | undefined;
    if (store) return store;
    store = new KeyedStore<V>(name, codec);
    const adopt =
      formerly !== undefined &&
      formerly !== name &&
      !this.stores.has(formerly) &&
      !this.restored.has(name) &&
      this.restored.has(formerly);
    const source = adopt ? formerly : name;
    for (const [key, bytes] of this.restored.get(source) ?? [])
      try {
        store.load(key, bytes);
        if (adopt) {
          store.touch(key);
          this.retired.push(`${formerly}${SEP}${key}`);
        }
      } catch (error) {
        this.unreadable(`${source}${SEP}${key}`, error as Error);
      }
    this.restored.delete(source);
    this.stores.set(name, store as KeyedStore<unknown>);
    return store;
  }

  /** One changelog record, as read back at restore. */
  restore(key: string, value: Buffer | null): void {
    const at = key.indexOf(SEP);
    if (at < 0) return;
    const [name, stateKey] = [key.slice(0, at), key.slice(at + 1)];
    let entries = this.restored.get(name);
    if (!entries) this.restored.set(name, (entries = new Map()));
    if (value === null) return void entries.delete(stateKey);
    // Read when its store opens (the codec is known only then); the latest value wins.
    entries.set(stateKey, value);
  }

  get size(): number {
    let n = 0;
    for (const store of this.stores.values()) n += store.size;
    for (const entries of this.restored.values()) n += entries.size;
    return n;
  }

  /** Keys changed since the last commit. */
  get pending(): number {
    let n = this.retired.length;
    for (const store of this.stores.values()) n += store.pending;
    return n;
  }

  /** The changelog records of every key changed since the last call. */
  changes(): OutboundRecord[] {
    if (this.changelog === undefined) return [];
    const out: OutboundRecord[] = this.retired.map((key) => ({
      topic: this.changelog!,
      partition: this.partition,
      key,
      value: null,
    }));
    this.retired = [];
    for (const store of this.stores.values())
      for (const [key, value] of store.takeChanges())
        out.push({
          topic: this.changelog,
          partition: this.partition,
          key: `${store.name}${SEP}${key}`,
          value: value === undefined ? null : valueBytes(store.codec, key, value),
        });
    return out;
  }
}
