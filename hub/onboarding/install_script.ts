/**
 * The `GET /install.sh` script: POSIX sh that a new node pipes into `sudo sh`. It detects the
 * architecture, downloads the agent from the hub that served it, verifies the SHA-256 against
 * the hub's `SHA256SUMS`, installs it to `/usr/local/bin/fleet-agent` and runs
 * `fleet-agent install`, which enrolls and writes the systemd units. `__HUB__` is replaced with
 * the URL the script was fetched from.
 *
 * @module
 */

/** The script text with `hubUrl` filled in. */
export function installScript(hubUrl: string): string {
  return SCRIPT.replaceAll("__HUB__", hubUrl.replace(/'/g, ""));
}

const SCRIPT = `#!/bin/sh
# Fleet Commander node installer, served by the hub at __HUB__/install.sh
#   curl -fsSL __HUB__/install.sh | sudo sh -s -- --token TOKEN
# Options: --token T (required)  --hub URL  --root DIR (install below DIR, tests/images)
#          --no-systemctl (write units, do not start them)
set -eu

HUB='__HUB__'
TOKEN=''
ROOT=''
NO_SYSTEMCTL=''

die() { echo "fleet install: $*" >&2; exit 1; }
say() { echo "fleet install: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --token) [ $# -ge 2 ] || die "--token needs a value"; TOKEN="$2"; shift 2 ;;
    --hub) [ $# -ge 2 ] || die "--hub needs a value"; HUB="$2"; shift 2 ;;
    --root) [ $# -ge 2 ] || die "--root needs a value"; ROOT="$2"; shift 2 ;;
    --no-systemctl) NO_SYSTEMCTL=1; shift ;;
    -h|--help) sed -n '2,5p' "$0" 2>/dev/null || true; exit 0 ;;
    *) die "unknown option: $1 (use --token TOKEN [--hub URL] [--root DIR] [--no-systemctl])" ;;
  esac
done

[ -n "$TOKEN" ] || die "no token: run with --token TOKEN (fleet-hub token create --kind enrollment --name NODE)"
if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
  die "must run as root: curl -fsSL $HUB/install.sh | sudo sh -s -- --token TOKEN"
fi

case "$(uname -m)" in
  aarch64|arm64) ARCH=arm64 ;;
  x86_64|amd64) ARCH=amd64 ;;
  *) die "unsupported architecture $(uname -m): fleet-agent is built for aarch64 and x86_64" ;;
esac

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --retry 3 --connect-timeout 10 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -T 10 -O "$2" "$1"; }
else
  die "need curl or wget"
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
NAME="fleet-agent-linux-$ARCH"
say "downloading $NAME from $HUB"
if ! fetch "$HUB/dist/SHA256SUMS" "$TMP/SHA256SUMS"; then
  # Tell a hub that is down from one that answers but was given no agent binaries to serve.
  if fetch "$HUB/install.sh" "$TMP/probe" 2>/dev/null; then
    die "the hub at $HUB answers but has no agent binaries (GET /dist/SHA256SUMS: not found). On the hub: run 'deno task dist' (set DENORT_BIN=/path/to/denort where dl.deno.land is unreachable) and serve its output with 'fleet-hub serve --dist-dir DIR' (default ./dist), then run this again"
  fi
  die "cannot reach the hub at $HUB: is it running, and is that address reachable from this node? (pass --hub URL to try another)"
fi
fetch "$HUB/dist/$NAME" "$TMP/$NAME" || die "the hub at $HUB has no $NAME: run 'deno task dist' on the hub"

WANT=$(grep " $NAME\\$" "$TMP/SHA256SUMS" | cut -d' ' -f1)
[ -n "$WANT" ] || die "SHA256SUMS from $HUB lists no $NAME"
if command -v sha256sum >/dev/null 2>&1; then
  GOT=$(sha256sum "$TMP/$NAME" | cut -d' ' -f1)
else
  GOT=$(shasum -a 256 "$TMP/$NAME" | cut -d' ' -f1)
fi
[ "$WANT" = "$GOT" ] || die "checksum mismatch for $NAME (expected $WANT, got $GOT): refusing to install"
say "checksum ok"

BIN="$ROOT/usr/local/bin/fleet-agent"
mkdir -p "$ROOT/usr/local/bin"
install -m 0755 "$TMP/$NAME" "$BIN.new"
mv -f "$BIN.new" "$BIN"
say "installed $BIN"

set -- install --hub "$HUB" --token "$TOKEN"
[ -n "$ROOT" ] && set -- "$@" --root "$ROOT"
[ -n "$NO_SYSTEMCTL" ] && set -- "$@" --no-systemctl
"$BIN" "$@" || die "fleet-agent install failed (see above): the token may be used, expired or wrong"
say "done: this node reports to $HUB"
`;
