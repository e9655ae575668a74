/**
 * The narrow seam between an `AgentServer` and a cluster of agent servers.
 * The server calls a {@link ClusterLink} only when its `cluster` option is
 * set; the link calls back through a {@link ClusterHost}. Nothing here knows
 * which engine carries the messages (Redis today): `cio/agent` imports these
 * types only, so it never loads a Redis client.
 */
import type { KeyObject } from 'node:crypto'
import type { AgentLogger } from '../agent/events.js'
import type { ByAgent, SendOutcome } from '../agent/calls.js'
import type { NameFormat } from '../agent/names.js'

/** An agent somewhere in the cluster, as `listAgents()` gives it. */
export interface ClusterAgent {
  /** The agent's name. */
  name: string
  /** The id of the node (agent server) holding its connection. */
  node: string
}

/** A live node of the cluster. */
export interface ClusterNodeInfo {
  /** The node's id: its `nodeName`, `~`, and 8 random characters (a restart is a new node). */
  id: string
  /** Its `nodeName`. */
  name: string
  /** Process id, host name and start time (ms since the epoch), as the node reported them. */
  pid: number
  host: string
  started: number
}

/** Counters a node keeps about its cluster traffic (tests and diagnostics). */
export interface ClusterStats {
  /** Messages dropped: bad signature, malformed, oversized, replayed, expired, or answering nothing pending. */
  dropped: number
  /** Remote calls and fan-outs this node is waiting for. */
  pending: number
  /** Calls from other nodes being run on this node's agents. */
  serving: number
  /** Messages received and accepted. */
  accepted: number
}

/** What an agent server gives its cluster link (see {@link ClusterLink.attach}). */
export interface ClusterHost {
  /**
   * The agents' handshake key, scrypt(secret), once derived (off the event
   * loop; rejects if that failed): the key that signs messages between nodes
   * is derived from it, and the link starts its engine only then.
   */
  readonly key: Promise<KeyObject>
  /** The format of new agents' names. */
  readonly nameFormat: NameFormat
  readonly log: AgentLogger | undefined
  /** The highest name number this server gave out or saw (re-seeds the counter after Redis lost its data). */
  highWater(): number
  /** Notes a name number given out by the cluster counter. */
  observe(name: string): void
  /** Names of the agents connected here (ready or being named). */
  localNames(): string[]
  /** Calls one local agent; rejects `AGENT_NOT_CONNECTED` with `details.delivered: false` when it is not here. */
  callLocal(name: string, action: string, message: unknown, timeout: number): Promise<unknown>
  /** Calls every local agent, naming each outcome. */
  callAllLocal(action: string, message: unknown, timeout: number): Promise<ByAgent<SendOutcome>>
  /** Ends a local connection whose name another live node holds (Redis is the referee). */
  evict(name: string, error: Error): void
  /** Emits one of the server's cluster events. */
  emit(event: ClusterEventName, ...args: unknown[]): void
}

/** Events a cluster link has its server emit. */
export type ClusterEventName = 'nodeJoined' | 'nodeLost' | 'clusterDown' | 'clusterUp' | 'clusterDataLost'

/**
 * What an `AgentServer` calls when its `cluster` option is set. Made by
 * `redisCluster()` from `cio/redis`; one link serves one server.
 */
export interface ClusterLink {
  /**
   * Binds the link to `host` (once: a second call throws `INVALID_OPTION`
   * at once); its engine starts when `host.key` resolves, and never if the
   * link was closed first.
   */
  attach(host: ClusterHost): void
  /** A new name from the cluster's counter, owned by this node. Rejects `CLUSTER_UNAVAILABLE`. */
  allocate(): Promise<string>
  /** Takes `name` for this node; rejects `DUPLICATE_ID` (`details.node`) when a live node holds it, or `CLUSTER_UNAVAILABLE`. */
  claim(name: string): Promise<void>
  /** Gives `name` back (best effort: a failed release is fixed by the next reconcile). */
  release(name: string): void
  /** Calls `action` on an agent connected to another node. */
  sendTo(name: string, action: string, message: unknown, timeout: number): Promise<unknown>
  /** Calls `action` on the agents of every other live node and merges the outcomes after `local`. */
  sendAll(action: string, message: unknown, timeout: number, local: Promise<ByAgent<SendOutcome>>): Promise<ByAgent<SendOutcome>>
  /** Every agent of every live node. */
  listAgents(): Promise<ClusterAgent[]>
  /** Every live node. */
  listNodes(): Promise<ClusterNodeInfo[]>
  /** This node's id (once attached). */
  readonly nodeId: string | undefined
  /** Counters of this node's cluster traffic. */
  stats(): ClusterStats
  /** Leaves the cluster (its names are freed at once) and closes the engine's connections. */
  close(): Promise<void>
}
