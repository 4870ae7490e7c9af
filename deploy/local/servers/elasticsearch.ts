// Elasticsearch 8 from the integration-test distribution Elastic publishes to Maven Central
// (org.elasticsearch.distribution.integ-test-zip:elasticsearch), run on the machine's JDK with
// security off and bound to loopback. Elasticsearch refuses to run as root, so under root it runs
// as the unprivileged system user `vigil`, which this module creates when missing.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { HOST, type StackConfig } from "../config.js";
import type { Jdk } from "../java.js";
import { launch } from "../process.js";
import { runStep, say } from "../progress.js";
import { httpOk, serverFiles, type LocalServer } from "../server.js";

export const ELASTICSEARCH_VERSION = "8.19.21";
const RUN_AS = "vigil";
const isRoot = () => process.getuid?.() === 0;

function ensureUser(): void {
  try {
    execFileSync("id", ["-u", RUN_AS], { stdio: "ignore" });
  } catch {
    say(`elasticsearch: creating system user "${RUN_AS}" (Elasticsearch will not run as root)`);
    execFileSync("useradd", [
      "--system",
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      RUN_AS,
    ]);
  }
}

/** Whether an unprivileged user can reach `dir`: every ancestor must be world-searchable. */
function reachableByOthers(dir: string): boolean {
  for (let at = dirname(dir); ; at = dirname(at)) {
    if ((statSync(at).mode & 0o001) === 0) return false;
    if (at === dirname(at)) return true;
  }
}

/**
 * Under root, everything Elasticsearch reads and writes must be reachable by `vigil`. When this
 * clone lives in a private directory (root's home, any `mktemp -d`: mode 700), it lives in
 * /var/lib/vigil/<hash> instead, and `.vigil/elasticsearch` links there, so everything is still
 * found under the state directory. Elasticsearch itself is only ever given the reachable path:
 * through the link, `vigil` could not pass the private directory above it.
 */
function runDir(dir: string): string {
  if (!isRoot()) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  if (reachableByOthers(dir)) return dir;
  const hash = createHash("sha1").update(dir).digest("hex").slice(0, 12);
  return join("/var/lib/vigil", hash, "elasticsearch");
}

function placeDataDir(dir: string, target: string): void {
  if (target === dir || existsSync(dir)) return;
  mkdirSync(target, { recursive: true });
  symlinkSync(target, dir);
  say(`elasticsearch: ${dirname(dir)} is private; data lives in ${target} (linked from ${dir})`);
}

export function elasticsearchServer(config: StackConfig, findJdk: () => Jdk): LocalServer {
  const { port, transportPort, heap } = config.elasticsearch;
  const files = serverFiles(config.stateDir, "elasticsearch");
  const cache = join(config.cacheDir, `elasticsearch-${ELASTICSEARCH_VERSION}`);
  const home = join(cache, `elasticsearch-${ELASTICSEARCH_VERSION}`);
  const run = runDir(files.dir);
  const confDir = join(run, "config");
  const dataDir = join(run, "data");
  const endpoint = `http://${HOST}:${port}`;

  return {
    name: "elasticsearch",
    version: ELASTICSEARCH_VERSION,
    endpoint,
    ports: [
      { key: "VIGIL_ES_PORT", port },
      { key: "VIGIL_ES_TRANSPORT_PORT", port: transportPort },
    ],
    ...files,
    marker: dataDir,

    async provision() {
      if (existsSync(join(cache, ".complete"))) return;
      const artifact = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ELASTICSEARCH_VERSION}:zip`;
      await runStep({
        label: `elasticsearch: fetching ${ELASTICSEARCH_VERSION} (about 100 MiB) from Maven Central`,
        command: "mvn",
        args: ["-B", "dependency:copy", `-Dartifact=${artifact}`, `-DoutputDirectory=${cache}`],
        progressLine: /Downloaded from/,
        env: { JAVA_HOME: findJdk().home },
      });
      await runStep({
        label: "elasticsearch: unpacking",
        command: "unzip",
        args: ["-q", "-o", join(cache, `elasticsearch-${ELASTICSEARCH_VERSION}.zip`), "-d", cache],
      });
      writeFileSync(join(cache, ".complete"), `${new Date().toISOString()}\n`);
    },

    async prepare() {
      placeDataDir(files.dir, run);
      for (const sub of ["data", "logs", "tmp"]) mkdirSync(join(run, sub), { recursive: true });
      if (!existsSync(join(confDir, "jvm.options")))
        cpSync(join(home, "config"), confDir, { recursive: true });
      writeFileSync(
        join(confDir, "elasticsearch.yml"),
        [
          "# Written by `npm run stack -- up`; edits are overwritten.",
          "cluster.name: vigil-local",
          "node.name: vigil-local-es",
          `network.host: ${HOST}`,
          `http.port: ${port}`,
          `transport.port: ${transportPort}`,
          "discovery.type: single-node",
          "xpack.security.enabled: false",
          `path.logs: ${join(run, "logs")}`,
          // A developer's nearly full disk must not turn the local cluster read-only.
          "cluster.routing.allocation.disk.threshold_enabled: false",
          "",
        ].join("\n"),
      );
      if (isRoot()) {
        ensureUser();
        execFileSync("chown", ["-R", `${RUN_AS}:${RUN_AS}`, realpathSync(run)]);
      }
    },

    start() {
      const script = join(home, "bin", "elasticsearch");
      // path.data on the command line doubles as the marker that recognises our process.
      const args = [`-Epath.data=${dataDir}`];
      const asUser = ["--reuid", RUN_AS, "--regid", RUN_AS, "--init-groups", script, ...args];
      return launch({
        command: isRoot() ? "setpriv" : script,
        args: isRoot() ? asUser : args,
        env: {
          ES_JAVA_HOME: findJdk().home,
          ES_PATH_CONF: confDir,
          ES_TMPDIR: join(run, "tmp"),
          ES_JAVA_OPTS: `-Xms${heap} -Xmx${heap}`,
        },
        cwd: run,
        ...files,
      });
    },

    healthy: () =>
      httpOk(`${endpoint}/_cluster/health`, (status, body) => {
        if (status !== 200) return false;
        const health = JSON.parse(body) as { status?: string };
        return health.status === "green" || health.status === "yellow";
      }),
  };
}
