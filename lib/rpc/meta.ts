/**
 * Call metadata: a small flat map of string keys to string values that
 * travels beside a request or an answer (auth tokens, tenant ids, trace
 * context), checked the same way when a caller gives it and when it
 * arrives. Keys starting with `cio-` belong to cio.
 */
import { CioError, codes } from '../errors.js'

/** Metadata: string values by key, in an object without a prototype. */
export type RpcMeta = { [key: string]: string }

/** Default cap on one message's metadata: 4096 bytes of keys and values (UTF-8). */
export const DEFAULT_MAX_META_BYTES = 4096

/** Keys starting with this are cio's own: a caller or handler may not set them. */
export const RESERVED_META_PREFIX = 'cio-'

/** What a key may look like: 1 to 128 of A-Z a-z 0-9 `.` `_` `-`. */
const KEY = /^[A-Za-z0-9._-]{1,128}$/

/** The metadata of a message that carried none: empty, frozen, shared. */
export const EMPTY_META: Readonly<RpcMeta> = Object.freeze(Object.create(null) as RpcMeta)

/**
 * Why `value` is not metadata cio accepts (shape, key syntax, value types,
 * size), or undefined when it is. `reservedOk` lets `cio-` keys through (on
 * what arrives: cio itself may have set them).
 */
export function metaProblem(value: unknown, maxBytes: number, reservedOk: boolean): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'meta must be an object of string values'
  let bytes = 0
  for (const key of Object.keys(value)) {
    if (!KEY.test(key)) return `meta key ${JSON.stringify(key.slice(0, 64))} is not 1 to 128 of A-Z a-z 0-9 . _ -`
    if (!reservedOk && key.startsWith(RESERVED_META_PREFIX)) return `meta keys starting with "${RESERVED_META_PREFIX}" are reserved for cio (${JSON.stringify(key)})`
    const item = (value as Record<string, unknown>)[key]
    if (typeof item !== 'string') return `meta value of ${JSON.stringify(key)} must be a string, got ${item === null ? 'null' : typeof item}`
    bytes += key.length + Buffer.byteLength(item)
    if (bytes > maxBytes) return `meta holds more than ${maxBytes} bytes of keys and values (maxMetaBytes)`
  }
  return undefined
}

/**
 * Copies metadata a user gave into a null-prototype object, checked.
 * @throws CioError `INVALID_ARGUMENT` saying what is wrong.
 */
export function checkMeta(value: unknown, maxBytes: number, where: string): RpcMeta {
  const problem = metaProblem(value, maxBytes, false)
  if (problem !== undefined) throw new CioError(codes.INVALID_ARGUMENT, `${where}: ${problem}.`, { details: { maxMetaBytes: maxBytes } })
  return copyMeta(value as RpcMeta)
}

/** A null-prototype copy: a `__proto__` key stays an ordinary own property. */
export function copyMeta(value: Readonly<RpcMeta>): RpcMeta {
  const copy = Object.create(null) as RpcMeta
  for (const key of Object.keys(value)) copy[key] = value[key] as string
  return copy
}

/** True when the object has no own key (without allocating the key list). */
export function isEmptyMeta(value: Readonly<RpcMeta>): boolean {
  for (const _key in value) return false
  return true
}
