/**
 * `RedisStore`: a `DataStore` that keeps its JSON document under one Redis
 * key, for a server without a disk or for agents. It is not a shared
 * counter: load and save are last-writer-wins, so several agent servers
 * must not share one as their `dataStore` (a cluster's names come from an
 * atomic counter instead).
 */
import type { Redis } from 'ioredis'
import { CioError, codes, describeError } from '../errors.js'
import { parseDoc, serialise, type DataStore, type StoreDoc } from '../agent/store.js'
import { openRedis } from './connection.js'
import { resolveStoreOptions, type RedisStoreOptions } from './options.js'

function failed(action: 'load' | 'save', key: string, cause: unknown): CioError {
  if (cause instanceof CioError) return cause
  return new CioError(codes.STORE_FAILED, `The Redis store could not ${action} ${JSON.stringify(key)}: ${describeError(cause)}.`, { cause, details: { action, key } })
}

/** A data store in one Redis key. Call `close()` when done: it holds a connection. */
export class RedisStore<Doc = StoreDoc> implements DataStore<Doc> {
  readonly #options: Required<RedisStoreOptions>
  #redis: Redis | undefined

  /** Checks the options (throws `INVALID_OPTION`); connects on first use. */
  constructor(options: RedisStoreOptions) {
    this.#options = resolveStoreOptions(options)
  }

  /** The key the document lives under. */
  get key(): string {
    return this.#options.key
  }

  #connection(): Redis {
    this.#redis ??= openRedis(this.#options.redis, this.#options.redisTimeout, 'cio-store')
    // A store that cannot reach Redis fails its calls; its connection errors must not crash the process.
    if (this.#redis.listenerCount('error') === 0) this.#redis.on('error', () => {})
    return this.#redis
  }

  /** Replaces the document; rejects `INVALID_ARGUMENT` for a non-object and `STORE_FAILED` when Redis fails. */
  async save(doc: Doc): Promise<void> {
    const text = serialise(doc)
    try {
      await this.#ready()
      await this.#connection().set(this.#options.key, text)
    } catch (cause) {
      throw failed('save', this.#options.key, cause)
    }
  }

  /** The last saved document or `undefined`; `STORE_FAILED` when Redis fails or the value is not a JSON object. */
  async load(): Promise<Doc | undefined> {
    try {
      await this.#ready()
      const text = await this.#connection().get(this.#options.key)
      return text === null ? undefined : (parseDoc(text) as Doc)
    } catch (cause) {
      throw failed('load', this.#options.key, cause)
    }
  }

  /** Closes the connection; the store reconnects if used again. */
  async close(): Promise<void> {
    const redis = this.#redis
    this.#redis = undefined
    redis?.disconnect()
  }

  /** Waits for the first connection, bounded by `redisTimeout` (no offline queue: commands before it would fail). */
  async #ready(): Promise<void> {
    const redis = this.#connection()
    if (redis.status === 'ready') return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`Redis did not answer within ${this.#options.redisTimeout} ms`)), this.#options.redisTimeout)
      const onReady = (): void => done()
      function done(error?: Error): void {
        clearTimeout(timer)
        redis.off('ready', onReady)
        if (error === undefined) resolve()
        else reject(error)
      }
      redis.on('ready', onReady)
    })
  }
}
