import { once, type EventEmitter } from 'node:events'
import net from 'node:net'
import type { Test } from 'tap'
import { Agent, type AgentOptions } from '../../lib/agent/client/agent.js'
import { AgentServer, type AgentServerOptions } from '../../lib/agent/server/agent-server.js'
import { testCerts } from './certs.js'
import { listenLocal, track } from './net.js'

export const SECRET = 'my secure shared secret'

/** TCP and TLS, for tests that run over both. */
export const TRANSPORTS = [
  { secure: false, name: 'TCP' },
  { secure: true, name: 'TLS' },
] as const

/** Short timings for tests: nothing waits for the real defaults. */
export const FAST = { handshakeTimeout: 2000, heartbeatInterval: 0 } as const

/** An AgentServer on 127.0.0.1, a free port, over TCP or TLS; closed at teardown. */
export async function startServer(t: Test, secure: boolean, options: Partial<AgentServerOptions> = {}): Promise<{ server: AgentServer; port: number }> {
  const certs = secure ? await testCerts() : undefined
  const server = new AgentServer({
    secret: SECRET,
    port: 0,
    host: '127.0.0.1',
    ...FAST,
    ...(certs === undefined ? {} : { key: certs.server.key, cert: certs.server.cert }),
    ...options,
  })
  t.teardown(() => server.close())
  const { port } = await server.ready()
  return { server, port }
}

/** The agent options to reach `port` over TCP or TLS. */
export async function agentOptions(port: number, secure: boolean, options: Partial<AgentOptions> = {}): Promise<AgentOptions> {
  const certs = secure ? await testCerts() : undefined
  return {
    host: `${secure ? 'tls' : 'tcp'}://127.0.0.1:${port}`,
    secret: SECRET,
    ...FAST,
    reconnect: { initialDelay: 20, maxDelay: 200 },
    ...(certs === undefined ? {} : { ca: certs.ca.cert }),
    ...options,
  }
}

/** An agent (closed at teardown), not awaited. */
export async function makeAgent(t: Test, port: number, secure: boolean, options: Partial<AgentOptions> = {}): Promise<Agent> {
  const agent = new Agent(await agentOptions(port, secure, options))
  t.teardown(() => agent.close())
  return agent
}

/** An agent that has completed its first handshake; resolves with it and its name. */
export async function readyAgent(t: Test, port: number, secure: boolean, options: Partial<AgentOptions> = {}): Promise<{ agent: Agent; name: string }> {
  const agent = await makeAgent(t, port, secure, options)
  const [name] = (await once(agent, 'ready')) as [string]
  return { agent, name }
}

/** The next `event` of `emitter`, or a failure after `ms` (no test waits forever). */
export async function next<T extends unknown[]>(emitter: EventEmitter, event: string, ms = 5000): Promise<T> {
  return (await once(emitter, event, { signal: AbortSignal.timeout(ms) })) as T
}

/** Waits a little, for tests that check that something did NOT happen. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A promise the test settles by hand, to hold a hook open. */
export function gate<T = unknown>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void
  const promise = new Promise<T>((resolve) => (open = resolve))
  return { promise, open }
}

/**
 * A loopback TCP proxy in front of `target`: records what goes each way and
 * can freeze, that is stop forwarding without closing anything, which is
 * how a dead peer (half-open connection) looks from both ends.
 */
export interface Proxy {
  port: number
  /** Bytes from the client to the server, and back, in order. */
  up: Buffer[]
  down: Buffer[]
  freeze(): void
}

export async function startProxy(t: Test, target: number): Promise<Proxy> {
  const proxy: Proxy = { port: 0, up: [], down: [], freeze: () => (frozen = true) }
  let frozen = false
  const server = net.createServer((client) => {
    client.on('error', () => {})
    const upstream = track(t, net.connect({ port: target, host: '127.0.0.1' }))
    upstream.on('error', () => {})
    client.on('data', (chunk: Buffer) => {
      if (frozen) return
      proxy.up.push(chunk)
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (frozen) return
      proxy.down.push(chunk)
      client.write(chunk)
    })
    // While frozen, a close is not passed on either: the other end must find out by itself.
    client.on('close', () => frozen || upstream.destroy())
    upstream.on('close', () => frozen || client.destroy())
  })
  proxy.port = await listenLocal(t, server)
  return proxy
}
