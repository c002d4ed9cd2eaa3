/**
 * The peer link's wire format: versioned, batched, authenticated records
 * (heartbeat, mirror, ack, expire, bulk-sync flow entry, control) between
 * the two units of a pair (DESIGN.md "The peer link"). Pure: the runtime
 * moves the bytes and feeds time in.
 *
 * ```ts
 * const w = new BatchWriter(key, bootMs);
 * w.add({ type: "ack", mseq: 42 });
 * const dg = w.flush()!; // send over UDP
 * const res = new BatchReader(key).open(dg);
 * ```
 * @module
 */
export * from "./records.ts";
export * from "./batch.ts";
export { linkKey, LinkTag, nativeLinkTag } from "./link_tag.ts";
export { ReplayWindow } from "./replay_window.ts";
export { type LinkCost, measureLinkCost } from "./link_cost.ts";
