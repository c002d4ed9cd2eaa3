/**
 * The status API as a Hono app: a pure function of a `UnitControl`, so every
 * route is testable through `app.request()` without a socket (DESIGN.md
 * "Status API").
 *
 * Safety rules: every error is JSON with a 4xx status (a 500 only if the unit
 * itself throws); request bodies are bounded; the write endpoints (`POST
 * /failover`, `/reload`, `/maintenance`, `/backends/:service/:address`) need the
 * bearer token and do not exist at all unless a token is configured.
 * @module
 */

import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { createHash, timingSafeEqual } from "node:crypto";
import { DASHBOARD_CSP, DASHBOARD_HTML } from "./dashboard.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { z } from "zod";
import type { BackendAdmin, ControlResult, FlowInfo, UnitControl } from "./snapshot.ts";

export interface AppOptions {
  /** Bearer token for the write endpoints; absent or blank = no write endpoint. */
  token?: string;
  /** Largest accepted request body in bytes (default 4 KiB). */
  maxBodyBytes?: number;
  /** Interval between `/events` snapshots in ms (default 500). */
  eventIntervalMs?: number;
  /** Concurrent `/events` streams allowed (default 16); more get 503. */
  maxEventStreams?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 4096;
export const FLOWS_DEFAULT_LIMIT = 20;
export const FLOWS_MAX_LIMIT = 1000;

/** Parses `?limit=`: absent → default, else a decimal integer in 1..1000; undefined when bad. */
export function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined) return FLOWS_DEFAULT_LIMIT;
  if (!/^[0-9]{1,4}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= 1 && n <= FLOWS_MAX_LIMIT ? n : undefined;
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/**
 * Extracts the credential of `Authorization: Bearer <token>` (RFC 6750 §2.1;
 * the scheme name is case-insensitive per RFC 9110 §11.1).
 */
function bearerOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  return m?.[1];
}

function errorJson(c: Context, status: 400 | 401 | 404 | 405 | 409 | 413 | 503, error: string) {
  return c.json({ error }, status);
}

export const BACKEND_ADMINS = [
  "enabled",
  "draining",
  "maintenance",
] as const satisfies readonly BackendAdmin[];
const BackendBody = z.strictObject({ admin: z.enum(BACKEND_ADMINS) });
const MaintenanceBody = z.strictObject({ on: z.boolean() });

/** Refusals that mean "no such thing" (404) or "your request is wrong" (400); the rest are 409. */
const REASON_STATUS = new Map<string, 400 | 404>([
  ["invalid-config", 400],
  ["unknown-service", 404],
  ["unknown-backend", 404],
]);

/** A control result as the API answers it: 200 when done, else the refusal's status. */
function controlJson(c: Context, r: ControlResult) {
  if (r.ok) return c.json({ ok: true, message: r.message }, 200);
  return c.json(
    { ok: false, reason: r.reason, message: r.message },
    (r.reason !== undefined ? REASON_STATUS.get(r.reason) : undefined) ?? 409,
  );
}

/**
 * The request body as JSON matching `schema`, or undefined when it is not (the caller answers
 * 400). An oversize body never gets here: the body limit answers 413 first.
 */
async function jsonBody<T>(c: Context, schema: z.ZodType<T>): Promise<T | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(await c.req.text());
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Busiest first: packets, then bytes. The unit may already sort; this makes it a contract. */
function busiest(flows: FlowInfo[], limit: number): FlowInfo[] {
  return [...flows]
    .sort((a, b) => b.packets - a.packets || b.bytes - a.bytes)
    .slice(0, limit);
}

const encoder = new TextEncoder();

/** Builds the app. `unit` is read on every request, so responses are always current. */
export function createApp(unit: UnitControl, opts: AppOptions = {}): Hono {
  const app = new Hono();
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const eventInterval = opts.eventIntervalMs ?? 500;
  const maxStreams = opts.maxEventStreams ?? 16;
  const token = opts.token?.trim();
  const tokenDigest = token ? sha256(token) : undefined;
  let openStreams = 0;
  let failoverRunning = false;
  let reloadRunning = false;

  app.use("*", async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: maxBody,
      onError: (c) => errorJson(c, 413, `request body exceeds ${maxBody} bytes`),
    }),
  );

  app.get("/healthz", (c) => {
    const ok = unit.healthy();
    return c.json({ ok }, ok ? 200 : 503);
  });

  app.get("/status", (c) => c.json(unit.snapshot()));

  app.get("/flows", (c) => {
    const limit = parseLimit(c.req.query("limit"));
    if (limit === undefined) {
      return errorJson(c, 400, `limit must be an integer from 1 to ${FLOWS_MAX_LIMIT}`);
    }
    return c.json({ flows: busiest(unit.flows(limit), limit) });
  });

  app.get("/metrics", (c) => {
    return c.body(renderMetrics(unit.snapshot()), 200, { "Content-Type": METRICS_CONTENT_TYPE });
  });

  app.get("/", (c) => {
    c.header("Content-Security-Policy", DASHBOARD_CSP);
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Frame-Options", "DENY");
    return c.html(DASHBOARD_HTML);
  });

  // Server-sent events: one `snapshot` event now, then one per interval. Pull-based, so
  // a client that stops reading stops the timer too (backpressure), and a disconnect or
  // server shutdown cancels the stream.
  app.get("/events", (c) => {
    const headers = {
      "Content-Type": "text/event-stream; charset=utf-8",
      "X-Accel-Buffering": "no",
    };
    // HEAD is answered by the GET route with the body discarded uncancelled; no stream then.
    if (c.req.method === "HEAD") return c.body(null, 200, headers);
    if (openStreams >= maxStreams) return errorJson(c, 503, "too many event streams");
    openStreams++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let released = false;
    let id = 0;
    const release = () => {
      if (!released) {
        released = true;
        openStreams--;
      }
      if (timer !== undefined) clearTimeout(timer);
    };
    const frame = (): Uint8Array =>
      encoder.encode(`event: snapshot\nid: ${id++}\ndata: ${JSON.stringify(unit.snapshot())}\n\n`);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        try {
          // retry: how long EventSource waits before reconnecting (WHATWG HTML §9.2).
          controller.enqueue(encoder.encode("retry: 1000\n\n"));
          controller.enqueue(frame());
        } catch (err) {
          release();
          controller.error(err);
        }
      },
      pull(controller) {
        return new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            timer = undefined;
            try {
              controller.enqueue(frame());
            } catch {
              release();
              controller.close();
            }
            resolve();
          }, eventInterval);
        });
      },
      cancel() {
        release();
      },
    });
    return c.body(body, 200, headers);
  });

  // `?since=T` (Unix ms, as a sample's `at`): only newer samples, so the dashboard can poll
  // every second without fetching ten minutes again.
  app.get("/history", (c) => {
    const raw = c.req.query("since");
    if (raw !== undefined && !/^[0-9]{1,16}(\.[0-9]{1,6})?$/.test(raw)) {
      return errorJson(c, 400, "since must be a Unix time in ms");
    }
    const since = raw === undefined ? -Infinity : Number(raw);
    return c.json({ samples: unit.history().filter((x) => x.at > since) });
  });

  if (tokenDigest) {
    /** Every write route goes through this first: 401 without the right bearer token. */
    const requireToken: MiddlewareHandler = async (c, next) => {
      const given = bearerOf(c.req.header("Authorization"));
      // Compare fixed-length digests so neither length nor content leaks through timing.
      if (given === undefined || !timingSafeEqual(sha256(given), tokenDigest)) {
        c.header("WWW-Authenticate", 'Bearer realm="tandem"');
        return errorJson(c, 401, "missing or wrong bearer token");
      }
      return await next();
    };
    /** A unit that throws is unavailable (503), as for failover, not an internal error. */
    const unavailable = (c: Context, what: string, err: unknown) =>
      errorJson(c, 503, `${what} failed: ${err instanceof Error ? err.message : String(err)}`);

    app.post("/failover", requireToken, async (c) => {
      if (failoverRunning) return errorJson(c, 409, "a failover is already in progress");
      failoverRunning = true;
      try {
        const result = await unit.failover();
        return c.json(
          result.ok
            ? { ok: true, message: result.message }
            : { ok: false, reason: result.reason, message: result.message },
          result.ok ? 200 : 409,
        );
      } catch (err) {
        return unavailable(c, "failover", err);
      } finally {
        failoverRunning = false;
      }
    });

    app.post("/reload", requireToken, async (c) => {
      // One re-read at a time: a second SIGHUP-like request while one runs is refused.
      if (reloadRunning) return errorJson(c, 409, "a reload is already in progress");
      reloadRunning = true;
      try {
        return controlJson(c, await unit.reload());
      } catch (err) {
        return unavailable(c, "reload", err);
      } finally {
        reloadRunning = false;
      }
    });

    // The address holds a colon (`203.0.113.20:7000`); it may come plain or percent-encoded,
    // and Hono decodes the parameter either way.
    app.post("/backends/:service/:address", requireToken, async (c) => {
      const body = await jsonBody(c, BackendBody);
      if (body === undefined) {
        return errorJson(
          c,
          400,
          `body must be JSON {"admin": ${BACKEND_ADMINS.map((a) => `"${a}"`).join(" | ")}}`,
        );
      }
      try {
        return controlJson(
          c,
          unit.setBackend(c.req.param("service"), c.req.param("address"), body.admin),
        );
      } catch (err) {
        return unavailable(c, "backend change", err);
      }
    });

    app.post("/maintenance", requireToken, async (c) => {
      const body = await jsonBody(c, MaintenanceBody);
      if (body === undefined) return errorJson(c, 400, 'body must be JSON {"on": true | false}');
      try {
        return controlJson(c, await unit.maintenance(body.on));
      } catch (err) {
        return unavailable(c, "maintenance", err);
      }
    });
  }

  // A known path with the wrong method is 405 with Allow (RFC 9110 §15.5.6), not 404.
  const allowed: Record<string, string> = {
    "/": "GET, HEAD",
    "/healthz": "GET, HEAD",
    "/status": "GET, HEAD",
    "/flows": "GET, HEAD",
    "/metrics": "GET, HEAD",
    "/events": "GET, HEAD",
    "/history": "GET, HEAD",
  };
  if (tokenDigest) {
    for (const path of ["/failover", "/reload", "/maintenance", "/backends/:service/:address"]) {
      allowed[path] = "POST";
    }
  }
  for (const [path, allow] of Object.entries(allowed)) {
    app.all(path, (c) => {
      c.header("Allow", allow);
      return errorJson(c, 405, "method not allowed");
    });
  }

  app.notFound((c) => errorJson(c, 404, "not found"));
  app.onError((err, c) => {
    if (err instanceof HTTPException && err.status < 500) {
      return c.json({ error: err.message || "bad request" }, err.status);
    }
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}
