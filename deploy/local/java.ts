// The machine's JDK, which runs both Kafka and Elasticsearch (neither brings its own here).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";

export interface Jdk {
  home: string;
  java: string;
  major: number;
}

const MIN_MAJOR = 17;

function whichJava(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v java"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** JAVA_HOME when set, else the `java` on PATH; Java 17 or newer is required. */
export function findJdk(env: Record<string, string | undefined> = process.env): Jdk {
  const fromPath = whichJava();
  const home = env.JAVA_HOME || (fromPath ? dirname(dirname(realpathSync(fromPath))) : undefined);
  const java = home ? join(home, "bin", "java") : undefined;
  if (!home || !java || !existsSync(java)) {
    throw new Error(
      "No Java found: install a JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME.",
    );
  }
  // The JVM prints its settings on stderr.
  const { stderr } = spawnSync(java, ["-XshowSettings:properties", "-version"], {
    encoding: "utf8",
  });
  const match = /java\.specification\.version = (\d+)/.exec(stderr ?? "");
  const major = Number(match?.[1] ?? 0);
  if (major < MIN_MAJOR) {
    throw new Error(
      `Java at ${home} is version ${major}; Kafka 4 and Elasticsearch 8 need ${MIN_MAJOR}+ (set JAVA_HOME).`,
    );
  }
  return { home, java, major };
}
