/**
 * The lab: the network-namespace topology that tests, benchmarks and the demo run in
 * (DESIGN.md "The lab"), and the Linux reference pair's lab beside it. Needs root and the
 * commands of `LAB_COMMANDS` (the packages are in mod/setup/packages.txt).
 *
 * ```text
 *                     <P>-sw                                         <P>-sw
 *  <P>-client       bridge brf                                     bridge brb    <P>-server
 *  eth0 198.51.100.2 --+                                              +-- eth0 203.0.113.20/24
 *  2001:db8:100::2/64  |                                              |        203.0.113.21/24
 *                      |                                              |  2001:db8:113::20/64
 *                      |                                              |  2001:db8:113::21/64
 *                      |  +-------------- <P>-a ------------------+   |   default via .1, ::1
 *                      +--| eth0 -[front]- tnd-front              |   |
 *                      |  |             tnd-back -[back]- eth1    |---+
 *                      |  |  ha0 192.0.2.1/30                     |   |
 *                      |  +-----|---------------------------------+   |
 *                      |        | HA link (veth, mtu 9000)            |
 *                      |  +-----|---------------------------------+   |
 *                      |  |  ha0 192.0.2.2/30                     |   |
 *                      +--| eth0 -[front]- tnd-front              |   |
 *                         |             tnd-back -[back]- eth1    |---+
 *                         +-------------- <P>-b ------------------+
 *
 *  a: self 198.51.100.3 / 203.0.113.3     b: self 198.51.100.4 / 203.0.113.4
 *     2001:db8:100::3 / 2001:db8:113::3      2001:db8:100::4 / 2001:db8:113::4
 *  floating (owned by the receiver): VIP 198.51.100.10 (front), gateway 203.0.113.1 (back)
 *     and VIP 2001:db8:100::10 (front), gateway 2001:db8:113::1 (back)
 *  services on the VIP: 7000/tcp echo, 7001/udp echo, 80/tcp HTTP -> 203.0.113.20 and .21
 *     and on the IPv6 VIP the same (echo6, udp-echo6, http6) -> 2001:db8:113::20 and ::21
 * ```
 *
 * In each appliance namespace the kernel only bridges: `eth0` and the TAP `tnd-front` are ports
 * of bridge `front`, `eth1` and `tnd-back` of `back`; the tandem process owns the TAPs and speaks
 * for the self and floating addresses in user space. IPv6 is off in the appliances' kernels, so
 * they never answer NDP for the process (the client and server kernels run IPv6, without RAs).
 * @module
 */

export {
  API_ADDR,
  checkPrefix,
  crash,
  DEFAULT_MODE,
  DEFAULT_PREFIX,
  DEFAULT_READY_TIMEOUT_MS,
  isCompiled,
  kernelHasIpv6,
  kill,
  LAB_ADDRESSES,
  LAB_MODES,
  labAddressLines,
  labCwd,
  labDown,
  type LabInfo,
  type LabMode,
  type LabNamespaces,
  labNamespaces,
  labStateDir,
  labToolCommand,
  labUp,
  type LabUpOptions,
  nsAddresses,
  readPid,
  restart,
  revive,
  startLabServers,
  STATE_ROOT,
  tandemCommand,
  type Unit,
  type UnitRole,
} from "./topology.ts";
export {
  clientRun,
  type CurlOptions,
  isRoot,
  LAB_COMMANDS,
  listNamespaces,
  nsCurl,
  requireLabTools,
  startTraffic,
  trafficArgs,
  type TrafficRun,
  withLab,
} from "./harness.ts";
export {
  DEFAULT_TRAFFIC,
  type Family,
  messageBytes,
  parseTrafficArgs,
  runTraffic,
  trafficMain,
  type TrafficOptions,
  type TrafficReport,
  VIP,
  VIP6,
  vipOf,
  vipUrl,
} from "./traffic.ts";
export {
  ALL_BACKEND_ADDRESSES,
  BACKEND_ADDRESSES,
  BACKEND_ADDRESSES6,
  hostPort,
  httpHandler,
  type LabServers,
  serveLab,
  serveMain,
} from "./servers.ts";
export {
  type DemoOptions,
  type DemoResult,
  type DemoRun,
  demoSummary,
  labDemo,
  LINUX_ADVERT_S,
  linuxPrefix,
  progressBar,
  rolesOf,
  survivalLine,
} from "./demo.ts";
export { LAB_USAGE, labMain, labPrerequisites } from "./cli.ts";
export {
  cmd,
  type CmdResult,
  LINUX_PAIR_COMMANDS,
  linuxCrash,
  linuxLabDown,
  linuxLabUp,
  linuxMissing,
  linuxPairDir,
  linuxPairUp,
  linuxPrimaryAt,
  linuxScript,
  mustCmd,
  parseNotifyLog,
} from "./linux_pair.ts";
export {
  hasCommand,
  killPid,
  nsExec,
  nsRun,
  pidAlive,
  run,
  type RunResult,
  sh,
  spawnInNs,
  stopPid,
  waitExit,
} from "./netns.ts";
