/**
 * Webhook deliveries: every alert event for a webhook is a stored delivery (so a restart resumes
 * it), POSTed as JSON — plain, Slack- or Discord-shaped — signed with
 * `X-Fleet-Signature: sha256=<HMAC-SHA256 of the body, hex>`, retried with jittered exponential
 * backoff (`shared/backoff.ts`) up to the webhook's attempts, and each outcome is stored and
 * announced (`alert.delivery`) so a failing receiver is visible in the UI and API.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import type { Database } from "../core/db.ts";
import type { EventBus } from "../core/bus.ts";
import type { AlertInfo, DeliveryInfo } from "../../shared/protocol/mod.ts";
import { backoffDelay } from "../../shared/backoff.ts";
import { VERSION } from "../../shared/version.ts";
import { getLogger } from "../../shared/log.ts";
import type { Webhook } from "./rules.ts";
import { getDelivery, insertDelivery, openDeliveries, updateDelivery } from "./store.ts";

const logger = getLogger("alerts");

/** Deliveries in flight at once; the rest wait their turn (a thousand nodes going dark at once). */
const MAX_IN_FLIGHT = 16;
/** Longest pause between two attempts. */
const BACKOFF_CAP_MS = 600_000;

/** One alert event for a webhook. */
export interface AlertPayload {
  event: "alert.firing" | "alert.resolved" | "alert.test";
  alert: AlertInfo;
}

/** The notifications a flooded webhook held back during its window, sent as one. */
export interface DigestPayload {
  event: "alert.digest";
  firing: number;
  resolved: number;
  window_s: number;
  /** The first {@link DIGEST_ITEMS} of them. */
  alerts: AlertPayload[];
}

/** What a delivery carries (stored as JSON, rendered per format at each attempt). */
export type DeliveryPayload = AlertPayload | DigestPayload;

/** Alerts listed in one digest (the rest are counted). */
export const DIGEST_ITEMS = 50;

/** A webhook with its key resolved (from fleet.yml or the environment). */
interface ResolvedHook {
  hook: Webhook;
  secret: string | undefined;
  /** Why it cannot send (a secret_env that is not set). */
  broken: string | undefined;
}

/** The HMAC-SHA256 signature header value of `body`. */
export function signBody(secret: string, body: string): string {
  return "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
}

/**
 * `text` with the webhook's URL, and its path and query wherever they appear, replaced by its
 * origin: error texts quote the URL, whose path may be a secret (Slack, Discord).
 */
export function scrubUrl(text: string, url: string): string {
  const target = webhookTarget(url);
  const secrets = [url];
  try {
    const u = new URL(url);
    secrets.push(u.href);
    if (u.pathname.length > 1 || u.search) secrets.push(u.pathname + u.search);
    if (u.pathname.length > 1) secrets.push(u.pathname);
  } catch { /* an invalid URL never passed the schema */ }
  let out = text;
  for (const s of secrets.sort((a, b) => b.length - a.length)) out = out.split(s).join(target);
  return out;
}

/** Scheme, host and port of a URL: what may be shown (a path can hold a token). */
export function webhookTarget(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}

const COLORS = { critical: 0xe5484d, warning: 0xf5a524, info: 0x3b82f6, resolved: 0x30a46c };

function headline(p: AlertPayload): string {
  const what = p.event === "alert.test"
    ? "TEST"
    : p.event === "alert.firing"
    ? "FIRING"
    : "RESOLVED";
  return `[${what}] ${p.alert.severity} · ${p.alert.rule}: ${p.alert.message}`;
}

function digestHeadline(p: DigestPayload): string {
  return `[DIGEST] ${p.firing + p.resolved} alert notifications in ${p.window_s} s: ` +
    `${p.firing} firing, ${p.resolved} resolved`;
}

function renderDigest(format: Webhook["format"], p: DigestPayload, now: number): string {
  const more = p.firing + p.resolved - p.alerts.length;
  const lines = p.alerts.slice(0, 10).map((x) => `• ${headline(x)}`);
  if (more + p.alerts.length > lines.length) {
    lines.push(`… and ${more + p.alerts.length - lines.length} more in the hub's Alerts view`);
  }
  if (format === "slack") {
    return JSON.stringify({
      text: digestHeadline(p),
      blocks: [
        { type: "section", text: { type: "mrkdwn", text: `*${digestHeadline(p)}*` } },
        { type: "section", text: { type: "mrkdwn", text: lines.join("\n").slice(0, 2900) } },
      ],
    });
  }
  if (format === "discord") {
    return JSON.stringify({
      content: digestHeadline(p),
      allowed_mentions: { parse: [] },
      embeds: [{
        title: `Digest: ${p.firing} firing, ${p.resolved} resolved`,
        description: lines.join("\n").slice(0, 4096),
        color: p.firing ? COLORS.critical : COLORS.resolved,
        timestamp: new Date(now).toISOString(),
      }],
    });
  }
  return JSON.stringify({ ...p, more, hub: { version: VERSION }, sent_at: now });
}

/** The request body for a webhook's format. */
export function renderBody(format: Webhook["format"], p: DeliveryPayload, now: number): string {
  if (p.event === "alert.digest") return renderDigest(format, p, now);
  const a = p.alert;
  if (format === "slack") {
    return JSON.stringify({
      text: headline(p),
      blocks: [
        { type: "section", text: { type: "mrkdwn", text: `*${headline(p)}*` } },
        {
          type: "context",
          elements: [{
            type: "mrkdwn",
            text: `rule \`${a.rule}\`${a.node_id ? ` · node \`${a.node_id}\`` : ""} · fleet-hub`,
          }],
        },
      ],
    });
  }
  if (format === "discord") {
    const resolved = p.event === "alert.resolved";
    return JSON.stringify({
      content: headline(p).slice(0, 2000),
      // A message naming @everyone must not ping a whole server.
      allowed_mentions: { parse: [] },
      embeds: [{
        title: `${resolved ? "Resolved" : p.event === "alert.test" ? "Test" : "Firing"}: ${a.rule}`
          .slice(0, 256),
        description: a.message.slice(0, 4096),
        color: resolved ? COLORS.resolved : COLORS[a.severity],
        timestamp: new Date(resolved && a.resolved_at ? a.resolved_at : a.fired_at).toISOString(),
        fields: [
          { name: "severity", value: a.severity, inline: true },
          ...(a.node_id ? [{ name: "node", value: a.node_id, inline: true }] : []),
        ],
      }],
    });
  }
  return JSON.stringify({ event: p.event, alert: a, hub: { version: VERSION }, sent_at: now });
}

/** Sends deliveries, retries them and records every outcome. */
export class WebhookSender {
  #db: Database;
  #bus: EventBus;
  #hooks = new Map<string, ResolvedHook>();
  #timers = new Map<number, ReturnType<typeof setTimeout>>();
  #waiting: number[] = [];
  #inFlight = 0;
  #abort = new AbortController();
  #started = false;
  #env: (name: string) => string | undefined;
  /** Per webhook, when its recent notifications were queued (for its flood bound). */
  #recent = new Map<string, number[]>();
  /** Per webhook, the notifications held back for its next digest. */
  #digests = new Map<string, {
    firing: number;
    resolved: number;
    alerts: AlertPayload[];
    windowMs: number;
    timer: ReturnType<typeof setTimeout>;
  }>();

  constructor(db: Database, bus: EventBus, env: (name: string) => string | undefined) {
    this.#db = db;
    this.#bus = bus;
    this.#env = env;
  }

  /** Applies the webhooks of fleet.yml (start and reload). */
  setWebhooks(list: Webhook[]): void {
    this.#hooks = new Map(list.map((hook) => {
      const secret = hook.secret ?? (hook.secret_env ? this.#env(hook.secret_env) : undefined);
      const broken = hook.secret_env && !secret
        ? `its key variable ${hook.secret_env} is not set in the hub's environment`
        : undefined;
      if (broken) logger.warn("webhook cannot sign", { webhook: hook.name, problem: broken });
      return [hook.name, { hook, secret, broken }];
    }));
  }

  /** The webhooks in force. */
  get webhooks(): Webhook[] {
    return [...this.#hooks.values()].map((h) => h.hook);
  }

  /** Whether a webhook signs its bodies. */
  signed(name: string): boolean {
    return !!this.#hooks.get(name)?.secret;
  }

  /** Resumes the deliveries a previous run left open. */
  start(): void {
    this.#started = true;
    for (const d of openDeliveries(this.#db)) this.#schedule(Number(d.info.id), d.next_at ?? 0);
  }

  /** Stops sending (open deliveries stay stored for the next start; held digests are dropped). */
  stop(): void {
    this.#started = false;
    this.#abort.abort();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#waiting = [];
    for (const [webhook, d] of this.#digests) {
      clearTimeout(d.timer);
      logger.warn("held alert notifications not sent (the hub stops)", {
        webhook,
        notifications: d.firing + d.resolved,
      });
    }
    this.#digests.clear();
  }

  /**
   * Queues an alert notification, unless the webhook already had its `flood.max` within
   * `flood.window`: then it is held and sent with the others of that window as one digest, so a
   * rack losing power is one message, not a thousand.
   */
  async notify(hook: Webhook, payload: AlertPayload, alertId: number): Promise<void> {
    const { max, window } = hook.flood;
    if (max > 0) {
      const now = Date.now();
      const recent = (this.#recent.get(hook.name) ?? []).filter((t) => t > now - window);
      this.#recent.set(hook.name, recent);
      const held = this.#digests.get(hook.name);
      if (held || recent.length >= max) {
        this.#hold(hook, payload, held ? 0 : recent[0] + window - now);
        return;
      }
      recent.push(now);
    }
    await this.enqueue(hook.name, payload, alertId);
  }

  #hold(hook: Webhook, payload: AlertPayload, flushInMs: number): void {
    let d = this.#digests.get(hook.name);
    if (!d) {
      d = {
        firing: 0,
        resolved: 0,
        alerts: [],
        windowMs: hook.flood.window,
        timer: setTimeout(() => void this.#flushDigest(hook.name), Math.max(0, flushInMs)),
      };
      this.#digests.set(hook.name, d);
    }
    if (payload.event === "alert.resolved") d.resolved++;
    else d.firing++;
    if (d.alerts.length < DIGEST_ITEMS) d.alerts.push(payload);
  }

  async #flushDigest(webhook: string): Promise<void> {
    const d = this.#digests.get(webhook);
    if (!d) return;
    this.#digests.delete(webhook);
    // The digest is the window's one more message.
    this.#recent.set(webhook, [Date.now()]);
    try {
      await this.enqueue(webhook, {
        event: "alert.digest",
        firing: d.firing,
        resolved: d.resolved,
        window_s: Math.round(d.windowMs / 1000),
        alerts: d.alerts,
      }, null);
    } catch (error) {
      logger.error("alert digest not stored", { webhook, error });
    }
  }

  /** Stores a delivery of `payload` to `webhook` and sends it; resolves once it is stored. */
  async enqueue(
    webhook: string,
    payload: DeliveryPayload,
    alertId: number | null,
  ): Promise<DeliveryInfo> {
    const now = Date.now();
    const d = await this.#db.write((tx) =>
      insertDelivery(
        tx,
        { webhook, alert_id: alertId, event: payload.event, payload: JSON.stringify(payload) },
        now,
      )
    );
    this.#bus.publish({ type: "alert.delivery", delivery: d.info });
    if (this.#started) this.#schedule(Number(d.info.id), now);
    return d.info;
  }

  #schedule(id: number, at: number): void {
    clearTimeout(this.#timers.get(id));
    const t = setTimeout(() => {
      this.#timers.delete(id);
      this.#run(id);
    }, Math.max(0, at - Date.now()));
    this.#timers.set(id, t);
  }

  #run(id: number): void {
    if (!this.#started) return;
    if (this.#inFlight >= MAX_IN_FLIGHT) {
      this.#waiting.push(id);
      return;
    }
    this.#inFlight++;
    this.#attempt(id).catch((error) => logger.error("delivery failed", { id, error })).finally(
      () => {
        this.#inFlight--;
        const next = this.#waiting.shift();
        if (next !== undefined) this.#run(next);
      },
    );
  }

  async #attempt(id: number): Promise<void> {
    const d = getDelivery(this.#db, id);
    if (!d || (d.info.state !== "pending" && d.info.state !== "retrying")) return;
    const resolved = this.#hooks.get(d.info.webhook);
    const attempts = d.info.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    const maxAttempts = resolved?.hook.attempts ?? 1;
    if (!resolved) {
      error = "the webhook is no longer in fleet.yml";
    } else if (resolved.broken) {
      error = resolved.broken;
    } else {
      const { hook, secret } = resolved;
      const body = renderBody(hook.format, JSON.parse(d.payload) as DeliveryPayload, Date.now());
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": `fleet-hub/${VERSION}`,
        "x-fleet-event": d.info.event,
        "x-fleet-delivery": d.info.id,
      };
      if (secret) headers["x-fleet-signature"] = signBody(secret, body);
      try {
        const res = await fetch(hook.url, {
          method: "POST",
          headers,
          body,
          // A redirect would carry a signed alert somewhere the operator did not name.
          redirect: "manual",
          signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(hook.timeout)]),
        });
        status = res.status;
        const text = await res.text().catch(() => "");
        if (!res.ok) {
          const said = scrubUrl(text.replace(/\s+/g, " ").slice(0, 200), hook.url);
          error = `HTTP ${res.status}${said ? `: ${said}` : ""}`;
        }
      } catch (e) {
        if (this.#abort.signal.aborted) return;
        error = scrubUrl(String((e as Error)?.message ?? e), hook.url).slice(0, 300);
        if ((e as Error)?.name === "TimeoutError") error = `no answer within ${hook.timeout} ms`;
      }
    }
    const now = Date.now();
    const ok = error === null;
    const final = ok || attempts >= maxAttempts;
    const next = final ? null : now + Math.round(backoffDelay(attempts - 1, {
      baseMs: resolved!.hook.backoff,
      capMs: BACKOFF_CAP_MS,
      jitter: "equal",
    }));
    const updated = await this.#db.write((tx) =>
      updateDelivery(tx, id, {
        state: ok ? "delivered" : final ? "failed" : "retrying",
        attempts,
        next_at: next,
        last_status: status,
        last_error: error,
      }, now)
    );
    if (!updated) return;
    this.#bus.publish({ type: "alert.delivery", delivery: updated.info });
    if (!ok) {
      const fields = {
        webhook: d.info.webhook,
        target: resolved ? webhookTarget(resolved.hook.url) : null,
        delivery: d.info.id,
        attempt: attempts,
        error,
      };
      if (final) logger.warn("webhook delivery failed for good", fields);
      else {logger.info("webhook delivery failed; retrying", {
          ...fields,
          retry_in_ms: next! - now,
        });}
    }
    if (next !== null && this.#started) this.#schedule(id, next);
  }
}
