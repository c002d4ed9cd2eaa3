/**
 * Backend schedulers for a service: round robin, and Maglev consistent
 * hashing over a flow-tuple hash. Pure and deterministic; the unit that
 * creates a flow picks, and the mirror record carries the choice.
 * @module
 */
export { RoundRobin } from "./round_robin.ts";
export { isPrime, Maglev, MAGLEV_DEFAULT_SIZE } from "./maglev.ts";
