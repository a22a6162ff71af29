/** Placeholder. @module */
export function CanvasView() {
  return <div class="view">canvas</div>;
}
