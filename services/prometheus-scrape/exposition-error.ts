// A page a scrape cannot read: the line, and what is wrong with it.
import { LineError } from "../chassis/line-error.js";

export class ExpositionError extends LineError {
  override name = "ExpositionError";
}
