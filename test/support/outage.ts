// Real outages for the sink tests: stop one of the local stack's server processes, and start it
// again. Only the local stack's processes can be stopped from here.
import { loadStackConfig } from "../../deploy/local/config.js";
import { runningPid, stopGroup } from "../../deploy/local/process.js";
import { localServers } from "../../deploy/local/registry.js";
import { up } from "../../deploy/local/stack.js";

/** Stops the named local server; resolves to a function that starts it again and waits for it. */
export async function stopLocalServer(
  name: "influxdb" | "elasticsearch" | "kafka",
): Promise<() => Promise<void>> {
  const config = loadStackConfig();
  const server = localServers(config).find((s) => s.name === name)!;
  const pid = runningPid(server.pidFile, server.marker);
  if (pid === undefined) throw new Error(`${name} of the local stack is not running`);
  await stopGroup(pid, 30_000);
  return async () => void (await up(config));
}
