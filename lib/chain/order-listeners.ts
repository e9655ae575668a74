import type { Listener } from './types.js'
import { order } from './order.js'

/**
 * How cio's chains are ordered. Users add anonymous functions and several
 * functions that happen to share a name far more often than they mean to
 * refer to them, so only an explicit `options.id` must be unique: a name
 * stands in for a missing id when no other listener uses it, and a listener
 * with neither gets a private id (it simply keeps its place), shown in
 * error messages as `<listener N>`, N its position in the chain.
 */
export function orderListeners<C extends object>(listeners: readonly Listener<C>[]): Listener<C>[] {
  const explicit = new Set<string>()
  const nameCount = new Map<string, number>()
  for (const fn of listeners) {
    const id = fn.options?.id
    if (id) explicit.add(id)
    else if (fn.name) nameCount.set(fn.name, (nameCount.get(fn.name) ?? 0) + 1)
  }
  const items = listeners.map((fn, index) => {
    if (fn.options?.id) return { fn, options: fn.options }
    const name = fn.name
    const id = name && nameCount.get(name) === 1 && !explicit.has(name) ? name : privateId(index, explicit, nameCount)
    return { fn, options: { ...fn.options, id } }
  })
  return order(items).map((item) => item.fn)
}

/** An id for a listener without a usable one: readable in messages, and taken by no other listener of the chain. */
function privateId(index: number, explicit: ReadonlySet<string>, names: ReadonlyMap<string, number>): string {
  let id = `<listener ${index}>`
  while (explicit.has(id) || names.has(id)) id += "'"
  return id
}
