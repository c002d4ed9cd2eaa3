/**
 * The wire layer: zero-copy, re-pointable views over Ethernet, ARP, IPv4, IPv6, TCP, UDP, ICMP
 * and ICMPv6 bytes, plain `*Repr` values with `parse`/`emit`, the Internet checksum with RFC 1624
 * incremental updates, and builders for the frames the appliance originates (ICMP errors, TCP
 * resets, echo replies, gratuitous ARP). Modelled on smoltcp `src/wire/` and gVisor
 * `pkg/tcpip/header` (ideas only).
 *
 * IPv6 (each file's doc has the details):
 * - `ipv6.ts`: the header view with its extension-header walk, the RFC 8200 §8.1 pseudo-header.
 * - `icmpv6.ts`: the ICMPv6 view (RFC 4443) whose checksum takes the pseudo-header sum, the
 *   type/code constants (NDP's too), and `turnEchoReply6`.
 * - `ndp.ts`: Neighbor Solicitation/Advertisement (RFC 4861): the `NdpMessage` view, `validNdp`
 *   for the checks needing the IPv6 header (hop limit 255), solicited-node and 33:33 multicast
 *   mapping, and NS / NA / unsolicited NA builders.
 * - `build6.ts`: `buildIcmpv6Error` (RFC 4443 §2.4 rules, quote capped at 1280 bytes) and the
 *   IPv6 TCP builders (`buildTcpRst6`, `buildTcpSegment6`, `buildTcpSyn6`, `buildTcpData6`),
 *   argument for argument like `build.ts` with `Ip6` addresses.
 *
 * Every `checked(bytes)` returns `undefined` for malformed input and never throws; getters and
 * setters read and write the underlying `Uint8Array` at named offsets. IPv4 addresses are u32
 * numbers, IPv6 addresses `Ip6` (four u32 words), MACs 6-byte `Uint8Array`s.
 *
 * Decisions the engine builds on (each counted and dropped under the named reason):
 * - 802.1Q tags are stripped and inserted at the unit's edge (`vlan.ts`, `unit/trunk.ts`); a
 *   tagged frame reaching the engine is for a VLAN not configured there: `vlan_unknown`.
 * - IPv4 fragments are not reassembled: fragments of a tracked TCP or UDP flow are forwarded with
 *   its NAT (`engine/fragments.ts`); other fragments are dropped as `ipv4_fragment`.
 * - IPv4 options are accepted and passed through unchanged.
 * - IPv6 extension headers are walked to the upper layer (`ipv6.ts`); IPv6 fragments follow
 *   their flow as IPv4 ones do.
 * - Header checksums are not verified by `checked`; the engine counts bad ones separately.
 * @module
 */

export * from "./addr.ts";
export * from "./bytes.ts";
export * from "./checksum.ts";
export * from "./ethernet.ts";
export * from "./vlan.ts";
export * from "./arp.ts";
export * from "./ipv4.ts";
export * from "./ipv6.ts";
export * from "./tcp.ts";
export * from "./tcp_options.ts";
export * from "./udp.ts";
export * from "./icmp.ts";
export * from "./icmpv6.ts";
export * from "./ndp.ts";
export * from "./build.ts";
export * from "./build6.ts";
