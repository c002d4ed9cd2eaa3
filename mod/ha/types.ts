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
}
