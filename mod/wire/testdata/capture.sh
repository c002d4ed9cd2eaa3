#!/usr/bin/env bash
# Captures golden frames for the wire tests (run as root, from anywhere):
#   mod/wire/testdata/capture.sh
# Two network namespaces joined by a veth pair (198.51.100.2/24 <-> 198.51.100.3/24, fixed MACs),
# tcpdump on the .2 end while we make an ARP exchange, a ping, a TCP connection carrying a few
# bytes (socat echo), a UDP datagram to a listener and one to a closed port (ICMP port
# unreachable). The frames go to golden.json as [{name, summary, hex}], named from tcpdump's own
# decoding so the tests do not name frames with the code under test.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out="$here/golden.json"
p=twcap
a=$p-a
b=$p-b
work=$(mktemp -d)
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for tool in ip tcpdump socat ping ethtool; do
  command -v "$tool" >/dev/null || { echo "capture.sh: $tool is required" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "capture.sh: must run as root" >&2; exit 1; }

ip netns add "$a"
ip netns add "$b"
ip link add ${p}a0 netns "$a" type veth peer name ${p}b0 netns "$b"
setup() { # ns dev mac addr
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
  ip -n "$1" link set "$2" address "$3"
  # Without this the sender's TCP/UDP checksums are left to (virtual) hardware and the capture
  # would hold partial checksums.
  ip netns exec "$1" ethtool -K "$2" tx off rx off >/dev/null
  ip -n "$1" addr add "$4" dev "$2"
  ip -n "$1" link set "$2" up
}
setup "$a" ${p}a0 02:00:00:00:00:02 198.51.100.2/24
setup "$b" ${p}b0 02:00:00:00:00:03 198.51.100.3/24

# Servers in b: a TCP echo on 7000 and a UDP sink on 7001. 7009/udp stays closed.
ip netns exec "$b" socat TCP-LISTEN:7000,reuseaddr PIPE &
pids+=($!)
ip netns exec "$b" socat -u UDP-RECV:7001 OPEN:/dev/null &
pids+=($!)

ip netns exec "$a" tcpdump -i ${p}a0 --immediate-mode -U -n -s 0 -w "$work/cap.pcap" 2>"$work/tcpdump.err" &
tcpdump_pid=$!
pids+=("$tcpdump_pid")
for _ in $(seq 50); do grep -q "listening on" "$work/tcpdump.err" && break; sleep 0.1; done
sleep 0.3

ip netns exec "$a" ping -c 1 -W 2 -s 24 198.51.100.3 >/dev/null
printf 'hello tandem\n' |
  ip netns exec "$a" socat -t 1 - TCP:198.51.100.3:7000,sourceport=40000 >"$work/echo.out"
grep -q 'hello tandem' "$work/echo.out"
printf 'udp to tandem' | ip netns exec "$a" socat -u - UDP-SENDTO:198.51.100.3:7001,sourceport=40001
printf 'nobody home' | ip netns exec "$a" socat -u - UDP-SENDTO:198.51.100.3:7009,sourceport=40002
sleep 0.5

kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true

# tcpdump -e -xx: one summary line per frame, then hex lines "0x0000:  ffff ffff ...".
# Names: proto + direction (c2s = from .2) + TCP flags or UDP port, numbered when repeated.
tcpdump -r "$work/cap.pcap" -n -e -xx -S 2>/dev/null | awk '
  function flush() {
    if (summary == "") return
    n = name
    seen[n]++
    if (seen[n] > 1) n = n "_" seen[n]
    gsub(/"/, "\\\"", summary)
    printf "%s  {\"name\": \"%s\", \"summary\": \"%s\", \"hex\": \"%s\"}", sep, n, summary, hex
    sep = ",\n"
  }
  BEGIN { sep = ""; print "[" }
  /^[^ \t]/ {
    flush()
    summary = $0
    sub(/^[0-9:.]+ /, "", summary)
    hex = ""
    dir = (index($0, "198.51.100.2 ") || index($0, "198.51.100.2.")) && \
      index($0, " > 198.51.100.3") ? "c2s" : "s2c"
    if ($0 ~ /ethertype ARP .*: Request/) name = "arp_request"
    else if ($0 ~ /ethertype ARP .*: Reply/) name = "arp_reply"
    else if ($0 ~ /ICMP echo request/) name = "icmp_echo_request"
    else if ($0 ~ /ICMP echo reply/) name = "icmp_echo_reply"
    else if ($0 ~ /udp port [0-9]+ unreachable/) name = "icmp_port_unreachable"
    else if ($0 ~ /Flags \[/) {
      f = $0
      sub(/.*Flags \[/, "", f)
      sub(/\].*/, "", f)
      flags = ""
      if (f ~ /S/) flags = flags "_syn"
      if (f ~ /F/) flags = flags "_fin"
      if (f ~ /R/) flags = flags "_rst"
      if (f ~ /P/) flags = flags "_psh"
      if (f ~ /\./) flags = flags "_ack"
      name = "tcp_" dir flags
    }
    else if (match($0, /198\.51\.100\.[23]\.[0-9]+ > 198\.51\.100\.[23]\.[0-9]+:/)) {
      # UDP (tcpdump may decode it as some application protocol): name it by destination port.
      pair = substr($0, RSTART, RLENGTH - 1)
      sub(/.*\./, "", pair)
      name = "udp_" dir "_" pair
    }
    else name = "other"
    next
  }
  /^[ \t]+0x[0-9a-f]+:/ {
    for (i = 2; i <= NF; i++) hex = hex $i
  }
  END { flush(); print "\n]" }
' >"$work/golden.json"

if ! jq -e 'length > 0' "$work/golden.json" >/dev/null; then
  echo "capture.sh: no frames decoded; tcpdump said:" >&2
  cat "$work/tcpdump.err" "$work/golden.json" >&2
  exit 1
fi
mv "$work/golden.json" "$out"
# Keep the committed file in the repo's formatting so `deno fmt --check` stays clean.
if command -v deno >/dev/null; then deno fmt -q "$out"; fi
echo "wrote $(jq length "$out") frames to $out"
jq -r '.[].name' "$out"
