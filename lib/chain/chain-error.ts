import type { RunResult } from './types.js'
import { CioError, codes, describeError } from '../errors.js'

/** A chain run that failed; `result` is the run's whole result. */
export class ChainError<C extends object = object> extends CioError {
  readonly result: RunResult<C>

  constructor(chainName: string, result: RunResult<C>) {
    const failed = result.failed
    const reason = failed?.reason ?? result.reason ?? 'the run did not succeed'
    const cause: unknown = failed?.error
    const detail = cause === undefined || reason.includes(describeError(cause)) ? '' : `: ${describeError(cause)}`
    super(codes.CHAIN_FAILED, `The ${chainName} chain failed: ${reason}${detail}`, { cause, details: { chain: chainName } })
    this.name = 'ChainError'
    this.result = result
  }
}
