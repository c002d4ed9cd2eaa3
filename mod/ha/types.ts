/**
 * The pair's vocabulary: topology modes, roles, unit and peer states, and their wire codes.
 * @module
 */

/** Topology mode (DESIGN.md "Roles and the three topologies"). */
export type Mode = "active-forward" | "standby-forward" | "standby-first";
/** The role a unit holds in the pair; a unit boots in its configured one. */
export type Role = "active" | "standby";
/** `joining` = came back and is receiving the bulk sync (claims 20, 21); `solo` = alone. */
export type UnitState = "active" | "standby" | "solo" | "joining";
export type PeerState = "none" | "unknown" | "up" | "down";

export const MODES: readonly Mode[] = ["active-forward", "standby-forward", "standby-first"];
/** Wire codes, by index: `role u8` of a heartbeat. */
export const ROLE_CODES: readonly Role[] = ["active", "standby"];
/** Wire codes, by index: `state u8` of a heartbeat. */
export const STATE_CODES: readonly UnitState[] = ["active", "standby", "solo", "joining"];

/** What a heartbeat tells about the peer. */
export interface PeerHeartbeat {
  role: Role;
  state: UnitState;
  receiver: boolean;
  forwarder: boolean;
  syncComplete: boolean;
  priority: number;
  epoch: number;
  /**
   * Every fail-safe check of the peer passes (heartbeat flag `HB_UNHEALTHY` clear). Absent:
   * healthy, as from a unit that tracks nothing.
   */
  healthy?: boolean;
  /** The peer is in unit maintenance (heartbeat flag `HB_MAINTENANCE`). Absent: not. */
  maintenance?: boolean;
  /**
   * The epoch of the boot of ours that the peer is paired with (0: none). Absent: unknown, as
   * from a test's hand-made heartbeat.
   */
  pairedEpoch?: number;
}

/**
 * What this unit says about itself besides its role: its fail-safe verdict and the operator's
 * maintenance switch (`Pair.setLocal`).
 */
export interface LocalHealth {
  /** No fail-safe check is down. */
  healthy: boolean;
  /** Every check has a verdict (none still waits for its first result): preemption may run. */
  settled: boolean;
  /** Unit maintenance: give the receiver role away and do not take it (but from a dead peer). */
  maintenance: boolean;
}
