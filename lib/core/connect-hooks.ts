import { CioError, codes } from '../errors.js'
import type { CioOptions } from './options.js'

const HOOKS = ['onConnect', 'onSecureConnect'] as const

/**
 * `onConnect` and `onSecureConnect` are called by Node's own events, where a
 * value that is not a function would be dropped without a word (or throw
 * inside the event); refuse it where it is given instead.
 */
export function checkConnectHooks(options: Readonly<CioOptions>): void {
  for (const name of HOOKS) {
    const hook = options[name]
    if (hook !== undefined && typeof hook !== 'function') {
      throw new CioError(codes.INVALID_OPTION, `The "${name}" option must be a function (socket), got ${hook === null ? 'null' : typeof hook}.`, { details: { option: name } })
    }
  }
}
