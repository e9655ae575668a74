/**
 * The chain engine's types: what a listener is, what a run returns, the
 * `control` a listener gets, and `ChainApi`, the public face of `Chain`.
 * They live apart from the engine so that the engine's two halves (the
 * chain in `chain.ts`, one run in `run-control.ts`) depend on this file and
 * not on each other.
 */
import type { EventEmitter } from 'node:events'

/** Plain data a listener carries on itself as `fn.options`. */
export interface ListenerOptions {
  /** The name to remove, disable or order it by. @default the function's name */
  id?: string
  /** Ids of listeners this one must run before; `'*'` means all that do not say `'*'` too. */
  before?: string | readonly string[]
  /** Ids of listeners this one must run after; `'*'` means all that do not say `'*'` too. */
  after?: string | readonly string[]
  /** The `ordering` package's name for `after`; both may be given and both count. */
  needs?: string | readonly string[]
  /** Skip it in every chain (a string gives the reason). Chains can override this per chain. */
  disabled?: boolean | string
  /** The `this` it is called with, instead of the context (saves a `bind`). */
  this?: object
}

/**
 * A chain member: called with `this` = the context (or `options.this`); its
 * return value is ignored. Its parameters are bivariant (declared through a
 * method, see `ListenerMethod`): a chain's context appears both in what a
 * listener receives and, through `control.next()`'s result, in what it
 * returns, so strict typing would forbid a listener written for
 * `SocketContext` from joining a `ServerClientContext` chain. Contexts that
 * are not related at all are still refused.
 */
export type Listener<C extends object> = ListenerMethod<C>['listener'] & { options?: ListenerOptions }

/** Only here to declare `Listener`'s call signature with method syntax. */
export interface ListenerMethod<C extends object> {
  listener(this: C, control: Control<C>, context: C): unknown
}

/** One listener, or arrays of them nested to any depth. */
export type ListenerInput<C extends object> = Listener<C> | readonly ListenerInput<C>[]

export interface RunOptions<C extends object> {
  /** Used as is. @default `Object.create(base, props)` */
  context?: C
  /** Prototype of a built context. @default the chain's `base`, else `{}` */
  base?: object
  /** Property descriptors of a built context. @default the chain's `props` */
  props?: PropertyDescriptorMap
  /** Wins over `run()`'s second argument. */
  done?: DoneCallback<C>
}

export interface ChainOptions<C extends object> {
  /** Initial listeners. */
  array?: ListenerInput<C>[]
  /** Default prototype of built contexts. @default `{}` */
  base?: object
  /** Default property descriptors of built contexts. */
  props?: PropertyDescriptorMap
  /** Replaces the default context building (`options.context`, else `Object.create(base, props)`). */
  buildContext?(options: RunOptions<C>): C
  /** Sorts the listeners before a run when some were added or removed since; usually `orderListeners` from `lib/chain/order-listeners.js`. */
  order?(listeners: readonly Listener<C>[]): Listener<C>[]
}

export interface AddResult<C extends object> { result: true; added: Listener<C>[]; chain: ChainApi<C> }
export interface RemoveResult<C extends object> { result: boolean; reason?: string; removed: Listener<C>[]; chain: ChainApi<C> }
/**
 * What `disable()`, `enable()` and the `select()` actions report; `target:
 * 'chain'` for the whole chain. A disable without a reason reports `reason:
 * true`, as chain-builder did.
 */
export interface ActionResult<C extends object> { result: boolean; reason?: string | true; target: 'chain' | 'listeners'; listeners: Listener<C>[]; chain: ChainApi<C> }

/** What `select().affect()` reports: the listeners it was applied to and what the affector returned for each. */
export interface AffectResult<C extends object> extends ActionResult<C> { results: unknown[] }

/** Applies an action to every listener `select()`'s predicate accepts (evaluated at each call). */
export interface Selection<C extends object> {
  remove(reason?: string): RemoveResult<C>
  disable(reason?: string): ActionResult<C>
  enable(): ActionResult<C>
  affect(action: (fn: Listener<C>, index: number, chain: ChainApi<C>) => unknown): AffectResult<C>
}

/** Events of a chain and their arguments. `start` is the first event of a run and `done` its last. */
export interface ChainEvents<C extends object> {
  add: [result: AddResult<C>]
  remove: [result: RemoveResult<C>]
  clear: [result: RemoveResult<C>]
  disable: [result: ActionResult<C>]
  enable: [result: ActionResult<C>]
  start: [context: C]
  pause: [paused: Outcome<C>, context: C]
  resume: [paused: Outcome<C>, context: C]
  stop: [stopped: Outcome<C>, context: C]
  fail: [failed: FailedOutcome<C>, context: C]
  done: [error: unknown, result: RunResult<C>]
}

/** Where a run paused or stopped: the listener's position in the run's array and the listener. */
export interface Outcome<C extends object> {
  /** The reason given; `true` for a pause without one (chain-builder's value). */
  reason?: string | true
  index: number
  fn: Listener<C>
}

/** Where and why a run failed. `index` is -1 and `fn` undefined when no listener ran (the chain could not be ordered). */
export interface FailedOutcome<C extends object> extends Omit<Outcome<C>, 'fn' | 'reason'> {
  reason?: string
  fn: Listener<C> | undefined
  error?: unknown
}

/**
 * What `run()` returns and `done` receives. `result` is true when the run
 * completed or was stopped, false when it failed, was refused (see `reason`)
 * or is paused (the final result then goes to `done`).
 */
export interface RunResult<C extends object> {
  result: boolean
  context: C
  chain: ChainApi<C>
  paused?: Outcome<C>
  stopped?: Outcome<C>
  failed?: FailedOutcome<C>
  /** Listeners that removed themselves with `control.remove()` during the run. */
  removed?: Listener<C>[]
  /** Why the run did not start, e.g. 'chain disabled: <reason>'. */
  reason?: string
  /** Set when the chain is disabled: the reason given to `disable()`, or `true`. */
  disabled?: string | true
}

/**
 * The first argument of every listener; one per run. Call its methods on it
 * (`control.next()`), not detached. Members use method syntax on purpose: it
 * makes their parameters bivariant, so a listener written for a wider context
 * can join chains of narrower, related contexts.
 */
export interface Control<C extends object> {
  /**
   * Runs the rest of the chain now and returns its result; after a pause in
   * the rest it returns at once with `paused` set. Each call runs the rest
   * again while the run goes on (chain-builder's "retry style"); once the
   * rest paused, stopped or failed, a call only returns the result.
   */
  next(context?: C, permanent?: boolean): RunResult<C>
  /** Gives the next listener `context`; with `permanent`, the rest of the run and the result use it. */
  context(context: C, permanent?: boolean): void
  /** Suspends the run: `run()` returns with `paused` (its reason `true` when none is given) and continues on `resume()`. */
  pause(reason?: string): Pause<C>
  /** Ends the run early as a success. Ignored once the run stopped or failed. */
  stop(reason?: string): void
  /** Ends the run as a failure. Ignored once the run stopped or failed. */
  fail(reason?: string, error?: unknown): void
  /** Disables the running listener in this chain; the run goes on. */
  disable(reason?: string): void
  /** Removes the running listener from the chain; it is listed in the result's `removed`. */
  remove(reason?: string): void
}

/**
 * Returned by `control.pause()`. Its functions may be passed around detached
 * (`setTimeout(pause.resume)`); only the first call of any of them counts.
 * `resume`, `stop` and `fail` return the run's result as it stands when they
 * return: the final one, unless the run paused again (or they were called
 * from inside a listener still running, which carries the run on).
 */
export interface Pause<C extends object = object> {
  resume(): RunResult<C>
  stop(reason?: string): RunResult<C>
  fail(reason?: string, error?: unknown): RunResult<C>
  /**
   * A Node-style callback: on an error (anything but null/undefined) it fails
   * the run with `errorReason` (default 'callback received an error'), else it
   * stores the value at `context[key]` (default 'result') and resumes.
   */
  callback(errorReason?: string, key?: string): (error: unknown, value?: unknown) => void
}

/**
 * Called once per run, always asynchronously, after the `done` event. Its
 * first argument is chain-builder's failure info, the run's `failed`
 * (`{ reason, index, fn, error }`), or null when the run did not fail.
 */
export type DoneCallback<C extends object> = DoneMethod<C>['done']

/** Declares `DoneCallback` with method syntax, for the same reason as `ListenerMethod`. */
export interface DoneMethod<C extends object> {
  done(failed: FailedOutcome<C> | null, result: RunResult<C>): void
}

/** What a run needs from its chain beyond the public API; made once per chain. */
export interface ChainAccess<C extends object> {
  readonly chain: ChainApi<C>
  isDisabled(fn: Listener<C>): boolean
  /** Removes `fn`, expected at `index` of the chain's array; false when it is no longer there. */
  remove(fn: Listener<C>, index: number, reason: string | undefined): boolean
  disable(fn: Listener<C>, reason: string | undefined): unknown
}

/** A listener named by its position in the chain's array, its id, or itself. */
export type ListenerTarget<C extends object> = number | string | Listener<C>

/** The public methods of a chain; `Chain` implements it. */
export interface ChainApi<C extends object> extends EventEmitter<ChainEvents<C>> {
  /** The listeners in run order. */
  readonly array: readonly Listener<C>[]
  /** True when runs of this chain skip `listener`. */
  isDisabled(listener: Listener<C>): boolean
  add(...fns: ListenerInput<C>[]): AddResult<C>
  remove(which: ListenerTarget<C>, reason?: string): RemoveResult<C>
  clear(): RemoveResult<C>
  /** The whole chain, or (a listener's id alone, or with a reason) that listener: see `Chain.disable`. */
  disable(reason?: string): ActionResult<C>
  disable(which: ListenerTarget<C>, reason?: string): ActionResult<C>
  enable(which?: ListenerTarget<C>): ActionResult<C>
  select(predicate: (fn: Listener<C>, index: number) => boolean): Selection<C>
  run(options?: RunOptions<C>, done?: DoneCallback<C>): RunResult<C>
}
