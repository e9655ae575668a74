/**
 * A bound on JSON nesting, checked on the raw bytes before `JSON.parse`:
 * V8 parses deeply nested arrays slowly (seconds for a few MiB of `[`) and
 * a parse that overflows the stack costs as much as one that succeeds, so
 * the depth has to be known before parsing, not learnt from it.
 */
import { CioError, codes } from '../errors.js'

/** Default deepest nesting of arrays and objects in a frame: 256. */
export const DEFAULT_MAX_JSON_DEPTH = 256

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d

/**
 * Checks a `maxJsonDepth` option.
 * @throws CioError `INVALID_OPTION` unless an integer of at least 1.
 */
export function resolveMaxJsonDepth(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_JSON_DEPTH
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new CioError(codes.INVALID_OPTION, `maxJsonDepth must be an integer of at least 1, got ${String(value)}`, { details: { option: 'maxJsonDepth', value } })
  }
  return value
}

/** Strings longer than this are skipped with `indexOf`; shorter ones byte by byte (a native call costs more). */
const INLINE_STRING_BYTES = 48

/** Index of the quote that closes the string whose content starts at `start`, or the length when there is none. */
function closingQuote(bytes: Uint8Array, start: number): number {
  const length = bytes.length
  const limit = Math.min(length, start + INLINE_STRING_BYTES)
  let at = start
  while (at < limit) {
    const byte = bytes[at]
    if (byte === QUOTE) return at
    // An escape: its next byte, a quote included, is part of the string.
    at += byte === BACKSLASH ? 2 : 1
  }
  // Past here `at` sits between whole escapes: backslashes before it are all paired.
  return at >= length ? length : longClosingQuote(bytes, at)
}

function longClosingQuote(bytes: Uint8Array, start: number): number {
  let from = start
  for (;;) {
    const quote = (bytes as Buffer).indexOf(QUOTE, from)
    if (quote < 0) return bytes.length
    let backslashes = 0
    while (quote - backslashes - 1 >= start && bytes[quote - backslashes - 1] === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return quote
    from = quote + 1
  }
}

/**
 * True when the JSON text in `bytes` opens more than `max` arrays or
 * objects inside one another. Exact for valid JSON; for invalid JSON either
 * answer is harmless, since the parse that follows fails too. Text too short
 * to nest that deep (each level takes two bytes) is not scanned at all, and
 * strings are skipped with `indexOf`, so the scan costs little next to
 * `JSON.parse`.
 */
export function exceedsJsonDepth(bytes: Buffer, max: number): boolean {
  // (each level of nesting takes two bytes)
  const length = bytes.length
  if (length < 2 * (max + 1)) return false
  let depth = 0
  for (let i = 0; i < length; i++) {
    const byte = bytes[i]
    if (byte === QUOTE) i = closingQuote(bytes, i + 1)
    else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > max) return true
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) depth--
  }
  return false
}
