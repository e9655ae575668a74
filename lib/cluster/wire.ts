/**
 * Messages between the nodes of a cluster: their shapes, the signature that
 * authenticates them, and the checks that untrusted text must pass before
 * anything acts on it.
 *
 *   <signature>.<json>
 *
 * `signature` is the base64url HMAC-SHA256 of the JSON text under a key
 * derived (HKDF, label `cio-cluster`) from the handshake key, scrypt(secret): whoever can
 * write to Redis still cannot call agents. Every function here is pure.
 */
import { createHmac, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto'
import { parseWithoutPrototypeKeys } from '../agent/store.js'
import { isAgentName } from '../agent/protocol.js'
import type { ByAgent } from '../agent/calls.js'
import { isValidTimeout } from '../rpc/validate.js'

/** Version of the message format. */
export const WIRE_VERSION = 1

/** How one agent's call ended, as it travels: a value, cio's coded fault, or a plain value the hook threw. */
export type WireOutcome =
  | { ok: true; value: unknown }
  | { ok: false; fault: WireFault }
  | { ok: false; thrown?: unknown }

/** A CioError as it travels: code, message and the JSON-safe part of its details. */
export interface WireFault {
  code: string
  message: string
  details?: Record<string, unknown>
}

/** A call to one agent of the receiving node. `ttl`: the ms left when it was sent. */
export interface CallMessage {
  v: 1
  t: 'call'
  id: number
  from: string
  name: string
  action: string
  body?: unknown
  ttl: number
}

/** The answer to a {@link CallMessage}; `delivered: false` means the agent never saw the call. */
export interface ReplyMessage {
  v: 1
  t: 'reply'
  id: number
  node: string
  outcome: WireOutcome
  delivered: boolean
}

/** A call to every agent of the receiving node. */
export interface AllMessage {
  v: 1
  t: 'all'
  id: number
  from: string
  action: string
  body?: unknown
  ttl: number
}

/** One part of the answer to an {@link AllMessage}: some agents' outcomes, by name. */
export interface AllReplyMessage {
  v: 1
  t: 'allReply'
  id: number
  node: string
  part: number
  parts: number
  results: ByAgent<WireOutcome>
}

/**
 * Calls and answers for one node made in the same turn of the event loop,
 * signed once and published once. Each item is checked as if it came alone.
 */
export interface BatchMessage {
  v: 1
  t: 'batch'
  /** Unchecked: see {@link batchItem}. One bad item must not cost the others their delivery. */
  items: unknown[]
}

export type ClusterMessage = CallMessage | ReplyMessage | AllMessage | AllReplyMessage | BatchMessage

const SIGNATURE_LENGTH = 43
const MAX_ID_LENGTH = 200
/** Longest action a cluster message carries. */
export const MAX_ACTION_LENGTH = 1024
/** More parts than this would each be tiny: refused as nonsense. */
const MAX_PARTS = 100_000
/** The most items one batch may carry (a call is at least ~80 bytes, so the size limit binds first). */
export const MAX_BATCH_ITEMS = 10_000
/** Bytes a signed message adds to its JSON: the signature and the dot. */
export const SIGNATURE_OVERHEAD = 44

/**
 * The key that signs messages between nodes: HKDF of the handshake key,
 * itself scrypt(secret), so that messages read from Redis give an offline
 * guess at the secret the same scrypt cost as a recorded handshake.
 */
export function clusterKey(secret: KeyObject): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'cio-cluster', 32))
}

function sign(key: Buffer, json: string): string {
  return createHmac('sha256', key).update(json).digest('base64url')
}

/** Serialises and signs a message. */
export function encodeMessage(key: Buffer, message: ClusterMessage): string {
  return signJson(key, JSON.stringify(message))
}

/** Signs a message already serialised. */
export function signJson(key: Buffer, json: string): string {
  return `${sign(key, json)}.${json}`
}

/** The JSON of a {@link BatchMessage} from its items' JSON, without serialising them again. */
export function batchJson(items: readonly string[]): string {
  return `{"v":1,"t":"batch","items":[${items.join(',')}]}`
}

/** Bytes {@link batchJson} adds around its items, commas aside. */
export const BATCH_OVERHEAD = batchJson([]).length

/** Why a message was dropped. */
export type DropReason = 'size' | 'signature' | 'json' | 'shape'

/**
 * Checks a received message: size first (before any hashing), then the
 * signature in constant time, then the JSON and its shape. Returns the
 * message or the reason it must be dropped.
 */
export function decodeMessage(key: Buffer, text: string, maxBytes: number): ClusterMessage | DropReason {
  if (text.length > maxBytes || Buffer.byteLength(text) > maxBytes) return 'size'
  if (text.length < SIGNATURE_LENGTH + 2 || text[SIGNATURE_LENGTH] !== '.') return 'signature'
  const given = Buffer.from(text.slice(0, SIGNATURE_LENGTH))
  const json = text.slice(SIGNATURE_LENGTH + 1)
  const expected = Buffer.from(sign(key, json))
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature'
  let value: unknown
  try {
    value = parseWithoutPrototypeKeys(json)
  } catch {
    return 'json'
  }
  return isMessage(value) ? value : 'shape'
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0
}

function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH
}

function isAction(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ACTION_LENGTH
}

/** A message's time to live follows the rule of every timeout in cio. */
const isTtl = isValidTimeout

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** True for a well-formed outcome. */
export function isOutcome(value: unknown): value is WireOutcome {
  if (!isRecord(value)) return false
  // `value` and `thrown` may be absent: JSON drops an undefined one.
  if (value.ok === true) return true
  if (value.ok !== false) return false
  const fault = value.fault
  if (fault === undefined) return true
  return isRecord(fault) && typeof fault.code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(fault.code) && typeof fault.message === 'string' && (fault.details === undefined || isRecord(fault.details))
}

function isResults(value: unknown): value is ByAgent<WireOutcome> {
  if (!isRecord(value)) return false
  for (const name of Object.keys(value)) if (!isAgentName(name) || !isOutcome(value[name])) return false
  return true
}

function isBatch(value: Record<string, unknown>): boolean {
  const items = value.items
  return Array.isArray(items) && items.length > 0 && items.length <= MAX_BATCH_ITEMS
}

/**
 * One item of a signed batch, checked as if it came alone: a call or a
 * reply, else `'shape'` (dropped and counted, while the batch's other items
 * are still delivered: the signature already says who sent them).
 */
export function batchItem(item: unknown): CallMessage | ReplyMessage | 'shape' {
  return isRecord(item) && (item.t === 'call' || item.t === 'reply') && isMessage(item) ? (item as unknown as CallMessage | ReplyMessage) : 'shape'
}

function isMessage(value: unknown): value is ClusterMessage {
  if (isRecord(value) && value.v === WIRE_VERSION && value.t === 'batch') return isBatch(value)
  if (!isRecord(value) || value.v !== WIRE_VERSION || !isId(value.id)) return false
  switch (value.t) {
    case 'call':
      return isNodeId(value.from) && isAgentName(value.name) && isAction(value.action) && isTtl(value.ttl)
    case 'all':
      return isNodeId(value.from) && isAction(value.action) && isTtl(value.ttl)
    case 'reply':
      return isNodeId(value.node) && typeof value.delivered === 'boolean' && isOutcome(value.outcome)
    case 'allReply':
      return (
        isNodeId(value.node) && Number.isSafeInteger(value.parts) && (value.parts as number) >= 1 && (value.parts as number) <= MAX_PARTS &&
        Number.isSafeInteger(value.part) && (value.part as number) >= 0 && (value.part as number) < (value.parts as number) && isResults(value.results)
      )
    default:
      return false
  }
}
