// Text from labels and annotations — which anyone who can write to an ingest endpoint controls —
// made inert for each receiver before it is sent. Slack parses `<…>` in mrkdwn as links and
// mentions (`<!channel>`, `<https://evil|Click here>`), PagerDuty and mail headers show single
// lines, HTML renders tags: each receiver escapes for its own syntax, through these.

/**
 * Slack mrkdwn: `&`, `<`, `>` as entities (Slack's own rule: those three, nothing else), so no
 * link, mention or channel ping can be written by a label; `@channel`-style words are broken with
 * a zero-width joiner, in case a workspace turns on `link_names`.
 */
export function slackText(text: string): string {
  return visible(text)
    .replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"))
    .replace(/@(channel|here|everyone)\b/gi, "@\u200d$1");
}

/** One line of plain text at most `max` characters: a PagerDuty field, a mail subject. */
export function lineText(text: string, max: number): string {
  const line = visible(text).replace(/\s+/g, " ").trim();
  if (line.length <= max) return line;
  // Cut between characters, never inside one (a lone UTF-16 surrogate is not text).
  const chars = [...line];
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : line;
}

/** HTML text or attribute. */
export function htmlText(text: string): string {
  return visible(text).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** A link only when it is http(s): `javascript:` or `data:` from a label is never a button. */
export function safeUrl(url: string | null | undefined): string | undefined {
  if (url === undefined || url === null) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Without control characters (other than newline and tab) and without the bidirectional
 * overrides that make `evil.com/moc.knab` read as something else.
 */
function visible(text: string): string {
  return text.replace(INVISIBLE, "");
}
const INVISIBLE =
  // eslint-disable-next-line no-control-regex -- control characters are what it removes
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
