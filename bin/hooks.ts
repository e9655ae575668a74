import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { UsageError } from './usage.js'

/** What a hooks module may export as default: a map of action → handler, or a function given the server or agent. */
export type HooksExport = Record<string, (...args: never[]) => unknown> | ((target: unknown) => unknown)

/**
 * Loads the user's hooks module, resolved from the working directory (a
 * path or an installed package name).
 */
export async function loadHooks(name: string, usage: string): Promise<HooksExport> {
  let url: string
  try {
    const path = name.startsWith('.') || name.startsWith('/') ? resolve(name) : createRequire(join(process.cwd(), 'package.json')).resolve(name)
    url = pathToFileURL(path).href
  } catch {
    throw new UsageError(`cannot find the hooks module "${name}"`, usage)
  }
  const loaded = (await import(url)) as { default?: unknown }
  const value = loaded.default ?? loaded
  if (typeof value === 'function') return value as HooksExport
  if (value !== null && typeof value === 'object') {
    for (const [action, handler] of Object.entries(value)) {
      if (typeof handler !== 'function') throw new UsageError(`the hooks module "${name}" exports "${action}" as ${typeof handler}, not a function`, usage)
    }
    return value as HooksExport
  }
  throw new UsageError(`the hooks module "${name}" must export a map of action handlers or a function`, usage)
}
