/**
 * Binding the status API to a socket. The address is exactly the configured
 * one: loopback unless the operator chooses otherwise (DESIGN.md "Status API").
 * @module
 */

import type { Hono } from "hono";

/** Where the API listens when the config says nothing: loopback only. */
export const DEFAULT_API_LISTEN = "127.0.0.1:9090";

/**
 * Parses `host:port` or `[v6-host]:port` (port 0..65535; 0 picks a free port).
 * Returns undefined for anything else, including an empty host, so the API is
 * never bound to every interface by accident.
 */
export function parseListen(listen: string): { hostname: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(listen);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const hostname = m[1] ?? m[2];
  if (!hostname) return undefined;
  return { hostname, port };
}

/**
 * Serves `app` on `listen` until `signal` aborts (Deno then cancels open
 * `/events` streams, so shutdown does not hang). Throws a RangeError naming the
 * value when `listen` is not `host:port`.
 */
export function serveApi(
  app: Hono,
  listen: string,
  signal: AbortSignal,
): Deno.HttpServer<Deno.NetAddr> {
  const addr = parseListen(listen);
  if (!addr) throw new RangeError(`api.listen: expected host:port, got ${JSON.stringify(listen)}`);
  return Deno.serve(
    {
      hostname: addr.hostname,
      port: addr.port,
      signal,
      onListen() {},
      // Last resort; the app already maps its own errors to JSON.
      onError: () => Response.json({ error: "internal error" }, { status: 500 }),
    },
    (req) => app.fetch(req),
  );
}
