/**
 * Agent names from an `agentNameFormat` such as `A###`: the run of `#` is a
 * counter padded with zeros to the run's length (`A001`, ..., `A999`, then
 * `A1000`, never truncated). Pure: the caller decides when to persist the
 * counter.
 */
import { CioError, codes } from '../errors.js'

/** The format used when none is given: `A1`, `A2`, ... */
export const DEFAULT_NAME_FORMAT = 'A#'

/** Longest agent name accepted anywhere (handshake, store). */
export const MAX_NAME_LENGTH = 128

// Names travel in handshakes, logs and store files: a small charset keeps
// them free of control characters, separators and path tricks.
const SAFE_NAME = /^[A-Za-z0-9._-]+$/

/** True when `name` is a string of 1 to 128 letters, digits, `.`, `_` or `-`. */
export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_NAME_LENGTH && SAFE_NAME.test(name)
}

/** A parsed `agentNameFormat`: what comes before and after the counter, and its width. */
export interface NameFormat {
  /** The format as given, e.g. `A###`. */
  readonly source: string
  /** Text before the counter. */
  readonly prefix: string
  /** Text after the counter. */
  readonly suffix: string
  /** Minimum number of digits (the length of the `#` run). */
  readonly width: number
}

/**
 * Parses a name format. Throws `INVALID_OPTION` (naming `agentNameFormat`)
 * unless it has exactly one run of `#` and its other characters are allowed
 * in names. The format may use at most 100 characters, which leaves room in
 * a 128-character name for any counter a JavaScript number can hold.
 */
export function parseNameFormat(format: unknown = DEFAULT_NAME_FORMAT): NameFormat {
  const invalid = (why: string): CioError =>
    new CioError(codes.INVALID_OPTION, `The "agentNameFormat" option ${why}, got ${JSON.stringify(format) ?? String(format)}.`, { details: { option: 'agentNameFormat' } })
  if (typeof format !== 'string') throw invalid('must be a string such as "A###"')
  const runs = format.match(/#+/g) ?? []
  if (runs.length !== 1) throw invalid('must contain exactly one run of "#" (the counter)')
  if (format.length > 100) throw invalid('must be at most 100 characters long')
  if (!isSafeName(format.replace(/#/g, '0'))) throw invalid('may use only letters, digits, ".", "_" and "-" besides "#"')
  const start = format.indexOf('#')
  const width = (runs[0] as string).length
  return { source: format, prefix: format.slice(0, start), suffix: format.slice(start + width), width }
}

/** The name for counter value `n` (a positive integer) in the given format. */
export function formatName(format: NameFormat, n: number): string {
  return format.prefix + String(n).padStart(format.width, '0') + format.suffix
}

/**
 * The counter value a name stands for, or `undefined` when the name is not
 * one this format produces. Only the canonical spelling matches (`A01` is not
 * a name of `A#`), so one number never has two names.
 */
export function parseName(format: NameFormat, name: string): number | undefined {
  const { prefix, suffix, width } = format
  if (typeof name !== 'string' || name.length < prefix.length + width + suffix.length) return undefined
  if (!name.startsWith(prefix) || !name.endsWith(suffix)) return undefined
  const digits = name.slice(prefix.length, name.length - suffix.length)
  if (!/^\d+$/.test(digits)) return undefined
  const n = Number(digits)
  // Past MAX_SAFE_INTEGER, n + 1 may equal n and two agents would share a name.
  if (n < 1 || n >= Number.MAX_SAFE_INTEGER) return undefined
  return formatName(format, n) === name ? n : undefined
}

/**
 * Hands out agent names in order. The counter is the number of the last
 * name given out (0 before the first); a server with a data store saves it
 * after each change and seeds the next allocator with it on restart.
 */
export class NameAllocator {
  /** The parsed format names are made from. */
  readonly format: NameFormat
  #counter: number

  /**
   * @param format the `agentNameFormat` option, or an already parsed format. @default 'A#'
   * @param counter the number of the last name given out, e.g. from a data store. @default 0
   * Throws `INVALID_OPTION` for a bad format and `INVALID_ARGUMENT` for a
   * counter that is not a non-negative safe integer.
   */
  constructor(format: string | NameFormat = DEFAULT_NAME_FORMAT, counter = 0) {
    this.format = typeof format === 'string' ? parseNameFormat(format) : format
    if (!Number.isSafeInteger(counter) || counter < 0) {
      throw new CioError(codes.INVALID_ARGUMENT, `A name counter must be a non-negative integer, got ${String(counter)}.`, { details: { counter } })
    }
    this.#counter = counter
  }

  /** The number of the last name given out or seen (0 if none). */
  get counter(): number {
    return this.#counter
  }

  /**
   * Gives out the next name. Throws `INTERNAL_ERROR` in the unreachable
   * case where the counter has no safe successor, rather than repeat a name.
   */
  next(): string {
    if (this.#counter >= Number.MAX_SAFE_INTEGER) {
      throw new CioError(codes.INTERNAL_ERROR, 'The agent name counter is exhausted.', { details: { counter: this.#counter } })
    }
    this.#counter += 1
    return formatName(this.format, this.#counter)
  }

  /** True when `name` is one this allocator's format produces. */
  matches(name: string): boolean {
    return parseName(this.format, name) !== undefined
  }

  /**
   * Notes a name an agent came back with. If it is one of ours and numbered
   * past the counter, the counter moves up to it so it is never handed out
   * again. Returns true when the counter moved (time to save it).
   */
  observe(name: string): boolean {
    const n = parseName(this.format, name)
    if (n === undefined || n <= this.#counter) return false
    this.#counter = n
    return true
  }
}
