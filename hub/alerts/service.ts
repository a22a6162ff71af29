/**
 * Alerting: feeds fleet events (samples, status changes, job and roamer transitions, ingest
 * batches) to the rule engine, stores what fires and resolves (history is kept), announces it on
 * the stream, and hands notifications to the webhooks — unless the alert's rule and subject are
 * silenced. Acknowledging, silencing and test sends are audited.
 *
 * @module
 */
import type { Database } from "../core/db.ts";
import type { EventBus } from "../core/bus.ts";
import type { HubConfig } from "../core/config.ts";
import type { FleetView } from "../fleet/service.ts";
import type { RoamerPool } from "../jobs/roamers.ts";
import type { IngestObservation } from "../fleet/nodes.ts";
import { type AuditActor, insertAudit } from "../core/store.ts";
import { NotFound } from "../core/errors.ts";
import type {
  AlertConfigInfo,
  AlertInfo,
  AlertListQuery,
  AlertPage,
  DeliveryInfo,
  FleetEvent,
} from "../../shared/protocol/mod.ts";
import { ALERT_SEVERITIES } from "../../shared/protocol/enums.ts";
import { getLogger } from "../../shared/log.ts";
import { AlertEngine, type FireSpec } from "./engine.ts";
import { describeRule } from "./rules.ts";
import { type DeliveryPayload, WebhookSender, webhookTarget } from "./webhooks.ts";
import {
  ackAlert,
  alertKeyOf,
  firingKeys,
  getAlert,
  insertFiring,
  isSilenced,
  listAlerts,
  listDeliveries,
  listFiring,
  pruneAlerts,
  resolveFiring,
  setSilence,
  webhookCounts,
} from "./store.ts";

const logger = getLogger("alerts");

/** How often resolved alerts and finished deliveries past the history bound are pruned. */
const PRUNE_EVERY_MS = 3_600_000;

/** Collaborators of {@link AlertService}. */
export interface AlertServiceOptions {
  db: Database;
  bus: EventBus;
  config: HubConfig;
  fleet: FleetView;
  roamers: RoamerPool;
  /** Reads a webhook's `secret_env` (default: the process environment). */
  env?: (name: string) => string | undefined;
}

/** The alerting feature. */
export class AlertService {
  #o: AlertServiceOptions;
  readonly engine: AlertEngine;
  readonly sender: WebhookSender;
  #unsubscribe: () => void;
  #pruneTimer: ReturnType<typeof setInterval> | undefined;
  #started = false;

  constructor(options: AlertServiceOptions) {
    this.#o = options;
    const { db, bus } = options;
    this.engine = new AlertEngine({
      fire: (spec) => void this.#fired(spec),
      resolve: (key, value, message) => void this.#resolved(key, value, message),
    });
    this.sender = new WebhookSender(db, bus, options.env ?? ((n) => Deno.env.get(n)));
    for (const { key, value } of firingKeys(db)) this.engine.markFiring(key, value);
    for (const n of options.fleet.list()) this.engine.spoolBaseline(n.id, n.spool_dropped);
    this.configChanged();
    this.#unsubscribe = bus.subscribe((_, event) => this.#event(event));
  }

  /** Starts webhook sending, the absence timers of what is already down, and pruning. */
  start(): void {
    this.#started = true;
    this.sender.start();
    this.#baseline();
    this.#pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
  }

  /** Stops timers and sending (open deliveries stay stored). */
  stop(): void {
    this.#started = false;
    this.#unsubscribe();
    clearInterval(this.#pruneTimer);
    this.engine.stop();
    this.sender.stop();
  }

  /** Applies fleet.yml's `alerts:` (start and reload); alerts of removed rules resolve. */
  configChanged(): void {
    const { config, fleet } = this.#o;
    const clusterOf = new Map<string, string>();
    for (const c of config.inventory.clusters) for (const n of c.nodes) clusterOf.set(n, c.id);
    this.engine.setRules(
      config.alerts.rules,
      (n) => clusterOf.get(n) ?? null,
      (n) => fleet.statusOf(n) === "offline",
    );
    this.sender.setWebhooks(config.alerts.webhooks);
    for (const key of this.engine.orphans()) {
      this.engine.resolve(key, null, "its rule was removed from fleet.yml");
    }
    if (this.#started) this.#baseline();
  }

  /** Absence rules for what is already offline or stuck (at start and after a reload). */
  #baseline(): void {
    const { config, fleet, roamers } = this.#o;
    const now = Date.now();
    for (const n of fleet.list()) {
      if (n.status !== "offline") continue;
      const since = (n.last_seen ?? now) + config.offlineAfterMs;
      this.engine.status(n.id, "offline", Math.max(0, now - since));
    }
    for (const r of roamers.list()) this.engine.roamer(r.node_id, r.state, now - r.state_at, true);
  }

  #event(event: FleetEvent): void {
    try {
      switch (event.type) {
        case "node.sample":
          this.engine.sample(event.node_id, event.sample, Date.now());
          break;
        case "node.status":
          this.engine.status(event.node_id, event.status);
          break;
        case "node.removed":
          this.engine.nodeRemoved(event.node_id);
          break;
        case "job.state":
          if (event.state === "done" || event.state === "failed") {
            this.engine.jobFinished(event.node, event.state === "failed");
          }
          break;
        // Backups will feed a backup-age evaluator here from their `backup.*` events (see the
        // module comment of engine.ts): fire when a target's newest good run is too old.
        case "roamer.state":
          if (event.roamer.state !== event.previous) {
            this.engine.roamer(event.roamer.node_id, event.roamer.state);
          }
          break;
      }
    } catch (error) {
      logger.error("alert evaluation failed", { type: event.type, error });
    }
  }

  /** Feeds one committed ingest batch (the agent's spool-drop counter rides on it). */
  ingested(o: IngestObservation): void {
    if (o.spool_dropped !== undefined) this.engine.spool(o.node_id, o.spool_dropped);
  }

  async #fired(spec: FireSpec): Promise<void> {
    try {
      const now = Date.now();
      const alert = await this.#o.db.write((tx) => insertFiring(tx, spec, now));
      if (!alert) return;
      logger.warn("alert firing", {
        rule: alert.rule,
        node_id: alert.node_id,
        alert: alert.message,
      });
      this.#o.bus.publish({ type: "alert.firing", alert });
      await this.#notify("alert.firing", alert, spec.key);
    } catch (error) {
      logger.error("alert not stored", { rule: spec.rule, error });
    }
  }

  async #resolved(key: string, value: number | null, message: string): Promise<void> {
    try {
      const now = Date.now();
      const alert = await this.#o.db.write((tx) => resolveFiring(tx, key, value, message, now));
      if (!alert) return;
      logger.info("alert resolved", { rule: alert.rule, node_id: alert.node_id });
      this.#o.bus.publish({ type: "alert.resolved", alert });
      await this.#notify("alert.resolved", alert, key);
    } catch (error) {
      logger.error("alert resolution not stored", { key, error });
    }
  }

  /** Hands an alert event to every webhook that wants it, unless its key is silenced. */
  async #notify(
    event: "alert.firing" | "alert.resolved",
    alert: AlertInfo,
    key: string,
  ): Promise<void> {
    if (isSilenced(this.#o.db, key, Date.now())) return;
    const rank = (s: string) => ALERT_SEVERITIES.indexOf(s as typeof ALERT_SEVERITIES[number]);
    for (const hook of this.sender.webhooks) {
      if (hook.rules && !hook.rules.includes(alert.rule)) continue;
      if (rank(alert.severity) < rank(hook.min_severity)) continue;
      if (event === "alert.resolved" && !hook.resolved) continue;
      await this.sender.notify(hook, { event, alert }, Number(alert.id));
    }
  }

  /** Alerts newest first. */
  list(q: AlertListQuery): AlertPage {
    const alerts = listAlerts(this.#o.db, q);
    return {
      alerts,
      next_cursor: alerts.length === q.limit ? alerts.at(-1)!.id : null,
    };
  }

  /** Every firing alert. */
  firing(): AlertInfo[] {
    return listFiring(this.#o.db);
  }

  /** One alert. */
  get(id: number): AlertInfo {
    const a = getAlert(this.#o.db, id);
    if (!a) throw new NotFound(`no alert ${id}: see GET /api/v1/alerts`);
    return a;
  }

  /** Acknowledges an alert (firing or resolved); audited. */
  async ack(id: number, by: AuditActor): Promise<AlertInfo> {
    const now = Date.now();
    const ok = await this.#o.db.write((tx) => {
      if (!ackAlert(tx, id, by.name, now)) return false;
      insertAudit(tx, {
        actor: by,
        action: "alert.ack",
        target: String(id),
        result: "ok",
        detail: null,
      });
      return true;
    });
    if (!ok) throw new NotFound(`no alert ${id}: see GET /api/v1/alerts`);
    const alert = this.get(id);
    this.#o.bus.publish({ type: "alert.updated", alert });
    return alert;
  }

  /**
   * Holds back notifications of the alert's rule and subject for `forS` seconds (0 lifts the
   * silence). The alert keeps firing and resolving in the history and on the stream. Audited.
   */
  async silence(id: number, forS: number, by: AuditActor): Promise<AlertInfo> {
    const now = Date.now();
    const key = alertKeyOf(this.#o.db, id);
    if (!key) throw new NotFound(`no alert ${id}: see GET /api/v1/alerts`);
    const until = forS > 0 ? now + forS * 1000 : 0;
    await this.#o.db.write((tx) => {
      setSilence(tx, key, until, by.name, now);
      insertAudit(tx, {
        actor: by,
        action: forS > 0 ? "alert.silence" : "alert.unsilence",
        target: String(id),
        result: "ok",
        detail: forS > 0 ? { for_s: forS, until } : null,
      });
    });
    const alert = this.get(id);
    this.#o.bus.publish({ type: "alert.updated", alert });
    // The firing alert of the same rule and subject, if it is another row, shows it too.
    for (const f of listFiring(this.#o.db)) {
      if (f.id !== alert.id && alertKeyOf(this.#o.db, Number(f.id)) === key) {
        this.#o.bus.publish({ type: "alert.updated", alert: f });
      }
    }
    return alert;
  }

  /** Sends a test alert to one webhook; audited. */
  async testSend(name: string, by: AuditActor): Promise<DeliveryInfo> {
    const hook = this.sender.webhooks.find((w) => w.name === name);
    if (!hook) {
      throw new NotFound(
        `no webhook ${name} in fleet.yml: see GET /api/v1/alerts/config for the webhooks`,
      );
    }
    const now = Date.now();
    const payload: DeliveryPayload = {
      event: "alert.test",
      alert: {
        id: "0",
        rule: "test",
        kind: "offline",
        severity: "info",
        state: "firing",
        node_id: null,
        subject: null,
        message: `test notification from fleet-hub, sent by ${by.name}`,
        value: null,
        threshold: null,
        fired_at: now,
        resolved_at: null,
        acked_at: null,
        acked_by: null,
        silenced_until: null,
        silenced_by: null,
      },
    };
    const delivery = await this.sender.enqueue(name, payload, null);
    await this.#o.db.write((tx) =>
      insertAudit(tx, {
        actor: by,
        action: "alert.webhook_test",
        target: name,
        result: "ok",
        detail: { delivery: delivery.id },
      })
    );
    return delivery;
  }

  /** The rules and webhooks in force, with each webhook's delivery counts. */
  configInfo(): AlertConfigInfo {
    const { config, db } = this.#o;
    return {
      rules: config.alerts.rules.map((r) => ({
        name: r.name,
        kind: r.kind,
        severity: r.severity,
        description: describeRule(r),
      })),
      webhooks: this.sender.webhooks.map((w) => ({
        name: w.name,
        target: webhookTarget(w.url),
        format: w.format,
        signed: this.sender.signed(w.name),
        ...webhookCounts(db, w.name),
      })),
    };
  }

  /** Deliveries newest first. */
  deliveries(webhook: string | undefined, limit: number): DeliveryInfo[] {
    return listDeliveries(this.#o.db, webhook, limit);
  }

  /** Drops history older than `alerts.history`. */
  async prune(now = Date.now()): Promise<number> {
    const before = now - this.#o.config.alerts.history;
    try {
      return await this.#o.db.write((tx) => pruneAlerts(tx, before, now));
    } catch (error) {
      logger.error("alert history prune failed", { error });
      return 0;
    }
  }
}
