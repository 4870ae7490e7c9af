// Vigil's on-call console: one page, hash-routed, no build step. Every value from an alert, a
// label or a dead letter reaches the page as text (textContent), never as HTML; links are only
// followed when they are http(s).
"use strict";

const $main = document.getElementById("main");
const $flash = document.getElementById("flash");
const $me = document.getElementById("me");
$me.value = localStorage.getItem("vigil.me") || "";
$me.addEventListener("change", () => localStorage.setItem("vigil.me", $me.value.trim()));

/** el("td", {class: "x", onclick: f}, "text", child…): an element with text children only. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function safeHref(url) {
  try {
    const u = new URL(url, location.href);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : undefined;
  } catch {
    return undefined;
  }
}

function flash(message, error) {
  $flash.replaceChildren(el("div", { class: error ? "error" : "" }, message));
  setTimeout(() => $flash.replaceChildren(), 6000);
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    /* plain text */
  }
  if (!res.ok) {
    const message = typeof data === "string" ? data : (data && data.error) || res.statusText;
    throw new Error(`${res.status}: ${message}`);
  }
  return data;
}

function me() {
  const who = $me.value.trim();
  if (!who) {
    $me.focus();
    throw new Error("Say who you are first (top right).");
  }
  return who;
}

const fmtTime = (ms) =>
  ms
    ? new Date(ms)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z")
    : "";
function since(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
const chips = (labels) =>
  Object.entries(labels || {}).map(([k, v]) =>
    el("span", { class: "chip", title: `${k}="${v}"` }, `${k}=${v}`),
  );
const sev = (s) => el("span", { class: `sev ${s}` }, s);
const value = (a) =>
  a.source === "detector"
    ? `${Number(a.value).toPrecision(4)}${a.threshold !== null ? ` (threshold ${a.threshold})` : ""}`
    : "";

function states(a) {
  return [
    a.ack &&
      el("span", { class: "state acked", "data-testid": "acked" }, `acknowledged by ${a.ack.by}`),
    a.silencedBy &&
      el("a", { class: "state silenced", href: `#/silences/${a.silencedBy}/edit` }, "silenced"),
    a.inhibitedBy.length > 0 && el("span", { class: "state inhibited" }, "inhibited"),
    a.mutedBy.length > 0 && el("span", { class: "state muted" }, `muted (${a.mutedBy.join(", ")})`),
  ];
}

async function ack(fingerprint, undo) {
  try {
    await api(undo ? "DELETE" : "POST", `/api/v1/alerts/${fingerprint}/ack`, {
      by: me(),
      comment: "from the console",
    });
    flash(undo ? "Acknowledgement taken back." : "Acknowledged.");
    route();
  } catch (error) {
    flash(error.message, true);
  }
}

function alertActions(a) {
  return el(
    "div",
    { class: "actions" },
    a.ack
      ? el(
          "button",
          { onclick: () => ack(a.fingerprint, true), "data-testid": "unack" },
          "Un-acknowledge",
        )
      : el(
          "button",
          { onclick: () => ack(a.fingerprint, false), "data-testid": "ack" },
          "Acknowledge",
        ),
    el(
      "a",
      { class: "button", href: `#/silences/new?fp=${a.fingerprint}`, "data-testid": "silence" },
      "Silence…",
    ),
  );
}

// ------------------------------------------------------------------ pages
async function alertsPage(groupId) {
  const data = await api("GET", "/api/v1/console/alerts");
  const groups = groupId ? data.groups.filter((g) => g.id === groupId) : data.groups;
  const count = new Set(groups.flatMap((g) => g.alerts.map((a) => a.fingerprint))).size;
  return [
    !data.active &&
      el(
        "div",
        { class: "banner" },
        "This notifier instance is standing by: the active instance holds the alerts. Open its console to see them.",
      ),
    el(
      "h1",
      {},
      groupId ? `Group ${groupId}` : "Firing alerts",
      " ",
      el("span", { class: "muted" }, `(${count})`),
    ),
    groups.length === 0 &&
      el("p", { class: "muted", "data-testid": "no-alerts" }, "Nothing is firing."),
    groups.map((g) =>
      el(
        "section",
        { class: "card", "data-testid": "group", "data-group": g.id },
        el(
          "div",
          { class: "head" },
          el("strong", {}, g.receiver),
          chips(g.labels),
          el("a", { href: `#/group/${g.id}`, class: "muted" }, g.id),
        ),
        el(
          "table",
          {},
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["Severity", "Alert", "Labels", "Value", "Since", "State", ""].map((h) =>
                el("th", {}, h),
              ),
            ),
          ),
          el(
            "tbody",
            {},
            g.alerts.map((a) =>
              el(
                "tr",
                { "data-testid": "alert", "data-fingerprint": a.fingerprint },
                el("td", {}, sev(a.severity)),
                el(
                  "td",
                  {},
                  el("a", { href: `#/alert/${a.fingerprint}` }, a.annotations.summary || a.rule),
                  a.annotations.runbook_url && safeHref(a.annotations.runbook_url)
                    ? [
                        " · ",
                        el(
                          "a",
                          {
                            href: safeHref(a.annotations.runbook_url),
                            target: "_blank",
                            rel: "noopener noreferrer",
                          },
                          "runbook",
                        ),
                      ]
                    : null,
                ),
                el("td", {}, chips(a.labels)),
                el("td", { class: "num" }, value(a)),
                el("td", { title: fmtTime(a.startsAt) }, since(a.startsAt)),
                el("td", {}, states(a)),
                el("td", {}, alertActions(a)),
              ),
            ),
          ),
        ),
      ),
    ),
  ];
}

async function alertPage(fingerprint) {
  const data = await api("GET", `/api/v1/console/alerts/${fingerprint}`);
  const a = data.alert;
  const facts = a
    ? [
        ["Status", a.status],
        ["Severity", sev(a.severity)],
        ["Summary", a.annotations.summary],
        ["Description", a.annotations.description],
        [
          "Runbook",
          safeHref(a.annotations.runbook_url)
            ? el(
                "a",
                {
                  href: safeHref(a.annotations.runbook_url),
                  target: "_blank",
                  rel: "noopener noreferrer",
                },
                a.annotations.runbook_url,
              )
            : "",
        ],
        ["Value", value(a)],
        ["Firing since", `${fmtTime(a.startsAt)} (${since(a.startsAt)})`],
        ["Labels", chips(a.labels)],
        [
          "Other annotations",
          Object.entries(a.annotations)
            .filter(
              ([k]) => !["summary", "description", "runbook_url"].includes(k) && a.annotations[k],
            )
            .map(([k, v]) => el("div", {}, `${k}: ${v}`)),
        ],
        [
          "Raised by",
          a.source === "api"
            ? [
                "Alertmanager API",
                a.generatorUrl && safeHref(a.generatorUrl)
                  ? [
                      " · ",
                      el(
                        "a",
                        {
                          href: safeHref(a.generatorUrl),
                          target: "_blank",
                          rel: "noopener noreferrer",
                        },
                        "source",
                      ),
                    ]
                  : null,
              ]
            : "Vigil detector",
        ],
        ["Routed to", a.receivers.join(", ")],
        [
          "Acknowledged",
          a.ack
            ? `by ${a.ack.by} at ${fmtTime(a.ack.at)}${a.ack.comment ? ` — ${a.ack.comment}` : ""}`
            : "no",
        ],
        ["State", states(a)],
      ]
    : [["Status", "no longer known to the active notifier (resolved and done with)"]];
  return [
    el("h1", {}, a ? a.rule || a.fingerprint : fingerprint),
    el(
      "dl",
      { class: "facts", "data-testid": "alert-facts" },
      facts.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
    ),
    a && el("p", {}, alertActions(a)),
    el("h2", {}, "Escalation"),
    data.escalation.length === 0
      ? el("p", { class: "muted" }, "No escalation policy on its route.")
      : el(
          "table",
          { class: "card", "data-testid": "escalation" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["Policy", "Step", "After", "Receiver", "Sent"].map((h) => el("th", {}, h)),
            ),
          ),
          el(
            "tbody",
            {},
            data.escalation.map((s) =>
              el(
                "tr",
                {},
                el("td", {}, s.policy),
                el("td", {}, s.step),
                el("td", {}, `${Math.round(s.after / 60000)}m`),
                el("td", {}, s.receiver),
                el(
                  "td",
                  {},
                  s.sentAt
                    ? fmtTime(s.sentAt)
                    : a && a.ack
                      ? "not needed (acknowledged)"
                      : "not yet",
                ),
              ),
            ),
          ),
        ),
    el("h2", {}, "Notification history"),
    data.history.length === 0
      ? el(
          "p",
          { class: "muted", "data-testid": "no-history" },
          "No receiver has been told about it yet.",
        )
      : newestFirst(
          "history",
          ["When", "Receiver", "Told", "Escalation", "Alerts in that notification"],
          data.history,
          (h) => [
            fmtTime(h.at),
            h.receiver,
            h.told,
            h.escalationStep ? `step ${h.escalationStep}` : "",
            el("td", { class: "num" }, h.alertsInNotification),
          ],
        ),
    (data.remediation ?? []).length > 0 && el("h2", {}, "Remediation"),
    (data.remediation ?? []).length > 0 &&
      newestFirst("remediation", ["When", "Target", "Decision", "Why"], data.remediation, (d) => [
        fmtTime(d.at),
        d.target,
        d.decision,
        d.reason,
      ]),
  ];
}

/** A card table of `rows`, newest first; a cell is text or a ready <td>. */
function newestFirst(testid, headers, rows, cells) {
  return el(
    "table",
    { class: "card", "data-testid": testid },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        headers.map((h) => el("th", {}, h)),
      ),
    ),
    el(
      "tbody",
      {},
      rows
        .slice()
        .reverse()
        .map((row) =>
          el(
            "tr",
            {},
            cells(row).map((c) => (c instanceof Node ? c : el("td", {}, c))),
          ),
        ),
    ),
  );
}

function matcherLine(m) {
  const op = m.isRegex ? (m.isEqual === false ? "!~" : "=~") : m.isEqual === false ? "!=" : "=";
  return `${/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.name) ? m.name : JSON.stringify(m.name)}${op}${JSON.stringify(m.value)}`;
}

async function silencesPage() {
  const list = await api("GET", "/api/v2/silences");
  return [
    el("h1", {}, "Silences ", el("a", { class: "button", href: "#/silences/new" }, "New silence")),
    list.length === 0 && el("p", { class: "muted" }, "No silences."),
    list.length > 0 &&
      el(
        "table",
        { class: "card" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["State", "Matchers", "Starts", "Ends", "By", "Comment", ""].map((h) =>
              el("th", {}, h),
            ),
          ),
        ),
        el(
          "tbody",
          {},
          list.map((s) =>
            el(
              "tr",
              { "data-testid": "silence-row", "data-id": s.id },
              el("td", {}, el("span", { class: "state" }, s.status.state)),
              el(
                "td",
                {},
                s.matchers.map((m) => el("span", { class: "chip" }, matcherLine(m))),
              ),
              el("td", {}, fmtTime(Date.parse(s.startsAt))),
              el("td", {}, fmtTime(Date.parse(s.endsAt))),
              el("td", {}, s.createdBy),
              el("td", {}, s.comment),
              el(
                "td",
                {},
                el(
                  "div",
                  { class: "actions" },
                  el(
                    "a",
                    { class: "button", href: `#/silences/${s.id}/edit` },
                    s.status.state === "expired" ? "Recreate…" : "Edit…",
                  ),
                  s.status.state !== "expired" &&
                    el(
                      "button",
                      {
                        class: "danger",
                        "data-testid": "expire",
                        onclick: async () => {
                          try {
                            await api("DELETE", `/api/v2/silence/${s.id}`);
                            flash("Silence expired.");
                            route();
                          } catch (error) {
                            flash(error.message, true);
                          }
                        },
                      },
                      "Expire",
                    ),
                ),
              ),
            ),
          ),
        ),
      ),
  ];
}

async function silenceForm(params, id) {
  let lines = [];
  let existing;
  if (id) {
    existing = await api("GET", `/api/v2/silence/${id}`);
    lines = existing.matchers.map(matcherLine);
  } else if (params.get("fp")) {
    const data = await api("GET", `/api/v1/console/alerts/${params.get("fp")}`).catch(() => null);
    if (data && data.alert)
      lines = Object.entries(data.alert.labels).map(([k, v]) =>
        matcherLine({ name: k, value: v, isRegex: false }),
      );
  }
  const $matchers = el("textarea", {
    id: "matchers",
    rows: Math.max(4, lines.length + 1),
    "data-testid": "matchers",
    spellcheck: "false",
  });
  $matchers.value = lines.join("\n");
  const $duration = el(
    "select",
    { id: "duration" },
    ["1h", "2h", "4h", "8h", "1d", "3d", "7d"].map((d) => el("option", { value: d }, d)),
  );
  const $ends = el("input", {
    id: "ends",
    type: "datetime-local",
    title: "or an end time (local)",
  });
  if (existing && existing.status.state !== "expired") {
    const end = new Date(existing.endsAt);
    $ends.value = new Date(end.getTime() - end.getTimezoneOffset() * 60000)
      .toISOString()
      .slice(0, 16);
  }
  const $comment = el("input", {
    id: "comment",
    "data-testid": "comment",
    value: existing ? existing.comment : "",
  });
  const $preview = el("div", { "data-testid": "preview" });
  const $error = el("div", { class: "error" });
  let parsed = [];
  let timer;
  async function preview() {
    try {
      const data = await api(
        "GET",
        `/api/v1/console/preview?matchers=${encodeURIComponent($matchers.value)}`,
      );
      parsed = data.matchers;
      $error.textContent = "";
      $preview.replaceChildren(
        el(
          "p",
          { class: "muted", "data-testid": "preview-count" },
          `Matches ${data.matching.length} firing alert(s) now.`,
        ),
        data.matching
          .slice(0, 50)
          .map((m) => el("div", { "data-testid": "preview-alert" }, chips(m.labels))),
      );
    } catch (error) {
      parsed = [];
      $error.textContent = error.message;
      $preview.replaceChildren();
    }
  }
  $matchers.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(preview, 250);
  });
  await preview();
  async function save(event) {
    event.preventDefault();
    try {
      await preview();
      if (parsed.length === 0) throw new Error("Give at least one matcher.");
      const endsAt = $ends.value
        ? new Date($ends.value).toISOString()
        : new Date(
            Date.now() +
              { "1h": 1, "2h": 2, "4h": 4, "8h": 8, "1d": 24, "3d": 72, "7d": 168 }[
                $duration.value
              ] *
                3600000,
          ).toISOString();
      const body = {
        matchers: parsed,
        startsAt: new Date().toISOString(),
        endsAt,
        createdBy: me(),
        comment: $comment.value.trim(),
      };
      if (existing && existing.status.state !== "expired") body.id = existing.id;
      const made = await api("POST", "/api/v2/silences", body);
      flash(`Silence ${made.silenceID} saved.`);
      location.hash = "#/silences";
    } catch (error) {
      $error.textContent = error.message;
    }
  }
  return [
    el("h1", {}, existing ? "Edit silence" : "New silence"),
    el(
      "form",
      { class: "silence", onsubmit: save },
      el("label", { for: "matchers" }, "Matchers"),
      el(
        "div",
        {},
        $matchers,
        el(
          "div",
          { class: "muted" },
          'One per line: label="value", label!="value", label=~"regex", label!~"regex".',
        ),
      ),
      el("label", { for: "duration" }, "Duration"),
      el("div", {}, $duration, " or until ", $ends),
      el("label", { for: "comment" }, "Comment"),
      $comment,
      el("span", {}),
      el(
        "div",
        {},
        $error,
        el(
          "button",
          { class: "primary", type: "submit", "data-testid": "save-silence" },
          "Save silence",
        ),
      ),
      el("label", {}, "Preview"),
      $preview,
    ),
  ];
}

let showIdle = false;

async function healthPage() {
  const data = await api("GET", "/api/v1/console/health");
  const dl = data.deadLetters;
  // Groups with members or lag first; idle, caught-up groups (old deployments) on request.
  const busy = (g) => g.members > 0 || g.lag > 0;
  const groups = data.groups
    .filter((g) => showIdle || busy(g))
    .sort((a, b) => Number(busy(b)) - Number(busy(a)) || b.lag - a.lag);
  const hidden = data.groups.length - groups.length;
  return [
    el("h1", {}, "Pipeline health"),
    el("h2", {}, `Dead letters (${dl.total} in ${dl.topic})`),
    dl.byReason.length === 0
      ? el("p", { class: "muted" }, "None.")
      : el(
          "table",
          { class: "card", "data-testid": "reasons" },
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              ["Code", "Stage", "Count", "Last"].map((h) => el("th", {}, h)),
            ),
          ),
          el(
            "tbody",
            {},
            dl.byReason.map((r) =>
              el(
                "tr",
                {},
                el("td", {}, r.errorCode),
                el("td", {}, r.failedStage),
                el("td", { class: "num" }, r.count),
                el("td", {}, fmtTime(r.last)),
              ),
            ),
          ),
        ),
    dl.latest.length > 0 && el("h2", {}, "Latest dead letters"),
    dl.latest.length > 0 &&
      el(
        "table",
        { class: "card", "data-testid": "letters" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["When", "Code", "Stage", "Reason", "From"].map((h) => el("th", {}, h)),
          ),
        ),
        el(
          "tbody",
          {},
          dl.latest.map((l) =>
            el(
              "tr",
              { "data-testid": "letter" },
              el(
                "td",
                {},
                el("a", { href: `#/dead-letter/${l.partition}/${l.offset}` }, fmtTime(l.time)),
              ),
              el("td", {}, l.errorCode),
              el("td", {}, l.failedStage),
              el("td", {}, l.errorMessage),
              el("td", {}, `${l.originalTopic} [${l.originalPartition}] @${l.originalOffset}`),
            ),
          ),
        ),
      ),
    el("h2", {}, "Services (consumer groups)"),
    data.groupsError &&
      el("p", { class: "error" }, `Cannot read consumer groups: ${data.groupsError}`),
    el(
      "table",
      { class: "card", "data-testid": "groups" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["Group", "State", "Members", "Lag", "Topics"].map((h) => el("th", {}, h)),
        ),
      ),
      el(
        "tbody",
        {},
        groups.map((g) =>
          el(
            "tr",
            {},
            el("td", {}, g.group),
            el("td", {}, g.state),
            el("td", { class: "num" }, g.members),
            el("td", { class: "num" }, g.lag),
            el(
              "td",
              {},
              g.topics.map((t) => el("span", { class: "chip" }, `${t.topic}: ${t.lag}`)),
            ),
          ),
        ),
      ),
    ),
    (hidden > 0 || showIdle) &&
      el(
        "p",
        {},
        el(
          "button",
          {
            onclick: () => {
              showIdle = !showIdle;
              route();
            },
          },
          showIdle ? "Hide idle groups" : `Show ${hidden} idle group(s) (no members, no lag)`,
        ),
      ),
  ];
}

async function deadLetterPage(partition, offset) {
  const l = await api("GET", `/api/v1/console/dead-letters/${partition}/${offset}`);
  const bytes = (p) =>
    p
      ? el(
          "div",
          {},
          el(
            "div",
            { class: "muted" },
            `${p.bytes} bytes, shown as ${p.encoding}${p.truncated ? " (cut)" : ""}`,
          ),
          el("pre", {}, p.text),
        )
      : el("span", { class: "muted" }, "none");
  return [
    el("h1", {}, `Dead letter ${partition}/${offset}`),
    el(
      "dl",
      { class: "facts", "data-testid": "letter-facts" },
      [
        ["Code", l.errorCode],
        ["Stage", l.failedStage],
        ["When", fmtTime(l.time)],
        [
          "Came from",
          `${l.originalTopic} partition ${l.originalPartition} offset ${l.originalOffset}`,
        ],
        ["Reason", el("pre", { "data-testid": "letter-reason" }, l.errorMessage)],
        ["Key", bytes(l.key)],
        ["Value", bytes(l.value)],
        [
          "Headers",
          Object.entries(l.headers).map(([k, v]) =>
            el("div", {}, el("span", { class: "chip" }, k), " ", v),
          ),
        ],
        [
          "Left out",
          Object.entries(l.omitted)
            .map(([k, v]) => `${k}: ${v} bytes`)
            .join(", ") || "nothing",
        ],
      ].map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
    ),
    el(
      "p",
      {},
      el(
        "button",
        {
          class: "primary",
          "data-testid": "replay",
          disabled: !l.replayable,
          onclick: async () => {
            try {
              const done = await api(
                "POST",
                `/api/v1/console/dead-letters/${partition}/${offset}/replay`,
              );
              flash(`Replayed to ${done.replayedTo}.`);
            } catch (error) {
              flash(error.message, true);
            }
          },
        },
        `Replay to ${l.originalTopic}`,
      ),
      !l.replayable &&
        el("span", { class: "muted" }, " The letter holds its record by reference only."),
    ),
  ];
}

// ------------------------------------------------------------------ routing
const ROUTES = [
  [/^#\/alerts$/, () => alertsPage()],
  [/^#\/group\/([0-9a-f]+)$/, (m) => alertsPage(m[1])],
  [/^#\/alert\/([0-9a-f]{16})$/, (m) => alertPage(m[1])],
  [/^#\/silences$/, () => silencesPage()],
  [/^#\/silences\/new(?:\?(.*))?$/, (m) => silenceForm(new URLSearchParams(m[1] || ""))],
  [/^#\/silences\/([\w-]+)\/edit$/, (m) => silenceForm(new URLSearchParams(), m[1])],
  [/^#\/health$/, () => healthPage()],
  [/^#\/dead-letter\/(\d+)\/(\d+)$/, (m) => deadLetterPage(m[1], m[2])],
];

async function route() {
  const hash = location.hash || "#/alerts";
  for (const link of document.querySelectorAll("[data-nav]"))
    link.classList.toggle(
      "current",
      hash.startsWith(`#/${link.dataset.nav}`) ||
        (link.dataset.nav === "alerts" && /^#\/(alert|group)\//.test(hash)),
    );
  for (const [pattern, page] of ROUTES) {
    const m = pattern.exec(hash);
    if (!m) continue;
    try {
      const content = await page(m);
      $main.replaceChildren(
        ...[content].flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false),
      );
      $main.dataset.page = hash.split(/[/?]/)[1];
    } catch (error) {
      $main.replaceChildren(el("p", { class: "error" }, error.message));
    }
    return;
  }
  location.hash = "#/alerts";
}

window.addEventListener("hashchange", route);
route();
