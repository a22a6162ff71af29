/**
 * The cluster health in one strip (`GET /swarm/health`): managers reachable, nodes ready / down /
 * drained, services converged, and each problem in a sentence under it.
 *
 * @module
 */
import { swarmHealth } from "../../state/swarm.ts";
import { formatAge, now } from "../../state/clock.ts";
import { Icon } from "../../ui/icon.tsx";
import type { Tone } from "../../ui/state_chip.tsx";

/** The registry part of the health answer. */
interface RegistryHealth {
  registry: string;
  reachable: boolean;
  error: string | null;
}

function Stat({ label, value, of, tone, note, testid }: {
  label: string;
  value: number;
  of: number;
  tone: Tone;
  note?: string;
  testid: string;
}) {
  return (
    <div class={`sw-stat tone-${tone}`} data-testid={testid}>
      <span class="sw-stat-value num">
        {value}
        <small>/{of}</small>
      </span>
      <span class="sw-stat-label">{label}</span>
      {note ? <span class="sw-stat-note">{note}</span> : null}
    </div>
  );
}

/** The summary strip; nothing until the first answer. */
export function HealthSummary() {
  const h = swarmHealth.value;
  if (!h) return null;
  const notConverged = h.services.not_converged.length;
  // Newer hubs say whether the registry answers; older answers lack the field.
  const reg = (h as { registry?: RegistryHealth | null }).registry ?? null;
  return (
    <section class="sw-health" data-testid="swarm-health" data-ok={h.ok ? "1" : "0"}>
      <div class={`sw-verdict tone-${h.ok ? "ok" : "bad"}`}>
        <Icon name={h.ok ? "check" : "alert"} size={20} />
        <div>
          <b>
            {h.ok
              ? "Healthy"
              : `${h.problems.length || 1} problem${h.problems.length === 1 ? "" : "s"}`}
          </b>
          <span class="mute">
            engine {h.engine.version} · checked {formatAge(h.checked_at, now.value)} ago
          </span>
          {reg
            ? (
              <span
                class={reg.reachable ? "mute" : "bad-text"}
                title={reg.error ?? undefined}
                data-testid="health-registry"
              >
                registry {reg.registry} {reg.reachable ? "answers" : "does not answer"}
              </span>
            )
            : null}
        </div>
      </div>
      <Stat
        label="managers reachable"
        value={h.managers.reachable}
        of={h.managers.total}
        tone={h.managers.reachable < h.managers.total ? "bad" : "ok"}
        testid="health-managers"
      />
      <Stat
        label="nodes ready"
        value={h.nodes.ready}
        of={h.nodes.total}
        tone={h.nodes.down ? "bad" : h.nodes.drained ? "wait" : "ok"}
        note={[
          h.nodes.down ? `${h.nodes.down} down` : "",
          h.nodes.drained ? `${h.nodes.drained} drained` : "",
        ]
          .filter(Boolean).join(" · ") || undefined}
        testid="health-nodes"
      />
      <Stat
        label="services converged"
        value={h.services.converged}
        of={h.services.total}
        tone={notConverged ? "wait" : "ok"}
        note={notConverged ? `${notConverged} not converged` : undefined}
        testid="health-services"
      />
      {h.problems.length
        ? (
          <ul class="sw-problems" data-testid="health-problems">
            {h.problems.slice(0, 4).map((p) => (
              <li key={p}>
                <Icon name="alert" size={13} /> {p}
              </li>
            ))}
            {h.problems.length > 4 ? <li class="mute">and {h.problems.length - 4} more</li> : null}
          </ul>
        )
        : null}
    </section>
  );
}
