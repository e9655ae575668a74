/**
 * The ordering engine: sorts listeners by the `before`/`after` constraints in
 * their `options`. It is a Kahn topological sort that always emits the ready
 * item that comes first, so items that no constraint relates keep the order
 * in which they were given, and the same input always yields the same output.
 *
 * "Comes first" is the item's position, except that an item that says
 * `before: X` counts as early as X when X is earlier. The item that states a
 * constraint is the one that moves: with `after` it waits for its target
 * anyway, and with `before` it is pulled up to its target instead of its
 * target waiting for it, which would let unrelated items slip ahead of the
 * target (say, a listener added later without constraints overtaking
 * `cio/createServer` just because some other listener must precede it).
 */
import { CioError, codes } from '../errors.js'

/** The part of an item's options that `order()` reads. */
export interface OrderOptions {
  /** The id other items name in their constraints. @default the item's `name` */
  id?: string | undefined
  /** Ids this item must come before; `'*'` means every item that does not say `'*'` too. */
  before?: string | readonly string[] | undefined
  /** Ids this item must come after; `'*'` means every item that does not say `'*'` too. */
  after?: string | readonly string[] | undefined
  /** The `ordering` package's name for `after`; both may be given and both count. */
  needs?: string | readonly string[] | undefined
}

/** Anything `order()` can sort: a listener, or any object shaped like one. */
export interface Orderable {
  options?: OrderOptions | undefined
  name?: string
}

/**
 * The id a listener is known by: `options.id`, else the function's name.
 * Anonymous functions have the name `''`, which counts as no id.
 */
export function listenerId(item: Orderable): string | undefined {
  return item.options?.id || item.name || undefined
}

// Nodes 0 and 1 are hubs standing for '*': every item with `before: '*'`
// points at BEFORE_ALL, which points at every item without it (and the mirror
// for AFTER_ALL). That keeps '*' at O(n) edges instead of O(n²), and because
// hubs have the smallest numbers they are emitted the moment they are ready,
// so they never change which real item is picked next.
const BEFORE_ALL = 0
const AFTER_ALL = 1
const HUBS = 2

/** `order()`'s object form, as the `ordering` package took it. */
export interface OrderInput<T extends Orderable> {
  array: readonly T[]
}

/** How a value looks in an error message about `order()`'s input. */
function kind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
}

function badInput(message: string, details: Record<string, unknown>): CioError {
  return new CioError(codes.INVALID_ARGUMENT, `order: ${message}`, { details })
}

/**
 * The items of any of `order()`'s three call forms, `order(array)`,
 * `order({ array })` and `order(a, b, ...)`, each checked to be a listener
 * or an object (`ordering` reported bad input; it must not surface as a raw
 * TypeError from deep inside the sort).
 */
function itemsOf<T extends Orderable>(args: readonly unknown[]): readonly T[] {
  let items: readonly unknown[]
  const [first] = args
  if (args.length > 1) {
    items = args
  } else if (Array.isArray(first)) {
    items = first
  } else if (typeof first === 'function') {
    items = args
  } else if (typeof first === 'object' && first !== null && 'array' in first) {
    const array: unknown = first.array
    if (!Array.isArray(array)) throw badInput(`the "array" option must be an array of listeners, got ${kind(array)}`, { argument: 'array' })
    items = array
  } else {
    throw badInput(`expected an array of listeners, { array } or listeners as arguments, got ${args.length === 0 ? 'nothing' : first !== null && typeof first === 'object' ? 'an object without "array"' : kind(first)}`, { argument: 0 })
  }
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    if (typeof item !== 'function' && (typeof item !== 'object' || item === null || Array.isArray(item))) {
      throw badInput(`the item at position ${i} is ${kind(item)}; expected a listener function or an object with options`, { position: i })
    }
  }
  return items as readonly T[]
}

/**
 * Returns a new array holding `items` sorted so that every `before`/`after`
 * constraint holds (`needs` is `ordering`'s other name for `after`). Takes
 * `order(array)`, `order({ array })` or `order(a, b, ...)`. `'*'` means every item that does not itself say the same
 * `'*'`; ids that no item carries are ignored, so optional listeners may be
 * absent. Among the items free to go next, the one that comes first goes
 * (see the module comment for what "first" means). The input is never changed.
 *
 * @throws CioError `INVALID_ARGUMENT` for input that is none of the three
 *   forms or holds an item that is neither a function nor an object (named
 *   by its position), `ORDER_MISSING_ID` when an item has neither `options.id` nor a name,
 *   `ORDER_DUPLICATE_ID` when two items share an id, `INVALID_OPTION` when
 *   `before`/`after` is not a string or an array of strings, and `ORDER_CYCLE`
 *   when the constraints contradict each other (`details.cycle` lists the ids,
 *   each of which must run before the next, the last before the first).
 */
export function order<T extends Orderable>(items: readonly T[]): T[]
export function order<T extends Orderable>(options: OrderInput<T>): T[]
export function order<T extends Orderable>(...items: T[]): T[]
export function order<T extends Orderable>(...args: unknown[]): T[] {
  const items = itemsOf<T>(args)
  const n = items.length
  const ids: string[] = new Array<string>(n)
  const indexOf = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const id = listenerId(items[i] as T)
    if (id === undefined) {
      throw new CioError(codes.ORDER_MISSING_ID,
        `order: the listener at position ${i} has no id; give it options.id or a function name`,
        { details: { position: i } })
    }
    const first = indexOf.get(id)
    if (first !== undefined) {
      throw new CioError(codes.ORDER_DUPLICATE_ID,
        `order: id "${id}" is used by the listeners at positions ${first} and ${i}`,
        { details: { id, positions: [first, i] } })
    }
    ids[i] = id
    indexOf.set(id, i)
  }

  const from: number[] = []
  const to: number[] = []
  const pullFrom: number[] = [] // the `before` edges, whose source is pulled up to its target
  const pullTo: number[] = []
  const starred: number[] = new Array<number>(n).fill(0) // bit 1: before '*', bit 2: after '*'
  for (let i = 0; i < n; i++) {
    const options = (items[i] as T).options
    if (options === undefined) continue
    const { before, after, needs } = options
    if (typeof before === 'string') constrain(i, before, 1)
    else if (before !== undefined) for (const target of idList(before, ids[i] as string, 'before')) constrain(i, target, 1)
    if (typeof after === 'string') constrain(i, after, 2)
    else if (after !== undefined) for (const target of idList(after, ids[i] as string, 'after')) constrain(i, target, 2)
    if (typeof needs === 'string') constrain(i, needs, 2)
    else if (needs !== undefined) for (const target of idList(needs, ids[i] as string, 'needs')) constrain(i, target, 2)
  }
  let hubsUsed = 0
  for (let i = 0; i < n; i++) hubsUsed |= starred[i] as number
  if (hubsUsed !== 0) {
    for (let i = 0; i < n; i++) {
      const node = i + HUBS
      const star = starred[i] as number
      if (hubsUsed & 1) {
        if (star & 1) { from.push(node); to.push(BEFORE_ALL); pullFrom.push(node); pullTo.push(BEFORE_ALL) } else { from.push(BEFORE_ALL); to.push(node) }
      }
      if (hubsUsed & 2) {
        if (star & 2) { from.push(AFTER_ALL); to.push(node) } else { from.push(node); to.push(AFTER_ALL) }
      }
    }
  }

  if (from.length === 0) return items.slice() // nothing to sort: the common case of a chain without constraints
  const sorted = kahn(n + HUBS, from, to, priorities(n + HUBS, pullFrom, pullTo))
  if (sorted.length < n + HUBS) throw cycleError(n + HUBS, from, to, sorted, ids)
  const out: T[] = []
  for (const node of sorted) if (node >= HUBS) out.push(items[node - HUBS] as T)
  return out

  /** Records "item `i` runs before (side 1) or after (side 2) the item called `target`". */
  function constrain(i: number, target: string, side: 1 | 2): void {
    if (target === '*') {
      starred[i] = (starred[i] as number) | side
      return
    }
    const other = indexOf.get(target)
    if (other === undefined) return
    if (side === 1) {
      from.push(i + HUBS); to.push(other + HUBS)
      pullFrom.push(i + HUBS); pullTo.push(other + HUBS)
    } else {
      from.push(other + HUBS); to.push(i + HUBS)
    }
  }
}

/** Checks at run time what the types promise, for callers writing plain JavaScript. */
function idList(value: unknown, id: string, option: string): readonly string[] {
  if (!Array.isArray(value)) throw badConstraint(id, option, value)
  for (const target of value as unknown[]) if (typeof target !== 'string') throw badConstraint(id, option, target)
  return value as string[]
}

function badConstraint(id: string, option: string, value: unknown): CioError {
  return new CioError(codes.INVALID_OPTION,
    `order: options.${option} of listener "${id}" must be an id or an array of ids, got ${typeof value}`,
    { details: { id, option } })
}

/** Adjacency in compressed rows: the neighbours of `v` are `list[start[v]]` up to `list[start[v + 1] - 1]`. */
function adjacency(count: number, rows: readonly number[], cols: readonly number[]): { start: number[]; list: number[] } {
  const start: number[] = new Array<number>(count + 1).fill(0)
  for (const row of rows) start[row + 1] = (start[row + 1] as number) + 1
  for (let v = 0; v < count; v++) start[v + 1] = (start[v + 1] as number) + (start[v] as number)
  const fill = start.slice(0, count)
  const list: number[] = new Array<number>(cols.length).fill(0)
  for (let k = 0; k < rows.length; k++) {
    const row = rows[k] as number
    const slot = fill[row] as number
    fill[row] = slot + 1
    list[slot] = cols[k] as number
  }
  return { start, list }
}

/**
 * How early each node counts: its own number, lowered to that of any node it
 * must run before (transitively). Nodes are settled once every node they
 * pull on is; nodes on a cycle never are, which does not matter since the
 * sort then fails anyway.
 */
function priorities(count: number, pullFrom: readonly number[], pullTo: readonly number[]): number[] {
  const priority: number[] = new Array<number>(count)
  for (let v = 0; v < count; v++) priority[v] = v
  if (pullFrom.length === 0) return priority
  const { start, list: pullers } = adjacency(count, pullTo, pullFrom)
  const waiting: number[] = new Array<number>(count).fill(0)
  for (const u of pullFrom) waiting[u] = (waiting[u] as number) + 1
  const settled: number[] = []
  for (let v = 0; v < count; v++) if (waiting[v] === 0) settled.push(v)
  while (settled.length > 0) {
    const v = settled.pop() as number
    for (let k = start[v] as number, end = start[v + 1] as number; k < end; k++) {
      const u = pullers[k] as number
      if ((priority[v] as number) < (priority[u] as number)) priority[u] = priority[v] as number
      const left = (waiting[u] as number) - 1
      waiting[u] = left
      if (left === 0) settled.push(u)
    }
  }
  return priority
}

/**
 * Topological sort over edges `from[k] -> to[k]` that emits the ready node
 * with the lowest priority, then the lowest number. Heap entries are the key
 * `priority * count + node`, so the node is recovered as `key % count`.
 */
function kahn(count: number, from: number[], to: number[], priority: readonly number[]): number[] {
  const { start, list: targets } = adjacency(count, from, to)
  const indegree: number[] = new Array<number>(count).fill(0)
  for (const t of to) indegree[t] = (indegree[t] as number) + 1
  const heap = new MinHeap(count)
  for (let v = 0; v < count; v++) if (indegree[v] === 0) heap.push((priority[v] as number) * count + v)
  const sorted: number[] = []
  while (heap.size > 0) {
    const v = heap.pop() % count
    sorted.push(v)
    for (let k = start[v] as number, end = start[v + 1] as number; k < end; k++) {
      const t = targets[k] as number
      const left = (indegree[t] as number) - 1
      indegree[t] = left
      if (left === 0) heap.push((priority[t] as number) * count + t)
    }
  }
  return sorted
}

/**
 * Finds one cycle among the nodes Kahn could not emit. Each of them still has
 * an unemitted predecessor, so walking predecessors from any of them must
 * revisit a node; the part of the walk from that node on is a cycle.
 */
function cycleError(count: number, from: number[], to: number[], sorted: number[], ids: string[]): CioError {
  const emitted = new Uint8Array(count)
  for (const v of sorted) emitted[v] = 1
  const predecessor = new Int32Array(count).fill(-1)
  for (let k = 0; k < from.length; k++) {
    const f = from[k] as number
    const t = to[k] as number
    // keep the smallest predecessor so the reported cycle is deterministic
    if (!emitted[f] && !emitted[t] && (predecessor[t] === -1 || f < (predecessor[t] as number))) predecessor[t] = f
  }
  let v = HUBS
  while (emitted[v]) v++
  const seen = new Int32Array(count).fill(-1)
  const walk: number[] = []
  while (seen[v] === -1) {
    seen[v] = walk.length
    walk.push(v)
    v = predecessor[v] as number
  }
  const loop = walk.slice(seen[v]).reverse().filter((node) => node >= HUBS)
  // start at the item given first, so the message does not depend on the walk
  let first = 0
  for (let k = 1; k < loop.length; k++) if ((loop[k] as number) < (loop[first] as number)) first = k
  const cycle = [...loop.slice(first), ...loop.slice(0, first)].map((node) => ids[node - HUBS] as string)
  return new CioError(codes.ORDER_CYCLE,
    `order: the constraints form a cycle (each runs before the next): ${[...cycle, cycle[0]].join(' -> ')}`,
    { details: { cycle } })
}

/** Binary min-heap of numbers (the sort keys). */
class MinHeap {
  readonly #items: number[]
  size = 0

  constructor(capacity: number) {
    this.#items = new Array<number>(capacity).fill(0)
  }

  push(value: number): void {
    const items = this.#items
    let i = this.size++
    while (i > 0) {
      const parent = (i - 1) >> 1
      const above = items[parent] as number
      if (above <= value) break
      items[i] = above
      i = parent
    }
    items[i] = value
  }

  pop(): number {
    const items = this.#items
    const top = items[0] as number
    const last = items[--this.size] as number
    const size = this.size
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= size) break
      if (child + 1 < size && (items[child + 1] as number) < (items[child] as number)) child++
      if ((items[child] as number) >= last) break
      items[i] = items[child] as number
      i = child
    }
    items[i] = last
    return top
  }
}
