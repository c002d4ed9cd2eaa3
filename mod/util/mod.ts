/**
 * Small shared helpers with no domain of their own: the one seeded PRNG and the one
 * non-cryptographic hash (with its 32-bit finaliser, used for table indexes and digests).
 * @module
 */
export * from "./hash.ts";
export * from "./prng.ts";
