#!/usr/bin/env bash
# Wire tandem's TAP ports to physical NICs through Linux bridges.
#
#   wire-nic.sh up   NIC:TAP[:BRIDGE] [NIC:TAP[:BRIDGE] ...]
#   wire-nic.sh down NIC:TAP[:BRIDGE] [NIC:TAP[:BRIDGE] ...]
#
# Example (one host of the pair): wire-nic.sh up eth1:tnd-front eth2:tnd-back
#
# For each pair, `up` creates a persistent TAP (owned by $TANDEM_USER when set, so
# an unprivileged tandem can attach to it), a bridge (default name tbr-<TAP>, cut to
# 15 characters), and enslaves the NIC and the TAP to it. tandem then sees every
# frame the NIC receives, as a host on that segment would.
#
# No IP address is moved: the segment's addresses (self and floating) belong to
# tandem, which answers ARP for them itself. The kernel must stay silent there, so
# ARP and IPv6 are turned off on the NIC, the TAP and the bridge. Offloads (GRO,
# LRO, GSO, TSO, tx checksum) are turned off so frames reach user space whole and
# with real checksums.
#
# `down` removes the TAP and the bridge, frees the NIC and gives it back ARP and
# IPv6. Offloads stay off (their earlier state is not recorded).
# Idempotent: running `up` twice or `down` on a clean host succeeds.
set -euo pipefail

TANDEM_USER="${TANDEM_USER:-}"

die() {
  echo "wire-nic: $*" >&2
  exit 2
}
warn() { echo "wire-nic: warning: $*" >&2; }
exists() { ip link show dev "$1" >/dev/null 2>&1; }

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Parses NIC:TAP[:BRIDGE] into NIC, TAP, BR.
parse_pair() {
  local spec="$1"
  IFS=: read -r NIC TAP BR <<<"$spec"
  [[ -n "${NIC:-}" && -n "${TAP:-}" ]] || die "bad pair '$spec', expected NIC:TAP[:BRIDGE]"
  BR="${BR:-tbr-$TAP}"
  BR="${BR:0:15}" # IFNAMSIZ - 1
  for name in "$NIC" "$TAP" "$BR"; do
    [[ "$name" =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "bad interface name '$name'"
  done
  [[ "$NIC" != "$TAP" && "$NIC" != "$BR" && "$TAP" != "$BR" ]] || die "names in '$spec' must differ"
}

# The kernel must neither answer ARP nor send IPv6 ND/RS from this device.
silence() {
  local dev="$1"
  ip link set dev "$dev" arp off
  if [[ -e "/proc/sys/net/ipv6/conf/$dev/disable_ipv6" ]]; then
    echo 1 >"/proc/sys/net/ipv6/conf/$dev/disable_ipv6"
  fi
}

# Frames must reach tandem whole: no coalescing (GRO/LRO) and no deferred
# segmentation or checksums (GSO/TSO/tx-checksum). Unsupported features are skipped.
offloads_off() {
  local dev="$1" feature
  command -v ethtool >/dev/null || {
    warn "ethtool not found; offloads on $dev left as they are"
    return 0
  }
  for feature in gro lro gso tso tx; do
    ethtool -K "$dev" "$feature" off >/dev/null 2>&1 || true
  done
}

up_pair() {
  exists "$NIC" || die "no such NIC: $NIC"
  if ip -o addr show dev "$NIC" scope global | grep -q .; then
    warn "$NIC still has kernel IP addresses; remove them, tandem owns this segment's addresses"
  fi
  if ! exists "$BR"; then
    ip link add name "$BR" type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  fi
  if ! exists "$TAP"; then
    if [[ -n "$TANDEM_USER" ]]; then
      ip tuntap add dev "$TAP" mode tap user "$TANDEM_USER" group "$TANDEM_USER"
    else
      ip tuntap add dev "$TAP" mode tap
    fi
  fi
  for dev in "$BR" "$NIC" "$TAP"; do
    silence "$dev"
    offloads_off "$dev"
  done
  ip link set dev "$NIC" master "$BR"
  ip link set dev "$TAP" master "$BR"
  ip link set dev "$BR" up
  ip link set dev "$NIC" up
  ip link set dev "$TAP" up
  echo "wire-nic: $NIC <-> $BR <-> $TAP up"
}

down_pair() {
  if exists "$TAP"; then
    ip link set dev "$TAP" nomaster 2>/dev/null || true
    ip tuntap del dev "$TAP" mode tap
  fi
  if exists "$NIC"; then
    ip link set dev "$NIC" nomaster 2>/dev/null || true
    ip link set dev "$NIC" arp on
    if [[ -e "/proc/sys/net/ipv6/conf/$NIC/disable_ipv6" ]]; then
      echo 0 >"/proc/sys/net/ipv6/conf/$NIC/disable_ipv6"
    fi
  fi
  if exists "$BR"; then
    ip link del dev "$BR"
  fi
  echo "wire-nic: $NIC <-> $BR <-> $TAP down"
}

main() {
  [[ $# -ge 2 ]] || usage
  local cmd="$1"
  shift
  [[ "$cmd" == up || "$cmd" == down ]] || usage
  [[ $EUID -eq 0 ]] || die "must run as root"
  command -v ip >/dev/null || die "iproute2 (ip) not found"
  if [[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo 0)" == 1 ]]; then
    warn "br_netfilter is active: host firewall rules will see bridged frames" \
      "(sysctl -w net.bridge.bridge-nf-call-iptables=0 to stop that)"
  fi
  local spec
  for spec in "$@"; do
    parse_pair "$spec"
    "${cmd}_pair"
  done
}

main "$@"
