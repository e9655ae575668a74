import t from 'tap'
import { codes, type CioError } from '../../lib/errors.js'
import type { Listener, ListenerOptions } from '../../lib/chain/types.js'
import { listenerId, order, type Orderable } from '../../lib/chain/order.js'

interface Item extends Orderable {
  name: string
  options?: ListenerOptions
}

/** An item named `id` with the given constraints. */
function item(id: string, options: Omit<ListenerOptions, 'id'> = {}): Item {
  return { name: id, options }
}

const ids = (items: readonly Orderable[]): Array<string | undefined> => items.map(listenerId)

/** Seeded PRNG (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let r = Math.imul(a ^ (a >>> 15), 1 | a)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The obvious slow version of the rule: an item counts as early as the
 * earliest item it must run `before` (repeat until nothing changes), then
 * place, again and again, the ready item that counts earliest.
 */
function reference(items: readonly Item[], edges: ReadonlyArray<{ from: number; to: number; before: boolean }>): Item[] {
  const priority = items.map((_, i) => i)
  for (let changed = true; changed;) {
    changed = false
    for (const { from, to, before } of edges) {
      if (before && (priority[to] as number) < (priority[from] as number)) {
        priority[from] = priority[to] as number
        changed = true
      }
    }
  }
  const placed = new Set<number>()
  const out: Item[] = []
  while (out.length < items.length) {
    let next = -1
    items.forEach((_, i) => {
      if (placed.has(i) || !edges.every(({ from, to }) => to !== i || placed.has(from))) return
      if (next === -1 || (priority[i] as number) < (priority[next] as number)) next = i
    })
    placed.add(next)
    out.push(items[next] as Item)
  }
  return out
}

t.test('order - keeps insertion order when nothing constrains it, in a new array', async (t) => {
  const items = [item('a'), item('b'), item('c')]
  const sorted = order(items)
  t.same(ids(sorted), ['a', 'b', 'c'])
  t.not(sorted, items)
  t.same(order([]), [])
})

t.test('order - never changes its input', async (t) => {
  const items = [item('a', { after: 'b' }), item('b')]
  order(items)
  t.same(ids(items), ['a', 'b'])
})

t.test('order - before and after accept one id or an array of ids', async (t) => {
  t.same(ids(order([item('a', { after: 'b' }), item('b')])), ['b', 'a'])
  t.same(ids(order([item('a'), item('b', { before: 'a' })])), ['b', 'a'])
  t.same(ids(order([item('a', { after: ['b', 'c'] }), item('b'), item('c')])), ['b', 'c', 'a'])
  t.same(ids(order([item('a'), item('b'), item('c', { before: ['a', 'b'] })])), ['c', 'a', 'b'])
})

t.test('order - options.id wins over the name, and the name serves without it', async (t) => {
  const named: Listener<object> = function named(): void {}
  const withId: Listener<object> = Object.assign(function other(): void {}, { options: { id: 'custom', before: 'named' } })
  t.equal(listenerId(named), 'named')
  t.equal(listenerId(withId), 'custom')
  t.same(order([named, withId]), [withId, named])
})

t.test('order - an item without an id is refused, naming its position', async (t) => {
  const anonymous = [item('a'), { options: {} }, item('c')]
  t.throws(() => order(anonymous), { code: codes.ORDER_MISSING_ID, message: /position 1/, details: { position: 1 } })
  t.throws(() => order([(() => (() => {}) as Listener<object>)()]), { code: codes.ORDER_MISSING_ID, message: /position 0/ })
})

t.test('order - two items with one id are refused, naming the id and both positions', async (t) => {
  t.throws(() => order([item('a'), item('b'), item('a')]), {
    code: codes.ORDER_DUPLICATE_ID,
    message: /"a".*positions 0 and 2/,
    details: { id: 'a', positions: [0, 2] },
  })
})

t.test('order - ids that no item carries are ignored', async (t) => {
  t.same(ids(order([item('a', { after: 'missing', before: ['gone'] }), item('b')])), ['a', 'b'])
})

t.test('order - before * puts items first, keeping their own order', async (t) => {
  const sorted = order([item('a'), item('b', { before: '*' }), item('c'), item('d', { before: ['*'] })])
  t.same(ids(sorted), ['b', 'd', 'a', 'c'])
})

t.test('order - after * puts items last, keeping their own order', async (t) => {
  const sorted = order([item('a', { after: '*' }), item('b'), item('c', { after: ['*'] }), item('d')])
  t.same(ids(sorted), ['b', 'd', 'a', 'c'])
})

t.test('order - items that both say * can still be ordered between themselves', async (t) => {
  const sorted = order([item('a', { before: '*' }), item('x'), item('b', { before: '*', after: 'a' }), item('c', { before: '*' })])
  t.same(ids(sorted), ['a', 'b', 'c', 'x'])
  t.same(ids(order([item('a', { before: '*', after: 'b' }), item('x'), item('b', { before: '*' })])), ['b', 'a', 'x'])
  t.same(ids(order([item('z', { after: '*' }), item('y', { after: ['*', 'z'] }), item('m', { before: '*' }), item('n')])),
    ['m', 'n', 'z', 'y'])
})

t.test('order - a cycle is refused, listing its ids from the one given first', async (t) => {
  const err = t.throws(() => order([item('b', { before: 'c' }), item('x'), item('a', { before: 'b' }), item('c', { before: 'a' })]), {
    code: codes.ORDER_CYCLE,
    message: /b -> c -> a -> b/,
  }) as CioError
  t.same(err.details.cycle, ['b', 'c', 'a'])
})

t.test('order - a cycle made with after is reported in run order', async (t) => {
  t.throws(() => order([item('a', { after: 'b' }), item('b', { after: 'a' })]), {
    code: codes.ORDER_CYCLE,
    message: /a -> b -> a/,
    details: { cycle: ['a', 'b'] },
  })
})

t.test('order - an item that must run before itself is a cycle', async (t) => {
  t.throws(() => order([item('a'), item('b', { before: 'b' })]), { code: codes.ORDER_CYCLE, message: /b -> b/, details: { cycle: ['b'] } })
})

t.test('order - a cycle through * names only real items', async (t) => {
  // x runs before every item without before '*' (so before y), yet after y
  t.throws(() => order([item('y'), item('x', { before: '*', after: 'y' })]), {
    code: codes.ORDER_CYCLE,
    message: /y -> x -> y/,
    details: { cycle: ['y', 'x'] },
  })
  // before * and after * on one item contradict every plain item
  t.throws(() => order([item('x', { before: '*', after: '*' }), item('p')]), { code: codes.ORDER_CYCLE, details: { cycle: ['x', 'p'] } })
})

t.test('order - a cycle downstream of other blocked items is still found', async (t) => {
  // d waits on the cycle without being part of it
  const items = [item('d', { after: 'a' }), item('a', { after: 'b' }), item('b', { after: 'a' })]
  t.throws(() => order(items), { code: codes.ORDER_CYCLE, details: { cycle: ['a', 'b'] } })
})

t.test('order - of two cycles through one item, the one with the earlier items is reported', async (t) => {
  const items = [item('a', { after: ['c', 'b'] }), item('b', { after: 'a' }), item('c', { after: 'a' })]
  t.throws(() => order(items), { code: codes.ORDER_CYCLE, details: { cycle: ['a', 'b'] } })
})

t.test('order - before/after that are neither an id nor an array of ids are refused', async (t) => {
  t.throws(() => order([item('a', { before: 5 } as never)]), { code: codes.INVALID_OPTION, message: /options.before of listener "a".*number/ })
  t.throws(() => order([item('a', { after: ['b', 7] } as never)]), { code: codes.INVALID_OPTION, message: /options.after/ })
  t.throws(() => order([item('a', { after: { id: 'b' } } as never)]), { code: codes.INVALID_OPTION, message: /object/ })
})

t.test('order - an item that says after moves down to its target and no further', async (t) => {
  t.same(ids(order([item('b', { after: 'a' }), item('x'), item('a')])), ['x', 'a', 'b'])
  t.same(ids(order([item('c', { after: 'a' }), item('a'), item('x')])), ['a', 'c', 'x'])
})

t.test('order - an item that says before moves up to its target, and unrelated items stay behind the target', async (t) => {
  // `late` was added before `early`, but only `early` asked to move
  const core = [item('core/a'), item('core/b', { after: 'core/a' }), item('core/c', { after: 'core/b' })]
  t.same(ids(order([...core, item('late'), item('early', { before: 'core/b' })])), ['core/a', 'early', 'core/b', 'core/c', 'late'])
  // chains of before pull each item up to the earliest one it must precede
  t.same(ids(order([item('a'), item('b'), item('c', { before: 'd' }), item('d', { before: 'b' })])), ['a', 'c', 'd', 'b'])
})

t.test('order - an item already before its target stays where it is', async (t) => {
  t.same(ids(order([item('p', { before: 'q' }), item('x'), item('q')])), ['p', 'x', 'q'])
})

t.test('order - matches the obvious quadratic algorithm on random acyclic constraints', async (t) => {
  const next = random(20240611)
  for (let round = 0; round < 30; round++) {
    const n = 5 + Math.floor(next() * 60)
    const rank = Array.from({ length: n }, (_, i) => i)
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1))
      ;[rank[i], rank[j]] = [rank[j] as number, rank[i] as number]
    }
    const options: Array<{ before: string[]; after: string[] }> = Array.from({ length: n }, () => ({ before: [], after: [] }))
    const edges: Array<{ from: number; to: number; before: boolean }> = []
    for (let k = 0; k < n; k++) {
      const i = Math.floor(next() * n)
      const j = Math.floor(next() * n)
      if (i === j) continue
      const [first, second] = (rank[i] as number) < (rank[j] as number) ? [i, j] : [j, i]
      const before = next() < 0.5
      edges.push({ from: first, to: second, before })
      if (before) options[first]?.before.push(`i${second}`)
      else options[second]?.after.push(`i${first}`)
    }
    const items = options.map((o, i) => item(`i${i}`, o))
    t.same(ids(order(items)), ids(reference(items, edges)), `round ${round}`)
  }
})

// Speed is measured in bench/chain.ts, not asserted here: this only checks a long chain comes out right.
t.test('order - sorts hundreds of items given in reverse', async (t) => {
  const items = Array.from({ length: 500 }, (_, i) => item(`i${i}`, { after: i > 0 ? [`i${i - 1}`, `i${Math.floor(i / 2)}`] : [] }))
  t.same(ids(order(items.slice().reverse())), ids(items))
})

t.test('order - takes the ordering package\'s three call forms: (array), ({ array }) and (a, b, ...)', async (t) => {
  const a = item('a', { after: 'b' })
  const b = item('b')
  t.same(ids(order([a, b])), ['b', 'a'])
  t.same(ids(order({ array: [a, b] })), ['b', 'a'])
  t.same(ids(order(a, b)), ['b', 'a'])
  const fn: Listener<object> = function only() {}
  t.same(order(fn), [fn], 'one listener alone')
})

t.test('order - needs is ordering\'s name for after', async (t) => {
  t.same(ids(order([item('a', { needs: 'b' }), item('b')])), ['b', 'a'])
  t.same(ids(order([item('a', { needs: ['c', 'b'] }), item('b'), item('c', { needs: 'b' })])), ['b', 'c', 'a'])
  t.throws(() => order([item('a', { needs: 3 } as never)]), { code: codes.INVALID_OPTION, message: /options.needs of listener "a"/ })
})

t.test('order - bad input is a coded INVALID_ARGUMENT naming the argument or position, never a raw TypeError', async (t) => {
  const call = order as (...args: unknown[]) => unknown
  t.throws(() => call(null), { code: codes.INVALID_ARGUMENT, message: /got null/ })
  t.throws(() => call(undefined), { code: codes.INVALID_ARGUMENT, message: /got undefined/ })
  t.throws(() => call(), { code: codes.INVALID_ARGUMENT, message: /got nothing/ })
  t.throws(() => call({}), { code: codes.INVALID_ARGUMENT, message: /object without "array"/ })
  t.throws(() => call(5), { code: codes.INVALID_ARGUMENT, message: /got number/ })
  t.throws(() => call({ array: null }), { code: codes.INVALID_ARGUMENT, message: /"array" option must be an array.*null/, details: { argument: 'array' } })
  t.throws(() => call([item('a'), null]), { code: codes.INVALID_ARGUMENT, message: /position 1 is null/, details: { position: 1 } })
  t.throws(() => call(item('a'), undefined), { code: codes.INVALID_ARGUMENT, message: /position 1 is undefined/ })
  t.throws(() => call({ array: [[item('a')]] }), { code: codes.INVALID_ARGUMENT, message: /position 0 is an array/ })
})
