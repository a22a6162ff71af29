/**
 * Every event of the fleet stream (`GET /api/v1/fleet/events`).
 *
 * @module
 */
import { z } from "zod";
import {
  ExecExitEvent,
  ExecFinishedEvent,
  ExecOutputEvent,
  ExecStartedEvent,
  NodeControlEvent,
} from "./control.ts";
import { JobEvent } from "./jobs.ts";
import {
  NodeAddedEvent,
  NodeClockEvent,
  NodeRecoveryEvent,
  NodeRemovedEvent,
  NodeSampleEvent,
  NodeStatusEvent,
  StreamResetEvent,
} from "./nodes.ts";
import { RoamerEvent } from "./roamers.ts";
import { LinkQualityEvent } from "./links.ts";
import { NetworkScanEvent } from "./network.ts";
import { NodeActionEvent } from "./node_actions.ts";
import {
  AlertDeliveryEvent,
  AlertFiringEvent,
  AlertResolvedEvent,
  AlertUpdatedEvent,
} from "./alerts.ts";
import { BackupProgressEvent, BackupStateEvent, RestoreEvent } from "./backups.ts";

/** Every event of the fleet stream. */
export const FleetEvent = z.discriminatedUnion("type", [
  NodeControlEvent,
  ExecStartedEvent,
  ExecOutputEvent,
  ExecExitEvent,
  ExecFinishedEvent,
  NodeSampleEvent,
  NodeStatusEvent,
  NodeAddedEvent,
  NodeRemovedEvent,
  NodeRecoveryEvent,
  NodeClockEvent,
  StreamResetEvent,
  JobEvent,
  RoamerEvent,
  LinkQualityEvent,
  NetworkScanEvent,
  NodeActionEvent,
  AlertFiringEvent,
  AlertResolvedEvent,
  AlertUpdatedEvent,
  AlertDeliveryEvent,
  BackupStateEvent,
  BackupProgressEvent,
  RestoreEvent,
]);
export type FleetEvent = z.infer<typeof FleetEvent>;
