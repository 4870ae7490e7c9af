// The routing tree, as in Alertmanager: every alert enters at the root; it goes down into the first
// child route whose matchers it satisfies — and on into later siblings too when that child says
// `continue` — and is handled by the deepest routes it reaches (the root when no child matches).
// Children inherit their parent's receiver, group_by, timers and escalation unless they set them.
import { createHash } from "node:crypto";
import { compileMatchers, type LabelMatch } from "./matchers.js";
import type { RouteConfig } from "./settings.js";

export interface Route {
  /** Position in the tree, e.g. "0.2.1": part of every group key. */
  id: string;
  receiver: string;
  match: LabelMatch;
  continue: boolean;
  /** Labels groups are formed by; "all" for every label. */
  groupBy: string[] | "all";
  groupWait: number;
  groupInterval: number;
  repeatInterval: number;
  mute: string[];
  active: string[];
  escalation?: string;
  children: Route[];
}

export const ROUTE_DEFAULTS = {
  groupWait: 30_000,
  groupInterval: 300_000,
  repeatInterval: 14_400_000,
};

export function compileRoute(config: RouteConfig, parent?: Route, id = "0"): Route {
  const route: Route = {
    id,
    receiver: config.receiver ?? parent?.receiver ?? "",
    match: compileMatchers(config.matchers),
    continue: config.continue,
    groupBy: config.group_by
      ? config.group_by.includes("...")
        ? "all"
        : config.group_by
      : (parent?.groupBy ?? []),
    groupWait: config.group_wait ?? parent?.groupWait ?? ROUTE_DEFAULTS.groupWait,
    groupInterval: config.group_interval ?? parent?.groupInterval ?? ROUTE_DEFAULTS.groupInterval,
    repeatInterval:
      config.repeat_interval ?? parent?.repeatInterval ?? ROUTE_DEFAULTS.repeatInterval,
    mute: config.mute_time_intervals,
    active: config.active_time_intervals,
    ...((config.escalation ?? parent?.escalation) !== undefined && {
      escalation: (config.escalation ?? parent?.escalation)!,
    }),
    children: [],
  };
  route.children = config.routes.map((child, i) => compileRoute(child, route, `${id}.${i}`));
  return route;
}

/** The routes that handle an alert with these labels. */
export function matchRoutes(route: Route, labels: Record<string, string>): Route[] {
  const found: Route[] = [];
  for (const child of route.children) {
    if (!child.match(labels)) continue;
    found.push(...matchRoutes(child, labels));
    if (!child.continue) break;
  }
  return found.length > 0 ? found : [route];
}

/** The labels an alert is grouped by on a route. */
export function groupLabels(route: Route, labels: Record<string, string>): Record<string, string> {
  if (route.groupBy === "all") return { ...labels };
  return Object.fromEntries(route.groupBy.filter((l) => l in labels).map((l) => [l, labels[l]!]));
}

export function groupKeyOf(route: Route, group: Record<string, string>): string {
  const sorted = Object.keys(group)
    .sort()
    .map((k) => `${k}=${JSON.stringify(group[k])}`);
  return `${route.id}:{${sorted.join(",")}}`;
}

export const groupIdOf = (groupKey: string) =>
  createHash("sha256").update(groupKey).digest("hex").slice(0, 16);
