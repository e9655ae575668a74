/**
 * An agent's memory of its name: the data store's `{ name }` document, or
 * websocket-agent 1.2's `{ id }`, read so that migrating keeps the name and
 * replaced by cio's document at the next save. A store that fails is
 * reported and worked around, never fatal: the agent then connects without
 * a name and the server gives it a new one.
 */
import type { CioError } from '../../errors.js'
import { storeError } from '../store.js'
import { isAgentName } from '../protocol.js'
import { DEFAULT_STORE_TIMEOUT, settleWithin, type DataStore, type StoreDoc } from '../store.js'
import { LEGACY_AGENT_NAME_KEY } from '../compat.js'

export class AgentNameStore {
  readonly #store: DataStore<StoreDoc>
  readonly #onError: (error: CioError) => void
  /** The name the store holds, as far as this process knows. */
  #stored: string | undefined
  #queue: Promise<void> = Promise.resolve()

  constructor(store: DataStore<StoreDoc>, onError: (error: CioError) => void) {
    this.#store = store
    this.#onError = onError
  }

  /** The stored name, or undefined (none yet, an invalid one, or a failing store). */
  async load(): Promise<string | undefined> {
    try {
      // A load that never settles (a FIFO, a dead database) must not keep the agent from connecting.
      const doc = await settleWithin(this.#store.load(), DEFAULT_STORE_TIMEOUT, 'load')
      const legacy = doc?.name === undefined && doc?.[LEGACY_AGENT_NAME_KEY] !== undefined
      const name = legacy ? doc?.[LEGACY_AGENT_NAME_KEY] : doc?.name
      if (name === undefined) return undefined
      if (!isAgentName(name)) throw new TypeError(`it holds an invalid agent name, ${JSON.stringify(name)}`)
      // a websocket-agent document is rewritten in cio's format at the first save
      if (!legacy) this.#stored = name
      return name
    } catch (error) {
      this.#onError(storeError('load', error, 'agent'))
      return undefined
    }
  }

  /** Saves `name` unless the store already holds it; saves run one after another. */
  save(name: string): void {
    if (name === this.#stored) return
    this.#stored = name
    const store = this.#store
    this.#queue = this.#queue
      .then(() => store.save({ name }))
      .catch((error: unknown) => {
        this.#stored = undefined
        this.#onError(storeError('save', error, 'agent'))
      })
  }

  /** Resolves when no save is running. */
  idle(): Promise<void> {
    return this.#queue
  }
}
