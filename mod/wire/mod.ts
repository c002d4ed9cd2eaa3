/**
 * The wire layer: zero-copy, re-pointable views over Ethernet, ARP, IPv4, TCP, UDP and ICMP bytes, plain
 * `*Repr` values with `parse`/`emit`, the Internet checksum with RFC 1624 incremental updates,
 * and builders for the frames the appliance originates (ICMP errors, TCP resets, echo replies,
 * gratuitous ARP). Modelled on smoltcp `src/wire/` and gVisor `pkg/tcpip/header` (ideas only).
 *
 * Every `checked(bytes)` returns `undefined` for malformed input and never throws; getters and
 * setters read and write the underlying `Uint8Array` at named offsets. IPv4 addresses are u32
 * numbers, MACs 6-byte `Uint8Array`s.
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
export * from "./build.ts";
