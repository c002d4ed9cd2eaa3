/**
 * The status API as a Hono app: a pure function of a `UnitControl`, so every
 * route is testable through `app.request()` without a socket (DESIGN.md
 * "Status API").
 *
 * Safety rules: every error is JSON with a 4xx status (a 500 only if the unit
 * itself throws); request bodies are bounded; the one write endpoint,
 * `POST /failover`, does not exist at all unless a token is configured.
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { createHash, timingSafeEqual } from "node:crypto";
import { DASHBOARD_CSP, DASHBOARD_HTML } from "./dashboard.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import type { FlowInfo, UnitControl } from "./snapshot.ts";

export interface AppOptions {
  /** Bearer token for `POST /failover`; absent or blank = no write endpoint. */
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

  if (tokenDigest) {
    app.post("/failover", async (c) => {
      const given = bearerOf(c.req.header("Authorization"));
      // Compare fixed-length digests so neither length nor content leaks through timing.
      if (given === undefined || !timingSafeEqual(sha256(given), tokenDigest)) {
        c.header("WWW-Authenticate", 'Bearer realm="tandem"');
        return errorJson(c, 401, "missing or wrong bearer token");
      }
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
        return errorJson(
          c,
          503,
          `failover failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      } finally {
        failoverRunning = false;
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
  };
  if (tokenDigest) allowed["/failover"] = "POST";
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
