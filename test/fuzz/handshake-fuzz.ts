/**
 * Fuzzes the agent handshake of a live `AgentServer` over real sockets:
 * each case of `handshake-cases.ts` is played by a raw client on its own
 * connection (which knows the secret, so that it can also go all the way
 * and then misbehave), and checked against the oracle's outcome. A real
 * `Agent` on the same server is checked between rounds, both ways.
 */
import { once } from 'node:events'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { Agent, AgentServer, type AgentRecord } from '../../lib/agent/index.js'
import { clientProof, serverProof, verifyProof } from '../../lib/agent/handshake.js'
import { CioError } from '../../lib/errors.js'
import { encodeFrame } from '../../lib/frame/encoder.js'
import { seeded, type Random } from '../helpers/random.js'
import { frameOf, jsonText, prefix, sameJson } from './gen.js'
import { HANG_MS, RawFrameClient } from './raw-client.js'
import { badName, handshakeCase, type HandshakeCase, type HelloBody, type ProveBody, type Step } from './handshake-cases.js'

/** Longest wait for any one expected event before it counts as a hang. */
/** The secret the fuzz target and its agents share. */
export const HANDSHAKE_SECRET = 'fuzz test shared secret'
const SECRET = HANDSHAKE_SECRET
const MAX_FRAME_BYTES = 65_536

/**
 * Two AgentServers with an `echo` hook, a real agent connected to the
 * first, and what they reported, by client port. The first is patient
 * (the default 10 s handshake timeout), so that no case the oracle expects
 * to be answered can lose a race with its timer on a loaded machine; the
 * cases expected to end in `HANDSHAKE_TIMEOUT` go to the second, whose
 * timeout is short.
 */
export interface HandshakeTarget {
  server: AgentServer
  port: number
  /** The impatient server, for the cases that must time out. */
  quick: AgentServer
  quickPort: number
  /** The impatient server's handshake timeout (ms). */
  handshakeTimeout: number
  good: Agent
  goodName: string
  /**
   * `agentConnected` names by connection (`serverPort:clientPort`; the good
   * agent's included). Keyed by both ports: a client port is reused at once
   * for the other server, while the last reports of its previous
   * connection may still be on their way.
   */
  connected: Map<string, string>
  disconnected: Set<string>
  /** `protocolError` and `serverClientError` reports by connection. */
  reports: Map<string, unknown[]>
  /** Every `agentConnected` so far (the maps above forget each case's port when it is done). */
  announced: { count: number }
  /** `error` events (WRONG_SECRET, DUPLICATE_ID). */
  errors: Map<string, number>
  close(): Promise<void>
}

/** Starts the target on ephemeral ports of 127.0.0.1. */
export async function startHandshakeTarget(handshakeTimeout = 300): Promise<HandshakeTarget> {
  const ports = new WeakMap<net.Socket, string>()
  const connected = new Map<string, string>()
  const disconnected = new Set<string>()
  const reports = new Map<string, unknown[]>()
  const errors = new Map<string, number>()
  const announced = { count: 0 }
  const portOf = (socket: net.Socket): string => ports.get(socket) ?? `${socket.localPort ?? 0}:${socket.remotePort ?? 0}`
  const report = (error: unknown, socket: net.Socket): void => {
    const list = reports.get(portOf(socket))
    if (list === undefined) reports.set(portOf(socket), [error])
    else list.push(error)
  }
  const start = async (timeout: number | undefined): Promise<[AgentServer, number]> => {
    const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', handshakeTimeout: timeout, maxFrameBytes: MAX_FRAME_BYTES, noRelisten: true })
    server.onHook('echo', (message) => message)
    server.netServer.on('connection', (socket: net.Socket) => ports.set(socket, `${socket.localPort ?? 0}:${socket.remotePort ?? 0}`))
    server.netServer.on('protocolError', report)
    server.netServer.on('serverClientError', report)
    server.on('agentConnected', (agent: AgentRecord) => {
      announced.count++
      connected.set(portOf(agent.socket), agent.name)
    })
    server.on('agentDisconnected', (agent: AgentRecord) => disconnected.add(portOf(agent.socket)))
    server.on('error', (error: CioError) => errors.set(error.code, (errors.get(error.code) ?? 0) + 1))
    return [server, (await server.ready()).port]
  }
  const [server, port] = await start(undefined)
  const [quick, quickPort] = await start(handshakeTimeout)
  const good = new Agent({ host: `127.0.0.1:${port}`, secret: SECRET, maxFrameBytes: MAX_FRAME_BYTES })
  good.onHook('ping', (message) => ({ pong: message }))
  const [goodName] = (await once(good, 'ready')) as [string]
  return {
    server, port, quick, quickPort, handshakeTimeout, good, goodName, connected, disconnected, reports, errors, announced,
    async close() {
      await good.close()
      await Promise.all([server.close(), quick.close()])
    },
  }
}

type Fields = { readonly [key: string]: unknown }

/** A raw client: numbered requests, replies by id. */
class Raw extends RawFrameClient {
  readonly replies = new Map<number, Fields>()
  readonly sent: number[] = []
  /** `serverPort:clientPort`, the key of the target's maps. */
  key = ''
  nextId = 0

  constructor(port: number) {
    super(port, MAX_FRAME_BYTES)
  }

  onFrame(value: unknown): void {
    const m = value as Fields
    // Heartbeat pings from the server (after the welcome) are answered like a real agent would.
    if (m.action === 'cio.ping') {
      if (this.socket.writable) this.socket.write(encodeFrame({ id: m.id }))
      return
    }
    if (typeof m.id === 'number') this.replies.set(m.id, m)
    this.notify()
  }

  onFrameError(): void {
    this.socket.destroy()
  }

  request(action: string, body?: unknown): number {
    const id = ++this.nextId
    this.write(encodeFrame(body === undefined ? { id, action } : { id, action, body }))
    this.sent.push(id)
    return id
  }

  write(bytes: Buffer): void {
    if (this.socket.writable) this.socket.write(bytes)
  }


  answered(): boolean {
    return this.sent.every((id) => this.replies.has(id))
  }
}

/** What a run saw. */
export interface HandshakeReport {
  cases: number
  /** Cases by how they ended (`refused:WRONG_SECRET`, `admitted`, ...). */
  outcomes: Record<string, number>
  goodCalls: number
  failures: string[]
}

/** Options of {@link fuzzHandshake}. */
export interface HandshakeFuzzOptions {
  seed: number
  cases: number
  /** Connections in flight at once. @default 32 */
  concurrency?: number
  /** Cases per round; the good agent is checked after each. @default 500 */
  round?: number
  onRound?: (done: number) => void
}

/** Runs the cases against `target`. Never throws; failures are reported. */
export async function fuzzHandshake(target: HandshakeTarget, options: HandshakeFuzzOptions): Promise<HandshakeReport> {
  const report: HandshakeReport = { cases: 0, outcomes: {}, goodCalls: 0, failures: [] }
  const fail = (text: string): void => {
    if (report.failures.length < 20) report.failures.push(text)
  }
  const random = seeded(options.seed ^ 0xa9e47)
  const roundSize = options.round ?? 500
  let admitted = 0
  const announcedBefore = target.announced.count
  for (let start = 0; start < options.cases; start += roundSize) {
    const end = Math.min(options.cases, start + roundSize)
    let next = start
    const worker = async (): Promise<void> => {
      while (next < end) {
        const c = handshakeCase((options.seed + next++) >>> 0)
        if (c.outcome.end === 'admitted' || ((c.outcome.end === 'refused' || c.outcome.end === 'protocol') && c.outcome.welcomed)) admitted++
        const key = c.outcome.end === 'refused' || c.outcome.end === 'protocol' ? `${c.outcome.end}:${c.outcome.code}` : c.outcome.end
        if (await playCase(target, c, fail)) report.outcomes[key] = (report.outcomes[key] ?? 0) + 1
      }
    }
    await Promise.all(Array.from({ length: options.concurrency ?? 32 }, worker))
    report.cases = end
    await checkGood(target, random, fail, report)
    options.onRound?.(end)
  }
  // Globally, too: exactly the admitted cases (and the good agent) were ever announced.
  const announced = target.announced.count - announcedBefore
  if (announced !== admitted) fail(`${announced} agentConnected events for ${admitted} welcomed cases`)
  return report
}

async function checkGood(target: HandshakeTarget, random: Random, fail: (text: string) => void, report: HandshakeReport): Promise<void> {
  const value: unknown = JSON.parse(JSON.stringify(JSON.parse(jsonText(random))))
  try {
    const echoed = await target.good.send('echo', value, HANG_MS)
    const pong = await target.server.sendTo(target.goodName, 'ping', value, HANG_MS)
    if (!sameJson(echoed, value) || !sameJson(pong, { pong: value })) fail(`the good agent got wrong answers for ${JSON.stringify(value)}`)
    else report.goodCalls++
  } catch (error) {
    fail(`the good agent's calls failed: ${String(error)}`)
  }
}

/** Plays one case; returns true when everything held. */
async function playCase(target: HandshakeTarget, c: HandshakeCase, fail: (text: string) => void): Promise<boolean> {
  const random = seeded(c.seed ^ 0x51)
  const raw = new Raw(c.outcome.end === 'timeout' ? target.quickPort : target.port)
  try {
    await once(raw.socket, 'connect')
    raw.key = `${raw.socket.remotePort ?? 0}:${raw.socket.localPort ?? 0}`
    // Ports are reused: forget what an earlier connection from this one left.
    forget(target, raw.key)
    const ids = new Map<number, number>()
    let nonce: Buffer | undefined
    let helloId: number | undefined
    for (let at = 0; at < c.steps.length; at++) {
      const step = c.steps[at] as Step
      if (step.step === 'wait') {
        if (!(await raw.until(() => raw.answered()))) return miss(fail, c, 'a wait for answers hung')
        continue
      }
      if (step.step === 'hello') {
        nonce = randomBytes(32)
        helloId = raw.request('cio.hello', helloBody(step.body, nonce, c, target, random))
        ids.set(at, helloId)
      } else if (step.step === 'prove') {
        ids.set(at, raw.request('cio.prove', proveBody(step.body, raw, helloId, nonce, random, fail, c)))
      } else if (step.step === 'call') {
        ids.set(at, raw.request(step.action, step.body === undefined ? undefined : (JSON.parse(step.body) as unknown)))
      } else if (step.step === 'response') {
        raw.write(encodeFrame({ id: 2 ** 40 + random.int(0, 1e6), result: 'nobody asked' }))
      } else if (step.step === 'invalid') {
        raw.write(frameOf(Buffer.from(step.text)))
      } else {
        raw.write(step.kind === 'zero' ? prefix(0) : step.kind === 'huge' ? prefix(0xffffffff) : frameOf(Buffer.from('{"id":')))
      }
    }
    return await settle(target, c, raw, ids, fail)
  } finally {
    raw.socket.destroy()
    forget(target, raw.key)
  }
}

function forget(target: HandshakeTarget, port: string): void {
  target.connected.delete(port)
  target.disconnected.delete(port)
  target.reports.delete(port)
}

function helloBody(body: HelloBody, nonce: Buffer, c: HandshakeCase, target: HandshakeTarget, random: Random): unknown {
  const n = nonce.toString('base64')
  switch (body) {
    case 'valid': return random.next() < 0.2 ? { nonce: n, extra: [1] } : { nonce: n }
    case 'named': return { nonce: n, name: `F${c.seed}` }
    case 'duplicate': return { nonce: n, name: target.goodName }
    case 'bad-name': return { nonce: n, name: badName(random, false) }
    case 'reserved-name': return { nonce: n, name: badName(random, true) }
    case 'bad-nonce': return { nonce: random.pick([n.slice(1), `${n}A`, n.replace(/=$/, ''), nonce.toString('hex'), n.replace(/.$/, '!'), 5, null, randomBytes(33).toString('base64')]) }
    case 'junk': return JSON.parse(jsonText(random))
    default: return undefined
  }
}

function proveBody(body: ProveBody, raw: Raw, helloId: number | undefined, nonce: Buffer | undefined, random: Random, fail: (text: string) => void, c: HandshakeCase): unknown {
  const challenge = helloId === undefined ? undefined : (raw.replies.get(helloId)?.result as Fields | undefined)
  const serverNonce = typeof challenge?.nonce === 'string' ? Buffer.from(challenge.nonce, 'base64') : undefined
  if ((body === 'correct' || body === 'reflected') && serverNonce !== undefined && nonce !== undefined) {
    // The server must prove the secret first; a raw client checks it like an agent does.
    const theirs = Buffer.from(String(challenge?.proof), 'base64')
    if (!verifyProof(serverProof(SECRET, nonce, serverNonce), theirs)) fail(`seed ${c.seed}: the server's proof did not verify`)
    return { proof: (body === 'correct' ? clientProof(SECRET, nonce, serverNonce) : theirs).toString('base64') }
  }
  switch (body) {
    case 'correct':
    case 'reflected':
    case 'wrong': return { proof: randomBytes(32).toString('base64') }
    case 'bad': return { proof: random.pick([randomBytes(31).toString('base64'), 'not base64!', 5, null, randomBytes(32).toString('hex')]) }
    case 'junk': return JSON.parse(jsonText(random))
    default: return undefined
  }
}

function miss(fail: (text: string) => void, c: HandshakeCase, what: string): false {
  fail(`seed ${c.seed} (${c.steps.map((s) => s.step + ('body' in s && typeof s.body === 'string' && s.step !== 'call' ? `:${s.body}` : 'action' in s ? `:${s.action}` : '')).join(' ')}; expected ${JSON.stringify(c.outcome)}): ${what}`)
  return false
}

/** Polls `ready` until it holds or HANG_MS passed (for events that follow a close on the other end). */
async function eventually(ready: () => boolean): Promise<boolean> {
  const deadline = Date.now() + HANG_MS
  while (!ready() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2))
  return ready()
}

function codeOf(value: unknown): string | undefined {
  return value instanceof CioError ? value.code : undefined
}

/** Waits for the end the oracle predicts and checks what the server did. */
async function settle(target: HandshakeTarget, c: HandshakeCase, raw: Raw, ids: Map<number, number>, fail: (text: string) => void): Promise<boolean> {
  const outcome = c.outcome
  const port = raw.key
  if (outcome.end === 'admitted') {
    if (!(await raw.until(() => raw.answered()))) return miss(fail, c, 'answers hung')
    if (raw.socket.closed) return miss(fail, c, `the server closed an admitted connection (${String(target.reports.get(port)?.map(codeOf))})`)
    const welcomes = [...raw.replies.values()].map((r) => r.result as Fields | undefined).filter((r) => typeof r?.firstTime === 'boolean')
    const name = welcomes[0]?.name
    if (welcomes.length !== 1 || typeof name !== 'string') return miss(fail, c, `expected one welcome, got ${welcomes.length}`)
    if (outcome.name === 'named' ? name !== `F${c.seed}` : !/^A\d+$/.test(name)) return miss(fail, c, `welcomed as ${name}`)
    if (target.connected.get(port) !== name) return miss(fail, c, `agentConnected said ${String(target.connected.get(port))}, the welcome ${name}`)
    for (const [at, code] of c.answers) {
      const reply = raw.replies.get(ids.get(at) ?? -1)
      const got = (reply?.fault as Fields | undefined)?.code
      if (got !== code) return miss(fail, c, `step ${at} answered ${JSON.stringify(reply)}, expected ${code ?? 'a success'}`)
    }
    raw.socket.destroy()
    return (await eventually(() => target.disconnected.has(port))) || miss(fail, c, 'no agentDisconnected after the agent left')
  }
  const limit = outcome.end === 'timeout' ? target.handshakeTimeout + HANG_MS : HANG_MS
  if (!(await raw.until(() => false, limit))) return miss(fail, c, 'the server did not close the connection')
  const reports = target.reports.get(port) ?? []
  target.reports.delete(port)
  if (reports.some((r) => codeOf(r) === 'INTERNAL_ERROR' || !(r instanceof CioError))) return miss(fail, c, `uncoded or internal error: ${reports.map(String).join('; ')}`)
  const welcomed = outcome.end !== 'timeout' && outcome.welcomed
  if (welcomed !== target.connected.has(port)) return miss(fail, c, welcomed ? 'welcomed but never announced' : `announced as agent ${String(target.connected.get(port))} although never welcomed`)
  // The server's side of the socket may close a moment after ours.
  if (welcomed) await eventually(() => target.disconnected.has(port))
  if (welcomed !== target.disconnected.has(port)) return miss(fail, c, welcomed ? 'no agentDisconnected after the server ended it' : 'agentDisconnected for an agent never announced')
  if (outcome.end === 'refused') {
    const reply = raw.replies.get(ids.get(outcome.at) ?? -1)
    const got = (reply?.fault as Fields | undefined)?.code
    if (got !== outcome.code) return miss(fail, c, `the refused request was answered ${JSON.stringify(reply)?.slice(0, 200)}`)
    return true
  }
  if (outcome.end === 'protocol') {
    // A request refused earlier in the same write may have ended things first: the oracle stops at the first end.
    if (codeOf(reports[0]) !== outcome.code) return miss(fail, c, `reported ${reports.map((r) => codeOf(r) ?? String(r)).join(',') || 'nothing'}`)
    return true
  }
  if (codeOf(reports[0]) !== 'HANDSHAKE_TIMEOUT') return miss(fail, c, `closed with ${reports.map((r) => codeOf(r) ?? String(r)).join(',') || 'no report'}, expected HANDSHAKE_TIMEOUT`)
  return true
}
