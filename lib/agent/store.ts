/**
 * Data stores keep the little an agent layer must remember across restarts:
 * the server's name counter, an agent's own name. A store holds one JSON
 * object. Both stores here give back exactly what a JSON round trip gives,
 * so swapping `MemoryStore` for `FileStore` never changes what `load()`
 * returns.
 */
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { CioError, codes, describeError } from '../errors.js'

/** Default time a store's `load()` or `save()` may take before it counts as failed: 5 s. */
export const DEFAULT_STORE_TIMEOUT = 5000

/** Largest store file `FileStore` reads: 1 MiB (a counter or a name needs a few bytes). */
export const MAX_STORE_FILE_BYTES = 1024 * 1024

/**
 * Resolves or rejects as `promise` does, or rejects with `STORE_FAILED`
 * after `ms`: a store whose promise never settles (a FIFO, a dead database)
 * must not stall what waits on it.
 */
export function settleWithin<T>(promise: Promise<T>, ms: number, action: 'load' | 'save'): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new CioError(codes.STORE_FAILED, `The data store's ${action}() did not settle within ${ms} ms.`, { details: { action, timeout: ms } })), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** What a store holds by default: one JSON object. */
export type StoreDoc = Record<string, unknown>

/**
 * Anything with these two methods can be an agent's or a server's data store
 * (a database row, a key in a remote cache...). `load()` resolves to
 * `undefined` when nothing was ever saved.
 */
export interface DataStore<Doc = StoreDoc> {
  /** Persists `doc`, replacing what was there. */
  save(doc: Doc): Promise<void>
  /** Resolves to the last saved document, or `undefined` if there is none. */
  load(): Promise<Doc | undefined>
}

/**
 * Serialises a document the way every cio store does. Only JSON objects are
 * accepted: a store's document is a record, and refusing anything else here
 * keeps a bad `save` from succeeding in memory but failing on disk.
 */
export function serialise(doc: unknown): string {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CioError(codes.INVALID_ARGUMENT, `A store document must be a JSON object, got ${doc === null ? 'null' : Array.isArray(doc) ? 'an array' : typeof doc}.`)
  }
  try {
    return JSON.stringify(doc)
  } catch (cause) {
    throw new CioError(codes.INVALID_ARGUMENT, `A store document must be JSON-serialisable (${describeError(cause)}).`, { cause })
  }
}

/**
 * Drops the keys that turn a parsed document into a prototype-pollution
 * gadget once some code deep-merges it: `__proto__`, and a `constructor`
 * object carrying a `prototype`. Returning `undefined` from a reviver
 * deletes the key.
 */
export function dropPrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined
  if (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype')) return undefined
  return value
}

/**
 * `JSON.parse` with {@link dropPrototypeKeys}, paying for the reviver (several
 * times the parse itself) only when the text could hold such a key: JSON can
 * spell a key's letters only literally or as `\u` escapes.
 */
export function parseWithoutPrototypeKeys(text: string): unknown {
  if (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')) return JSON.parse(text, dropPrototypeKeys)
  return JSON.parse(text)
}

function ignore(): undefined {
  return undefined
}

/** Parses stored text into a document, or says why it cannot. */
export function parseDoc(text: string): StoreDoc {
  const doc: unknown = parseWithoutPrototypeKeys(text)
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TypeError('the stored value is not a JSON object')
  return doc as StoreDoc
}

/**
 * Keeps the document in memory, for tests and for servers that need no
 * persistence. It stores the JSON text, so a caller who mutates the object
 * after `save()` (or the object `load()` gave) cannot change what is stored.
 */
export class MemoryStore<Doc = StoreDoc> implements DataStore<Doc> {
  #text: string | undefined

  /** Starts empty, or holding `initial` as if it had been saved. */
  constructor(initial?: Doc) {
    if (initial !== undefined) this.#text = serialise(initial)
  }

  /** Stores a copy of `doc`; rejects with `INVALID_ARGUMENT` if it is not a JSON object. */
  async save(doc: Doc): Promise<void> {
    this.#text = serialise(doc)
  }

  /** Resolves to a fresh copy of the last saved document, or `undefined`. */
  async load(): Promise<Doc | undefined> {
    return this.#text === undefined ? undefined : (parseDoc(this.#text) as Doc)
  }
}

/** Options of `FileStore`. */
export interface FileStoreOptions {
  /** Path of the JSON file; relative paths are resolved once, at construction. */
  file: string
  /** Permissions of the file when created. @default 0o600 (stores may hold private data) */
  mode?: number
}

/**
 * Keeps the document in a JSON file, written atomically: the new content
 * goes to a temporary file in the same directory, is flushed to disk, and
 * then renamed over the old file. A crash at any point leaves either the old
 * or the new document, never a torn one.
 */
export class AtomicFileStore<Doc = StoreDoc> implements DataStore<Doc> {
  /** Absolute path of the store's file. */
  readonly file: string
  readonly #mode: number
  // Saves run one after another so an older write can never land after a
  // newer one; `load()` waits here too and so always sees the last save.
  #queue: Promise<void> = Promise.resolve()

  /** Throws `INVALID_OPTION` when `file` is missing or empty. */
  constructor(options: FileStoreOptions) {
    const file: unknown = options?.file
    if (typeof file !== 'string' || file === '') {
      throw new CioError(codes.INVALID_OPTION, 'FileStore needs a "file" option: the path of its JSON file.', { details: { option: 'file' } })
    }
    const mode = options.mode ?? 0o600
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
      throw new CioError(codes.INVALID_OPTION, `The "mode" option must be file permissions between 0 and 0o777, got ${String(mode)}.`, { details: { option: 'mode' } })
    }
    this.file = resolve(file)
    this.#mode = mode
  }

  /**
   * Writes `doc` atomically. The document is serialised at once, so changes
   * made to it after the call are not saved. Rejects with `STORE_FAILED`
   * (with `cause` and `details.file`) when the file system refuses.
   */
  save(doc: Doc): Promise<void> {
    let text: string
    try {
      text = serialise(doc)
    } catch (error) {
      return Promise.reject(error)
    }
    const write = this.#queue.then(() => this.#write(text))
    // The queue must go on after a failed write; the failure goes to the caller.
    this.#queue = write.catch(ignore)
    return write
  }

  /**
   * Reads the file after any pending save. Resolves to `undefined` when the
   * file does not exist; rejects with `STORE_FAILED` when it cannot be read,
   * is not a regular file (a FIFO, a device, a directory, or a link to one),
   * holds more than 1 MiB, or does not hold a JSON object. A damaged file is
   * left as it is for its owner to look at: nothing here overwrites it.
   */
  async load(): Promise<Doc | undefined> {
    await this.#queue
    let text: string
    try {
      text = await readRegularFile(this.file)
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw this.#failed('read', cause)
    }
    try {
      return parseDoc(text) as Doc
    } catch (cause) {
      throw this.#failed('parse', cause)
    }
  }

  async #write(text: string): Promise<void> {
    // pid + random keeps two processes (or two stores on one file) from
    // sharing a temporary file; 'wx' refuses to follow a planted file or link.
    const temp = join(dirname(this.file), `.${basename(this.file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
    try {
      const handle = await open(temp, 'wx', this.#mode)
      try {
        await handle.writeFile(text)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temp, this.file)
    } catch (cause) {
      // Best effort: the write's own error is the one worth reporting.
      await rm(temp, { force: true }).catch(ignore)
      throw this.#failed('write', cause)
    }
    await syncDirectory(dirname(this.file))
  }

  #failed(action: string, cause: unknown): CioError {
    return new CioError(codes.STORE_FAILED, `Cannot ${action} the store file ${this.file} (${describeError(cause)}).`, { cause, details: { file: this.file } })
  }
}

/**
 * Reads a regular file of at most `MAX_STORE_FILE_BYTES`. Opened without
 * blocking, so a FIFO cannot stall the open, and checked through the open
 * handle, so what is checked is what is read.
 */
async function readRegularFile(file: string): Promise<string> {
  const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new Error('it is not a regular file')
    if (stat.size > MAX_STORE_FILE_BYTES) throw new Error(`it holds ${stat.size} bytes, above the ${MAX_STORE_FILE_BYTES} a store file may hold`)
    const buffer = Buffer.alloc(stat.size)
    let filled = 0
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return buffer.toString('utf8', 0, filled)
  } finally {
    await handle.close()
  }
}

/**
 * Flushes a directory so the rename itself survives a power cut. Best
 * effort: some platforms (Windows) cannot open or sync a directory, and the
 * data file is already safely in place either way.
 */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
    /* c8 ignore start - only reached where directories cannot be synced */
  } catch {
    // nothing to undo: the data file is already in place
  }
  /* c8 ignore stop */
}

/** Wraps anything a data store threw as `STORE_FAILED` (a store's own STORE_FAILED is kept). */
export function storeError(action: 'load' | 'save', cause: unknown, owner: string): CioError {
  if (cause instanceof CioError && cause.code === codes.STORE_FAILED) return cause
  return new CioError(codes.STORE_FAILED, `The ${owner}'s data store failed to ${action}: ${describeError(cause)}.`, { cause, details: { action } })
}

