/**
 * The benchmarks (`deno task bench`): tandem beside the Linux reference pair, one suite per file,
 * each returning a `SuiteResult` table (metric | tandem | linux | target) that `report.ts` prints
 * and writes into `BENCHMARKS.md` between the suite's markers.
 *
 * - `engineSuite`: `Engine.handle` ns/packet and the peer link's cost per record (no Linux column).
 * - `forwardSuite`: iperf3, 64-byte UDP rate and echo RTT through one unit and through the pair.
 * - `failoverSuite`: survival, detection and stall when the active unit crashes, every mode.
 * - `synfloodSuite`: the SYN proxy under a SYN flood beside the Linux pair (conntrack, backend
 *   cookies).
 * - `memorySuite`: a 1M-flow table's size, RSS and pauses (insert, reap, GC).
 * - `syncSuite`: bulk sync of 1M flows, codec bound and two real units over UDP.
 * @module
 */

export {
  int,
  isoDate,
  isSuite,
  markdownBody,
  markers,
  NA,
  num,
  replaceSection,
  type Row,
  type SuiteName,
  type SuiteResult,
  SUITES,
  textTable,
  writeSection,
} from "./report.ts";
export { type EngineFigures, engineResult, engineSuite, measureEngine } from "./engine.ts";
export {
  echoRtt,
  forwardLinux,
  forwardResult,
  type ForwardSide,
  forwardSuite,
  forwardTandem,
  type Rtt,
} from "./forward.ts";
export {
  type Column,
  FAILOVER_TRAFFIC,
  failoverLinux,
  failoverResult,
  failoverSuite,
  failoverTandem,
  medianRange,
  type Sample,
  type Scenario,
  SCENARIOS,
} from "./failover.ts";
export {
  floodPace,
  type FloodSample,
  type FloodSide,
  parseHpingSent,
  parseNetstat,
  SYNFLOOD_LINUX_PREFIX,
  SYNFLOOD_TANDEM_PREFIX,
  SYNFLOOD_TRAFFIC,
  type SynfloodFigures,
  synfloodLinux,
  synfloodResult,
  synfloodSuite,
  synfloodTandem,
} from "./synflood.ts";
export {
  conntrackObjectSize,
  fillTable,
  measureMemory,
  MEMORY_FLOWS,
  type MemoryFigures,
  memoryResult,
  memorySuite,
  nextFlow,
  parseGcTrace,
} from "./memory.ts";
export {
  type CodecFigures,
  measureCodec,
  measurePair,
  type PairFigures,
  SYNC_FLOWS,
  syncResult,
  syncSuite,
} from "./sync.ts";
export {
  type BenchServers,
  cmd,
  type CmdResult,
  iperf,
  type IperfResult,
  labMissing,
  linuxCrash,
  linuxDnatRules,
  linuxLabDown,
  linuxLabUp,
  linuxMissing,
  linuxPairDir,
  linuxPairUp,
  linuxPrimaryAt,
  linuxRouterDown,
  linuxRouterUp,
  parseIperf,
  parseNftCounter,
  parseNotifyLog,
  startServers,
  stopServers,
  type UdpRate,
  udpRate,
} from "./labs.ts";
export { blast, type BlastOptions, type BlastResult, parseBlastArgs } from "./udp_blast.ts";
export { parseBenchArgs, USAGE } from "./main.ts";
