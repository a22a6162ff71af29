#!/bin/sh
# bootstrap-node.sh — prepare a Jetson (JetPack 4.6 / Ubuntu 18.04) or Ubuntu node for Fleet
# Commander. Steps, in order, each idempotent and each skippable:
#   docker       Docker CE, only when `docker` is missing            (SKIP_DOCKER=1)
#   daemon.json  insecure local registry + nvidia default runtime,
#                merged into /etc/docker/daemon.json, never clobbered (SKIP_DAEMON_JSON=1)
#   nfs          NFS model share on /mnt/models (fstab + mount)       (SKIP_NFS=1)
#   mc           MinIO client + a `fleet` alias                       (SKIP_MC=1)
#   portainer    Portainer agent container                            (SKIP_PORTAINER=1)
#   swarm        docker swarm join                                    (SKIP_SWARM=1)
#   agent        fleet-agent through the hub's install.sh             (SKIP_AGENT=1)
# DRY_RUN=1 prints every command and file write instead of doing it. FLEET_ROOT=/dir prefixes
# every file path read or written (tests, images); with it set, commands that would act on the
# running system (restart docker, mount, docker run, swarm join, installs) are printed, not run.
# Run `sh bootstrap-node.sh -h` for the settings; bootstrap/README.md has examples.
set -eu

usage() {
  cat <<'EOF'
Usage: bootstrap-node.sh [options]

Prepares this node for Fleet Commander: Docker, daemon.json, NFS models mount, MinIO client,
Portainer agent, swarm membership, fleet-agent. Every step is idempotent: run it again at will.

Options (each also settable by the environment variable in brackets):
  -n, --dry-run                 print every command and file write, change nothing   [DRY_RUN=1]
      --hub URL                 hub base URL, e.g. http://10.0.0.10:8765             [HUB]
      --token TOKEN             enrollment token (fleet-hub token create …)          [TOKEN]
      --registry HOST:PORT      insecure local registry, e.g. 10.0.0.10:5000          [REGISTRY]
      --nfs-server HOST         NFS server holding the models                        [NFS_SERVER]
      --nfs-export PATH         exported directory on it (default /srv/models)       [NFS_EXPORT]
      --swarm-manager HOST[:P]  swarm manager address (port 2377 if omitted)         [SWARM_MANAGER]
      --swarm-token TOKEN       swarm worker join token                              [SWARM_TOKEN]
  -h, --help                    this text

Other environment:
  SKIP_DOCKER=1 SKIP_DAEMON_JSON=1 SKIP_NFS=1 SKIP_MC=1 SKIP_PORTAINER=1 SKIP_SWARM=1 SKIP_AGENT=1
                                skip that step
  NVIDIA=1|0                    force / forbid "default-runtime": "nvidia" (default: set it when
                                the nvidia runtime is configured or nvidia-container-runtime exists)
  MODELS_MOUNT                  mount point of the NFS share (default /mnt/models)
  NFS_OPTS                      fstab options (default _netdev,nofail,noatime,x-systemd.automount,
                                x-systemd.mount-timeout=30)
  S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY
                                MinIO for the mc step (alias `fleet`); no endpoint: step skipped
  MC_URL                        where to download mc (default dl.min.io, for this architecture)
  PORTAINER_AGENT_IMAGE         default portainer/agent:2.19.4
  SWARM_ADVERTISE_ADDR          --advertise-addr for the swarm join (default: docker's choice)
  AGENT_REINSTALL=1             run install.sh even when /etc/fleet/agent.yml exists
  DOCKER_INSTALL_URL            default https://get.docker.com
  DOCKER                        docker command (default docker; tests point it at a stub)
  FLEET_ROOT=/dir               read and write files below /dir; print system commands instead

Example (on the node, as root):
  REGISTRY=10.0.0.10:5000 NFS_SERVER=10.0.0.10 SWARM_MANAGER=10.0.0.10 SWARM_TOKEN=SWMTKN-… \
    HUB=http://10.0.0.10:8765 TOKEN=fce_… sh bootstrap-node.sh
EOF
}

log() { printf '[bootstrap] %s\n' "$*"; }
note() { printf '[bootstrap]   %s\n' "$*"; }
warn() { printf '[bootstrap]   warning: %s\n' "$*" >&2; }
die() {
  printf '[bootstrap] error: %s\n' "$*" >&2
  exit 1
}
usage_error() {
  printf '[bootstrap] error: %s (see -h)\n' "$*" >&2
  exit 2
}

# --- settings: environment first, then options -----------------------------------------------
DRY_RUN=${DRY_RUN:-0}
ROOT=${FLEET_ROOT:-}
ROOT=${ROOT%/}
HUB=${HUB:-}
TOKEN=${TOKEN:-}
REGISTRY=${REGISTRY:-}
NFS_SERVER=${NFS_SERVER:-}
NFS_EXPORT=${NFS_EXPORT:-/srv/models}
MODELS_MOUNT=${MODELS_MOUNT:-/mnt/models}
NFS_OPTS=${NFS_OPTS:-_netdev,nofail,noatime,x-systemd.automount,x-systemd.mount-timeout=30}
NVIDIA=${NVIDIA:-auto}
SWARM_MANAGER=${SWARM_MANAGER:-}
SWARM_TOKEN=${SWARM_TOKEN:-}
SWARM_ADVERTISE_ADDR=${SWARM_ADVERTISE_ADDR:-}
S3_ENDPOINT=${S3_ENDPOINT:-}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-}
S3_SECRET_KEY=${S3_SECRET_KEY:-}
MC_URL=${MC_URL:-}
PORTAINER_AGENT_IMAGE=${PORTAINER_AGENT_IMAGE:-portainer/agent:2.19.4}
AGENT_REINSTALL=${AGENT_REINSTALL:-0}
DOCKER_INSTALL_URL=${DOCKER_INSTALL_URL:-https://get.docker.com}
DOCKER=${DOCKER:-docker}

need_value() { [ $# -ge 2 ] || usage_error "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help)
      usage
      exit 0
      ;;
    -n | --dry-run) DRY_RUN=1 ;;
    --hub) need_value "$@" && HUB=$2 && shift ;;
    --token) need_value "$@" && TOKEN=$2 && shift ;;
    --registry) need_value "$@" && REGISTRY=$2 && shift ;;
    --nfs-server) need_value "$@" && NFS_SERVER=$2 && shift ;;
    --nfs-export) need_value "$@" && NFS_EXPORT=$2 && shift ;;
    --swarm-manager) need_value "$@" && SWARM_MANAGER=$2 && shift ;;
    --swarm-token) need_value "$@" && SWARM_TOKEN=$2 && shift ;;
    *) usage_error "unknown option: $1" ;;
  esac
  shift
done

case $DRY_RUN in 0 | 1) ;; *) usage_error "DRY_RUN must be 0 or 1, not '$DRY_RUN'" ;; esac
case $NVIDIA in 0 | 1 | auto) ;; *) usage_error "NVIDIA must be 0, 1 or auto, not '$NVIDIA'" ;; esac
case $MODELS_MOUNT in /*) ;; *) usage_error "MODELS_MOUNT must be an absolute path" ;; esac

# --- helpers -----------------------------------------------------------------------------------

# p PATH: PATH below FLEET_ROOT (every file the script reads or writes goes through this).
p() { printf '%s%s' "$ROOT" "$1"; }

# Secrets never reach the output: an argument that is a secret is shown as <NAME>.
secret_name() { # ARG: prints the secret's name when ARG is one
  for n_name in TOKEN SWARM_TOKEN S3_SECRET_KEY; do
    eval "n_value=\${$n_name}"
    if [ -n "$n_value" ] && [ "$1" = "$n_value" ]; then
      printf '%s' "$n_name"
      return 0
    fi
  done
  return 1
}

# The command line as one shell-quoted string (for the log).
show_cmd() {
  s_out=
  for s_arg in "$@"; do
    if s_name=$(secret_name "$s_arg"); then
      s_arg="<$s_name>"
    else
      case $s_arg in
        '' | *[!A-Za-z0-9_./:=@%+,-]*)
          s_arg="'$(printf '%s' "$s_arg" | sed "s/'/'\\\\''/g")'"
          ;;
      esac
    fi
    s_out="$s_out${s_out:+ }$s_arg"
  done
  printf '%s' "$s_out"
}

# Commands that change the system run only for real: not in a dry run, not below FLEET_ROOT.
acting() { [ "$DRY_RUN" != 1 ] && [ -z "$ROOT" ]; }
run() {
  if acting; then
    note "run: $(show_cmd "$@")"
    "$@" || die "failed (exit $?): $(show_cmd "$@")"
  else
    note "would run: $(show_cmd "$@")"
  fi
}
# fetch URL FILE: download with curl, or wget where curl is missing (stock Ubuntu 18.04).
fetch() {
  if command -v curl >/dev/null 2>&1; then
    run curl -fsSL -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    run wget -q -O "$2" "$1"
  elif acting; then
    die "need curl or wget to download $1 (apt-get install -y curl)"
  else
    run curl -fsSL -o "$2" "$1"
  fi
}
# File writes happen unless it is a dry run (FLEET_ROOT only moves them).
writing() { [ "$DRY_RUN" != 1 ]; }

skipped() { # NAME VALUE: true (and says so) when VALUE is 1
  if [ "$2" = 1 ]; then
    note "skipped ($1=1)"
    return 0
  fi
  return 1
}
step() { log "step: $*"; }

have_docker() { command -v "$DOCKER" >/dev/null 2>&1; }

# A program exists on the node: looked up on PATH, or below FLEET_ROOT when it is set.
have_program() {
  if [ -n "$ROOT" ]; then
    for h_dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
      [ -x "$(p "$h_dir/$1")" ] && return 0
    done
    return 1
  fi
  command -v "$1" >/dev/null 2>&1
}

arch() {
  case $(uname -m) in
    aarch64 | arm64) echo arm64 ;;
    x86_64 | amd64) echo amd64 ;;
    *) uname -m ;;
  esac
}

# Scratch space (merge output, downloaded scripts); removed on exit, never below FLEET_ROOT.
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/fleet-bootstrap.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT
trap 'exit 130' INT TERM

# --- steps -------------------------------------------------------------------------------------

step_docker() {
  step "docker (Docker CE)"
  skipped SKIP_DOCKER "${SKIP_DOCKER:-0}" && return 0
  if have_docker; then
    note "docker is installed ($("$DOCKER" --version 2>/dev/null || echo "version unknown")): nothing to do"
    return 0
  fi
  note "docker is missing: installing Docker CE from $DOCKER_INSTALL_URL"
  script=$TMPD/get-docker.sh
  fetch "$DOCKER_INSTALL_URL" "$script"
  run sh "$script"
  run systemctl enable --now docker
}

# Merges the registry and the nvidia runtime into daemon.json; prints what it did.
# Exit: 0 = OUT written with the merged JSON, 3 = nothing to change, other = error (stderr).
merge_daemon_json() { # IN OUT REGISTRY NVIDIA(0|1|auto) RUNTIME_FOUND(0|1)
  python3 - "$@" <<'PY'
import json, sys
from collections import OrderedDict

src, dst, registry, nvidia, runtime_found = sys.argv[1:6]
try:
    with open(src) as f:
        text = f.read()
except FileNotFoundError:
    text = ""
try:
    conf = json.loads(text, object_pairs_hook=OrderedDict) if text.strip() else OrderedDict()
except ValueError as e:
    sys.stderr.write("%s is not valid JSON (%s): fix it by hand, nothing was changed\n" % (src, e))
    sys.exit(2)
if not isinstance(conf, dict):
    sys.stderr.write("%s does not hold a JSON object: nothing was changed\n" % src)
    sys.exit(2)
before = json.dumps(conf, sort_keys=True)

if registry:
    regs = conf.get("insecure-registries", [])
    if not isinstance(regs, list):
        sys.stderr.write("%s: insecure-registries is not a list: nothing was changed\n" % src)
        sys.exit(2)
    if registry in regs:
        print("insecure-registries already has %s" % registry)
    else:
        conf["insecure-registries"] = regs + [registry]
        print("insecure-registries += %s" % registry)

runtimes = conf.get("runtimes")
configured = isinstance(runtimes, dict) and "nvidia" in runtimes
current = conf.get("default-runtime")
if nvidia == "0":
    print("nvidia default runtime: not requested (NVIDIA=0)")
elif nvidia == "auto" and not (configured or runtime_found == "1"):
    print("nvidia default runtime: no nvidia runtime on this node (NVIDIA=1 forces it)")
elif nvidia == "auto" and current not in (None, "nvidia"):
    print("default-runtime is %s: kept (NVIDIA=1 replaces it)" % current)
elif current == "nvidia":
    print("default-runtime is already nvidia")
else:
    if not configured:
        # dockerd refuses to start with a default runtime it does not know.
        if not isinstance(runtimes, dict):
            runtimes = OrderedDict()
        runtimes["nvidia"] = OrderedDict([("path", "nvidia-container-runtime"), ("runtimeArgs", [])])
        conf["runtimes"] = runtimes
        print("runtimes.nvidia added (nvidia-container-runtime)")
    conf["default-runtime"] = "nvidia"
    print("default-runtime = nvidia")

if json.dumps(conf, sort_keys=True) == before:
    sys.exit(3)
with open(dst, "w") as f:
    f.write(json.dumps(conf, indent=4) + "\n")
PY
}

step_daemon_json() {
  step "daemon.json (insecure registry, nvidia default runtime)"
  skipped SKIP_DAEMON_JSON "${SKIP_DAEMON_JSON:-0}" && return 0
  file=$(p /etc/docker/daemon.json)
  if [ -z "$REGISTRY" ] && [ "$NVIDIA" = 0 ]; then
    note "neither REGISTRY nor the nvidia runtime wanted: nothing to do"
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 is needed to merge $file (apt-get install -y python3)"
  found=0
  if have_program nvidia-container-runtime; then found=1; fi
  dir=$TMPD
  set +e
  merge_daemon_json "$file" "$dir/daemon.json" "$REGISTRY" "$NVIDIA" "$found" >"$dir/merge.log"
  rc=$?
  set -e
  while IFS= read -r line; do note "$line"; done <"$dir/merge.log"
  case $rc in
    0) ;;
    3)
      note "$file unchanged: docker is not restarted"
      return 0
      ;;
    *) die "cannot merge $file (see above)" ;;
  esac
  if ! writing; then
    note "would write $file:"
    sed 's/^/[bootstrap]     /' "$dir/daemon.json"
  else
    mkdir -p "$(dirname "$file")"
    if [ -f "$file" ]; then
      cp -p "$file" "$file.bak"
      note "backup: $file.bak"
    fi
    cp "$dir/daemon.json" "$file.new"
    chmod 0644 "$file.new"
    mv -f "$file.new" "$file"
    note "wrote $file"
  fi
  # A restart applies the change; without docker (yet) there is nothing to restart.
  if have_docker || ! acting; then
    run systemctl restart docker
  fi
}

step_nfs() {
  step "nfs (models share on $MODELS_MOUNT)"
  skipped SKIP_NFS "${SKIP_NFS:-0}" && return 0
  if [ -z "$NFS_SERVER" ]; then
    note "NFS_SERVER not set: nothing to do"
    return 0
  fi
  source="$NFS_SERVER:$NFS_EXPORT"
  fstab=$(p /etc/fstab)
  if ! have_program mount.nfs; then
    note "mount.nfs is missing: installing nfs-common"
    run apt-get install -y nfs-common
  fi
  if [ -d "$(p "$MODELS_MOUNT")" ]; then
    note "$(p "$MODELS_MOUNT") exists"
  elif writing; then
    mkdir -p "$(p "$MODELS_MOUNT")"
    note "created $(p "$MODELS_MOUNT")"
  else
    note "would create $(p "$MODELS_MOUNT")"
  fi
  # The fstab line is added once: any active line mounting on MODELS_MOUNT counts as present.
  existing=
  if [ -f "$fstab" ]; then
    existing=$(awk -v mp="$MODELS_MOUNT" '$1 !~ /^#/ && $2 == mp { print $1; exit }' "$fstab")
  fi
  line="$source $MODELS_MOUNT nfs $NFS_OPTS 0 0"
  if [ "$existing" = "$source" ]; then
    note "$fstab already mounts $source on $MODELS_MOUNT"
  elif [ -n "$existing" ]; then
    warn "$fstab mounts $existing on $MODELS_MOUNT, not $source: left as it is"
  elif writing; then
    mkdir -p "$(dirname "$fstab")"
    [ ! -f "$fstab" ] || cp -p "$fstab" "$fstab.bak"
    printf '%s\n' "$line" >>"$fstab"
    note "added to $fstab: $line"
    # systemd turns fstab into mount units: have it read the new line.
    run systemctl daemon-reload
  else
    note "would add to $fstab: $line"
    run systemctl daemon-reload
  fi
  mounts=$(p /proc/mounts)
  if [ -f "$mounts" ] && awk -v mp="$MODELS_MOUNT" '$2 == mp { found = 1 } END { exit !found }' "$mounts"; then
    note "$MODELS_MOUNT is mounted"
  else
    run mount "$MODELS_MOUNT"
  fi
}

step_mc() {
  step "mc (MinIO client)"
  skipped SKIP_MC "${SKIP_MC:-0}" && return 0
  if [ -z "$S3_ENDPOINT" ]; then
    note "S3_ENDPOINT not set: nothing to do"
    return 0
  fi
  if have_program mc; then
    note "mc is installed"
  else
    url=${MC_URL:-https://dl.min.io/client/mc/release/linux-$(arch)/mc}
    note "mc is missing: installing it from $url"
    fetch "$url" /usr/local/bin/mc.new
    run chmod 0755 /usr/local/bin/mc.new
    run mv -f /usr/local/bin/mc.new /usr/local/bin/mc
  fi
  if [ -n "$S3_ACCESS_KEY" ] && [ -n "$S3_SECRET_KEY" ]; then
    run mc alias set fleet "$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
  else
    note "S3_ACCESS_KEY / S3_SECRET_KEY not set: no mc alias configured"
  fi
}

step_portainer() {
  step "portainer (agent container)"
  skipped SKIP_PORTAINER "${SKIP_PORTAINER:-0}" && return 0
  state=absent
  if have_docker; then
    state=$("$DOCKER" inspect --type container -f '{{.State.Running}}' portainer_agent 2>/dev/null || echo absent)
  fi
  case $state in
    true) note "portainer_agent is running: nothing to do" ;;
    false)
      note "portainer_agent exists but is stopped: starting it"
      run "$DOCKER" start portainer_agent
      ;;
    *)
      run "$DOCKER" run -d --name portainer_agent --restart=always --label fleet.essential=true \
        -p 9001:9001 \
        -v /var/run/docker.sock:/var/run/docker.sock \
        -v /var/lib/docker/volumes:/var/lib/docker/volumes \
        "$PORTAINER_AGENT_IMAGE"
      ;;
  esac
}

step_swarm() {
  step "swarm (join as a worker)"
  skipped SKIP_SWARM "${SKIP_SWARM:-0}" && return 0
  if [ -z "$SWARM_TOKEN" ] || [ -z "$SWARM_MANAGER" ]; then
    note "SWARM_TOKEN or SWARM_MANAGER not set: nothing to do"
    return 0
  fi
  state=inactive
  if have_docker; then
    if ! state=$("$DOCKER" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null); then
      acting && die "docker does not answer ('$DOCKER info' failed): is the daemon running?"
      state=unknown
    fi
  fi
  case $state in
    active | pending | locked)
      note "already in a swarm (state: $state): nothing to do"
      return 0
      ;;
  esac
  manager=$SWARM_MANAGER
  case $manager in
    *:[0-9]*) ;;
    *) manager=$manager:2377 ;;
  esac
  if [ -n "$SWARM_ADVERTISE_ADDR" ]; then
    run "$DOCKER" swarm join --advertise-addr "$SWARM_ADVERTISE_ADDR" --token "$SWARM_TOKEN" "$manager"
  else
    run "$DOCKER" swarm join --token "$SWARM_TOKEN" "$manager"
  fi
}

step_agent() {
  step "agent (fleet-agent from the hub)"
  skipped SKIP_AGENT "${SKIP_AGENT:-0}" && return 0
  if [ -z "$HUB" ] || [ -z "$TOKEN" ]; then
    note "HUB or TOKEN not set: nothing to do"
    return 0
  fi
  if [ -f "$(p /etc/fleet/agent.yml)" ] && [ "$AGENT_REINSTALL" != 1 ]; then
    note "$(p /etc/fleet/agent.yml) exists: the agent is enrolled (AGENT_REINSTALL=1 redoes it)"
    return 0
  fi
  hub=${HUB%/}
  # Downloaded first, then run: `curl … | sh` would run an empty script and "succeed" when the
  # download fails halfway.
  script=$TMPD/install.sh
  fetch "$hub/install.sh" "$script"
  run sh "$script" --token "$TOKEN"
}

# --- main --------------------------------------------------------------------------------------
if [ "$DRY_RUN" != 1 ] && [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
  die "run as root: sudo sh bootstrap-node.sh (or DRY_RUN=1 to see the plan)"
fi
log "bootstrap of $(uname -n) ($(uname -m))$([ "$DRY_RUN" = 1 ] && echo ': dry run, nothing is changed')"
if [ -n "$ROOT" ]; then
  log "FLEET_ROOT=$ROOT: files are read and written below it; system commands are printed, not run"
fi

step_docker
step_daemon_json
step_nfs
step_mc
step_portainer
step_swarm
step_agent

log "done$([ "$DRY_RUN" = 1 ] && echo ' (dry run: nothing was changed)')"
