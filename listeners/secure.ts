import type { Listener } from '../lib/chain/types.js'
import type { BaseContext } from '../lib/core/types.js'
import type { CioOptions } from '../lib/core/options.js'

/**
 * TLS is wanted when certificate material is given or verification is asked
 * for; an explicit boolean `secure` option overrides the guess either way.
 */
export function wantsTls(options: CioOptions): boolean {
  if (typeof options.secure === 'boolean') return options.secure
  return (
    options.key !== undefined ||
    options.cert !== undefined ||
    options.ca !== undefined ||
    options.pfx !== undefined ||
    options.rejectUnauthorized === true ||
    options.requestCert === true
  )
}

/** Decides between `net` and `tls` and records it as `context.secure` (and `isSecure`, cio 0.5's name). */
export const secure: Listener<BaseContext & { secure?: boolean; isSecure?: boolean }> = function secure(_control, context) {
  context.isSecure = context.secure = wantsTls(context.options)
}
secure.options = { id: 'cio/secure', after: ['cio/move-aliases'] }

export default secure
