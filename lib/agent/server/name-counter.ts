/**
 * The server's agent names: the allocator and the data store that keeps its
 * counter (`{ counter }`) across restarts. websocket-agent 1.2's document,
 * `{ lastName }`, is read too (the counter is the number in that name) and
 * rewritten in cio's format at once. It fails closed: a counter that
 * could not be loaded gives out no new name (a name from a counter that
 * starts again at 0 would be someone else's), and a name whose counter
 * could not be saved is refused rather than given out. Agents coming back
 * with a name are still admitted meanwhile, and the load is tried again,
 * at most once a second, when a new agent asks.
 */
import { CioError, codes } from '../../errors.js'
import { formatName, NameAllocator, parseName, type NameFormat } from '../names.js'
import { settleWithin, storeError, type DataStore, type StoreDoc } from '../store.js'
import { LEGACY_LAST_NAME_KEY } from '../compat.js'

/** How far a claimed name may move a counter that no store vouches for. */
export const MAX_CLAIM_JUMP = 1_000_000
/** Names outside the format remembered at most (for `UNKNOWN_AGENT` versus `AGENT_NOT_CONNECTED`). */
export const MAX_FOREIGN_NAMES = 10_000
/** Least time between two loads of a failing store. */
export const STORE_RETRY_MS = 1000

/** What a claimed name does to the counter. */
export const Claim = {
  /** Kept as it is; nothing to save. */
  KEEP: 0,
  /** Kept; the counter moved up to it, to be saved before the welcome. */
  MOVED: 1,
  /** Not one this server can vouch for: the agent gets a new name instead. */
  RENAME: 2,
} as const
export type Claim = (typeof Claim)[keyof typeof Claim]

export class NameCounter {
  #names: NameAllocator
  readonly #store: DataStore<StoreDoc> | undefined
  readonly #onError: (error: CioError) => void
  readonly #storeTimeout: number
  /** Names seen that the format does not produce (the format tells about the rest); oldest dropped first. */
  readonly #foreign = new Set<string>()
  /** The counter is what the store holds (or there is no store). */
  #healthy: boolean
  /** The load under way, if any. */
  #loading: Promise<void> | undefined
  #lastLoad = 0
  /** Highest format number claimed while the store was failing: the counter moves past it once loaded. */
  #claimedWhileFailing = 0
  #saving: Promise<void> = Promise.resolve()
  #queued: Promise<void> | undefined

  constructor(format: NameFormat, store: DataStore<StoreDoc> | undefined, onError: (error: CioError) => void, storeTimeout: number) {
    this.#names = new NameAllocator(format)
    this.#store = store
    this.#onError = onError
    this.#storeTimeout = storeTimeout
    this.#healthy = store === undefined
    if (store !== undefined) this.#loading = this.#load(store)
  }

  /**
   * Resolves to true when the counter is the store's: at once when it is,
   * after the load under way otherwise, or after a new attempt when the
   * last one failed more than a second ago.
   */
  async ready(): Promise<boolean> {
    if (this.#healthy) return true
    const store = this.#store as DataStore<StoreDoc>
    if (this.#loading === undefined && Date.now() - this.#lastLoad >= STORE_RETRY_MS) this.#loading = this.#load(store)
    await this.#loading
    return this.#healthy
  }

  /**
   * Gives out the next name; it must be saved (`persist()`) before use.
   * Throws `STORE_FAILED` while the counter is not the store's.
   */
  next(): string {
    if (!this.#healthy) {
      throw new CioError(codes.STORE_FAILED, "The server cannot give out a new name: its data store's counter could not be loaded (it keeps trying); try again later.")
    }
    return this.#names.next()
  }

  /**
   * What to do with a name an agent came back with (see {@link Claim}). A
   * name this format makes and numbered past the counter was not given out
   * by a server whose store is healthy: it is renamed. Without a store the
   * counter follows such names, by at most {@link MAX_CLAIM_JUMP}; while the
   * store fails they are noted and the counter passes them once loaded.
   */
  claim(name: string): Claim {
    const n = parseName(this.#names.format, name)
    if (n === undefined) {
      this.#foreign.delete(name)
      this.#foreign.add(name)
      if (this.#foreign.size > MAX_FOREIGN_NAMES) this.#foreign.delete(this.#foreign.values().next().value as string)
      return Claim.KEEP
    }
    const counter = this.#names.counter
    if (n <= counter) return Claim.KEEP
    if (!this.#healthy) {
      if (n - counter > MAX_CLAIM_JUMP) return Claim.RENAME
      this.#claimedWhileFailing = Math.max(this.#claimedWhileFailing, n)
      return Claim.KEEP
    }
    if (this.#store !== undefined || n - counter > MAX_CLAIM_JUMP) return Claim.RENAME
    this.#names.observe(name)
    return Claim.MOVED
  }

  /** The highest name number given out or seen (0 if none). */
  highWater(): number {
    return this.#names.counter
  }

  /**
   * Notes a name another authority gave out (the cluster, which vouches for
   * its names): the counter moves past it. True when it moved (time to save).
   */
  observe(name: string): boolean {
    return this.#names.observe(name)
  }

  /** True for a name this server gave out or saw: the format's names up to the counter, and those seen. */
  known(name: string): boolean {
    return this.#foreign.has(name) || (parseName(this.#names.format, name) ?? Infinity) <= this.#names.counter
  }

  /**
   * Saves the counter. Callers that come while a save runs share the next
   * one, so a thousand agents arriving at once cost two saves, not a
   * thousand. Rejects with `STORE_FAILED` (also reported) when the save
   * fails or does not settle in time: the name it covers must not be used.
   */
  persist(): Promise<void> {
    const store = this.#store
    if (store === undefined) return Promise.resolve()
    if (this.#queued === undefined) {
      const run = this.#saving
        .catch(ignore)
        .then(() => {
          this.#queued = undefined
          return settleWithin(store.save({ counter: this.#names.counter }), this.#storeTimeout, 'save')
        })
        .catch((error: unknown) => {
          const failure = storeError('save', error, 'agent server')
          this.#onError(failure)
          throw failure
        })
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
    return this.#saving.catch(ignore)
  }

  async #load(store: DataStore<StoreDoc>): Promise<void> {
    this.#lastLoad = Date.now()
    try {
      const doc = await settleWithin(store.load(), this.#storeTimeout, 'load')
      const legacy = doc?.counter === undefined && doc?.[LEGACY_LAST_NAME_KEY] !== undefined
      const counter = legacy ? this.#counterOf(doc?.[LEGACY_LAST_NAME_KEY]) : doc?.counter ?? 0
      if (!Number.isSafeInteger(counter) || (counter as number) < 0) throw new TypeError(`it holds no valid counter (${JSON.stringify(counter)})`)
      this.#names = new NameAllocator(this.#names.format, counter as number)
      this.#healthy = true
      const claimed = this.#claimedWhileFailing
      if (claimed > (counter as number) && claimed - (counter as number) <= MAX_CLAIM_JUMP) {
        this.#names.observe(formatName(this.#names.format, claimed))
        await this.persist().catch(ignore)
      } else if (legacy) await this.persist().catch(ignore)
    } catch (error) {
      this.#onError(storeError('load', error, 'agent server'))
    } finally {
      this.#loading = undefined
    }
  }
}

function ignore(): void {}
