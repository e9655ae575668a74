import { createRequire } from 'node:module'
import { join } from 'node:path'
import { CioError, codes, describeError } from '../errors.js'

/** Built-in listener ids that may be named as strings, mapped to their module under `cio/listeners/`. */
export const BUILTIN_LISTENER_MODULES: Readonly<Record<string, string>> = Object.freeze({
  'cio/move-aliases': 'move-aliases',
  'cio/secure': 'secure',
  'cio/ensure-certs': 'ensure-certs',
  'cio/createClient': 'create-client',
  'cio/createServer': 'create-server',
  'cio/relistener': 'relistener',
  'cio/emit-new-server-client': 'emit-new-server-client',
  'cio/authenticate-client': 'authenticate-client',
  'cio/frame': 'frame',
  'cio/rpc': 'rpc',
})

const selfRequire = createRequire(import.meta.url)

function resolveFrom(require: NodeJS.Require, name: string): string | undefined {
  try {
    return require.resolve(name)
  } catch {
    return undefined
  }
}

/**
 * Resolves a listener module name: first from the user's working directory
 * (their own modules and installed addons), then from cio itself, where
 * built-in ids such as `cio/rpc` name the listeners shipped with cio.
 */
export function resolveListenerModule(name: string, cwd = process.cwd()): string {
  const fromUser = resolveFrom(createRequire(join(cwd, 'package.json')), name)
  if (fromUser !== undefined) return fromUser
  const builtin = BUILTIN_LISTENER_MODULES[name]
  const fromCio = resolveFrom(selfRequire, builtin === undefined ? name : `cio/listeners/${builtin}`)
  if (fromCio !== undefined) return fromCio
  throw new CioError(codes.MODULE_LOAD, `Cannot find the listener module "${name}" from ${cwd} or from cio.`, { details: { module: name, cwd } })
}

/**
 * Loads a listener module synchronously (require works for ES modules
 * without top-level await from Node 20.19 on). The module's default export,
 * or the module itself, must be a listener function or an array of them;
 * checking that is left to the caller, which knows the argument's position.
 */
export function loadListenerModule(name: string, cwd = process.cwd()): unknown {
  const path = resolveListenerModule(name, cwd)
  let loaded: unknown
  try {
    loaded = selfRequire(path)
  } catch (cause) {
    throw new CioError(codes.MODULE_LOAD, `The listener module "${name}" (${path}) failed to load: ${describeError(cause)}`, { cause, details: { module: name, path } })
  }
  if (loaded !== null && typeof loaded === 'object' && 'default' in loaded) return loaded.default
  return loaded
}
