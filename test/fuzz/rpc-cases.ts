/**
 * RPC fuzz cases: what a raw client sends to the fuzz target, and what the
 * target must answer. The expectation comes from an oracle written from
 * README "Protocol" (not from `classifyRpcMessage`), applied to what the
 * reference frame decoder says the server will see.
 */
import { seeded, type Random } from '../helpers/random.js'
import { referenceDecode } from './decoder-fuzz.js'
import { frameOf, hostileLength, jsonText, mutate, payloadBytes, prefix, randomBytes, randomString, sameJson } from './gen.js'

/** The fuzz target's frame cap: small, so that honest-but-large prefixes can be completed cheaply. */
export const TARGET_MAX_FRAME_BYTES = 65_536

/** The handlers of the fuzz target, by action (see rpc-fuzz.ts). */
export const TARGET_ACTIONS = ['echo', 'async', 'nothing', 'throw', 'fail', 'callback'] as const

/** A check on one reply to one request. */
export interface ExpectedReply {
  id: number
  /** The case it belongs to (set by {@link rpcCase}). */
  seed?: number
  /** What to call the expectation in a failure message. */
  what: string
  accepts(reply: Fields): boolean
}

/** The whole connection is expected to be closed by the server with `code`. */
export interface ClosedOutcome {
  closed: true
  code: 'FRAME_TOO_LARGE' | 'FRAME_INVALID' | 'INVALID_MESSAGE'
}

/**
 * The connection stays open and answers every request exactly once; what
 * the answers are is worked out by a {@link ConnectionModel}, because the
 * target's calls back to the raw client can be answered by responses from
 * other cases on the same connection.
 */
export interface OpenOutcome {
  closed: false
}

/** One case: bytes to write, the values the server will decode from them, and what must follow. */
export interface RpcCase {
  seed: number
  bytes: Buffer
  values: unknown[]
  outcome: ClosedOutcome | OpenOutcome
}

type Fields = { readonly [key: string]: unknown }

/** What the oracle makes of one decoded value. */
type Classified =
  | { kind: 'invalid' }
  | { kind: 'response' }
  | { kind: 'cancel' }
  | { kind: 'request'; id: number; action: string; body: unknown; meta: unknown }

/** README "RPC messages": metadata a receiver accepts (the target keeps the default 4096-byte cap). */
export function acceptableMeta(meta: Fields): boolean {
  let bytes = 0
  for (const key of Object.keys(meta)) {
    const value = meta[key]
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(key) || typeof value !== 'string') return false
    bytes += key.length + Buffer.byteLength(value)
  }
  return bytes <= 4096
}

const NO_CALL_ID = 2 ** 53 - 1

function own(value: Fields, key: string): unknown {
  return Object.hasOwn(value, key) ? value[key] : undefined
}

/** README "RPC messages", rule by rule. */
export function classify(value: unknown): Classified {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'invalid' }
  const m = value as Fields
  const id = own(m, 'id')
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 2 ** 53 - 1) return { kind: 'invalid' }
  const present = ['result', 'error', 'fault'].filter((key) => Object.hasOwn(m, key))
  const meta = own(m, 'meta')
  if (Object.hasOwn(m, 'meta') && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) return { kind: 'invalid' }
  if (Object.hasOwn(m, 'action')) {
    const action = own(m, 'action')
    if (typeof action !== 'string' || action === '' || present.length > 0) return { kind: 'invalid' }
    const timeout = own(m, 'timeout')
    if (Object.hasOwn(m, 'timeout') && !(typeof timeout === 'number' && timeout >= 0)) return { kind: 'invalid' }
    return { kind: 'request', id, action, body: own(m, 'body'), meta }
  }
  if (Object.hasOwn(m, 'cancel')) {
    const cancel = own(m, 'cancel')
    const validId = typeof cancel === 'number' && Number.isInteger(cancel) && cancel >= 1 && cancel <= NO_CALL_ID
    return id === NO_CALL_ID && validId ? { kind: 'cancel' } : { kind: 'invalid' }
  }
  if (present.length > 1) return { kind: 'invalid' }
  if (Object.hasOwn(m, 'fault')) {
    const fault = own(m, 'fault')
    if (typeof fault !== 'object' || fault === null || Array.isArray(fault)) return { kind: 'invalid' }
    const code = own(fault as Fields, 'code')
    if (typeof code !== 'string' || code === '' || typeof own(fault as Fields, 'message') !== 'string') return { kind: 'invalid' }
  }
  return { kind: 'response' }
}

/** Nesting depth, without recursion. */
function depth(value: unknown): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number]
    if (d > deepest) deepest = d
    if (typeof v === 'object' && v !== null) for (const child of Object.values(v)) stack.push([child, d + 1])
  }
  return deepest
}

function isFault(reply: Fields, code: string, message?: string): boolean {
  const fault = own(reply, 'fault') as Fields | undefined
  return typeof fault === 'object' && fault !== null && fault.code === code && (message === undefined || fault.message === message) && Object.keys(reply).length === 2
}

/**
 * `{ id, [key]: value }` exactly; a value too deep for the server's
 * `JSON.stringify` may instead come back as an INTERNAL_ERROR fault.
 */
function exactly(id: number, key: 'result' | 'error' | undefined, value: unknown): (reply: Fields) => boolean {
  let expected: unknown = key === undefined ? { id } : { id, [key]: value }
  const deep = key !== undefined && depth(value) > 1000
  let tooLarge = false
  try {
    // What the server's JSON.stringify makes of it: Infinity becomes null, -0 becomes 0.
    const text = JSON.stringify(expected)
    tooLarge = Buffer.byteLength(text) > TARGET_MAX_FRAME_BYTES
    expected = JSON.parse(text)
  } catch {
    // Too deep for JSON.stringify here: the server fails the same way (deep is true).
  }
  return (reply) => (tooLarge ? isFault(reply, 'FRAME_TOO_LARGE') : sameJson(reply, expected)) || (deep && isFault(reply, 'INTERNAL_ERROR') && /cannot be sent/.test(String((reply.fault as Fields).message)))
}

/** How the raw client answers the target's `cb` call, and what the original caller then gets. */
export interface CallbackAnswer {
  /** The bytes of the answer to the target's call `serverId`. */
  bytes(serverId: number): Buffer
  /** The reply to the original `callback` request, or the code the answer closes the connection with. */
  outcome: { closed: false; accepts: (id: number) => (reply: Fields) => boolean } | ClosedOutcome
}

const FAULT_CODES = ['TIMEOUT', 'UNKNOWN_ACTION', 'NOT_A_CIO_CODE', '__proto__', 'constructor', 'toString', 'x'] as const

/** The answer named by `n` (the `answer` field of a callback body). */
export function callbackAnswer(n: number): CallbackAnswer {
  const random = seeded(n)
  const roll = random.next()
  const frame = (text: string): Buffer => frameOf(Buffer.from(text, 'utf8'))
  if (roll < 0.3) {
    const result = random.next() < 0.2 ? undefined : jsonText(random)
    const parsed: unknown = result === undefined ? undefined : JSON.parse(result)
    return {
      bytes: (id) => frame(result === undefined ? `{"id":${id}}` : `{"result":${result},"id":${id},"extra":1}`),
      outcome: { closed: false, accepts: (id) => exactly(id, parsed === undefined ? undefined : 'result', parsed) },
    }
  }
  if (roll < 0.5) {
    const error = jsonText(random)
    return { bytes: (id) => frame(`{"id":${id},"error":${error}}`), outcome: { closed: false, accepts: (id) => exactly(id, 'error', JSON.parse(error)) } }
  }
  if (roll < 0.65) {
    const message = randomString(random)
    const code = random.pick(FAULT_CODES)
    // Whatever the code, the handler rethrows a CioError: the original caller sees INTERNAL_ERROR with the message.
    return {
      bytes: (id) => frame(`{"id":${id},"fault":{"code":${JSON.stringify(code)},"message":${JSON.stringify(message)}}}`),
      outcome: { closed: false, accepts: (id) => (reply) => isFault(reply, 'INTERNAL_ERROR', message) },
    }
  }
  if (roll < 0.75) {
    // A late answer to a call that is not pending is dropped; the real one follows.
    return {
      bytes: (id) => Buffer.concat([frame(`{"id":${id + 1_000_000},"result":"late"}`), frame(`{"id":${id},"result":7}`)]),
      outcome: { closed: false, accepts: (id) => exactly(id, 'result', 7) },
    }
  }
  const bad = random.pick([
    { text: '{"id":"1","result":1}', code: 'INVALID_MESSAGE' },
    { text: '{"id":$,"result":1,"error":2}', code: 'INVALID_MESSAGE' },
    { text: '{"id":$,"fault":{"code":"","message":"m"}}', code: 'INVALID_MESSAGE' },
    { text: '{"id":$,"fault":[]}', code: 'INVALID_MESSAGE' },
    { text: '[$]', code: 'INVALID_MESSAGE' },
    { text: '{"id":$,', code: 'FRAME_INVALID' },
  ] as const)
  const junk = random.pick([prefix(0), prefix(0xffffffff), prefix(TARGET_MAX_FRAME_BYTES + 1)])
  if (random.next() < 0.3) return { bytes: () => junk, outcome: { closed: true, code: junk.readUInt32BE(0) === 0 ? 'FRAME_INVALID' : 'FRAME_TOO_LARGE' } }
  return { bytes: (id) => frame(bad.text.replace('$', String(id))), outcome: { closed: true, code: bad.code } }
}

/** Reads the answer number of a `callback` body, as the raw client does. */
export function answerNumber(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined
  const n = own(body as Fields, 'answer')
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

/** The reply a request must get from the fuzz target (callbacks are the model's business). */
function expectReply(request: { id: number; action: string; body: unknown; meta: unknown }, seed: number): ExpectedReply {
  const { id, action, body } = request
  const what = `reply to ${action.slice(0, 20)} #${id}`
  const reply = (accepts: (reply: Fields) => boolean): ExpectedReply => ({ id, seed, what, accepts })
  if (request.meta !== undefined && !acceptableMeta(request.meta as Fields)) return reply((r) => isFault(r, 'INVALID_ARGUMENT'))
  switch (action) {
    case 'echo':
    case 'async': return reply(exactly(id, body === undefined ? undefined : 'result', body))
    case 'nothing': return reply(exactly(id, undefined, undefined))
    case 'throw': return reply(body === undefined ? (r) => isFault(r, 'INTERNAL_ERROR') : exactly(id, 'error', body))
    case 'fail': return reply((r) => isFault(r, 'INTERNAL_ERROR', 'boom'))
    default: return reply((r) => isFault(r, 'UNKNOWN_ACTION'))
  }
}

/** The reply a `callback` request gets when the target's call is settled by `response`. */
function settledBy(request: { id: number; seed: number }, response: Fields): ExpectedReply {
  const { id, seed } = request
  const what = `reply to callback #${id}`
  if (Object.hasOwn(response, 'error')) return { id, seed, what, accepts: exactly(id, 'error', response.error) }
  if (Object.hasOwn(response, 'fault')) {
    const message = (response.fault as Fields).message as string
    return { id, seed, what, accepts: (reply) => isFault(reply, 'INTERNAL_ERROR', message) }
  }
  const result = Object.hasOwn(response, 'result') ? response.result : undefined
  return { id, seed, what, accepts: exactly(id, result === undefined ? undefined : 'result', result) }
}

/**
 * The target's side of one connection, for working out replies. Each
 * `callback` request makes the target call the raw client with the next id
 * (1, 2, 3... per connection); until the raw client's own answer arrives
 * (always after everything already written), any valid response in the
 * stream with that id settles the call instead. Feed it the open cases of
 * one write in order, then {@link finish}.
 */
export class ConnectionModel {
  private calls = 0
  private readonly pending = new Map<number, { id: number; seed: number; body: unknown }>()
  private replies: ExpectedReply[] = []

  add(c: RpcCase): void {
    for (const value of c.values) {
      const seen = classify(value)
      if (seen.kind === 'request' && seen.action === 'callback' && (seen.meta === undefined || acceptableMeta(seen.meta as Fields))) this.pending.set(++this.calls, { id: seen.id, seed: c.seed, body: seen.body })
      else if (seen.kind === 'request') this.replies.push(expectReply(seen, c.seed))
      else if (seen.kind === 'response') {
        const id = (value as Fields).id as number
        const call = this.pending.get(id)
        if (call !== undefined) {
          this.pending.delete(id)
          this.replies.push(settledBy(call, value as Fields))
        }
      }
    }
  }

  /** Every reply the write must get: the calls still pending are settled by the raw client's answers. */
  finish(): ExpectedReply[] {
    for (const call of this.pending.values()) {
      const n = answerNumber(call.body)
      const outcome = n === undefined ? undefined : callbackAnswer(n).outcome
      const what = `reply to callback #${call.id} (answer ${String(n)})`
      // An unreadable body is answered with an empty success; open cases have no closing answers.
      const accepts = outcome === undefined || outcome.closed ? exactly(call.id, undefined, undefined) : outcome.accepts(call.id)
      this.replies.push({ id: call.id, seed: call.seed, what, accepts })
    }
    this.pending.clear()
    const replies = this.replies
    this.replies = []
    return replies
  }
}

/** Whether the raw client's answers to the case's callbacks close the connection, and with what. */
function closingCallback(values: readonly unknown[]): ClosedOutcome | undefined {
  for (const value of values) {
    const seen = classify(value)
    if (seen.kind !== 'request' || seen.action !== 'callback' || (seen.meta !== undefined && !acceptableMeta(seen.meta as Fields))) continue
    const n = answerNumber(seen.body)
    const outcome = n === undefined ? undefined : callbackAnswer(n).outcome
    // The answer is sent even when a response in the stream settled the call first.
    if (outcome?.closed === true) return outcome
  }
  return undefined
}

const WEIRD_IDS = ['"1"', '0', '-1', '1.5', '9007199254740992', '1e400', 'null', 'true', '[]', '{}', '[1]', '-0', '1e0', '1.0', '0.5e1', '123456789012345678901234567890', '9007199254740991', '""'] as const
const WEIRD_ACTIONS = ['""', '5', 'null', '[]', '{}', 'true', '" "', '"__proto__"', '"constructor"', '"toString"', '"hasOwnProperty"', '"echo\\u0000"', '"ech\\u006f"'] as const
const WEIRD_FAULTS = ['"bad"', 'null', '[]', '{}', '{"code":"X"}', '{"message":"m"}', '{"code":"","message":"m"}', '{"code":5,"message":"m"}', '{"code":"X","message":5}', '{"code":"__proto__","message":"m"}', '{"code":"TIMEOUT","message":""}'] as const

type Field = [key: string, text: string]

function idText(random: Random): string {
  return String(random.pick([1, 2, 3, 2 ** 31, 2 ** 32 + 1, 2 ** 53 - 1, random.int(1, 1000), random.int(1, 2 ** 30)]))
}

function actionText(random: Random): string {
  const roll = random.next()
  if (roll < 0.75) return JSON.stringify(random.pick(TARGET_ACTIONS.filter((a) => a !== 'callback')))
  if (roll < 0.9) return JSON.stringify(randomString(random) || 'x')
  return JSON.stringify(`long-${'a'.repeat(random.int(100, 5000))}`)
}

function bodyText(random: Random): string {
  const roll = random.next()
  if (roll < 0.05) return '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'
  return jsonText(random, { deepChance: 0.02, deepMax: 8000 })
}

function requestFields(random: Random): Field[] {
  const fields: Field[] = [['id', idText(random)], ['action', actionText(random)]]
  if (random.next() < 0.85) fields.push(['body', bodyText(random)])
  if (random.next() < 0.15) fields.push([random.pick(['ext', 'meta', 'v', '__proto__', 'constructor']), jsonText(random)])
  return fields
}

function responseFields(random: Random): Field[] {
  const fields: Field[] = [['id', idText(random)]]
  const kind = random.int(0, 3)
  if (kind === 1) fields.push(['result', jsonText(random)])
  if (kind === 2) fields.push(['error', jsonText(random)])
  if (kind === 3) fields.push(['fault', `{"code":${JSON.stringify(random.pick(FAULT_CODES))},"message":"m"}`])
  return fields
}

/** One field-level mutation: wrong types, missing or extra fields, duplicates (JSON.parse keeps the last). */
function mutateFields(random: Random, fields: Field[]): Field[] {
  const out = fields.slice()
  const index = random.int(0, Math.max(0, out.length - 1))
  switch (random.int(0, 7)) {
    case 0: return out.map(([k, v]) => (k === 'id' ? [k, random.pick(WEIRD_IDS)] : [k, v]))
    case 1: return out.map(([k, v]) => (k === 'action' ? [k, random.pick(WEIRD_ACTIONS)] : [k, v]))
    case 2: out.splice(index, 1); return out
    case 3: out.push([random.pick(['result', 'error', 'fault', 'action']), jsonText(random)]); return out
    case 4: out.push(['fault', random.pick(WEIRD_FAULTS)]); return out
    case 5: out.push([out[index]?.[0] ?? 'id', random.next() < 0.5 ? random.pick(WEIRD_IDS) : jsonText(random)]); return out
    case 6: return [['__proto__', textOf(out)]]
    default: return out.reverse()
  }
}

function textOf(fields: readonly Field[]): string {
  return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`
}

/** One message of a case, as JSON text (or, rarely, a whole frame of junk). */
function element(random: Random, hostile: boolean): Buffer {
  // Well-formed cases keep to the first three kinds (their content is still odd).
  const roll = hostile ? random.next() : random.next() * 0.53
  const frame = (text: string): Buffer => frameOf(Buffer.from(text, 'utf8'))
  if (roll < 0.35) return frame(textOf(requestFields(random)))
  if (roll < 0.45) return frame(`{"id":${idText(random)},"action":"callback","body":{"answer":${random.int(0, 2 ** 31)}}}`)
  if (roll < 0.53) return frame(textOf(responseFields(random)))
  if (roll < 0.85) {
    let fields = random.next() < 0.6 ? requestFields(random) : responseFields(random)
    for (let i = random.int(1, 2); i > 0; i--) fields = mutateFields(random, fields)
    return frame(textOf(fields))
  }
  if (roll < 0.93) return frame(jsonText(random))
  if (roll < 0.97) return frameOf(payloadBytes(random))
  return prefix(hostileLength(random, TARGET_MAX_FRAME_BYTES))
}

/**
 * Makes case `seed`: a few messages, sometimes mutated at the byte level,
 * with any trailing partial frame completed (or cut) so that every case
 * ends in a definite outcome rather than a wait.
 */
export function rpcCase(seed: number): RpcCase {
  const random = seeded(seed)
  const frames: Buffer[] = []
  const boundaries: number[] = []
  let length = 0
  const hostile = random.next() < 0.6
  for (let i = random.int(1, 6); i > 0; i--) {
    const frame = element(random, hostile)
    boundaries.push(length)
    frames.push(frame)
    length += frame.length
  }
  let bytes: Buffer = Buffer.concat(frames)
  if (hostile && random.next() < 0.25) bytes = mutate(random, bytes, boundaries, TARGET_MAX_FRAME_BYTES).bytes
  let decoded = referenceDecode(bytes, TARGET_MAX_FRAME_BYTES)
  if (decoded.code === undefined && decoded.end < bytes.length) {
    // A partial frame would leave the server waiting: complete it (header
    // with zeroes, payload with spaces or noise), or cut it off.
    const missing = decoded.buffered < 4 && bytes.length - decoded.end < 4 ? 4 - (bytes.length - decoded.end) : undefined
    if (missing !== undefined) bytes = Buffer.concat([bytes, Buffer.alloc(missing)])
    decoded = referenceDecode(bytes, TARGET_MAX_FRAME_BYTES)
    const need = decoded.code === undefined && decoded.end < bytes.length ? bytes.readUInt32BE(decoded.end) + 4 - (bytes.length - decoded.end) : 0
    // Completing a frame near the cap costs 64 KiB per case: only small ones (the decoder fuzz covers the rest).
    if (need > 0 && need <= 4096) bytes = Buffer.concat([bytes, random.next() < 0.5 ? Buffer.alloc(need, 0x20) : randomBytes(random, need)])
    decoded = referenceDecode(bytes, TARGET_MAX_FRAME_BYTES)
    if (decoded.code === undefined && decoded.end < bytes.length) {
      bytes = bytes.subarray(0, decoded.end)
      decoded = referenceDecode(bytes, TARGET_MAX_FRAME_BYTES)
    }
  }
  for (const value of decoded.values) {
    if (classify(value).kind === 'invalid') return { seed, bytes, values: decoded.values, outcome: { closed: true, code: 'INVALID_MESSAGE' } }
  }
  if (decoded.code !== undefined) return { seed, bytes, values: decoded.values, outcome: { closed: true, code: decoded.code } }
  // Callback answers come after the whole stream: a bad one closes the
  // connection only if the stream itself did not.
  const closedBy = closingCallback(decoded.values)
  if (closedBy !== undefined) return { seed, bytes, values: decoded.values, outcome: closedBy }
  // A last request proves the connection still answers after everything before it.
  const sentinel = frameOf(Buffer.from(`{"id":${random.int(1, 2 ** 40)},"action":"echo","body":"sentinel"}`))
  return { seed, bytes: Buffer.concat([bytes, sentinel]), values: [...decoded.values, JSON.parse(sentinel.subarray(4).toString())], outcome: { closed: false } }
}
