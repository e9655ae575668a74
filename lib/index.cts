/**
 * The CommonJS entry, `require('cio')`: as in cio 0.5, the value is the
 * builder function, `require('cio')(options)`, with every named export of
 * `cio` as a property (`require('cio').CioError`, `.Chain`, `.AgentServer`).
 * It loads the ES module build with require() (Node 20.19 and later), so
 * both ways of loading share one implementation: one `CioError` class, one
 * set of listeners, whichever way a program or an addon loaded cio.
 */
import esm = require('./index.js')

/** Same as `buildCio(options)`. */
function cio(options?: esm.CioOptions): esm.Cio {
  return esm.buildCio(options)
}

const entry: typeof cio & typeof esm = Object.assign(cio, esm)

export = entry
