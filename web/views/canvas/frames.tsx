/**
 * Frames behind the cards: one per cluster (with its workers, queue and running jobs), the
 * roamer pool and unassigned nodes. They follow their cards when those are dragged.
 *
 * @module
 */
import { frames } from "../../canvas/flow_model.ts";
import { clusters } from "../../state/queue.ts";
import { nodeSignal } from "../../state/fleet.ts";
import { statusCounts } from "../../state/fleet.ts";

/** All frames. */
export function Frames() {
  statusCounts.value; // online counts in the titles follow status changes
  const info = new Map(clusters.value.map((c) => [c.id, c]));
  return (
    <>
      {frames.value.map((f) => {
        const c = info.get(f.group.id);
        const online = f.group.members.filter((id) =>
          nodeSignal(id)?.peek().status === "online"
        ).length;
        return (
          <div
            key={f.group.id}
            class={`frame ${f.group.kind}`}
            style={{
              transform: `translate(${f.x}px, ${f.y}px)`,
              width: `${f.width}px`,
              height: `${f.height}px`,
            }}
            data-testid="frame"
            data-group={f.group.id}
          >
            <div class="frame-head">
              <span class="frame-title">{f.group.label}</span>
              {c?.purpose ? <span class="frame-purpose">{c.purpose}</span> : null}
              <span class="frame-stats">
                <span title="nodes online">{online}/{f.group.members.length} online</span>
                {c
                  ? (
                    <>
                      <span title="pending jobs" class={c.queue.pending ? "busy" : ""}>
                        queue {c.queue.pending}
                      </span>
                      <span title="running jobs">run {c.queue.running}</span>
                      {c.roamers.length
                        ? <span class="lent">+{c.roamers.length} roamer</span>
                        : null}
                    </>
                  )
                  : null}
              </span>
            </div>
          </div>
        );
      })}
    </>
  );
}
