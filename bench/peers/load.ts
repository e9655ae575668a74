/**
 * Finds the adapters: every module in `adapters/`, imported one by one. A
 * module that fails to import (a library not installed, cio's agent layer
 * not written yet) is skipped with its reason instead of stopping the run.
 */
import { readdirSync } from 'node:fs'
import type { Adapter, AdapterModule } from './adapter.js'

const folder = new URL('./adapters/', import.meta.url)

/** Preferred row order; adapters not named here come after, by id. */
const ORDER = ['baseline', 'baseline-tls', 'cio-rpc', 'cio-agent', 'cio-agent-tls', 'socket.io', 'ws', 'jayson', 'axon', 'grpc']

export interface Loaded {
  adapter: Adapter
  /** The module's file name in `adapters/`, passed to the child. */
  file: string
}

export interface Skipped {
  file: string
  reason: string
}

function reasonOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return text.split('\n')[0] ?? text
}

export async function importAdapters(file: string): Promise<Adapter[]> {
  const module = (await import(new URL(file, folder).href)) as AdapterModule
  const value = module.default
  return Array.isArray(value) ? [...(value as readonly Adapter[])] : [value as Adapter]
}

export async function loadAdapters(): Promise<{ loaded: Loaded[]; skipped: Skipped[] }> {
  const files = readdirSync(folder)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .sort()
  const loaded: Loaded[] = []
  const skipped: Skipped[] = []
  for (const file of files) {
    try {
      for (const adapter of await importAdapters(file)) loaded.push({ adapter, file })
    } catch (error) {
      skipped.push({ file, reason: reasonOf(error) })
    }
  }
  const rank = (id: string): number => {
    const index = ORDER.indexOf(id)
    return index === -1 ? ORDER.length : index
  }
  loaded.sort((a, b) => rank(a.adapter.id) - rank(b.adapter.id) || a.adapter.id.localeCompare(b.adapter.id))
  return { loaded, skipped }
}

export { reasonOf }
