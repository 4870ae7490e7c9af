// Each deployed service's whole environment and files — as its Compose container or Kubernetes pod
// sees them, with the secrets deploy/secrets.ts generates — through the service's real
// configuration loader: what a deploy gives a service is exactly what it starts with. (The
// deploy once set http-ingest's host without its token: it could not start in either.)
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../services/chassis/config.js";
import { isLoopback, readSecret } from "../../../services/chassis/settings.js";
import {
  composeServices,
  generatedSecrets,
  kubernetesServices,
  secretRefsOf,
  SERVICE_SETTINGS,
} from "../../support/deploy.js";

const secrets = generatedSecrets();
const deployed = [...composeServices(secrets), ...kubernetesServices(secrets)];

describe("every deployed service's configuration", () => {
  it("loads with the service's own loader, from the deploy's whole environment and files", () => {
    expect(deployed.length).toBe(19); // 9 in Compose, 10 in Kubernetes (the GPU agent too)
    for (const d of deployed) {
      const settings = loadConfig(SERVICE_SETTINGS[d.service], { env: d.env });
      // Every secret it refers to is there.
      for (const ref of secretRefsOf(settings))
        expect(() => readSecret(ref, d.env), `${d.deploy} ${d.name}`).not.toThrow();
    }
  });

  it("listens off loopback only with authentication on what changes state", () => {
    const open = deployed.filter((d) => d.service === "http-ingest" || d.service === "notifier");
    expect(open.map((d) => `${d.deploy}/${d.service}`).sort()).toEqual([
      "compose/http-ingest",
      "compose/notifier",
      "kubernetes/http-ingest",
      "kubernetes/notifier",
    ]);
    for (const d of open) {
      const settings = loadConfig(SERVICE_SETTINGS[d.service], { env: d.env }) as {
        http: { host: string };
        ingest?: { host: string; auth: string };
        api?: { token?: object };
      };
      if (d.service === "http-ingest") {
        expect(isLoopback(settings.ingest!.host)).toBe(false);
        expect(settings.ingest!.auth).toBe("token");
      } else {
        expect(isLoopback(settings.http.host)).toBe(false);
        expect(settings.api!.token).toBeDefined();
      }
    }
  });

  it("is refused, naming the key, when the token is taken away off loopback", () => {
    const ingest = deployed.find((d) => d.deploy === "kubernetes" && d.service === "http-ingest")!;
    expect(() =>
      loadConfig(SERVICE_SETTINGS["http-ingest"], {
        env: { ...ingest.env, VIGIL__INGEST__AUTH: "none" },
      }),
    ).toThrow(
      /ingest\.token.*would listen on 0\.0\.0\.0, reachable from other machines, without authentication/,
    );
    // The notifier's own file without `api`: its API would be open on 0.0.0.0.
    expect(() =>
      loadConfig(SERVICE_SETTINGS.notifier, {
        env: { VIGIL__HTTP__HOST: "0.0.0.0" },
        file: "deploy/examples/notifier.yaml",
      }),
    ).toThrow(/api\.token.*notifier API/);
  });
});
