/**
 * The chain engine: an ordered array of listener functions run one after the
 * other against a context object, plus an event emitter reporting what
 * happens. Every cio socket goes through one run of a chain, so `run()` stays
 * allocation-light: one control object and one result object per run.
 *
 * The listener array is copy-on-write: `add()`, `remove()` and re-ordering
 * replace it instead of changing it, so a run keeps the array it started with
 * and changes made while runs are in flight (paused ones included) take
 * effect from the next run, without index juggling.
 */
import { EventEmitter } from 'node:events'
import { CioError, codes } from '../errors.js'
import { listenerId } from './order.js'
import { describe, flatten, RunControl } from './run-control.js'
import type { ActionResult, AddResult, ChainAccess, ChainApi, ChainEvents, ChainOptions, DoneCallback, Listener, ListenerInput, ListenerTarget, RemoveResult, RunOptions, RunResult, Selection } from './types.js'

export type * from './types.js'

/**
 * An ordered set of listeners run by `run()`. Disabling a listener is kept
 * per chain (core listeners are shared by many chains, so it must not be
 * written onto the function); `options.disabled` on the function is only the
 * default.
 */
export class Chain<C extends object> extends EventEmitter<ChainEvents<C>> implements ChainApi<C> {
  #source: readonly Listener<C>[] = [] // in the order added
  #array: readonly Listener<C>[] = [] // what runs: #source, sorted by #order when there is one
  #dirty = false
  #disabled: string | true | undefined
  // per-chain override of fn.options.disabled: a reason, or false for "enabled here"
  readonly #toggled = new Map<Listener<C>, string | true | false>()
  readonly #base: object | undefined
  readonly #props: PropertyDescriptorMap | undefined
  readonly #hooks: Pick<ChainOptions<C>, 'buildContext' | 'order'>
  readonly #access: ChainAccess<C>

  /** Takes listeners, arrays of them, and at most one options object, in any mix. */
  constructor(...args: Array<ListenerInput<C> | ChainOptions<C>>) {
    super()
    let options: ChainOptions<C> | undefined
    const inputs: ListenerInput<C>[] = []
    for (const arg of args) {
      if (typeof arg === 'function' || Array.isArray(arg)) inputs.push(arg as ListenerInput<C>)
      else if (typeof arg === 'object' && arg !== null && options === undefined) {
        options = arg as ChainOptions<C>
        if (options.array !== undefined) inputs.push(options.array)
      } else {
        throw new CioError(codes.INVALID_ARGUMENT,
          `Chain: arguments must be listeners, arrays of listeners or one options object, got ${describe(arg)}`)
      }
    }
    for (const key of ['buildContext', 'order'] as const) {
      if (options?.[key] !== undefined && typeof options[key] !== 'function') {
        throw new CioError(codes.INVALID_OPTION, `Chain: options.${key} must be a function, got ${describe(options[key])}`,
          { details: { option: key } })
      }
    }
    this.#base = options?.base
    this.#props = options?.props
    this.#hooks = { buildContext: options?.buildContext, order: options?.order }
    this.#access = {
      chain: this,
      isDisabled: (fn) => this.#isDisabled(fn),
      remove: (fn, index, reason) => this.#removeAt(this.#find(this.#array[index] === fn ? index : fn), reason).result,
      disable: (fn, reason) => this.#toggle([fn], reason ?? true),
    }
    this.#set(flatten(inputs))
  }

  /** True when runs of this chain skip `listener`: the chain is disabled, or the listener is (here, or by its own options and not enabled here). */
  isDisabled(listener: Listener<C>): boolean {
    return this.#disabled !== undefined || this.#isDisabled(listener)
  }

  /** The listeners in run order (sorted at the start of the next run when an `order` function is set). */
  get array(): readonly Listener<C>[] {
    return this.#array
  }

  /** Appends listeners (nested arrays are flattened); emits `add` when there were any. */
  add(...fns: ListenerInput<C>[]): AddResult<C> {
    const added = flatten(fns)
    const result: AddResult<C> = { result: true, added, chain: this }
    if (added.length === 0) return result
    this.#set([...this.#source, ...added], [...this.#array, ...added])
    this.emit('add', result)
    return result
  }

  /** Removes one listener, found by index, id or identity (the first match). */
  remove(which: ListenerTarget<C>, reason?: string): RemoveResult<C> {
    return this.#removeAt(this.#find(which), reason)
  }

  /** Removes every listener; emits `clear` when there were any. */
  clear(): RemoveResult<C> {
    const removed = this.#array.slice()
    const result: RemoveResult<C> = { result: true, removed, chain: this }
    if (removed.length === 0) {
      result.reason = 'chain empty'
      return result
    }
    this.#toggled.clear()
    this.#set([], [])
    this.emit('clear', result)
    return result
  }

  /**
   * `disable()` or `disable(reason)` disables the whole chain: runs are
   * refused until `enable()`. `disable(which, reason?)` disables one listener
   * in this chain. A lone string is chain-builder's chain reason, unless it
   * is the id of one of this chain's listeners: `disable('cio/rpc')`
   * disables that listener, as a reader expects, not the whole chain.
   */
  disable(reason?: string): ActionResult<C>
  disable(which: ListenerTarget<C>, reason?: string): ActionResult<C>
  disable(...args: [which?: ListenerTarget<C>, reason?: string]): ActionResult<C> {
    const [which, reason] = args
    const namesListener = typeof which === 'string' && this.#array.some((fn) => listenerId(fn) === which)
    if (args.length > 1 || (which !== undefined && typeof which !== 'string') || namesListener) {
      return this.#toggle(this.#listeners(this.#find(which as ListenerTarget<C>)), reason ?? true)
    }
    this.#disabled = which ?? true
    const result: ActionResult<C> = { result: true, reason: this.#disabled, target: 'chain', listeners: [], chain: this }
    this.emit('disable', result)
    return result
  }

  /** `enable()` re-enables the chain, `enable(which)` one listener; emits `enable` only when something was disabled. */
  enable(...args: [which?: ListenerTarget<C>]): ActionResult<C> {
    if (args.length > 0) return this.#toggle(this.#listeners(this.#find(args[0] as ListenerTarget<C>)), false)
    if (this.#disabled === undefined) return { result: false, reason: 'chain not disabled', target: 'chain', listeners: [], chain: this }
    this.#disabled = undefined
    const result: ActionResult<C> = { result: true, target: 'chain', listeners: [], chain: this }
    this.emit('enable', result)
    return result
  }

  /** Selects listeners by `predicate(fn, index)` to remove, disable, enable or `affect` them together. */
  select(predicate: (fn: Listener<C>, index: number) => boolean): Selection<C> {
    if (typeof predicate !== 'function') {
      throw new CioError(codes.INVALID_ARGUMENT, `chain.select: the predicate must be a function, got ${describe(predicate)}`)
    }
    const pick = (): number[] => {
      const indexes: number[] = []
      this.#array.forEach((fn, index) => { if (predicate(fn, index)) indexes.push(index) })
      return indexes
    }
    return {
      remove: (reason) => this.#removeAt(pick(), reason),
      disable: (reason) => this.#toggle(this.#listeners(pick()), reason ?? true),
      enable: () => this.#toggle(this.#listeners(pick()), false),
      affect: (action) => {
        const array = this.#array // actions may change the chain; walk the array as it was
        const listeners: Listener<C>[] = []
        const results: unknown[] = []
        array.forEach((fn, index) => {
          if (!predicate(fn, index)) return
          listeners.push(fn)
          results.push(action(fn, index, this))
        })
        return { result: listeners.length > 0, target: 'listeners', listeners, results, chain: this }
      },
    }
  }

  /**
   * Runs the chain once. Returns when the run is over, or at once with
   * `paused` set when a listener paused it; `done` is called once either way.
   * A disabled chain runs nothing, emits nothing and returns `result: false`
   * with a reason and `disabled` (the reason given to `disable()`, or
   * `true`); `done` still gets that result, with null failure info.
   * Nothing a listener throws escapes: the run fails instead. When ordering
   * fails, the run fails before any listener runs.
   */
  run(options?: RunOptions<C>, done?: DoneCallback<C>): RunResult<C> {
    const context = this.#hooks.buildContext !== undefined ? this.#hooks.buildContext(options ?? {}) : this.#defaultContext(options)
    const callback = options?.done ?? done
    if (this.#disabled !== undefined) {
      const reason = this.#disabled === true ? 'chain disabled' : `chain disabled: ${this.#disabled}`
      const result: RunResult<C> = { result: false, reason, disabled: this.#disabled, context, chain: this }
      if (callback !== undefined) process.nextTick(callback, null, result)
      return result
    }
    let orderError: { error: unknown } | undefined
    if (this.#hooks.order !== undefined && this.#dirty) {
      try {
        this.#array = this.#hooks.order(this.#source)
        this.#dirty = false
      } catch (error) {
        orderError = { error }
      }
    }
    const control = new RunControl(this.#access, this.#array, context, callback)
    this.emit('start', context)
    return orderError === undefined ? control.start() : control.abort(orderError.error)
  }

  #defaultContext(options: RunOptions<C> | undefined): C {
    if (options?.context !== undefined) return options.context
    const base = options?.base ?? this.#base ?? {}
    const props = options?.props ?? this.#props
    return (props === undefined ? Object.create(base) : Object.create(base, props)) as C
  }

  #isDisabled(fn: Listener<C>): boolean {
    const toggled = this.#toggled.size === 0 ? undefined : this.#toggled.get(fn)
    return toggled === undefined ? Boolean(fn.options?.disabled) : toggled !== false
  }

  /** Position in the run array of an index, id or function: `[index]`, or `[]` when there is none. */
  #find(which: ListenerTarget<C>): number[] {
    const array = this.#array
    let index: number
    switch (typeof which) {
      case 'number': index = Number.isInteger(which) && which < array.length ? which : -1; break
      case 'string': index = array.findIndex((fn) => listenerId(fn) === which); break
      case 'function': index = array.indexOf(which); break
      default: throw new CioError(codes.INVALID_ARGUMENT, `chain: expected an index, an id or a listener, got ${describe(which)}`)
    }
    return index < 0 ? [] : [index]
  }

  #listeners(indexes: number[]): Listener<C>[] {
    return indexes.map((index) => this.#array[index] as Listener<C>)
  }

  #removeAt(indexes: number[], reason: string | undefined): RemoveResult<C> {
    if (indexes.length === 0) return { result: false, reason: 'not found', removed: [], chain: this }
    const removed = this.#listeners(indexes)
    const array = this.#array.filter((_, index) => !indexes.includes(index))
    let source = array
    if (this.#hooks.order !== undefined) {
      source = this.#source.slice()
      for (const fn of removed) source.splice(source.indexOf(fn), 1)
    }
    this.#set(source, array)
    for (const fn of removed) if (!array.includes(fn)) this.#toggled.delete(fn)
    const result: RemoveResult<C> = { result: true, removed, chain: this }
    if (reason !== undefined) result.reason = reason
    this.emit('remove', result)
    return result
  }

  /** Disables (`state` is a reason or true) or enables (`state` false) listeners; enabling only counts those disabled. */
  #toggle(fns: Listener<C>[], state: string | true | false): ActionResult<C> {
    const listeners = state === false ? fns.filter((fn) => this.#isDisabled(fn)) : fns
    for (const fn of listeners) {
      if (state === false && !fn.options?.disabled) this.#toggled.delete(fn)
      else this.#toggled.set(fn, state)
    }
    const result: ActionResult<C> = { result: listeners.length > 0, target: 'listeners', listeners, chain: this }
    if (listeners.length === 0) result.reason = fns.length === 0 ? 'not found' : 'not disabled'
    else if (state !== false) result.reason = state
    if (result.result) this.emit(state === false ? 'enable' : 'disable', result)
    return result
  }

  /** Installs new arrays; without an `order` function the run array is the source itself. */
  #set(source: readonly Listener<C>[], array: readonly Listener<C>[] = source): void {
    this.#source = source
    this.#array = this.#hooks.order === undefined ? source : array
    this.#dirty = true
  }
}

/** Same as `new Chain(...args)`. */
export function buildChain<C extends object>(...args: Array<ListenerInput<C> | ChainOptions<C>>): Chain<C> {
  return new Chain<C>(...args)
}
