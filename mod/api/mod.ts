/**
 * Operating a tandem unit: the status API (a Hono app that is a pure function
 * of a status snapshot), its Prometheus metrics, the live dashboard, the
 * `tandem status` and `tandem backend|maintenance|reload` clients, and the
 * latency histograms the runtime fills.
 *
 * ```ts
 * const app = createApp(unit, { token });
 * const server = serveApi(app, config.api.listen ?? DEFAULT_API_LISTEN, signal);
 * ```
 * @module
 */

export {
  BACKEND_ADMINS,
  createApp,
  DEFAULT_MAX_BODY_BYTES,
  FLOWS_DEFAULT_LIMIT,
  FLOWS_MAX_LIMIT,
  parseLimit,
} from "./app.ts";
export type { AppOptions } from "./app.ts";
export {
  BACKEND_STATES,
  escapeLabelValue,
  METRICS_CONTENT_TYPE,
  renderMetrics,
  syncRatio,
} from "./metrics.ts";
export { DASHBOARD_CSP, DASHBOARD_HTML } from "./dashboard.ts";
export {
  apiBaseUrl,
  controlCommand,
  controlPath,
  formatDuration,
  formatService,
  formatStatus,
  statusCommand,
  TOKEN_FILE_ENV,
} from "./client.ts";
export type { ControlCommandOptions, ControlRequest, StatusCommandOptions } from "./client.ts";
export { DEFAULT_API_LISTEN, parseListen, serveApi } from "./serve.ts";
export { HistogramRecorder, LATENCY_BOUNDS_MS } from "./histogram.ts";
export type {
  BackendAdmin,
  BackendHealth,
  BackendStatus,
  ConfigStatus,
  ControlResult,
  FailsafeStatus,
  FlowInfo,
  Histogram,
  HistorySample,
  Mode,
  PeerState,
  Role,
  ServiceStatus,
  StatusSnapshot,
  SyncState,
  TimelineEvent,
  UnitControl,
  UnitState,
} from "./snapshot.ts";
