import type { Listener } from '../lib/chain/types.js'
import type { BaseContext } from '../lib/core/types.js'
import { moveCertAliases } from '../lib/core/aliases.js'

/** Renames `private`/`public`/`root` to Node's `key`/`cert`/`ca` before anything reads them. */
export const moveAliases: Listener<BaseContext> = function moveAliases(_control, context) {
  moveCertAliases(context.options)
}
moveAliases.options = { id: 'cio/move-aliases', before: ['cio/secure', 'cio/ensure-certs'] }

export default moveAliases
