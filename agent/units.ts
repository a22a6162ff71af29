/**
 * The agent's systemd units, rendered from here (embedded in the binary; no template files are
 * read at run time). `fleet-recovery.service` runs once at boot, after the network and Docker,
 * before the agent; `fleet-agent.service` is restarted whenever it exits. It carries no sandbox:
 * exec commands and terminal shells inherit the agent's namespace and must act on the real
 * system (the unit's comment says why).
 *
 * @module
 */

/** Where things live on a node. */
export interface UnitPaths {
  /** The agent executable (default /usr/local/bin/fleet-agent). */
  binary: string;
  /** The agent's config (default /etc/fleet/agent.yml). */
  config: string;
  /** The agent's state dir (default /var/lib/fleet-agent). */
  stateDir: string;
}

/** Default paths of an installed agent. */
export const DEFAULT_UNIT_PATHS: UnitPaths = {
  binary: "/usr/local/bin/fleet-agent",
  config: "/etc/fleet/agent.yml",
  stateDir: "/var/lib/fleet-agent",
};

/** `fleet-agent.service`. */
export function agentUnit(p: UnitPaths = DEFAULT_UNIT_PATHS): string {
  return `# Installed by 'fleet-agent install'; re-running install rewrites it.
[Unit]
Description=Fleet Commander agent (metrics, jobs, control)
Wants=network-online.target
After=network-online.target docker.service fleet-recovery.service

[Service]
Type=simple
ExecStart=${p.binary} run --config ${p.config}
Restart=always
RestartSec=5
# Stop the whole group, so no job process outlives the agent.
KillMode=control-group
TimeoutStopSec=30
StateDirectory=${p.stateDir.replace(/^\/var\/lib\//, "")}
# No sandbox on purpose (no ProtectSystem, ProtectHome, PrivateTmp, NoNewPrivileges, …): exec
# commands and terminal shells are this unit's children and would inherit it, so an operator
# could not edit /etc, install a package or see the node's /tmp. A sandbox would not contain the
# agent either: it holds the Docker socket, which is root on this node. The boundary is the
# hub: admin tokens, the audit log, and control-group kill of everything it started.

[Install]
WantedBy=multi-user.target
`;
}

/** `fleet-recovery.service`. */
export function recoveryUnit(p: UnitPaths = DEFAULT_UNIT_PATHS): string {
  return `# Installed by 'fleet-agent install'; runs the boot recovery once per boot.
[Unit]
Description=Fleet Commander boot recovery (rejoin, restart, report ready)
Wants=network-online.target
After=network-online.target docker.service
Before=fleet-agent.service

[Service]
Type=oneshot
ExecStart=${p.binary} recover --config ${p.config}
RemainAfterExit=yes
TimeoutStartSec=15min

[Install]
WantedBy=multi-user.target
`;
}
