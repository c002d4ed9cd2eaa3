/**
 * Flow state: the one description of a replicated flow (`fields.ts`), the tracking states
 * (`states.ts`), the TCP state machine (`tcp_state.ts`) and the connection table built from
 * the description (`table.ts`).
 * @module
 */
export * from "./fields.ts";
export * from "./states.ts";
export * from "./tcp_state.ts";
export * from "./table.ts";
