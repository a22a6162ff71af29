/**
 * The form that starts a network tool from a node: LAN scan (a CIDR, force past a /22), port
 * scan (a host and a port list or range) or WAN check (the targets fleet.yml configures). Only
 * nodes whose agent holds its control channel can run one; the hub's refusal (a /16 without
 * force, a public target, an offline node) is shown under the form as it said it.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { api } from "../../../state/api.ts";
import { allNodes, nodeIds } from "../../../state/fleet.ts";
import { isAdmin } from "../../../state/session.ts";
import { showScan } from "../../../state/network_scans.ts";
import { Icon } from "../../../ui/icon.tsx";
import { FormError } from "../../../ui/modal.tsx";

type Tool = "lan" | "port" | "wan";

const TOOLS: { id: Tool; label: string; hint: string }[] = [
  { id: "lan", label: "LAN scan", hint: "ping sweep + ARP table, open ports, names" },
  { id: "port", label: "Port scan", hint: "open / closed / filtered, SSH and HTTP banners" },
  { id: "wan", label: "WAN check", hint: "DNS, TCP and HTTP timings to network.wan_targets" },
];

/** Props of {@link ScanForm}. */
export interface ScanFormProps {
  nodeId?: string;
}

/** The form. */
export function ScanForm({ nodeId }: ScanFormProps) {
  nodeIds.value; // re-render when nodes come and go
  const nodes = allNodes().filter((n) => n.control).sort((a, b) => a.name.localeCompare(b.name));
  const tool = useSignal<Tool>("lan");
  const node = useSignal(nodeId ?? "");
  const cidr = useSignal("");
  const force = useSignal(false);
  const host = useSignal("");
  const ports = useSignal("22,80,443,2375-2377,8080,8765");
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const chosen = node.value || nodeId || nodes[0]?.id || "";
  const admin = isAdmin.value;

  const submit = async () => {
    error.value = null;
    busy.value = true;
    try {
      const scan = tool.value === "lan"
        ? await api.lanScan({ node: chosen, cidr: cidr.value.trim(), force: force.value })
        : tool.value === "port"
        ? await api.portScan({ node: chosen, host: host.value.trim(), ports: ports.value })
        : await api.wanCheck({ node: chosen });
      await showScan(scan.id);
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };

  return (
    <form
      class="card netscan-form"
      data-testid="scan-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div class="segmented" role="tablist">
        {TOOLS.map((t) => (
          <button
            type="button"
            key={t.id}
            class={tool.value === t.id ? "on" : ""}
            onClick={() => (tool.value = t.id)}
            data-testid={`tool-${t.id}`}
            title={t.hint}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div class="netscan-fields">
        <label>
          From node
          <select
            value={chosen}
            onChange={(e) => (node.value = (e.target as HTMLSelectElement).value)}
            data-testid="scan-node"
          >
            {nodes.length === 0
              ? <option value="">no node holds its control channel</option>
              : null}
            {nodes.map((n) => <option key={n.id} value={n.id}>{n.name}</option>)}
          </select>
        </label>
        {tool.value === "lan"
          ? (
            <>
              <label class="grow">
                CIDR
                <input
                  value={cidr.value}
                  placeholder="192.168.1.0/24"
                  onInput={(e) => (cidr.value = (e.target as HTMLInputElement).value)}
                  data-testid="scan-cidr"
                />
              </label>
              <label class="netscan-check" title="allow sweeps larger than a /22 (up to a /16)">
                <span>
                  <input
                    type="checkbox"
                    checked={force.value}
                    onChange={(e) => (force.value = (e.target as HTMLInputElement).checked)}
                  />{" "}
                  force
                </span>
              </label>
            </>
          )
          : tool.value === "port"
          ? (
            <>
              <label class="grow">
                Host
                <input
                  value={host.value}
                  placeholder="192.168.1.20"
                  onInput={(e) => (host.value = (e.target as HTMLInputElement).value)}
                  data-testid="scan-host"
                />
              </label>
              <label class="grow">
                Ports
                <input
                  value={ports.value}
                  onInput={(e) => (ports.value = (e.target as HTMLInputElement).value)}
                  data-testid="scan-ports"
                />
              </label>
            </>
          )
          : <p class="netscan-hint">{TOOLS[2].hint}</p>}
        <button
          type="submit"
          class="primary"
          disabled={!admin || busy.value || !chosen}
          title={admin ? undefined : "admins only"}
          data-testid="scan-run"
        >
          {busy.value ? <span class="spinner small" /> : <Icon name="play" size={14} />}
          Run
        </button>
      </div>
      <FormError message={error.value} />
    </form>
  );
}
