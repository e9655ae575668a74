/**
 * One run of a chain (its types are in `types.ts`). `RunControl` is both
 * the run's state and the `control` handed to every listener, so a run
 * allocates one of these and one result object, and listener calls allocate
 * nothing. Also holds two small helpers of `chain.ts`.
 */
import { inspect } from 'node:util'
import { CioError, codes, describeError } from '../errors.js'
import { listenerId } from './order.js'
import type { ChainAccess, Control, DoneCallback, FailedOutcome, Listener, ListenerInput, Outcome, Pause, RunResult } from './types.js'

const RUNNING = 0
const PAUSED = 1
const STOPPED = 2
const FAILED = 3
const FINISHED = 4

/** @internal Created by `Chain.run()`; listeners see it through the `Control` interface. */
export class RunControl<C extends object> implements Control<C> {
  readonly #access: ChainAccess<C>
  readonly #array: readonly Listener<C>[]
  readonly #done: DoneCallback<C> | undefined
  #context: C
  #nextContext: C | undefined
  #state = RUNNING
  #index = -1 // the furthest position the run has reached
  #current = -1 // position of the listener whose code is running now
  #depth = 0 // how many #execute() loops are on the stack
  #pauseCount = 0 // a Pause acts only while this is still the count it was made with
  #pause: Pause<C> | undefined
  #paused: Outcome<C> | undefined
  #stopped: Outcome<C> | undefined
  #failed: FailedOutcome<C> | undefined
  #removed: Listener<C>[] | undefined
  #final: RunResult<C> | undefined

  constructor(access: ChainAccess<C>, array: readonly Listener<C>[], context: C, done: DoneCallback<C> | undefined) {
    this.#access = access
    this.#array = array
    this.#context = context
    this.#done = done
  }

  /** @internal Runs until the end or a pause; returns the final result or the paused one. */
  start(): RunResult<C> {
    this.#drive()
    return this.#final ?? this.#snapshot()
  }

  /** @internal Fails the run before any listener runs, because the chain could not be ordered. */
  abort(error: unknown): RunResult<C> {
    this.#setFailed(`chain could not be ordered: ${describeError(error)}`, error)
    this.#finish()
    return this.#final as RunResult<C>
  }

  next(context?: C, permanent?: boolean): RunResult<C> {
    if (this.#state !== RUNNING) return this.#snapshot()
    if (context !== undefined) this.context(context, permanent)
    // the caller is still running once the rest returns: its stop()/remove() must name it
    const current = this.#current
    // the rest starts after the caller, however far an earlier next() went (retry style)
    if (current >= 0) this.#index = current
    this.#execute()
    this.#current = current
    return this.#snapshot()
  }

  context(context: C, permanent?: boolean): void {
    if (permanent) {
      this.#context = context
      this.#nextContext = undefined
    } else {
      this.#nextContext = context
    }
  }

  pause(reason?: string): Pause<C> {
    if (this.#state === PAUSED) return this.#pause as Pause<C>
    if (this.#state !== RUNNING) return this.#makePause(-1) // can never be live: every call only reports
    this.#state = PAUSED
    this.#paused = this.#outcome(reason ?? true)
    const pause = (this.#pause = this.#makePause(++this.#pauseCount))
    this.#access.chain.emit('pause', this.#paused, this.#context)
    return pause
  }

  stop(reason?: string): void {
    if (this.#state !== RUNNING && this.#state !== PAUSED) return
    const atRest = this.#endPause()
    this.#state = STOPPED
    this.#stopped = this.#outcome(reason)
    this.#access.chain.emit('stop', this.#stopped, this.#context)
    if (atRest) this.#finish()
  }

  fail(reason?: string, error?: unknown): void {
    if (this.#state !== RUNNING && this.#state !== PAUSED) return
    this.#setFailed(reason, error)
  }

  disable(reason?: string): void {
    const fn = this.#array[this.#current]
    if (fn !== undefined && this.#state !== FINISHED) this.#access.disable(fn, reason)
  }

  remove(reason?: string): void {
    const fn = this.#array[this.#current]
    if (fn === undefined || this.#state === FINISHED) return
    if (this.#access.remove(fn, this.#current, reason)) (this.#removed ??= []).push(fn)
  }

  /** Runs listeners from the furthest position reached, until the end, a pause, a stop or a failure. */
  #execute(): void {
    const array = this.#array
    const access = this.#access
    this.#depth++
    try {
      while (this.#state === RUNNING) {
        const index = ++this.#index
        if (index >= array.length) break
        const fn = array[index] as Listener<C>
        if (access.isDisabled(fn)) continue
        let context = this.#context
        if (this.#nextContext !== undefined) {
          context = this.#nextContext
          this.#nextContext = undefined
        }
        this.#current = index
        try {
          fn.call((fn.options?.this ?? context) as C, this, context)
        } catch (error) {
          // a throw is a bug worth reporting even after stop(), so only an earlier failure wins
          // (the cast undoes the loop condition's narrowing: the listener may have changed the state)
          if ((this.#state as number) !== FAILED) this.#setFailed('caught error', error)
        }
      }
    } finally {
      this.#depth--
    }
  }

  /** Runs from the outermost level (run() or a resume after run() returned) and finishes unless paused. */
  #drive(): void {
    this.#execute()
    if (this.#state !== PAUSED) this.#finish()
  }

  #resume(): void {
    const paused = this.#paused as Outcome<C>
    this.#endPause()
    this.#state = RUNNING
    this.#access.chain.emit('resume', paused, this.#context)
    // resumed from inside a listener: the loop on the stack simply carries on
    if (this.#depth === 0) this.#drive()
  }

  /** Forgets the pause, if any, and says whether run() had already returned because of it. */
  #endPause(): boolean {
    if (this.#state !== PAUSED) return false
    this.#paused = undefined
    this.#pause = undefined
    this.#pauseCount++
    return this.#depth === 0
  }

  #setFailed(reason: string | undefined, error: unknown): void {
    const atRest = this.#endPause()
    this.#state = FAILED
    const failed: FailedOutcome<C> = { reason, index: this.#current, fn: this.#array[this.#current] }
    if (error !== undefined) failed.error = error
    this.#failed = failed
    this.#access.chain.emit('fail', failed, this.#context)
    if (atRest) this.#finish()
  }

  #finish(): void {
    if (this.#final !== undefined) return
    this.#state = FINISHED
    const result = (this.#final = this.#snapshot())
    const failed = this.#failed
    const error = failed === undefined ? null : failed.error ?? chainFailed(failed)
    this.#access.chain.emit('done', error, result)
    // never synchronously: a caller's code after run() must not race its own callback
    if (this.#done !== undefined) process.nextTick(this.#done, failed ?? null, result)
  }

  #outcome(reason: string | true | undefined): Outcome<C> {
    return { reason, index: this.#current, fn: this.#array[this.#current] as Listener<C> }
  }

  #snapshot(): RunResult<C> {
    const result: RunResult<C> = {
      result: this.#failed === undefined && this.#state !== PAUSED,
      context: this.#context,
      chain: this.#access.chain,
    }
    if (this.#paused !== undefined) result.paused = this.#paused
    if (this.#stopped !== undefined) result.stopped = this.#stopped
    if (this.#failed !== undefined) result.failed = this.#failed
    if (this.#removed !== undefined) result.removed = this.#removed.slice()
    return result
  }

  /** The result as it stands: the final one once there is one. */
  #resultNow(): RunResult<C> {
    return this.#final ?? this.#snapshot()
  }

  /** Arrow functions, so that `pause.resume` can be handed around detached. */
  #makePause(count: number): Pause<C> {
    const live = (): boolean => this.#state === PAUSED && this.#pauseCount === count
    const pause: Pause<C> = {
      resume: () => {
        if (live()) this.#resume()
        return this.#resultNow()
      },
      stop: (reason) => {
        if (live()) this.stop(reason)
        return this.#resultNow()
      },
      fail: (reason, error) => {
        if (live()) this.#setFailed(reason, error)
        return this.#resultNow()
      },
      callback: (errorReason = 'callback received an error', key = 'result') => (error, value) => {
        if (!live()) return
        if (error !== null && error !== undefined) return this.#setFailed(errorReason, error)
        ;(this.#context as Record<string, unknown>)[key] = value
        this.#resume()
      },
    }
    return pause
  }
}

function chainFailed<C extends object>(failed: FailedOutcome<C>): CioError {
  const id = failed.fn === undefined ? undefined : listenerId(failed.fn)
  const where = failed.fn === undefined ? 'before any listener ran' : `in listener ${id ?? `#${failed.index}`}`
  return new CioError(codes.CHAIN_FAILED, `chain run failed ${where}: ${failed.reason ?? 'no reason given'}`, {
    details: { reason: failed.reason, index: failed.index, id },
  })
}

/** Flattens nested arrays into a new array, refusing anything that is not a function. */
export function flatten<C extends object>(inputs: readonly ListenerInput<C>[]): Listener<C>[] {
  const out: Listener<C>[] = []
  const walk = (items: readonly ListenerInput<C>[]): void => {
    for (const item of items) {
      if (Array.isArray(item)) walk(item as readonly ListenerInput<C>[])
      else if (typeof item === 'function') out.push(item as Listener<C>)
      else {
        throw new CioError(codes.CHAIN_INVALID_LISTENER,
          `chain: the listener at position ${out.length} is not a function: ${describe(item)}`,
          { details: { position: out.length } })
      }
    }
  }
  walk(inputs)
  return out
}

/** A value as error messages show it: inspected, with its type. */
export function describe(value: unknown): string {
  return `${inspect(value, { depth: 0, breakLength: Infinity })} (${value === null ? 'null' : typeof value})`
}
