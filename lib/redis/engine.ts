/**
 * The Redis engine under a cluster node: two connections (commands, and the
 * node's inbox subscription), the Lua scripts, and the translation of their
 * replies. It reports `up` once both connections are ready and the inbox is
 * subscribed, and `down` as soon as the subscription's connection closes.
 */
import { hostname } from 'node:os'
import type { Redis } from 'ioredis'
import { describeError } from '../errors.js'
import type { AgentLogger } from '../agent/events.js'
import type { Beat, ClusterEngine, EngineEvents, EngineIdentity, FanoutTarget, RouteResult } from '../cluster/engine.js'
import type { ClusterAgent, ClusterNodeInfo } from '../cluster/types.js'
import { randomBytes } from 'node:crypto'
import { openRedis } from './connection.js'
import { scripts, type ScriptName } from './scripts.js'
import type { ResolvedClusterOptions } from './options.js'

type ScriptRunner = (...args: Array<string | number>) => Promise<unknown>

/** The key prefix of a namespace: one hash tag, so every key of a cluster lives in one slot. */
export function keyPrefix(namespace: string): string {
  return `cio:{${namespace}}:`
}

function defineScripts(redis: Redis): void {
  for (const [name, lua] of Object.entries(scripts)) redis.defineCommand(name, { numberOfKeys: 0, lua })
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : []
}

/** The agents `LIST_AGENTS` returned, by node then name. */
export function parseAgents(reply: unknown): ClusterAgent[] {
  const flat = asStrings(reply)
  const agents: ClusterAgent[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) agents.push({ name: flat[i] as string, node: flat[i + 1] as string })
  return agents.sort((a, b) => a.node.localeCompare(b.node) || a.name.localeCompare(b.name, 'en', { numeric: true }))
}

/** The nodes `LIST_NODES` returned. */
export function parseNodes(reply: unknown[]): ClusterNodeInfo[] {
  return reply.map((entry) => {
    const [id, fields] = entry as [unknown, unknown]
    const list = asStrings(fields)
    const info: Record<string, string> = Object.create(null)
    for (let i = 0; i + 1 < list.length; i += 2) info[list[i] as string] = list[i + 1] as string
    return { id: String(id), name: info.name ?? '', host: info.host ?? '', pid: Number(info.pid ?? 0), started: Number(info.started ?? 0) }
  })
}

export class RedisEngine implements ClusterEngine {
  readonly #options: ResolvedClusterOptions
  readonly #prefix: string
  #identity: EngineIdentity | undefined
  #commands: Redis | undefined
  #inbox: Redis | undefined
  #subscribed = false
  #log: AgentLogger | undefined

  constructor(options: ResolvedClusterOptions) {
    this.#options = options
    this.#prefix = keyPrefix(options.namespace)
  }

  start(identity: EngineIdentity, events: EngineEvents): void {
    this.#identity = identity
    this.#log = identity.log
    const { redis, redisTimeout } = this.#options
    const commands = (this.#commands = openRedis(redis, redisTimeout, 'cio-cluster'))
    const inbox = (this.#inbox = openRedis(redis, redisTimeout, 'cio-inbox'))
    defineScripts(commands)
    const channel = this.#channel(identity.nodeId)
    const report = (which: string) => (error: Error) => this.#log?.(`cluster: Redis ${which} connection: ${describeError(error)}`)
    commands.on('error', report('command'))
    inbox.on('error', report('inbox'))
    const maybeUp = (): void => {
      if (this.#subscribed && commands.status === 'ready') events.up()
    }
    inbox.on('ready', () => {
      inbox.subscribe(channel).then(
        () => {
          this.#subscribed = true
          maybeUp()
        },
        (error: unknown) => this.#log?.(`cluster: subscribing to the inbox failed: ${describeError(error)}`),
      )
    })
    inbox.on('close', () => {
      if (!this.#subscribed) return
      this.#subscribed = false
      events.down(undefined)
    })
    commands.on('ready', maybeUp)
    inbox.on('message', (_channel: string, text: string) => events.message(text))
  }

  #channel(node: string): string {
    return `${this.#prefix}inbox:${node}`
  }

  #run(name: ScriptName, ...args: Array<string | number>): Promise<unknown> {
    const commands = this.#commands
    if (commands === undefined) return Promise.reject(new Error('the engine is not started'))
    const runner = (commands as unknown as Record<ScriptName, ScriptRunner>)[name]
    return runner.call(commands, this.#prefix, (this.#identity as EngineIdentity).nodeId, ...args)
  }

  async allocate(prefix: string, width: number, suffix: string, highWater: number): Promise<string | 'recovering'> {
    const name = await this.#run('cioAllocate', prefix, width, suffix, highWater)
    return typeof name === 'string' ? name : 'recovering'
  }

  async claim(name: string, n: number): Promise<{ heldBy?: string }> {
    const holder = await this.#run('cioClaim', name, n)
    return typeof holder === 'string' ? { heldBy: holder } : {}
  }

  async release(name: string): Promise<void> {
    await this.#run('cioRelease', name)
  }

  async reconcile(names: Array<{ name: string; n: number }>): Promise<Array<{ name: string; heldBy: string }>> {
    const flat: Array<string | number> = []
    for (const { name, n } of names) flat.push(name, n)
    const held = asStrings(await this.#run('cioReconcile', ...flat))
    const out: Array<{ name: string; heldBy: string }> = []
    for (let i = 0; i + 1 < held.length; i += 2) out.push({ name: held[i] as string, heldBy: held[i + 1] as string })
    return out
  }

  async route(name: string, n: number, payload: string): Promise<RouteResult> {
    const reply = (await this.#run('cioRoute', name, n, payload)) as unknown[]
    const kind = String(reply[0])
    if (kind === 'sent') return { kind, node: String(reply[1]), receivers: Number(reply[2]) }
    if (kind === 'nodeDown') return { kind, node: String(reply[1]) }
    if (kind === 'unknown' || kind === 'notConnected' || kind === 'self') return { kind }
    throw new Error(`unexpected route reply ${JSON.stringify(reply)}`)
  }

  async publish(node: string, payload: string): Promise<number> {
    const commands = this.#commands
    if (commands === undefined) throw new Error('the engine is not started')
    return commands.publish(this.#channel(node), payload)
  }

  async fanout(payload: string): Promise<FanoutTarget[]> {
    const reply = (await this.#run('cioFanout', payload)) as unknown[]
    return reply.map((entry) => {
      const [node, receivers, names] = entry as [unknown, unknown, unknown]
      return { node: String(node), receivers: Number(receivers), names: asStrings(names) }
    })
  }

  async heartbeat(highWater: number, knownEpoch: string): Promise<Beat> {
    const identity = this.#identity as EngineIdentity
    const { nodeTimeout, heartbeatInterval } = this.#options
    const reply = (await this.#run('cioHeartbeat', nodeTimeout, knownEpoch, highWater, randomBytes(9).toString('base64url'), 3 * heartbeatInterval, identity.nodeName, hostname(), process.pid, identity.started)) as unknown[]
    return { epoch: String(reply[0]), member: Number(reply[1]) === 1, live: asStrings(reply[2]) }
  }

  async listAgents(): Promise<ClusterAgent[]> {
    return parseAgents(await this.#run('cioListAgents'))
  }

  async listNodes(): Promise<ClusterNodeInfo[]> {
    return parseNodes((await this.#run('cioListNodes')) as unknown[])
  }

  async leave(): Promise<void> {
    // Inbox first: once Redis has confirmed, a call published here on a remembered route reaches nobody and is looked up again.
    const inbox = this.#inbox
    this.#subscribed = false
    if (inbox !== undefined && inbox.status === 'ready') await inbox.unsubscribe().catch((error: unknown) => this.#log?.(`cluster: leaving the inbox failed: ${describeError(error)}`))
    await this.#run('cioLeave')
  }

  async close(): Promise<void> {
    this.#subscribed = false
    const connections = [this.#commands, this.#inbox]
    this.#commands = this.#inbox = undefined
    for (const connection of connections) connection?.disconnect()
  }
}
