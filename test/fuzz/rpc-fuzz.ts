/**
 * Fuzzes a live cio RPC server over real sockets: raw clients send the
 * cases of `rpc-cases.ts`; cases the oracle expects to be answered share a
 * few long-lived connections, cases that must end the connection get one
 * each. A well-behaved cio client on the same server is checked between
 * rounds. Used by `test/fuzz/rpc.test.ts` and `bench/fuzz.ts`.
 */
import { once } from 'node:events'
import net from 'node:net'
import buildCio from '../../lib/index.js'
import { CioError } from '../../lib/errors.js'
import { RpcHandlers } from '../../lib/rpc/handlers.js'
import { peerOf, type RpcPeer } from '../../lib/rpc/peer.js'
import type { CioServer } from '../../lib/core/server-events.js'
import rpcListeners from '../../listeners/rpc.js'
import { seeded, type Random } from '../helpers/random.js'
import { chunkings, frameOf, jsonText, sameJson } from './gen.js'
import { HANG_MS, RawFrameClient } from './raw-client.js'
import { answerNumber, callbackAnswer, ConnectionModel, rpcCase, TARGET_MAX_FRAME_BYTES, type ExpectedReply, type RpcCase } from './rpc-cases.js'

/** Longest wait for any one expected event before it counts as a hang. */
export { HANG_MS } from './raw-client.js'

/** A cio RPC server with the fuzz handlers, and a well-behaved client of it. */
export interface RpcFuzzTarget {
  server: CioServer
  port: number
  /** The well-behaved client's peer. */
  goodPeer: RpcPeer
  /** Protocol errors the server reported, by the client's port; taken by the driver. */
  protocolErrors: Map<number, unknown>
  /** Server-side peers of the connections still open. */
  serverPeers: Set<RpcPeer>
  /** Closes every connection and the server. */
  close(): Promise<void>
}

/** Starts the target on an ephemeral port of 127.0.0.1. */
export async function startRpcTarget(): Promise<RpcFuzzTarget> {
  const cio = buildCio({ maxFrameBytes: TARGET_MAX_FRAME_BYTES })
  cio.onServerClient(rpcListeners)
  cio.onClient(rpcListeners)
  const handlers = new RpcHandlers()
    .on('echo', (body) => body)
    .on('async', (body) => new Promise((resolve) => setImmediate(resolve, body)))
    .on('nothing', () => undefined)
    .on('throw', (body) => {
      throw body
    })
    .on('fail', () => {
      throw new Error('boom')
    })
    // Calls the raw client back; its answer (or its failure) is the reply.
    .on('callback', (body, call) => call.peer.call('cb', body, { timeout: HANG_MS }))
  const server = cio.server({ handlers })
  const sockets = new Set<net.Socket>()
  const ports = new WeakMap<net.Socket, number>()
  const protocolErrors = new Map<number, unknown>()
  const serverPeers = new Set<RpcPeer>()
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket)
    // Read now: a destroyed socket no longer knows its peer's address.
    ports.set(socket, socket.remotePort ?? 0)
    socket.once('close', () => sockets.delete(socket))
  })
  server.on('peer', (peer: RpcPeer) => {
    serverPeers.add(peer)
    peer.framed.once('close', () => serverPeers.delete(peer))
  })
  server.on('protocolError', (error: unknown, socket: net.Socket) => protocolErrors.set(ports.get(socket) ?? 0, error))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  const good = cio.client({ port, host: '127.0.0.1' })
  const goodPeer = peerOf(good)
  if (goodPeer === undefined) throw new Error('cio/rpc gave the client no peer')
  await once(good, 'connect')
  return {
    server,
    port,
    goodPeer,
    protocolErrors,
    serverPeers,
    async close() {
      good.destroy()
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

type Fields = { readonly [key: string]: unknown }

/** A raw client: writes bytes, reads replies, answers the target's `cb` calls. */
class RawConnection extends RawFrameClient {
  readonly replies: Fields[] = []
  localPort = 0
  /** The target's view of this connection, for working out replies. */
  readonly model = new ConnectionModel()
  badFrame: CioError | undefined

  constructor(port: number) {
    super(port, TARGET_MAX_FRAME_BYTES * 2)
  }

  async connect(): Promise<void> {
    await once(this.socket, 'connect')
    this.localPort = this.socket.localPort ?? 0
  }

  onFrame(value: unknown): void {
    const m = value as Fields
    if (typeof m === 'object' && m !== null && m.action === 'cb' && typeof m.id === 'number') {
      const n = answerNumber(m.body)
      const answer = n === undefined ? frameOf(Buffer.from(`{"id":${m.id}}`)) : callbackAnswer(n).bytes(m.id)
      if (this.socket.writable) this.socket.write(answer)
      return
    }
    this.replies.push(m)
    this.notify()
  }

  onFrameError(error: CioError): void {
    this.badFrame = error
    this.socket.destroy()
  }

  /** Writes in a random split; a split into very many pieces is sent whole (one syscall each is slow, and TCP re-joins them anyway). */
  write(random: Random, bytes: Buffer): void {
    const { chunks } = chunkings(random, bytes, [])
    if (chunks.length > 64) this.socket.write(bytes)
    else for (const chunk of chunks) this.socket.write(chunk)
  }
}

/** What a run saw. */
export interface RpcReport {
  cases: number
  /** Cases answered on shared connections. */
  answered: number
  /** Replies checked. */
  replies: number
  /** Cases that had to end their connection, by the code they earned. */
  closed: Record<string, number>
  connections: number
  goodCalls: number
  failures: string[]
}

/** Options of {@link fuzzRpc}. */
export interface RpcFuzzOptions {
  seed: number
  cases: number
  /** Connections opened in parallel for closing cases. @default 16 */
  concurrency?: number
  /** Cases per round; the good client is checked after each. @default 500 */
  round?: number
  /** Shared connections for answered cases. @default 4 */
  shared?: number
  /** Called after each round with the cases done so far. */
  onRound?: (done: number) => void
}

/** Runs the cases against `target`. Never throws; failures are reported. */
export async function fuzzRpc(target: RpcFuzzTarget, options: RpcFuzzOptions): Promise<RpcReport> {
  const report: RpcReport = { cases: 0, answered: 0, replies: 0, closed: {}, connections: 0, goodCalls: 0, failures: [] }
  const fail = (text: string): void => {
    if (report.failures.length < 20) report.failures.push(text)
  }
  const random = seeded(options.seed ^ 0x5eed)
  const concurrency = options.concurrency ?? 16
  const roundSize = options.round ?? 500
  const shared: Array<RawConnection | undefined> = Array.from({ length: options.shared ?? 4 }, () => undefined)
  const openShared = async (i: number): Promise<RawConnection> => {
    const existing = shared[i]
    if (existing !== undefined && !existing.socket.closed) return existing
    const connection = new RawConnection(target.port)
    report.connections++
    await connection.connect()
    shared[i] = connection
    return connection
  }
  try {
    for (let start = 0; start < options.cases; start += roundSize) {
      const cases: RpcCase[] = []
      for (let i = start; i < Math.min(options.cases, start + roundSize); i++) cases.push(rpcCase((options.seed + i) >>> 0))
      const closing = cases.filter((c) => c.outcome.closed)
      const answered = cases.filter((c) => !c.outcome.closed)
      const batches = shared.map((_, i) => answered.filter((_, j) => j % shared.length === i))
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < closing.length) {
          const c = closing[next++] as RpcCase
          report.connections++
          await runClosing(target, c, random, fail, report)
        }
      }
      await Promise.all([
        ...batches.map(async (batch, i) => {
          if (batch.length === 0) return
          await runAnswered(await openShared(i), batch, random, fail, report)
        }),
        ...Array.from({ length: concurrency }, worker),
      ])
      report.cases += cases.length
      await checkGood(target, random, fail, report)
      checkPrototypes(fail)
      options.onRound?.(report.cases)
    }
  } finally {
    for (const connection of shared) connection?.socket.destroy()
  }
  return report
}

async function runClosing(target: RpcFuzzTarget, c: RpcCase, random: Random, fail: (text: string) => void, report: RpcReport): Promise<void> {
  if (!c.outcome.closed) return
  const connection = new RawConnection(target.port)
  await connection.connect()
  connection.write(random, c.bytes)
  const closed = await connection.until(() => false)
  connection.socket.destroy()
  const error = target.protocolErrors.get(connection.localPort)
  target.protocolErrors.delete(connection.localPort)
  const code = error instanceof CioError ? error.code : undefined
  if (!closed) fail(`seed ${c.seed}: the server did not close the connection within ${HANG_MS} ms (expected ${c.outcome.code})`)
  else if (code !== c.outcome.code) fail(`seed ${c.seed}: the server reported ${code ?? String(error)}, expected ${c.outcome.code}`)
  else report.closed[code] = (report.closed[code] ?? 0) + 1
}

async function runAnswered(connection: RawConnection, batch: RpcCase[], random: Random, fail: (text: string) => void, report: RpcReport): Promise<void> {
  for (const c of batch) connection.model.add(c)
  const expected: ExpectedReply[] = connection.model.finish()
  const seeds = batch.map((c) => c.seed).join(',')
  connection.write(random, Buffer.concat(batch.map((c) => c.bytes)))
  const complete = await connection.until(() => connection.replies.length >= expected.length)
  if (!complete || connection.socket.closed) {
    const error = connection.badFrame ?? 'the server closed it'
    fail(`seeds ${seeds}: ${connection.replies.length} of ${expected.length} replies on a connection that should have stayed open (${String(error)})`)
    connection.socket.destroy()
    return
  }
  report.answered += batch.length
  const replies = connection.replies.splice(0)
  const { unmatched, missing } = match(replies, expected)
  report.replies += replies.length - unmatched.length
  for (const reply of unmatched) {
    const candidates = expected.filter((e) => e.id === reply.id).map((e) => `${e.what} (seed ${String(e.seed)})`)
    fail(`unexpected reply ${JSON.stringify(reply).slice(0, 300)}; expected for that id: ${candidates.join('; ') || 'nothing'}`)
  }
  for (const e of missing) fail(`seed ${String(e.seed)}: no ${e.what}`)
}

/**
 * Pairs replies with expectations (ids may repeat, replies come in any
 * order): a maximum bipartite matching per id, so that a lenient
 * expectation cannot steal the reply a strict one needed.
 */
function match(replies: readonly Fields[], expected: readonly ExpectedReply[]): { unmatched: Fields[]; missing: ExpectedReply[] } {
  const owner = new Map<ExpectedReply, Fields>()
  const unmatched: Fields[] = []
  for (const reply of replies) {
    const candidates = expected.filter((e) => e.id === reply.id)
    const seen = new Set<ExpectedReply>()
    const augment = (r: Fields): boolean => {
      for (const e of candidates) {
        if (seen.has(e) || !e.accepts(r)) continue
        seen.add(e)
        const holder = owner.get(e)
        if (holder === undefined || augment(holder)) {
          owner.set(e, r)
          return true
        }
      }
      return false
    }
    if (!augment(reply)) unmatched.push(reply)
  }
  return { unmatched, missing: expected.filter((e) => !owner.has(e)) }
}

async function checkGood(target: RpcFuzzTarget, random: Random, fail: (text: string) => void, report: RpcReport): Promise<void> {
  const value: unknown = JSON.parse(JSON.stringify(JSON.parse(jsonText(random))))
  try {
    const result = await target.goodPeer.call('echo', value, { timeout: HANG_MS })
    if (!sameJson(result, value)) fail(`the good client got ${JSON.stringify(result)} for ${JSON.stringify(value)}`)
    report.goodCalls++
  } catch (error) {
    fail(`the good client's call failed: ${String(error)}`)
  }
}

const PROTOTYPES: ReadonlyArray<[string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
]
const baseline = new Map(PROTOTYPES.map(([name, proto]) => [name, Reflect.ownKeys(proto).length]))

/** Fails if any received key reached a built-in prototype. */
export function checkPrototypes(fail: (text: string) => void): void {
  const probe = {} as Fields
  if (probe.polluted !== undefined || probe.admin !== undefined) fail('Object.prototype was polluted')
  for (const [name, proto] of PROTOTYPES) {
    if (Reflect.ownKeys(proto).length !== baseline.get(name)) fail(`${name} gained or lost own keys`)
  }
}
