import type { Listener } from '../lib/chain/types.js'
import type { BaseContext } from '../lib/core/types.js'
import { readCertOptions } from '../lib/tls/cert-values.js'

/** Turns certificate paths and PEM strings into Buffers; a bad path fails the run with `CERT_READ`. */
export const ensureCerts: Listener<BaseContext> = function ensureCerts(_control, context) {
  readCertOptions(context.options)
}
ensureCerts.options = { id: 'cio/ensure-certs', after: ['cio/move-aliases'] }

export default ensureCerts
