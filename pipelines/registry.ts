// Every processor a pipeline can name, in one explicit list. Adding one: one file in processors/,
// one line here, one fixture file next to it (see pipelines/README.md).
import type { ProcessorSpec } from "./api.js";
import { cardinality } from "./processors/cardinality.js";
import { counterToRate } from "./processors/counter-to-rate.js";
import { dedupe } from "./processors/dedupe.js";
import { normalize } from "./processors/normalize.js";
import { peerGroup } from "./processors/peer-group.js";
import { relabel } from "./processors/relabel.js";
import { validate } from "./processors/validate.js";
import { windowAggregate } from "./processors/window-aggregate.js";

export const PROCESSORS: readonly ProcessorSpec[] = [
  validate,
  normalize,
  relabel,
  counterToRate,
  dedupe,
  cardinality,
  windowAggregate,
  peerGroup,
];

export function processorNamed(name: string): ProcessorSpec | undefined {
  return PROCESSORS.find((p) => p.name === name);
}
