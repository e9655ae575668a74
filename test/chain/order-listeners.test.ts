import t from 'tap'
import buildCio from '../../lib/index.js'
import type { Listener, ListenerOptions } from '../../lib/chain/types.js'
import type { ServerContext } from '../../lib/core/types.js'
import { orderListeners } from '../../lib/chain/order-listeners.js'
import { codes, type CioError } from '../../lib/errors.js'

type Fn = Listener<object>

/** A listener function whose `name` is `name` ('' for an anonymous one), carrying `options` when given. */
function listener(name: string, options?: ListenerOptions): Fn {
  const fn: Fn = () => {}
  Object.defineProperty(fn, 'name', { value: name })
  if (options !== undefined) fn.options = options
  return fn
}

/** Which of `given` each sorted listener is, by its position in `given` (names repeat, positions do not). */
function positions(sorted: readonly Fn[], given: readonly Fn[]): number[] {
  return sorted.map((fn) => given.indexOf(fn))
}

t.test('orderListeners - listeners nothing relates keep the order they were given, in a new array of the same functions', async (t) => {
  const given = [listener('a'), listener(''), listener('b', { id: 'x' }), listener('a'), listener('')]
  const sorted = orderListeners(given)
  t.not(sorted, given, 'a new array')
  t.same(positions(sorted, given), [0, 1, 2, 3, 4])
  t.same(orderListeners([]), [])
})

t.test('orderListeners - never changes the listeners or the array it is given', async (t) => {
  const options = { before: 'b' }
  const given = [listener('b'), listener('', options), listener('a'), listener('a', { after: '*' })]
  const copy = given.slice()
  orderListeners(given)
  t.same(given, copy, 'the array is unchanged')
  t.equal(given[1]?.options, options, 'options are not replaced...')
  t.same(options, { before: 'b' }, '...nor given an id')
  t.notOk(given[2]?.options, 'a listener without options gets none')
})

t.test('orderListeners - options.id is the id constraints name, whatever the function is called', async (t) => {
  const given = [listener('first'), listener('other', { id: 'late', after: 'first' }), listener('mover', { before: 'late' })]
  // `mover` moves up to `late`, found by its id; `first` stays ahead of both
  t.same(positions(orderListeners(given), given), [0, 2, 1])
  // the function name of a listener with an id is not an id: a constraint naming it is ignored
  const byName = [listener('a'), listener('named', { id: 'custom' }), listener('b', { before: 'named' })]
  t.same(positions(orderListeners(byName), byName), [0, 1, 2])
})

t.test('orderListeners - a name unique among listeners without an id stands in for the id', async (t) => {
  const given = [listener('a'), listener('b'), listener('c', { before: 'a' }), listener('', { after: 'b' })]
  t.same(positions(orderListeners(given), given), [2, 0, 1, 3])
})

t.test('orderListeners - listeners without name or id are accepted, keep their place and may still constrain others', async (t) => {
  const given = [listener(''), listener('a'), listener(''), listener('b'), listener('', { before: 'a' })]
  // ORDER_MISSING_ID is what order() alone says about the same input
  t.same(positions(orderListeners(given), given), [0, 4, 1, 2, 3])
})

t.test('orderListeners - a name shared by listeners without an id names none of them, and is no error', async (t) => {
  const given = [listener('x'), listener('dup'), listener('x', { before: 'dup' }), listener('dup'), listener('y', { after: 'x' })]
  // both `x` and `dup` are ambiguous: the constraints that name them are ignored, nothing moves
  t.same(positions(orderListeners(given), given), [0, 1, 2, 3, 4])
  // the ambiguous listeners' own constraints still hold
  const own = [listener('target'), listener('twin'), listener('twin', { before: 'target' })]
  t.same(positions(orderListeners(own), own), [2, 0, 1])
})

t.test('orderListeners - a name that is another listener\'s explicit id leaves the id to that listener', async (t) => {
  const given = [listener('shadow'), listener('real', { id: 'shadow' }), listener('mover', { before: 'shadow' })]
  // `mover` goes before the listener whose id is `shadow`, not before the function called `shadow`
  t.same(positions(orderListeners(given), given), [0, 2, 1])
  const after = [listener('mover', { after: 'shadow' }), listener('shadow'), listener('real', { id: 'shadow' })]
  t.same(positions(orderListeners(after), after), [1, 2, 0])
})

t.test('orderListeners - two explicit ids that are equal are refused with ORDER_DUPLICATE_ID', async (t) => {
  const given = [listener('one', { id: 'same' }), listener('a'), listener('two', { id: 'same' })]
  t.throws(() => orderListeners(given), { code: codes.ORDER_DUPLICATE_ID, message: /"same".*positions 0 and 2/, details: { id: 'same', positions: [0, 2] } })
})

t.test('orderListeners - an empty options.id counts as no id', async (t) => {
  const given = [listener('a'), listener('b', { id: '' }), listener('c', { id: '', before: 'a' }), listener('d', { before: 'b' })]
  t.same(positions(orderListeners(given), given), [2, 0, 3, 1], 'the names serve as ids')
})

t.test('orderListeners - constraints naming ids no listener carries are ignored', async (t) => {
  const given = [listener('a', { after: 'cio/absent' }), listener('b', { before: ['gone', 'a'] }), listener('c', { after: ['missing'] })]
  t.same(positions(orderListeners(given), given), [1, 0, 2])
})

t.test('orderListeners - contradicting constraints are refused with ORDER_CYCLE naming the ids', async (t) => {
  const given = [listener('a', { after: 'b' }), listener('anon'), listener('', { id: 'b', after: 'a' })]
  t.throws(() => orderListeners(given), { code: codes.ORDER_CYCLE, message: /a -> b -> a/, details: { cycle: ['a', 'b'] } })
})

t.test('orderListeners - a listener without an id can still be part of a cycle, and it is reported', async (t) => {
  // the anonymous listener runs before every listener without before '*', `y` among them, yet after `y`
  const given = [listener('y'), listener('', { before: '*', after: 'y' })]
  const error = t.throws(() => orderListeners(given), { code: codes.ORDER_CYCLE }) as CioError
  const cycle = error.details.cycle as string[]
  t.equal(cycle.length, 2, 'the cycle has both listeners')
  t.equal(cycle[0], 'y')
})

t.test('orderListeners - the same input gives the same order, however often it is sorted', async (t) => {
  const given = [listener(''), listener('a', { after: '*' }), listener('b'), listener(''), listener('c', { before: 'b' }), listener('b')]
  const first = positions(orderListeners(given), given)
  t.same(first, [0, 2, 3, 4, 5, 1])
  for (let i = 0; i < 3; i++) t.same(positions(orderListeners(given), given), first)
})

t.test('orderListeners - cio chains use it: anonymous and same-named listeners join without an error', async (t) => {
  const cio = buildCio()
  const seen: string[] = []
  /** A server-chain listener called `tag` that records its label and whether the server exists yet. */
  const tag = (label: string, options?: ListenerOptions): Listener<ServerContext> => {
    const fn: Listener<ServerContext> = (_control, context) => {
      seen.push(`${label}${context.server === undefined ? '' : ' (server made)'}`)
    }
    Object.defineProperty(fn, 'name', { value: 'tag' })
    if (options !== undefined) fn.options = options
    return fn
  }
  cio.onServer(tag('one'), tag('two'), () => {}, tag('early', { before: 'cio/createServer' }))
  const server = cio.server({ noRelisten: true })
  t.teardown(() => server.close())
  t.same(seen, ['early', 'one (server made)', 'two (server made)'], 'same-named listeners keep their order; the one with a constraint moves up')
})
