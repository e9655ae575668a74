/**
 * Generators shared by the fuzzers: JSON texts with hostile features, byte
 * mutations, chunkings. Everything draws from a seeded {@link Random}, so a
 * case is replayed exactly from its seed.
 *
 * Values are generated as JSON *text*, never as objects: building an object
 * with a `__proto__` key by assignment would change its prototype, while the
 * text `{"__proto__":1}` is exactly what a hostile peer sends.
 */
import type { Random } from '../helpers/random.js'

/** Keys that have bitten JavaScript programs, plus the protocol's own. */
export const HOSTILE_KEYS: readonly string[] = [
  '__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'then', 'polluted',
  'id', 'action', 'body', 'result', 'error', 'fault', 'code', 'message', 'name', 'nonce', 'proof', '', 'a', 'b', 'x',
]

const STRING_PARTS: readonly string[] = [
  'a', 'hello', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', 'é', '€', '日本', '😀', '\u2028', '\u2029',
  '\ud800', '\udfff', '\ufeff', '__proto__', 'constructor', '%s', '${x}', '<script>', '',
]

/** Numbers as JSON text, among them the edges of ids (0, 2^53) and things JSON.parse turns into Infinity. */
const NUMBER_TEXTS: readonly string[] = [
  '0', '-0', '1', '-1', '1.5', '-2.5', '0.1', '1e-7', '1E2', '1e308', '-1e308', '1e400', '-1e400',
  '9007199254740991', '9007199254740992', '9007199254740993', '4294967295', '4294967296', '2147483648',
  '123456789012345678901234567890', '0.000000000000000000000000001', '5e-324',
]

/** A random string value (not yet JSON-quoted). */
export function randomString(random: Random, maxParts = 6): string {
  let text = ''
  const parts = random.int(0, maxParts)
  for (let i = 0; i < parts; i++) text += random.pick(STRING_PARTS)
  return text
}

/** A JSON number text. */
export function numberText(random: Random): string {
  switch (random.int(0, 3)) {
    case 0: return random.pick(NUMBER_TEXTS)
    case 1: return String(random.int(-1e9, 1e9))
    case 2: return String(random.int(-1e6, 1e6) / random.pick([3, 7, 1000]))
    default: return String(random.int(0, 2 ** 31))
  }
}

/** A JSON text: string from the hostile pool, or a key from {@link HOSTILE_KEYS}. */
export function stringText(random: Random): string {
  return JSON.stringify(random.next() < 0.3 ? random.pick(HOSTILE_KEYS) : randomString(random))
}

/** Options of {@link jsonText}. */
export interface JsonTextOptions {
  /** Deepest ordinary nesting. @default 4 */
  maxDepth?: number
  /** Chance (0..1) that the value is a long run of nested arrays/objects. @default 0 */
  deepChance?: number
  /** Longest deep run. @default 2000 */
  deepMax?: number
}

/** A random JSON text, with duplicate and hostile keys, edge numbers and odd strings. */
export function jsonText(random: Random, options: JsonTextOptions = {}, depth = 0): string {
  const maxDepth = options.maxDepth ?? 4
  if (depth === 0 && options.deepChance !== undefined && random.next() < options.deepChance) return deepText(random, options.deepMax ?? 2000)
  const kind = random.int(0, depth >= maxDepth ? 4 : 7)
  switch (kind) {
    case 0: return 'null'
    case 1: return random.next() < 0.5 ? 'true' : 'false'
    case 2: return numberText(random)
    case 3:
    case 4: return stringText(random)
    case 5: {
      const items = random.int(0, 4)
      const parts: string[] = []
      for (let i = 0; i < items; i++) parts.push(jsonText(random, options, depth + 1))
      return `[${parts.join(random.pick([',', ', ', ' ,\n']))}]`
    }
    default: {
      const keys = random.int(0, 4)
      const parts: string[] = []
      for (let i = 0; i < keys; i++) parts.push(`${stringText(random)}:${jsonText(random, options, depth + 1)}`)
      return `{${parts.join(',')}}`
    }
  }
}

/** `[[[...]]]` or `{"a":{"a":...}}` nested `depth` deep (up to `max`). */
export function deepText(random: Random, max: number): string {
  const depth = random.int(1, max)
  return random.next() < 0.5 ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '0' + '}'.repeat(depth)
}

/** Payload bytes that are not valid UTF-8 (each a classic decoder trap). */
export const INVALID_UTF8: readonly (readonly number[])[] = [
  [0x80], [0xbf], [0xff], [0xfe], [0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf], [0xf0, 0x80, 0x80, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80],
  [0xe2, 0x82], [0xc3], [0xf0, 0x9f, 0x98],
]

/** A frame payload: usually JSON text, sometimes something a decoder must refuse. */
export function payloadBytes(random: Random): Buffer {
  const roll = random.next()
  if (roll < 0.6) return Buffer.from(jsonText(random, { deepChance: 0.02 }), 'utf8')
  if (roll < 0.7) {
    // Valid text broken by invalid UTF-8 spliced in somewhere.
    const text = Buffer.from(jsonText(random), 'utf8')
    const at = random.int(0, text.length)
    return Buffer.concat([text.subarray(0, at), Buffer.from(random.pick(INVALID_UTF8)), text.subarray(at)])
  }
  if (roll < 0.8) {
    const text = random.pick(['\ufeff{}', '{} {}', '1 2', ' ', '\t\n', 'undefined', 'NaN', "'x'", '{"a":', '[1,]', '{"a" 1}', '0x10', '01', '.5', '+1', '"\u0001"', '"\\x"', '"\\u12"', '1e', '-'])
    return Buffer.from(text, 'utf8')
  }
  if (roll < 0.9) return randomBytes(random, random.int(1, 64))
  // Valid JSON with surrounding whitespace (allowed) or trailing garbage (not).
  return Buffer.from(random.pick([' ', '\n', '\r\n\t']) + jsonText(random) + random.pick([' ', '', 'x', '\u00a0']), 'utf8')
}

/** `n` random bytes. */
export function randomBytes(random: Random, n: number): Buffer {
  const bytes = Buffer.allocUnsafe(n)
  // Four bytes per draw: a draw is a 32-bit value scaled into [0, 1).
  for (let i = 0; i < n; i += 4) {
    const word = Math.floor(random.next() * 4294967296)
    for (let j = 0; j < 4 && i + j < n; j++) bytes[i + j] = (word >>> (8 * j)) & 0xff
  }
  return bytes
}

/** A 4-byte big-endian prefix declaring `length`. */
export function prefix(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(4)
  bytes.writeUInt32BE(length >>> 0, 0)
  return bytes
}

/** A frame around `payload`, honest about its length. */
export function frameOf(payload: Buffer): Buffer {
  return Buffer.concat([prefix(payload.length), payload])
}

/** Length prefixes worth trying against a decoder whose cap is `max`. */
export function hostileLength(random: Random, max: number): number {
  return random.pick([0, 1, 2, 3, 4, max - 1, max, max + 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, random.int(0, 0xffffffff), random.int(0, max * 2)]) >>> 0
}

/** Names of the byte mutations, for reports. */
export const MUTATIONS = [
  'flip', 'set', 'truncate', 'insert', 'delete', 'prefix', 'duplicate', 'append', 'swap', 'zeroes',
] as const
export type Mutation = (typeof MUTATIONS)[number]

/**
 * Applies one random mutation to a stream of frames. `boundaries` are the
 * offsets where frames start, so prefixes can be overwritten in place.
 */
export function mutate(random: Random, stream: Buffer, boundaries: readonly number[], max: number): { bytes: Buffer; mutation: Mutation } {
  const mutation = random.pick(MUTATIONS)
  const at = random.int(0, stream.length)
  const bytes = Buffer.from(stream)
  switch (mutation) {
    case 'flip': {
      const flips = random.int(1, 4)
      for (let i = 0; i < flips && bytes.length > 0; i++) {
        const index = random.int(0, bytes.length - 1)
        bytes[index] = (bytes[index] ?? 0) ^ (1 << random.int(0, 7))
      }
      return { bytes, mutation }
    }
    case 'set': {
      if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = random.pick([0x00, 0xff, 0xc0, 0xed, 0x80, 0x22, 0x7b, 0x5c, random.int(0, 255)])
      return { bytes, mutation }
    }
    case 'truncate': return { bytes: bytes.subarray(0, at), mutation }
    case 'insert': return { bytes: Buffer.concat([bytes.subarray(0, at), randomBytes(random, random.int(1, 16)), bytes.subarray(at)]), mutation }
    case 'delete': return { bytes: Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + random.int(1, 16)))]), mutation }
    case 'prefix': {
      const start = boundaries.length > 0 ? random.pick(boundaries) : 0
      const length = hostileLength(random, max)
      if (start + 4 <= bytes.length) bytes.writeUInt32BE(length, start)
      else return { bytes: Buffer.concat([bytes, prefix(length)]), mutation }
      return { bytes, mutation }
    }
    case 'duplicate': {
      const end = Math.min(bytes.length, at + random.int(1, 64))
      return { bytes: Buffer.concat([bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end)]), mutation }
    }
    case 'append': return { bytes: Buffer.concat([bytes, frameOf(payloadBytes(random))]), mutation }
    case 'swap': {
      // Two frames' bodies trade places: every prefix now lies about what follows.
      if (boundaries.length < 2) return { bytes: Buffer.concat([bytes, prefix(hostileLength(random, max))]), mutation }
      const a = random.pick(boundaries)
      const b = random.pick(boundaries)
      const [first, second] = a < b ? [a, b] : [b, a]
      return { bytes: Buffer.concat([bytes.subarray(0, first), bytes.subarray(second), bytes.subarray(first, second)]), mutation }
    }
    default: return { bytes: Buffer.concat([bytes.subarray(0, at), Buffer.alloc(random.int(1, 8)), bytes.subarray(at)]), mutation }
  }
}

/** Names of the chunking strategies. */
export const CHUNKINGS = ['whole', 'bytes', 'tiny', 'mixed', 'boundaries', 'halves'] as const
export type Chunking = (typeof CHUNKINGS)[number]

/**
 * Splits `bytes` the way TCP might: all at once, byte by byte (short streams
 * only), in tiny or mixed pieces, or right around frame boundaries.
 */
export function chunkings(random: Random, bytes: Buffer, boundaries: readonly number[]): { chunks: Buffer[]; chunking: Chunking } {
  let chunking = random.pick(CHUNKINGS)
  if (chunking === 'bytes' && bytes.length > 1024) chunking = 'tiny'
  const cuts: number[] = []
  switch (chunking) {
    case 'whole': break
    case 'bytes': for (let i = 1; i < bytes.length; i++) cuts.push(i); break
    case 'tiny': for (let i = random.int(1, 7); i < bytes.length; i += random.int(1, Math.max(7, bytes.length >> 9))) cuts.push(i); break
    case 'mixed': for (let i = random.int(1, 300); i < bytes.length; i += random.int(1, 3000)) cuts.push(i); break
    case 'boundaries': for (const b of boundaries) for (const d of [-1, 0, 1, 3, 4, 5]) if (random.next() < 0.5) cuts.push(b + d); break
    default: cuts.push(random.int(0, bytes.length))
  }
  const chunks: Buffer[] = []
  let last = 0
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (cut <= last || cut >= bytes.length) continue
    chunks.push(bytes.subarray(last, cut))
    // An empty chunk now and then: a decoder must shrug it off.
    if (random.next() < 0.01) chunks.push(Buffer.alloc(0))
    last = cut
  }
  chunks.push(bytes.subarray(last))
  return { chunks, chunking }
}

/**
 * Structural equality of two JSON values without recursion, so values
 * nested thousands deep compare without overflowing the stack. Own keys
 * only, in order (a `__proto__` own key compares like any other).
 */
export function sameJson(a: unknown, b: unknown): boolean {
  const stack: Array<[unknown, unknown]> = [[a, b]]
  for (let guard = 0; stack.length > 0; guard++) {
    if (guard > 50_000_000) return false
    const [x, y] = stack.pop() as [unknown, unknown]
    // 0 and -0 count as equal: JSON cannot tell them apart either.
    if (x === y) continue
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false
    if (Array.isArray(x) !== Array.isArray(y)) return false
    const kx = Object.keys(x)
    const ky = Object.keys(y)
    if (kx.length !== ky.length) return false
    for (let i = 0; i < kx.length; i++) {
      const key = kx[i] as string
      if (key !== ky[i]) return false
      stack.push([(x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key]])
    }
  }
  return true
}
