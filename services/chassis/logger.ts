// Structured JSON logs (pino) with secrets redacted wherever they appear in a logged object.
import { pino, type Logger } from "pino";

export const REDACTED_PATHS = [
  "password",
  "*.password",
  "*.*.password",
  "token",
  "*.token",
  "apiKey",
  "*.apiKey",
  "secret",
  "*.secret",
  "authorization",
  "*.authorization",
  "*.headers.authorization",
];

export function createLogger(
  service: string,
  level: string,
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    {
      name: service,
      level,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      base: { service },
    },
    destination,
  );
}

export type { Logger };
