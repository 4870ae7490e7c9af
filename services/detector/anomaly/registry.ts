// Every anomaly detector, by name. A new one is a file in this folder and a line here.
import type { DetectorSpec } from "./api.js";
import { ewma } from "./ewma.js";
import { mad } from "./mad.js";
import { seasonal } from "./seasonal.js";

export const DETECTORS: Record<string, DetectorSpec> = Object.fromEntries(
  [ewma, mad, seasonal].map((d) => [d.name, d as unknown as DetectorSpec]),
);
