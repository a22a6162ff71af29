/**
 * The agent's systemd units, rendered from here (embedded in the binary; no template files are
 * read at run time). `fleet-recovery.service` runs once at boot, after the network and Docker,
 * before the agent; `fleet-agent.service` is restarted whenever it exits. The hardening keeps
 * what the agent needs: the Docker socket, /proc and /sys, tegrastats, its state dir.
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
# Hardening that leaves Docker access, /proc, /sys and tegrastats working.
NoNewPrivileges=yes
PrivateTmp=yes
ProtectHome=read-only
ProtectSystem=full
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes

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
