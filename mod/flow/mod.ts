/**
 * Connection tracking: the flow table both units hold identically.
 * @module
 */
export * from "./table.ts";
