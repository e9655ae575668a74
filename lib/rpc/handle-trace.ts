/**
 * `cio:handle` published by hand, for a request that passes no
 * interceptors: the events and their order are those of
 * `TracingChannel.tracePromise` (start with the subscribers' stores, end
 * after the synchronous part, then error / asyncStart / asyncEnd), without
 * the three promises it would wrap around a handler that answers at once.
 */
import { handleChannel, outcomeCode, publishSettled, type CallTrace } from '../core/diagnostics.js'

export class HandleTrace {
  /** True until `end` is published: an outcome reached before it waits. */
  #starting = true
  #settled = false
  #failed = false

  constructor(readonly context: CallTrace) {}

  /** Publishes `start` around `step(run)` (binding the subscribers' stores), then `end`, then an outcome reached meanwhile. */
  run<T>(step: (run: T) => void, run: T): void {
    handleChannel.start.runStores(this.context, runStep, this, step, run)
  }

  /** The handlers answered `result`. */
  succeeded(result: unknown): void {
    if (this.#settled) return
    this.#settled = true
    this.context.result = result
    this.context.code = 'OK'
    if (!this.#starting) this.#publish()
  }

  /** The run ended with `error`: thrown by a handler, or the caller's cancel, or a drain's timeout. */
  failed(error: unknown): void {
    if (this.#settled) return
    this.#settled = this.#failed = true
    this.context.error = error
    this.context.code = outcomeCode(error)
    if (!this.#starting) this.#publish()
  }

  /** @internal Called by `runStep` once the synchronous part is over. */
  started(): void {
    handleChannel.end.publish(this.context)
    this.#starting = false
    if (this.#settled) this.#publish()
  }

  #publish(): void {
    publishSettled(handleChannel, this.context, this.#failed)
  }
}

function runStep<T>(this: HandleTrace, step: (run: T) => void, run: T): void {
  try {
    step(run)
  } finally {
    this.started()
  }
}
