/**
 * The server's agent names: the allocator and the data store that keeps its
 * counter (`{ counter }`) across restarts. websocket-agent 1.2's document,
 * `{ lastName }`, is read too (the counter is the number in that name) and
 * rewritten in cio's format at once. A store that fails is reported and
 * worked around, never fatal: without a loaded counter the server counts
 * from 0 and moves past every name agents come back with.
 */
import type { CioError } from '../../errors.js'
import { storeError } from '../store.js'
import { NameAllocator, parseName, type NameFormat } from '../names.js'
import type { DataStore, StoreDoc } from '../store.js'
import { LEGACY_LAST_NAME_KEY } from '../compat.js'

export class NameCounter {
  #names: NameAllocator
  readonly #store: DataStore<StoreDoc> | undefined
  readonly #onError: (error: CioError) => void
  /** Names seen that the format does not produce (the format tells about the rest). */
  readonly #foreign = new Set<string>()
  /** Settles once the stored counter is loaded (or failed to). */
  readonly loaded: Promise<void>
  #saving: Promise<void> = Promise.resolve()
  #queued: Promise<void> | undefined

  constructor(format: NameFormat, store: DataStore<StoreDoc> | undefined, onError: (error: CioError) => void) {
    this.#names = new NameAllocator(format)
    this.#store = store
    this.#onError = onError
    this.loaded = this.#load()
  }

  /** Gives out the next name; the counter must be saved (`persist()`) before it is used. */
  next(): string {
    return this.#names.next()
  }

  /** Notes a name an agent came back with. Returns true when the counter moved (time to save). */
  observe(name: string): boolean {
    if (!this.#names.matches(name)) this.#foreign.add(name)
    return this.#names.observe(name)
  }

  /** The highest name number given out or seen (0 if none). */
  highWater(): number {
    return this.#names.counter
  }

  /** True for a name this server gave out or saw: the format's names up to the counter, and those seen. */
  known(name: string): boolean {
    return this.#foreign.has(name) || (parseName(this.#names.format, name) ?? Infinity) <= this.#names.counter
  }

  /**
   * Saves the counter. Callers that come while a save runs share the next
   * one, so a thousand agents arriving at once cost two saves, not a
   * thousand. Never rejects: a failure is reported, and the caller goes on.
   */
  persist(): Promise<void> {
    const store = this.#store
    if (store === undefined) return Promise.resolve()
    if (this.#queued === undefined) {
      const run = this.#saving
        .then(() => {
          this.#queued = undefined
          return store.save({ counter: this.#names.counter })
        })
        .catch((error: unknown) => this.#onError(storeError('save', error, 'agent server')))
      this.#queued = this.#saving = run
    }
    return this.#queued
  }

  /** The counter a websocket-agent `lastName` stands for in this server's format. */
  #counterOf(lastName: unknown): number {
    const format = this.#names.format
    const n = typeof lastName === 'string' ? parseName(format, lastName) : undefined
    if (n === undefined) throw new TypeError(`it holds websocket-agent's lastName ${JSON.stringify(lastName)}, which is not a name of the agentNameFormat "${format.source}"`)
    return n
  }

  /** Resolves when no save is running or queued. */
  idle(): Promise<void> {
    return this.#saving
  }

  async #load(): Promise<void> {
    const store = this.#store
    if (store === undefined) return
    try {
      const doc = await store.load()
      const legacy = doc?.counter === undefined && doc?.[LEGACY_LAST_NAME_KEY] !== undefined
      const counter = legacy ? this.#counterOf(doc?.[LEGACY_LAST_NAME_KEY]) : doc?.counter ?? 0
      if (!Number.isSafeInteger(counter) || (counter as number) < 0) throw new TypeError(`it holds no valid counter (${JSON.stringify(counter)})`)
      this.#names = new NameAllocator(this.#names.format, counter as number)
      if (legacy) void this.persist()
    } catch (error) {
      this.#onError(storeError('load', error, 'agent server'))
    }
  }
}
