/**
 * The pair's state machine: who is receiver and forwarder, whether to mirror and hold, when a
 * peer is dead, who yields after a split brain, when a joiner may serve, and whether a planned
 * switchover may start. Pure: time and peer heartbeats come in; typed actions go out, and
 * {@link Pair.policy} says what the engine must do now. No other module decides a role.
 *
 * Role mapping (DESIGN.md table, patent FIG 1-3):
 * | mode            | active     | standby    |
 * | active-forward  | recv + fwd | -          |
 * | standby-forward | recv       | fwd        |
 * | standby-first   | fwd        | recv       |
 * `solo` is recv + fwd; `joining` is neither.
 * @module
 */
import type { LocalHealth, Mode, PeerHeartbeat, PeerState, Role, UnitState } from "./types.ts";

export type { LocalHealth, PeerHeartbeat } from "./types.ts";

/** What the unit must do after an input to the pair. */
export type Action =
  /** The policy changed: copy {@link Pair.policy} to the engine. */
  | { kind: "roles" }
  /** This unit just gained the floating addresses: announce them (GARP, repeated). */
  | { kind: "announce" }
  /**
   * This unit took over from a dead peer: emit the frames the peer never confirmed emitting,
   * then probe the endpoints so they resend what died with it.
   */
  | { kind: "recover" }
  /** Drop the flow table and receive the peer's (bulk sync, claims 20, 21). */
  | { kind: "join" }
  /**
   * A split brain healed and this unit yields: first send the winner the flows created here
   * since `since` (it merges them into its table, not replacing), then join.
   */
  | { kind: "merge"; since: number }
  /** Planned switchover: ask the peer to take over. */
  | { kind: "failover_request" }
  /** Planned switchover: tell the peer this unit now holds `role` (it takes the other one). */
  | { kind: "takeover"; role: Role }
  /** A line for the timeline and the log. */
  | { kind: "event"; event: string; detail: string }
  /**
   * The unit's state changed: run the notify script with `state` and `reason` (a word, e.g.
   * `peer-dead`), in order, once.
   */
  | { kind: "notify"; state: UnitState; reason: string };

/** Why a planned switchover was refused (the API answers 409 with it). */
export type FailoverRefusal =
  | "no_peer"
  | "peer_not_synced"
  | "not_synced"
  | "in_progress"
  /** The peer is in unit maintenance: it will not take the receiver role. */
  | "peer_in_maintenance"
  /** The peer's fail-safe checks fail and ours pass: it would hand the role straight back. */
  | "peer_unhealthy";

/** The answer to a planned-switchover request. */
export type FailoverOutcome =
  | { ok: true; actions: Action[] }
  | { ok: false; reason: FailoverRefusal; actions: Action[] };

/** What the engine does now (`engine/context.ts` EngineRoles). */
export interface Policy {
  receiver: boolean;
  forwarder: boolean;
  mirror: boolean;
  holdNewFlows: boolean;
  /** Just handed the receiver role over: relay frames still arriving for it to the peer. */
  relay: boolean;
}

export interface PairOptions {
  mode: Mode;
  role: Role;
  /** Heartbeat interval and misses before the peer is declared dead. */
  intervalMs: number;
  deadAfter: number;
  /** false: a single unit with no peer configured. */
  peered: boolean;
  epoch: number;
  /** `hold_new_flows` is configured (active-forward only). */
  holdNewFlows?: boolean;
  /** How long a booting unit listens for a peer before serving alone. */
  startupMs?: number;
  /** How long a joiner whose peer died waits before serving with what it has. */
  orphanMs?: number;
  /**
   * A pause of the loop longer than this means the peer may have taken over (default: the
   * dead time; longer when heartbeats come from their own thread).
   */
  stallMs?: number;
  /** How long after a new peer process is first heard a longer dead time applies. */
  peerWarmupMs?: number;
  /**
   * The configured-active unit takes its role back by planned switchover once it is synced,
   * healthy, not in maintenance and has been so for `preemptDelayMs` (default false: a
   * returning unit stays standby, keepalived `nopreempt`).
   */
  preempt?: boolean;
  preemptDelayMs?: number;
}

/**
 * How fit a unit is to be the receiver: in maintenance 0, failing a fail-safe check 1, else 2.
 * The receiver hands over to a fitter peer and never to a less fit one; equal units stay put,
 * so two sick units do not bounce the addresses between them.
 */
function fitness(healthy: boolean, maintenance: boolean): number {
  return maintenance ? 0 : healthy ? 2 : 1;
}

/** `why` as the one-word reason a notify script gets: its first clause, dashed. */
export function reasonWord(why: string): string {
  const head = why.split(":")[0] ?? why;
  return head.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "unknown";
}

/** Receiver and forwarder for a unit in `state` holding `role` in `mode`. */
export function rolesFor(
  mode: Mode,
  role: Role,
  state: UnitState,
): { receiver: boolean; forwarder: boolean } {
  if (state === "solo") return { receiver: true, forwarder: true };
  if (state === "joining") return { receiver: false, forwarder: false };
  const active = role === "active";
  switch (mode) {
    case "active-forward":
      return { receiver: active, forwarder: active };
    case "standby-forward":
      return { receiver: active, forwarder: !active };
    case "standby-first":
      return { receiver: !active, forwarder: active };
  }
}

/**
 * After waking from a stall, how long the peer must stay silent before this unit serves
 * alone: our table is stale, so a wrong guess costs connections.
 */
const WAKE_SILENCE_MS = 1000;
/** How long after the peer is first heard its silences are judged leniently. */
const PEER_WARMUP_MS = 1000;
/** The dead time for a warming peer. */
const PEER_WARMUP_DEAD_MS = 200;
/** The dead time for a joining peer: it serves no traffic, so losing it costs nothing. */
const JOINER_DEAD_MS = 1000;
/** A planned handover not confirmed within this long is given up. */
const HANDOVER_MS = 1000;
/**
 * How long a unit that handed the receiver role over keeps relaying frames that still arrive
 * for it (switches and neighbours move to the new receiver after its gratuitous ARPs).
 */
export const RELAY_MS = 500;

export class Pair {
  readonly mode: Mode;
  readonly configuredRole: Role;
  readonly priority: number;
  readonly epoch: number;
  role: Role;
  state: UnitState;
  receiver = false;
  forwarder = false;
  peer: PeerState;
  peerHb: PeerHeartbeat | undefined;
  lastHeard = -Infinity;
  /** Sync finished (or was not needed): this unit may serve. */
  synced: boolean;
  readonly deadMs: number;
  readonly #holdNewFlows: boolean;
  #starting: boolean;
  #startDeadline: number;
  #pairedEpoch = -1;
  #suspectSince = -Infinity;
  #pairedAt = -Infinity;
  #handingOver = false;
  #peerUpSince = -Infinity;
  #peerEpoch = -1;
  #splitAnnounced = -Infinity;
  /** We kept the addresses after a split and the loser has not been heard yielding yet. */
  #splitYieldPending = false;
  #handoverAt = 0;
  /** Time of the latest input, for stamping transitions. */
  #now = 0;
  #lastTick = -Infinity;
  #orphanSince = -Infinity;
  #soloSince = -Infinity;
  #relayUntil = -Infinity;
  readonly #startupMs: number;
  readonly #orphanMs: number;
  readonly #warmupMs: number;
  readonly #stallMs: number;
  readonly preempt: boolean;
  readonly preemptDelayMs: number;
  #local: LocalHealth = { healthy: true, settled: true, maintenance: false };
  /** Since when this unit has been healthy and out of maintenance (the preempt delay). */
  #fitSince: number;
  /** Why this unit asked its peer to take over (the reason its own switch reports). */
  #handoverWhy = "planned switchover";
  /** The receiver also forwards because its peer, the mode's forwarder, is less fit. */
  #forwardForPeer = false;

  constructor(o: PairOptions, now: number) {
    this.mode = o.mode;
    this.configuredRole = o.role;
    this.role = o.role;
    this.priority = o.role === "active" ? 200 : 100;
    this.epoch = o.epoch;
    this.deadMs = o.intervalMs * o.deadAfter;
    this.#holdNewFlows = o.holdNewFlows === true && o.mode === "active-forward";
    this.#startupMs = o.startupMs ?? Math.max(1000, 4 * this.deadMs);
    this.#orphanMs = o.orphanMs ?? 5000;
    this.#warmupMs = o.peerWarmupMs ?? PEER_WARMUP_MS;
    this.#stallMs = o.stallMs ?? this.deadMs;
    this.preempt = o.preempt === true;
    this.preemptDelayMs = o.preemptDelayMs ?? 0;
    this.#fitSince = now;
    this.peer = o.peered ? "unknown" : "none";
    this.#starting = o.peered;
    this.#startDeadline = now + this.#startupMs;
    this.synced = !o.peered;
    this.state = o.peered ? "joining" : "solo";
    this.#apply();
  }

  /** True while this unit holds traffic back: booting, joining or just woken from a freeze. */
  get starting(): boolean {
    return this.#starting;
  }

  /** True while this unit is receiving the peer's table (a bulk sync is wanted). */
  get joining(): boolean {
    return this.state === "joining" && !this.#starting;
  }

  /**
   * The epoch of the peer boot this unit is paired with, for its heartbeats (0: none). A peer
   * that restarted reads there whether we are paired with it or with its previous boot.
   */
  get pairedEpoch(): number {
    return this.state === "active" || this.state === "standby" ? Math.max(0, this.#pairedEpoch) : 0;
  }

  /** True while this unit may send its table to a joiner (it holds the state). */
  get mayServeSync(): boolean {
    return this.synced && this.state !== "joining";
  }

  /**
   * What the engine does now: receiver and forwarder per mode and state, mirroring whenever
   * the peer is up (a joiner must get live updates while its bulk sync runs, claims 20, 21),
   * and holding new flows only in active-forward with `hold_new_flows`.
   */
  get policy(): Policy {
    const up = this.peer === "up";
    return {
      receiver: this.receiver,
      forwarder: this.forwarder,
      mirror: up,
      holdNewFlows: up && this.#holdNewFlows && this.forwarder,
      relay: up && !this.receiver && this.#now < this.#relayUntil,
    };
  }

  /** What this unit last said about its own health and maintenance. */
  get local(): LocalHealth {
    return this.#local;
  }

  /** The peer's fail-safe verdict from its heartbeats; null before one. */
  get peerHealthy(): boolean | null {
    return this.peerHb === undefined ? null : this.peerHb.healthy !== false;
  }

  /**
   * This unit's fail-safe verdict or maintenance switch changed. A receiver that became less fit
   * than its synced peer hands over at once (planned switchover); the timers re-check as the
   * peer's heartbeats change.
   */
  setLocal(local: LocalHealth, now = this.#now): Action[] {
    this.#now = now;
    const wasFit = !this.#local.maintenance && this.#local.healthy;
    const fit = !local.maintenance && local.healthy;
    if (fit && !wasFit) this.#fitSince = now;
    const out: Action[] = [];
    if (local.healthy !== this.#local.healthy) {
      out.push({
        kind: "event",
        event: "failsafe",
        detail: local.healthy ? "healthy: every check passes" : "unhealthy: a check failed",
      });
    }
    this.#local = { ...local };
    this.#failsafePolicy(now, out);
    return out;
  }

  /** `reason`: the notify script's word, when not the first clause of `why`. */
  #to(state: UnitState, role: Role, out: Action[], why: string, reason?: string): void {
    const wasReceiver = this.receiver;
    const before = `${this.state}/${this.role}`;
    if (state !== this.state) {
      out.push({ kind: "notify", state, reason: reason ?? reasonWord(why) });
    }
    if ((state === "active" || state === "standby") && this.state !== state) {
      this.#pairedAt = this.#now;
    }
    if (state === "solo" && this.state !== "solo") this.#soloSince = this.#now;
    this.state = state;
    this.role = role;
    this.#apply();
    if (`${state}/${role}` !== before) {
      out.push({ kind: "roles" });
      out.push({ kind: "event", event: "role", detail: `${before} -> ${state}/${role}: ${why}` });
    }
    // Whoever gains the floating addresses announces them (RFC 5227 §3).
    if (this.receiver && !wasReceiver) out.push({ kind: "announce" });
  }

  #apply(): void {
    const r = rolesFor(this.mode, this.role, this.state);
    this.receiver = r.receiver;
    this.forwarder = r.forwarder || (r.receiver && this.#forwardForPeer);
  }

  /**
   * Any authenticated datagram from the peer proves it alive (a heartbeat may sit behind
   * mirror records in the same socket).
   */
  heard(now: number): void {
    if (this.peer === "up") this.lastHeard = now;
  }

  /**
   * This unit was not running for more than a heartbeat interval (its heartbeat thread woke that
   * late: a host or VM pause). The peer's silence over the pause is no evidence, so its dead time
   * counts from now; a peer that really died meanwhile is declared dead that much later.
   */
  selfStalled(now: number): void {
    if (this.peer === "up" && now > this.lastHeard) this.lastHeard = now;
  }

  /** An authenticated heartbeat from the peer. */
  onHeartbeat(now: number, hb: PeerHeartbeat): Action[] {
    this.#now = now;
    const out: Action[] = [];
    const was = this.peer;
    this.lastHeard = now;
    this.peerHb = hb;
    if (hb.epoch !== this.#peerEpoch) {
      // A peer process we have not heard before (boot or restart): it warms up.
      this.#peerEpoch = hb.epoch;
      this.#peerUpSince = now;
    }
    if (was !== "up") {
      this.peer = "up";
      // Mirroring starts the moment the peer is heard.
      out.push({ kind: "roles" });
      out.push({ kind: "event", event: "peer", detail: `peer ${was} -> up (${hb.state})` });
    }
    if (this.#starting) {
      this.#starting = false;
      if (hb.state === "solo") {
        this.#join(out, "peer is solo: joining as standby");
      } else if (
        (hb.state === "active" || hb.state === "standby") && hb.pairedEpoch !== undefined &&
        hb.pairedEpoch !== this.epoch
      ) {
        // The peer is still paired with our previous boot (we restarted within its dead time)
        // and holds the table we lost: join and get it. It goes solo on hearing us join.
        this.#join(out, `peer is ${hb.state} with our previous boot: joining`);
      } else if (hb.state === "active" || hb.state === "standby") {
        // The peer already paired up with a fresh us (it heard us first): take the other role.
        this.synced = true;
        this.#pairedEpoch = hb.epoch;
        const mine = hb.state === "active" ? "standby" : "active";
        this.#to(mine, mine, out, `peer is ${hb.state}`);
      } else {
        // Both booting with empty tables: configured roles decide.
        this.synced = true;
        this.#pairedEpoch = hb.epoch;
        const active = this.#outranks(hb);
        this.#to(active ? "active" : "standby", active ? "active" : "standby", out, "fresh pair");
      }
      return out;
    }
    switch (this.state) {
      case "solo":
        if (hb.state === "solo") {
          // Split brain healing: exactly one owner stays (higher priority, then older boot).
          if (!this.#outranks(hb)) {
            // The flows opened here during the split go to the winner before this unit drops
            // its table: merged, not lost.
            out.push({ kind: "merge", since: this.#soloSince });
            this.#join(out, "split brain: peer wins, rejoining");
          } else if (now - this.#splitAnnounced > 100) {
            // The switches may have learned the floating MACs behind the peer during the
            // split: claim them back while the peer yields.
            this.#splitAnnounced = now;
            this.#splitYieldPending = true;
            out.push({ kind: "announce" });
            out.push({
              kind: "event",
              event: "split",
              detail: "split brain healed: keeping the addresses",
            });
          }
        } else if (hb.state === "joining" && this.#splitYieldPending) {
          // The loser has yielded. Until it heard us it was an owner too, and a frame it sent
          // from the virtual MAC after our announcement (an ARP reply, a probe) taught the
          // switches its port again; nothing would move them back until the endpoints' ARP
          // entries went stale, seconds later (a lab run lost all 50 connections so). Claim the
          // addresses once more, now that nobody else does.
          this.#splitYieldPending = false;
          out.push({ kind: "announce" });
        } else if (hb.state === "standby" && hb.syncComplete) {
          this.#splitYieldPending = false;
          this.#pairedEpoch = hb.epoch;
          this.#to("active", "active", out, "peer synced");
        }
        break;
      case "active":
      case "standby":
        if (hb.state === "joining" && hb.epoch !== this.#pairedEpoch) {
          // The peer restarted within our dead time: we hold the state, it resyncs.
          this.#to("solo", this.role, out, "peer restarted");
        } else if (hb.state === "solo" && now - this.#pairedAt > 2 * this.deadMs) {
          // The peer took over without us (it lost our heartbeats): its table wins. Just after
          // pairing up, its last solo heartbeats are still in flight: ignore those.
          this.#join(out, "peer is solo: rejoining");
        } else if (
          hb.state === this.state && hb.syncComplete && !this.#handingOver &&
          now - this.#pairedAt > 2 * this.deadMs
        ) {
          // Both claim the same role: the planned switchover's other half, or a conflict.
          const win = this.#outranks(hb);
          const mine = this.state === "active"
            ? (win ? "active" : "standby")
            : (win ? "standby" : "active");
          if (mine !== this.state) this.#to(mine, mine, out, "role conflict resolved");
        }
        break;
      case "joining":
        break;
    }
    return out;
  }

  /** Higher priority wins, then the older boot. */
  #outranks(hb: PeerHeartbeat): boolean {
    return this.priority > hb.priority || (this.priority === hb.priority && this.epoch < hb.epoch);
  }

  #join(out: Action[], why: string): void {
    const wasReceiver = this.receiver;
    this.synced = false;
    this.#orphanSince = -Infinity;
    this.#to("joining", "standby", out, why);
    // Frames the switches still send here belong to the winner now.
    if (wasReceiver && this.peer === "up") this.#relayUntil = this.#now + RELAY_MS;
    out.push({ kind: "join" });
  }

  /** The bulk sync completed (claims 20, 21): the joiner may serve as standby. */
  syncComplete(now = this.#now): Action[] {
    this.#now = now;
    const out: Action[] = [];
    if (this.state !== "joining") return out;
    this.synced = true;
    // Paired with whoever served the sync: our heartbeats say so from now on.
    if (this.peerHb) this.#pairedEpoch = this.peerHb.epoch;
    this.#to("standby", "standby", out, "bulk sync complete");
    return out;
  }

  /**
   * Planned switchover asked of this unit (SIGUSR1, POST /failover). Refused, with the
   * reason, when there is nobody synced to hand over to or a handover is already under way.
   *
   * The roles move in an order where there is always a receiver: the unit that will be the
   * receiver after the switch moves first (this one, or the peer when asked with
   * `failover_request`), then tells the other (`takeover`), which takes the remaining role.
   * For the moment both are receivers, each mirrors what it receives, and the record says who
   * emits, so no frame is emitted twice or not at all. The unit that gave the receiver role
   * up relays frames still arriving for it to the new one for `RELAY_MS`.
   */
  requestFailover(now = this.#now): FailoverOutcome {
    this.#now = now;
    const out: Action[] = [];
    const refuse = (reason: FailoverRefusal): FailoverOutcome => {
      out.push({ kind: "event", event: "failover", detail: `refused: ${reason}` });
      return { ok: false, reason, actions: out };
    };
    if (this.peer !== "up" || this.state === "solo") return refuse("no_peer");
    if (!this.synced || this.state === "joining") return refuse("not_synced");
    if (this.peerHb?.syncComplete !== true || this.peerHb.state === "joining") {
      return refuse("peer_not_synced");
    }
    if (this.#handingOver) return refuse("in_progress");
    const hb = this.peerHb;
    if (fitness(hb.healthy !== false, hb.maintenance === true) < this.#fitness()) {
      return refuse(hb.maintenance === true ? "peer_in_maintenance" : "peer_unhealthy");
    }
    this.#handover(now, out, "planned switchover");
    return { ok: true, actions: out };
  }

  #fitness(): number {
    return fitness(this.#local.healthy, this.#local.maintenance);
  }

  /** Moves the roles so that the peer holds the other one (see `requestFailover`). */
  #handover(now: number, out: Action[], why: string): void {
    const next: Role = this.role === "active" ? "standby" : "active";
    if (rolesFor(this.mode, next, next).receiver) {
      // Just changed state: its role claims are ignored for two dead times, while the
      // notice reaches the peer.
      this.#switchTo(next, out, why);
    } else {
      // Until the peer takes our role, both claim it: that is the handover, not a conflict.
      this.#handingOver = true;
      this.#handoverAt = now;
      this.#handoverWhy = why;
      out.push({ kind: "failover_request" });
      out.push({
        kind: "event",
        event: "failover",
        detail: why === "planned switchover"
          ? "asked peer to take over"
          : `asked peer to take over (${why})`,
      });
    }
  }

  /**
   * In standby-forward and standby-first the peer may be the forwarder: one whose link or
   * gateway failed cannot emit what we hand it. While the peer is less fit, the receiver forwards
   * itself, as in active-forward (the mirror record's MF_PEER_EMITS says who emits, per packet,
   * so the move needs no handshake); the peer still mirrors and can take over.
   */
  #setForwardForPeer(on: boolean, out: Action[]): void {
    if (on === this.#forwardForPeer) return;
    this.#forwardForPeer = on;
    const was = this.forwarder;
    this.#apply();
    if (this.forwarder === was) return;
    out.push({ kind: "roles" });
    out.push({
      kind: "event",
      event: "failsafe",
      detail: on ? "forwarding for the peer: it is less fit to emit" : "the peer forwards again",
    });
  }

  /**
   * The fail-safe and preemption rules, for a settled pair (both synced, each in its own role,
   * no handover under way, the last switch two dead times old):
   * - a receiver less fit than its peer (see `fitness`) hands the role over;
   * - with `preempt`, the configured-active unit, healthy, out of maintenance, with every check
   *   settled, takes its role back `preemptDelayMs` after it paired up or became fit, unless
   *   the peer is fitter.
   * A dead peer is not handled here: the survivor takes over whatever its health (`tick`).
   */
  #failsafePolicy(now: number, out: Action[]): void {
    // Woken from a stall, the roles stay dropped until the peer is heard (`tick`).
    if (this.#suspectSince !== -Infinity) return;
    const hb = this.peerHb;
    const mine = this.#fitness();
    const theirs = hb ? fitness(hb.healthy !== false, hb.maintenance === true) : 2;
    const paired = this.peer === "up" && hb !== undefined && !this.#starting &&
      (this.state === "active" || this.state === "standby");
    this.#setForwardForPeer(paired && this.receiver && theirs < mine, out);
    if (
      !paired || hb === undefined || this.#handingOver || !this.synced || !hb.syncComplete ||
      (hb.state !== "active" && hb.state !== "standby") || hb.state === this.state ||
      now - this.#pairedAt <= 2 * this.deadMs
    ) return;
    if (this.receiver && theirs > mine) {
      this.#handover(now, out, this.#local.maintenance ? "maintenance" : "unhealthy");
    } else if (
      // Only the configured-active unit preempts; the other never gives its role away for it.
      this.preempt && this.configuredRole === "active" && this.role !== "active" &&
      mine === 2 && this.#local.settled &&
      now - Math.max(this.#pairedAt, this.#fitSince) >= this.preemptDelayMs
    ) {
      this.#handover(now, out, "preempt");
    }
  }

  /**
   * The peer asked us to move first (planned switchover): we take the other role, which makes
   * us the receiver. A request that would not (it breaks the order) is ignored.
   */
  onFailoverRequest(now = this.#now): Action[] {
    this.#now = now;
    const out: Action[] = [];
    const next: Role = this.role === "active" ? "standby" : "active";
    if (
      (this.state === "standby" || this.state === "active") && this.synced &&
      rolesFor(this.mode, next, next).receiver
    ) {
      // A unit in maintenance, or sick while the asking peer is well, does not take the
      // receiver role; the peer gives up its request after HANDOVER_MS.
      const hb = this.peerHb;
      const theirs = hb ? fitness(hb.healthy !== false, hb.maintenance === true) : 2;
      if (this.#local.maintenance || this.#fitness() < theirs) {
        out.push({
          kind: "event",
          event: "failover",
          detail: `peer's request to take over ignored: ${
            this.#local.maintenance ? "in maintenance" : "unhealthy"
          }`,
        });
        return out;
      }
      this.#switchTo(next, out, "planned switchover");
    }
    return out;
  }

  /** Takes `role` and tells the peer, which then takes the other one. */
  #switchTo(role: Role, out: Action[], why: string): void {
    const wasReceiver = this.receiver;
    this.#to(role, role, out, why);
    if (wasReceiver && !this.receiver) this.#relayUntil = this.#now + RELAY_MS;
    out.push({ kind: "takeover", role });
  }

  /** The peer now holds `role` (planned switchover): take the other one. */
  onTakeover(role: Role, now = this.#now): Action[] {
    this.#now = now;
    const out: Action[] = [];
    this.#handingOver = false;
    if ((this.state === "active" || this.state === "standby") && this.role === role) {
      const wasReceiver = this.receiver;
      const mine: Role = role === "active" ? "standby" : "active";
      this.#to(mine, mine, out, `peer took the ${role} role`, reasonWord(this.#handoverWhy));
      this.#handoverWhy = "planned switchover";
      if (wasReceiver && !this.receiver) this.#relayUntil = now + RELAY_MS;
    }
    return out;
  }

  /** Timers: boot wait, dead peer, wake-up from a freeze. */
  tick(now: number): Action[] {
    this.#now = now;
    if (this.#handingOver && now - this.#handoverAt > HANDOVER_MS) this.#handingOver = false;
    const out: Action[] = [];
    if (this.#relayUntil !== -Infinity && now >= this.#relayUntil) {
      this.#relayUntil = -Infinity;
      out.push({ kind: "roles" });
    }
    const gap = now - this.#lastTick;
    this.#lastTick = now;
    if (this.peer === "none") return out;
    // A peer that is not up can only have taken over during our pause by booting and serving
    // alone, which takes it the startup wait: a shorter pause of a lone unit is just a pause.
    const stallMs = this.peer === "up" ? this.#stallMs : Math.max(this.#stallMs, this.#startupMs);
    if (gap > stallMs && gap !== Infinity && !this.#starting && this.state !== "joining") {
      // We were frozen (SIGSTOP, a long pause): the peer may have taken over and our view is
      // stale. Stop emitting until we hear what the peer did.
      out.push({ kind: "event", event: "stall", detail: `loop stalled ${Math.round(gap)} ms` });
      this.#suspectSince = now;
      if (this.receiver || this.forwarder) {
        this.receiver = this.forwarder = false;
        out.push({ kind: "roles" });
      }
      return out;
    }
    if (this.#suspectSince !== -Infinity) {
      if (this.lastHeard >= this.#suspectSince) {
        // onHeartbeat already rejoined if the peer took over; otherwise carry on.
        this.#suspectSince = -Infinity;
        this.#apply();
        out.push({ kind: "roles" });
      } else if (now - this.#suspectSince > Math.max(2 * this.deadMs, WAKE_SILENCE_MS)) {
        // Nobody answered: the peer is gone as well. Serve alone.
        this.#suspectSince = -Infinity;
        this.peer = "down";
        out.push({ kind: "roles" });
        // The roles are still dropped from the stall, so `#to` announces whoever serves alone
        // now: the peer may have taken the addresses while we were frozen.
        if (this.state !== "solo") {
          this.#to("solo", this.role, out, "woke from a stall, peer silent");
        } else {
          this.#apply();
          out.push({ kind: "announce" });
        }
      }
      return out;
    }
    if (this.#starting) {
      if (now >= this.#startDeadline) {
        this.#starting = false;
        this.synced = true;
        this.#to("solo", this.role, out, "no peer heard at boot");
      }
      return out;
    }
    // A peer heard for the first time is warming up (JIT, first allocations) and may pause;
    // a joining peer serves nothing: both get a longer dead time.
    const warming = now - this.#peerUpSince < this.#warmupMs;
    const limit = this.peerHb?.state === "joining"
      ? Math.max(this.deadMs, JOINER_DEAD_MS)
      : warming
      ? Math.max(this.deadMs, PEER_WARMUP_DEAD_MS)
      : this.deadMs;
    const dead = now - this.lastHeard > limit;
    if (dead && this.peer === "up") {
      this.peer = "down";
      this.#handingOver = false;
      out.push({
        kind: "event",
        event: "peer",
        detail: `peer down: no heartbeat for ${Math.round(now - this.lastHeard)} ms`,
      });
      out.push({ kind: "roles" });
      if (this.state === "active" || this.state === "standby") {
        this.#pairedEpoch = -1;
        if (this.#local.maintenance || !this.#local.healthy) {
          // Availability first: a sick unit, or one in maintenance, beats no unit.
          out.push({
            kind: "event",
            event: "failsafe",
            detail: `taking over from a dead peer although ${
              this.#local.maintenance ? "in maintenance" : "unhealthy"
            }`,
          });
        }
        this.#to("solo", this.role, out, "peer dead");
        out.push({ kind: "recover" });
      } else if (this.state === "joining") {
        this.#orphanSince = now;
      }
    }
    if (
      this.state === "joining" && this.peer === "down" && now - this.#orphanSince > this.#orphanMs
    ) {
      // The design forbids taking over mid-sync; after a long silence serving with partial
      // state beats serving nothing.
      this.synced = true;
      this.#to("solo", this.role, out, "peer gone during sync");
    }
    this.#failsafePolicy(now, out);
    return out;
  }

  /** When `tick` must run next. */
  nextDeadline(now: number): number {
    if (this.peer === "none") return now + 1000;
    let next = now + Math.max(1, Math.min(this.deadMs / 5, 10));
    // Wake exactly when the peer's silence crosses the limit: detection is deadMs after the
    // last heartbeat, not deadMs plus a polling interval.
    if (this.peer === "up") next = Math.min(next, this.lastHeard + this.deadMs + 0.5);
    if (this.#relayUntil !== -Infinity) next = Math.min(next, this.#relayUntil);
    return Math.max(now, next);
  }
}
