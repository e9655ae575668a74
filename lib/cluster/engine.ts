/**
 * What a cluster node needs from the engine that carries its state and
 * messages (Redis in `cio/redis`). Every method settles within the engine's
 * own time limit and rejects when the engine cannot be reached: nothing
 * waits on a dead connection.
 */
import type { AgentLogger } from '../agent/events.js'
import type { ClusterAgent, ClusterNodeInfo } from './types.js'

/** Where `route` sent a call, or why it could not. */
export type RouteResult =
  | { kind: 'sent'; node: string; receivers: number }
  | { kind: 'unknown' }
  | { kind: 'notConnected' }
  | { kind: 'nodeDown'; node: string }
  | { kind: 'self' }

/** One other live node reached by a fan-out: how many subscribers got it and the agents it held then. */
export interface FanoutTarget {
  node: string
  receivers: number
  names: string[]
}

/** What a heartbeat learnt. */
export interface Beat {
  /** The data set's id: a new one means Redis lost its data. */
  epoch: string
  /** False when this node's lease had expired (or was never there). */
  member: boolean
  /** Live nodes, this one included. */
  live: string[]
}

/** How the engine reports to the node. */
export interface EngineEvents {
  /** Text arrived on this node's inbox. */
  message(text: string): void
  /** Both connections are ready and this node's inbox is subscribed. */
  up(): void
  /** The inbox subscription was lost: replies sent from now on are gone. */
  down(error: Error | undefined): void
}

/** What the node learnt at start: who it is. */
export interface EngineIdentity {
  nodeId: string
  nodeName: string
  started: number
  log: AgentLogger | undefined
}

/** The engine under a cluster node. */
export interface ClusterEngine {
  start(identity: EngineIdentity, events: EngineEvents): void
  /** A new name numbered past `highWater`, owned by this node; `recovering` while data loss is being repaired. */
  allocate(prefix: string, width: number, suffix: string, highWater: number): Promise<string | 'recovering'>
  /** Takes `name` (its number `n`, 0 for a name outside the format); the holder when a live node has it. */
  claim(name: string, n: number): Promise<{ heldBy?: string }>
  /** Frees `name` if this node holds it. */
  release(name: string): Promise<void>
  /** Makes `names` (with their numbers, 0 outside the format) exactly this node's set; returns those a live node holds instead. */
  reconcile(names: Array<{ name: string; n: number }>): Promise<Array<{ name: string; heldBy: string }>>
  /** Looks up the owner of `name` and publishes `payload` to it, in one step. */
  route(name: string, n: number, payload: string): Promise<RouteResult>
  /** Publishes to one node's inbox; resolves with the number of subscribers reached. */
  publish(node: string, payload: string): Promise<number>
  /** Publishes to every other live node's inbox. */
  fanout(payload: string): Promise<FanoutTarget[]>
  /** Renews this node's lease and pushes its high-water mark; `knownEpoch` is '' before the first beat. */
  heartbeat(highWater: number, knownEpoch: string): Promise<Beat>
  listAgents(): Promise<ClusterAgent[]>
  listNodes(): Promise<ClusterNodeInfo[]>
  /** Drops this node's lease and names. */
  leave(): Promise<void>
  close(): Promise<void>
}
