import { CioError, codes } from '../errors.js'
import type { CioOptions } from './options.js'

/** cio's friendlier names for Node's certificate options: alias → Node's name. */
export const CERT_ALIASES = { private: 'key', public: 'cert', root: 'ca' } as const

type Alias = keyof typeof CERT_ALIASES
const ALIAS_NAMES = Object.keys(CERT_ALIASES) as Alias[]

/**
 * Moves `private`/`public`/`root` onto `key`/`cert`/`ca` in place. Giving both
 * names of one pair in the same options object is a contradiction: which one
 * was meant cannot be known, so it throws rather than guess.
 */
export function moveCertAliases(options: CioOptions): CioOptions {
  for (const alias of ALIAS_NAMES) {
    if (options[alias] === undefined) continue
    const name = CERT_ALIASES[alias]
    if (options[name] !== undefined) {
      throw new CioError(codes.INVALID_OPTION, `The options "${alias}" and "${name}" name the same thing; give only one of them.`, { details: { option: alias, conflictsWith: name } })
    }
    options[name] = options[alias]
    delete options[alias]
  }
  return options
}

/**
 * Module defaults beneath a call's options. A certificate given under either
 * of its two names in the call replaces both names from the defaults, so a
 * call's `private` wins over a module-level `key`.
 */
export function mergeOptions(defaults: CioOptions, overrides: CioOptions | undefined): CioOptions {
  const merged: CioOptions = { ...defaults }
  if (overrides === undefined) return merged
  for (const alias of ALIAS_NAMES) {
    if (overrides[alias] !== undefined || overrides[CERT_ALIASES[alias]] !== undefined) {
      delete merged[alias]
      delete merged[CERT_ALIASES[alias]]
    }
  }
  return Object.assign(merged, overrides)
}
