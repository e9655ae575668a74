import t from 'tap'
import { buildChain, Chain, type Control, type FailedOutcome, type Listener, type Pause, type RunOptions, type RunResult } from '../../lib/chain/chain.js'
import type { ClientContext, ServerClientContext, SocketContext } from '../../lib/core/types.js'
import { codes, isCioError } from '../../lib/errors.js'
import { order } from '../../lib/chain/order.js'

interface Ctx {
  seen: string[]
  result?: unknown
  [key: string]: unknown
}

type Fn = Listener<Ctx>

/** A listener that records its id in `context.seen`, with `body` run afterwards. */
function rec(id: string, body?: (control: Control<Ctx>, context: Ctx) => void, options: Fn['options'] = {}): Fn {
  const fn: Fn = function (control, context) {
    context.seen.push(id)
    body?.(control, context)
  }
  fn.options = { id, ...options }
  return fn
}

const ctx = (): Ctx => ({ seen: [] })

/**
 * Runs a chain with a done callback. `done` resolves to what the callback
 * got (the failure info and the result) and the error of the `done` event.
 */
function runDone(chain: Chain<Ctx>, options: RunOptions<Ctx> = {}): { returned: RunResult<Ctx>; done: Promise<[FailedOutcome<Ctx> | null, RunResult<Ctx>, unknown]> } {
  let returned: RunResult<Ctx> | undefined
  let eventError: unknown
  chain.once('done', (error) => { eventError = error })
  const done = new Promise<[FailedOutcome<Ctx> | null, RunResult<Ctx>, unknown]>((resolve) => {
    returned = chain.run({ context: ctx(), ...options }, (failed, result) => resolve([failed, result, eventError]))
  })
  return { returned: returned as RunResult<Ctx>, done }
}

/** Records every event of a chain by name. */
function events(chain: Chain<Ctx>): string[] {
  const names: string[] = []
  for (const name of ['add', 'remove', 'clear', 'start', 'pause', 'resume', 'stop', 'fail', 'disable', 'enable', 'done'] as const) {
    chain.on(name, () => names.push(name))
  }
  return names
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

// ---------------------------------------------------------------- building

t.test('chain - builds from one listener, several, nested arrays and an options object', async (t) => {
  const [a, b, c] = [rec('a'), rec('b'), rec('c')]
  t.same(new Chain<Ctx>(a).array, [a])
  t.same(new Chain<Ctx>(a, b).array, [a, b])
  t.same(new Chain<Ctx>([a, [b, [c]]]).array, [a, b, c])
  t.same(new Chain<Ctx>({ array: [a, [b]] }, c).array, [a, b, c])
  t.same(new Chain<Ctx>().array, [])
  t.type(buildChain<Ctx>(a), Chain)
  t.same(buildChain<Ctx>(a, [b]).array, [a, b])
})

t.test('chain - refuses a non-function listener, naming it and its position', async (t) => {
  t.throws(() => new Chain<Ctx>([rec('a'), [rec('b'), 'oops' as never]]), {
    code: codes.CHAIN_INVALID_LISTENER,
    message: /position 2 is not a function: 'oops' \(string\)/,
    details: { position: 2 },
  })
  t.throws(() => new Chain<Ctx>({ array: [null as never] }), { code: codes.CHAIN_INVALID_LISTENER, message: /null \(null\)/ })
})

t.test('chain - refuses arguments that are neither listeners nor one options object', async (t) => {
  t.throws(() => new Chain<Ctx>(5 as never), { code: codes.INVALID_ARGUMENT, message: /5 \(number\)/ })
  t.throws(() => new Chain<Ctx>({}, {}), { code: codes.INVALID_ARGUMENT })
  t.throws(() => new Chain<Ctx>({ order: 'yes' as never }), { code: codes.INVALID_OPTION, message: /options.order/ })
  t.throws(() => new Chain<Ctx>({ buildContext: 1 as never }), { code: codes.INVALID_OPTION, message: /options.buildContext/ })
})

t.test('chain - a listener for a wider context joins chains of related contexts', async (t) => {
  const shared: Listener<SocketContext> = (_control, context) => {
    context.secure = true
  }
  t.equal(new Chain<ClientContext>(shared).array.length, 1)
  t.equal(new Chain<ServerClientContext>({ array: [shared], order }).add(shared).added.length, 1)
  const unrelated = (): unknown =>
    // @ts-expect-error contexts that are not related are refused
    new Chain<{ other: string }>(shared)
  t.type(unrelated, 'function')
})

// ---------------------------------------------------------------- add, remove, clear

t.test('chain - add appends, flattens and emits add only when something was added', async (t) => {
  const chain = new Chain<Ctx>(rec('a'))
  const seen = events(chain)
  const [b, c] = [rec('b'), rec('c')]
  const result = chain.add(b, [[c]])
  t.same(result, { result: true, added: [b, c], chain })
  t.equal(chain.array.length, 3)
  t.same(chain.add(), { result: true, added: [], chain })
  t.same(chain.add([]).added, [])
  t.same(seen, ['add'])
})

t.test('chain - add refuses a non-function and leaves the chain as it was', async (t) => {
  const chain = new Chain<Ctx>(rec('a'))
  t.throws(() => chain.add(rec('b'), 42 as never), { code: codes.CHAIN_INVALID_LISTENER, message: /position 1.*42/ })
  t.equal(chain.array.length, 1)
})

t.test('chain - remove finds a listener by index, id, name or identity', async (t) => {
  const named = function named(): void {}
  const [a, b, c] = [rec('a'), rec('b'), rec('c')]
  const chain = new Chain<Ctx>(a, b, c, named)
  const removed: unknown[] = []
  chain.on('remove', (result) => removed.push(result.removed[0], result.reason))
  t.same(chain.remove(1, 'why'), { result: true, reason: 'why', removed: [b], chain })
  t.same(chain.remove('c').removed, [c])
  t.same(chain.remove(named).removed, [named])
  t.same(chain.remove('named'), { result: false, reason: 'not found', removed: [], chain })
  t.same(chain.array, [a])
  t.same(removed, [b, 'why', c, undefined, named, undefined])
})

t.test('chain - remove reports not found for unknown ids, functions and bad indexes', async (t) => {
  const chain = new Chain<Ctx>(rec('a'))
  for (const which of ['zz', rec('zz'), 1, -1, 0.5]) t.match(chain.remove(which), { result: false, reason: 'not found' })
  t.throws(() => chain.remove({} as never), { code: codes.INVALID_ARGUMENT, message: /index, an id or a listener/ })
  t.equal(chain.array.length, 1)
})

t.test('chain - clear removes everything and emits clear, unless already empty', async (t) => {
  const [a, b] = [rec('a'), rec('b')]
  const chain = new Chain<Ctx>(a, b)
  const seen = events(chain)
  t.same(chain.clear(), { result: true, removed: [a, b], chain })
  t.same(chain.array, [])
  t.same(chain.clear(), { result: true, removed: [], chain, reason: 'chain empty' })
  t.same(seen, ['clear'])
})

// ---------------------------------------------------------------- disable, enable

t.test('chain - a disabled chain refuses to run and says why', async (t) => {
  const chain = new Chain<Ctx>(rec('a'))
  const seen = events(chain)
  t.same(chain.disable(), { result: true, reason: true, target: 'chain', listeners: [], chain })
  const { returned, done } = runDone(chain)
  t.match(returned, { result: false, reason: 'chain disabled', disabled: true, chain })
  t.same(returned.context.seen, [])
  const [error, result] = await done
  t.equal(error, null)
  t.equal(result, returned)
  t.match(chain.disable('maintenance'), { result: true, reason: 'maintenance', target: 'chain' })
  t.match(chain.run({ context: ctx() }), { reason: 'chain disabled: maintenance', disabled: 'maintenance' })
  t.same(seen, ['disable', 'disable'])
})

t.test('chain - enable re-enables the chain, and says so when it was not disabled', async (t) => {
  const chain = new Chain<Ctx>(rec('a'))
  const seen = events(chain)
  t.same(chain.enable(), { result: false, reason: 'chain not disabled', target: 'chain', listeners: [], chain })
  chain.disable()
  t.same(chain.enable(), { result: true, target: 'chain', listeners: [], chain })
  t.same(chain.run({ context: ctx() }).context.seen, ['a'])
  t.same(seen.filter((name) => name === 'enable' || name === 'disable'), ['disable', 'enable'])
})

t.test('chain - disable(which, reason) skips one listener found by index, id or identity', async (t) => {
  const [a, b, c] = [rec('a'), rec('b'), rec('c')]
  const chain = new Chain<Ctx>(a, b, c)
  const seen = events(chain)
  t.same(chain.disable('b', 'flaky'), { result: true, reason: 'flaky', target: 'listeners', listeners: [b], chain })
  t.match(chain.disable(0), { result: true, listeners: [a] })
  t.same(chain.run({ context: ctx() }).context.seen, ['c'])
  t.match(chain.disable(c, 'x'), { result: true, listeners: [c] })
  t.same(chain.run({ context: ctx() }).context.seen, [])
  t.match(chain.disable('nope', 'x'), { result: false, reason: 'not found' })
  t.same(seen.filter((name) => name === 'disable'), ['disable', 'disable', 'disable'])
})

t.test('chain - enable(which) re-enables one listener, and says so when it was not disabled', async (t) => {
  const [a, b] = [rec('a'), rec('b')]
  const chain = new Chain<Ctx>(a, b)
  chain.disable(a)
  const seen = events(chain)
  t.match(chain.enable(b), { result: false, reason: 'not disabled', listeners: [] })
  t.match(chain.enable('zz'), { result: false, reason: 'not found' })
  t.same(chain.enable('a'), { result: true, target: 'listeners', listeners: [a], chain })
  t.same(chain.run({ context: ctx() }).context.seen, ['a', 'b'])
  t.same(seen, ['enable', 'start', 'done'])
})

t.test('chain - options.disabled is a default that each chain may override', async (t) => {
  const off = rec('off', undefined, { disabled: 'not ready' })
  const first = new Chain<Ctx>(off, rec('x'))
  const second = new Chain<Ctx>(off)
  t.same(first.run({ context: ctx() }).context.seen, ['x'])
  t.match(first.enable(off), { result: true })
  t.same(first.run({ context: ctx() }).context.seen, ['off', 'x'])
  t.same(second.run({ context: ctx() }).context.seen, [], 'the shared function itself is untouched')
  first.disable(off)
  t.same(first.run({ context: ctx() }).context.seen, ['x'])
})

t.test('chain - disabling a listener in one chain leaves other chains sharing it alone', async (t) => {
  const shared = rec('shared')
  const first = new Chain<Ctx>(shared)
  const second = new Chain<Ctx>(shared)
  first.disable('shared', 'here only')
  t.same(first.run({ context: ctx() }).context.seen, [])
  t.same(second.run({ context: ctx() }).context.seen, ['shared'])
  t.equal(shared.options?.disabled, undefined)
})

t.test('chain - a removed listener forgets being disabled', async (t) => {
  const a = rec('a')
  const chain = new Chain<Ctx>(a)
  chain.disable(a)
  chain.remove(a)
  chain.add(a)
  t.same(chain.run({ context: ctx() }).context.seen, ['a'])
  chain.disable(a)
  chain.clear()
  chain.add(a)
  t.same(chain.run({ context: ctx() }).context.seen, ['a'])
})

// ---------------------------------------------------------------- select

t.test('chain - select applies remove, disable, enable and affect to the chosen listeners', async (t) => {
  const [a, b, c, d] = [rec('a'), rec('b'), rec('c'), rec('d')]
  const chain = new Chain<Ctx>(a, b, c, d)
  const seen = events(chain)
  const odd = chain.select((_fn, index) => index % 2 === 1)
  t.same(odd.disable('odd'), { result: true, reason: 'odd', target: 'listeners', listeners: [b, d], chain })
  t.same(chain.run({ context: ctx() }).context.seen, ['a', 'c'])
  t.same(odd.enable(), { result: true, target: 'listeners', listeners: [b, d], chain })
  t.match(odd.enable(), { result: false, reason: 'not disabled' })
  const touched: Array<[string | undefined, number]> = []
  t.match(odd.affect((fn, index, which) => {
    touched.push([fn.options?.id, index])
    which.remove(fn) // changes made by the action do not disturb the walk
  }), { result: true, listeners: [b, d] })
  t.same(touched, [['b', 1], ['d', 3]])
  t.same(chain.array, [a, c])
  t.same(chain.select((fn) => fn === c).remove('bye'), { result: true, reason: 'bye', removed: [c], chain })
  t.same(seen, ['disable', 'start', 'done', 'enable', 'remove', 'remove', 'remove'])
})

t.test('chain - select reports when nothing was chosen', async (t) => {
  const chain = new Chain<Ctx>(rec('a'))
  const none = chain.select(() => false)
  t.match(none.remove(), { result: false, reason: 'not found', removed: [] })
  t.match(none.disable(), { result: false, reason: 'not found', listeners: [] })
  t.match(none.enable(), { result: false, reason: 'not found' })
  t.match(none.affect(() => t.fail('no call')), { result: false, listeners: [] })
  t.throws(() => chain.select('a' as never), { code: codes.INVALID_ARGUMENT })
})

// ---------------------------------------------------------------- run basics

t.test('chain - run calls listeners in order with the control and the context as this', async (t) => {
  const calls: unknown[] = []
  const chain = new Chain<Ctx>(
    function (this: Ctx, control, context) {
      calls.push(this === context, typeof control.next)
    },
    rec('b'),
  )
  const context = ctx()
  const result = chain.run({ context })
  t.same(result, { result: true, context, chain })
  t.same(calls, [true, 'function'])
  t.same(context.seen, ['b'])
})

t.test('chain - options.this replaces the context as this', async (t) => {
  const self = { name: 'self' }
  let got: unknown
  const fn: Fn = function (this: Ctx) {
    got = this
  }
  fn.options = { this: self }
  new Chain<Ctx>(fn).run({ context: ctx() })
  t.equal(got, self)
})

t.test('chain - a listener return value is ignored', async (t) => {
  const chain = new Chain<Ctx>(() => false, () => ({ error: 'no' }), rec('c'))
  t.match(chain.run({ context: ctx() }), { result: true, context: { seen: ['c'] } })
})

t.test('chain - builds the context from base and props, per chain or per run', async (t) => {
  const base = { kind: 'base' }
  const props = { extra: { value: 1, enumerable: true } }
  const chain = new Chain<Ctx>({ base, props })
  const built = chain.run().context
  t.equal(Object.getPrototypeOf(built), base)
  t.equal(built.extra, 1)
  const other = { kind: 'other' }
  const own = chain.run({ base: other, props: {} }).context
  t.equal(Object.getPrototypeOf(own), other)
  t.equal(own.extra, undefined)
  const plain = new Chain<Ctx>().run().context
  t.same(Object.getPrototypeOf(Object.getPrototypeOf(plain)), Object.prototype)
  const given = ctx()
  t.equal(chain.run({ context: given }).context, given)
})

t.test('chain - buildContext replaces context building and gets the run options', async (t) => {
  const made = ctx()
  const options: RunOptions<Ctx> = { base: {} }
  let received: unknown
  const chain = new Chain<Ctx>({
    buildContext(runOptions) {
      received = runOptions
      return made
    },
  })
  t.equal(chain.run(options).context, made)
  t.equal(received, options)
  chain.run()
  t.same(received, {})
})

t.test('chain - done is called once, after run returns, and options.done wins', async (t) => {
  const chain = new Chain<Ctx>(rec('a'))
  let second = 0
  let first = 0
  let returned = false
  await new Promise<void>((resolve) => {
    chain.run({
      context: ctx(),
      done: (error, result) => {
        first++
        t.ok(returned, 'not called synchronously')
        t.equal(error, null)
        t.match(result, { result: true, context: { seen: ['a'] } })
        resolve()
      },
    }, () => second++)
    returned = true
  })
  await tick()
  t.equal(first, 1)
  t.equal(second, 0)
})

t.test('chain - start is the first event of a run and done the last', async (t) => {
  const chain = new Chain<Ctx>(rec('a', (control) => control.stop('enough')))
  const seen = events(chain)
  let doneArgs: unknown[] = []
  chain.on('done', (...args) => { doneArgs = args })
  let startContext: unknown
  chain.on('start', (context) => { startContext = context })
  const result = chain.run({ context: ctx() })
  t.same(seen, ['start', 'stop', 'done'])
  t.equal(startContext, result.context)
  t.same(doneArgs, [null, result])
})

t.test('chain - an empty chain runs to success', async (t) => {
  t.match(new Chain<Ctx>().run({ context: ctx() }), { result: true })
})

// ---------------------------------------------------------------- stop, fail, throw

t.test('chain - stop ends the run early as a success', async (t) => {
  const b = rec('b', (control) => control.stop('done early'))
  const chain = new Chain<Ctx>(rec('a'), b, rec('c'))
  let event: unknown[] = []
  chain.on('stop', (...args) => { event = args })
  const { returned, done } = runDone(chain)
  t.same(returned.context.seen, ['a', 'b'])
  t.match(returned, { result: true, stopped: { reason: 'done early', index: 1, fn: b } })
  t.same(event, [returned.stopped, returned.context])
  t.equal((await done)[0], null)
})

t.test('chain - fail ends the run as a failure; done gets the failure info and the done event a coded error', async (t) => {
  const b = rec('b', (control) => control.fail('bad input'))
  const chain = new Chain<Ctx>(rec('a'), b, rec('c'))
  let event: unknown[] = []
  chain.on('fail', (...args) => { event = args })
  const { returned, done } = runDone(chain)
  t.same(returned.context.seen, ['a', 'b'])
  t.same(returned.failed, { reason: 'bad input', index: 1, fn: b })
  t.equal(returned.result, false)
  t.same(event, [returned.failed, returned.context])
  const [failed, , error] = await done
  t.equal(failed, returned.failed, 'the callback gets chain-builder\'s { reason, index, fn }')
  t.ok(isCioError(error, codes.CHAIN_FAILED))
  t.match(error, { message: /in listener b: bad input/, details: { reason: 'bad input', index: 1, id: 'b' } })
})

t.test('chain - fail with an error gives done that error', async (t) => {
  const boom = new Error('boom')
  const { returned, done } = runDone(new Chain<Ctx>(rec('a', (control) => control.fail('io', boom))))
  t.match(returned.failed, { reason: 'io', error: boom })
  const [failed, , error] = await done
  t.match(failed, { reason: 'io', index: 0, error: boom })
  t.equal(error, boom)
})

t.test('chain - the failure error names an anonymous listener by its position', async (t) => {
  const { done } = runDone(new Chain<Ctx>(rec('a'), (control) => control.fail()))
  t.match((await done)[2], { code: codes.CHAIN_FAILED, message: /in listener #1: no reason given/ })
})

t.test('chain - a throwing listener fails the run and nothing escapes run()', async (t) => {
  const boom = new Error('boom')
  const thrower = rec('b', () => {
    throw boom
  })
  const chain = new Chain<Ctx>(rec('a'), thrower, rec('c'))
  const { returned, done } = runDone(chain)
  t.match(returned, { result: false, failed: { reason: 'caught error', index: 1, fn: thrower, error: boom } })
  t.same(returned.context.seen, ['a', 'b'])
  const [failed, , error] = await done
  t.match(failed, { reason: 'caught error', index: 1, fn: thrower, error: boom })
  t.equal(error, boom)
  const odd = new Chain<Ctx>(() => {
    throw 'a string'
  })
  t.match(odd.run({ context: ctx() }).failed, { reason: 'caught error', error: 'a string' })
})

t.test('chain - the first of stop and fail wins, but a throw after stop still fails', async (t) => {
  const stopThenFail = new Chain<Ctx>((control) => {
    control.stop('one')
    control.fail('two')
    control.stop('three')
  })
  const r1 = stopThenFail.run({ context: ctx() })
  t.match(r1, { result: true, stopped: { reason: 'one' } })
  t.notOk(r1.failed)
  const failThenStop = new Chain<Ctx>((control) => {
    control.fail('one')
    control.stop('two')
    control.fail('three')
    throw new Error('ignored: the run already failed')
  })
  const r2 = failThenStop.run({ context: ctx() })
  t.same(r2.failed?.reason, 'one')
  t.notOk(r2.stopped)
  const stopThenThrow = new Chain<Ctx>((control) => {
    control.stop('fine')
    throw new Error('not fine')
  })
  t.match(stopThenThrow.run({ context: ctx() }), { result: false, stopped: { reason: 'fine' }, failed: { reason: 'caught error' } })
})

// ---------------------------------------------------------------- next, context

t.test('chain - next runs the rest now, so a listener can work around it', async (t) => {
  const chain = new Chain<Ctx>(
    rec('outer', (control, context) => {
      const rest = control.next()
      context.seen.push(`after:${rest.result}:${rest.context.seen.length}`)
    }),
    rec('inner', (control) => void control.next()),
    rec('last'),
  )
  const result = chain.run({ context: ctx() })
  t.same(result.context.seen, ['outer', 'inner', 'last', 'after:true:3'])
  t.equal(result.result, true)
})

t.test('chain - each next() runs the rest again (chain-builder retry style), until the rest ends the run', async (t) => {
  let tries = 0
  const chain = new Chain<Ctx>(
    rec('retry', (control) => {
      control.next()
      control.next()
      control.next()
    }),
    rec('flaky', (control) => {
      tries++
      if (tries === 2) control.stop('good enough')
    }),
    rec('after'),
  )
  const result = chain.run({ context: ctx() })
  t.same(result.context.seen, ['retry', 'flaky', 'after', 'flaky'], 'the third next() finds the run stopped')
  t.match(result, { result: true, stopped: { reason: 'good enough', index: 1 } })
})

t.test('chain - next reports a failure in the rest, and the caller may see it', async (t) => {
  let rest: RunResult<Ctx> | undefined
  const chain = new Chain<Ctx>((control) => { rest = control.next() }, (control) => control.fail('later'))
  const result = chain.run({ context: ctx() })
  t.match(rest, { result: false, failed: { reason: 'later', index: 1 } })
  t.match(result, { result: false, failed: { reason: 'later' } })
})

t.test('chain - next(context) gives the next listener another context, permanently if asked', async (t) => {
  const other = ctx()
  const kept = ctx()
  const got: Ctx[] = []
  const chain = new Chain<Ctx>(
    (control) => void control.next(other),
    (_control, context) => void got.push(context),
    (control) => void control.next(kept, true),
    (_control, context) => void got.push(context),
    (_control, context) => void got.push(context),
  )
  const start = ctx()
  const result = chain.run({ context: start })
  t.equal(got[0], other)
  t.equal(got[1], kept)
  t.equal(got[2], kept)
  t.equal(result.context, kept)
})

t.test('chain - context() changes the context of the next listener only, or of the rest', async (t) => {
  const other = ctx()
  const kept = ctx()
  const got: unknown[] = []
  const chain = new Chain<Ctx>(
    (control) => control.context(other),
    function (this: Ctx, _control, context) { got.push(context, this) },
    (_control, context) => void got.push(context),
    (control) => {
      control.context(other)
      control.context(kept, true) // permanent wins over the earlier one-off
    },
    (_control, context) => void got.push(context),
  )
  const start = ctx()
  const result = chain.run({ context: start })
  t.same(got.map((value) => (value === other ? 'other' : value === start ? 'start' : value === kept ? 'kept' : '?')),
    ['other', 'other', 'start', 'kept'])
  t.equal(result.context, kept)
})

t.test('chain - next after the run finished does nothing', async (t) => {
  let saved: Control<Ctx> | undefined
  const chain = new Chain<Ctx>((control) => { saved = control }, rec('b'))
  const result = chain.run({ context: ctx() })
  const again = saved?.next()
  t.same(again, result)
  t.same(result.context.seen, ['b'])
})

// ---------------------------------------------------------------- pause

t.test('chain - pause returns from run at once and resume carries on', async (t) => {
  let pause: Pause | undefined
  const b = rec('b', (control) => { pause = control.pause('waiting') })
  const chain = new Chain<Ctx>(rec('a'), b, rec('c'))
  const seen = events(chain)
  let pauseEvent: unknown[] = []
  let resumeEvent: unknown[] = []
  chain.on('pause', (...args) => { pauseEvent = args })
  chain.on('resume', (...args) => { resumeEvent = args })
  const { returned, done } = runDone(chain)
  t.same(returned.context.seen, ['a', 'b'])
  t.match(returned, { result: false, paused: { reason: 'waiting', index: 1, fn: b } })
  t.same(pauseEvent, [returned.paused, returned.context])
  let called = false
  void done.then(() => { called = true })
  await tick()
  t.notOk(called, 'done waits for the resume')
  pause?.resume()
  t.same(resumeEvent, [returned.paused, returned.context])
  const [error, result] = await done
  t.equal(error, null)
  t.same(result.context.seen, ['a', 'b', 'c'])
  t.equal(result.result, true)
  t.notOk(result.paused)
  t.same(seen, ['start', 'pause', 'resume', 'done'])
})

t.test('chain - a pause acts once: later resume, stop and fail calls are ignored', async (t) => {
  let pause: Pause | undefined
  const chain = new Chain<Ctx>(rec('a', (control) => { pause = control.pause() }), rec('b'))
  const seen = events(chain)
  const { done } = runDone(chain)
  const { resume } = pause as Pause
  resume() // works detached
  resume()
  pause?.stop('late')
  pause?.fail('late')
  const [, result] = await done
  t.same(result.context.seen, ['a', 'b'])
  t.notOk(result.stopped)
  t.same(seen, ['start', 'pause', 'resume', 'done'])
})

t.test('chain - stop and fail on a pause end the run', async (t) => {
  let pause: Pause | undefined
  const chain = new Chain<Ctx>(rec('a', (control) => { pause = control.pause() }), rec('b'))
  const stopped = runDone(chain)
  pause?.stop('no need')
  const [stopError, stopResult] = await stopped.done
  t.equal(stopError, null)
  t.equal(stopped.returned.paused?.reason, true, 'a pause without a reason reports true')
  t.match(stopResult, { result: true, stopped: { reason: 'no need', index: 0 } })
  t.same(stopResult.context.seen, ['a'])

  const boom = new Error('boom')
  const failed = runDone(chain)
  pause?.fail('gave up', boom)
  pause?.resume()
  const [failInfo, failResult, failError] = await failed.done
  t.equal(failError, boom)
  t.equal(failInfo, failResult.failed)
  t.match(failResult, { result: false, failed: { reason: 'gave up', error: boom, index: 0 } })
  t.same(failResult.context.seen, ['a'])
})

t.test('chain - resume, stop and fail of a pause return the run\'s final result (chain-builder 0.13)', async (t) => {
  let pause: Pause<Ctx> | undefined
  const chain = new Chain<Ctx>(rec('a', (control) => { pause = control.pause() }), rec('b'))
  chain.run({ context: ctx() })
  const resumed = pause?.resume()
  t.match(resumed, { result: true, context: { seen: ['a', 'b'] } })
  t.notOk(resumed?.paused)
  t.equal(pause?.resume(), resumed, 'a second call returns the same final result')
  chain.run({ context: ctx() })
  t.match(pause?.stop('enough'), { result: true, stopped: { reason: 'enough', index: 0 } })
  chain.run({ context: ctx() })
  t.match(pause?.fail('no', 'why'), { result: false, failed: { reason: 'no', error: 'why', index: 0 } })
  const twice = new Chain<Ctx>(rec('a', (control) => { pause = control.pause('one') }), rec('b', (control) => { control.pause('two') }))
  twice.run({ context: ctx() })
  t.match(pause?.resume(), { result: false, paused: { reason: 'two', index: 1 } }, 'paused again: the paused result')
  let late: Pause<Ctx> | undefined
  const ended = new Chain<Ctx>((control) => { control.stop(); late = control.pause() }).run({ context: ctx() })
  t.same(late?.resume(), ended, 'a pause asked for after the run stopped only reports')
})

t.test('chain - select().affect returns what the affector returned for each listener', async (t) => {
  const chain = new Chain<Ctx>(rec('a'), rec('b'), rec('c'))
  const affected = chain.select((fn) => fn.options?.id !== 'b').affect((fn, index) => `${fn.options?.id}@${index}`)
  t.same(affected.results, ['a@0', 'c@2'])
  t.same(chain.select(() => false).affect(() => 1).results, [])
})

t.test('chain - control.stop and control.fail also end a paused run', async (t) => {
  let saved: Control<Ctx> | undefined
  const chain = new Chain<Ctx>(rec('a', (control) => { saved = control; control.pause() }), rec('b'))
  const first = runDone(chain)
  saved?.stop('from control')
  t.match((await first.done)[1], { result: true, stopped: { reason: 'from control' } })
  const second = runDone(chain)
  saved?.fail('from control')
  t.match((await second.done)[1], { result: false, failed: { reason: 'from control' } })
})

t.test('chain - resuming inside the pausing listener just carries on', async (t) => {
  const chain = new Chain<Ctx>(rec('a', (control) => control.pause().resume()), rec('b'))
  const seen = events(chain)
  const result = chain.run({ context: ctx() })
  t.match(result, { result: true, context: { seen: ['a', 'b'] } })
  t.notOk(result.paused)
  t.same(seen, ['start', 'pause', 'resume', 'done'])
})

t.test('chain - pausing twice in a row hands back the same pause', async (t) => {
  let pauses: Pause[] = []
  const chain = new Chain<Ctx>((control) => { pauses = [control.pause('one'), control.pause('two')] })
  const result = chain.run({ context: ctx() })
  t.equal(pauses[0], pauses[1])
  t.equal(result.paused?.reason, 'one')
  pauses[0]?.resume()
})

t.test('chain - pause after stop hands back a pause that does nothing', async (t) => {
  let pause: Pause | undefined
  const chain = new Chain<Ctx>((control) => {
    control.stop('first')
    pause = control.pause()
  }, rec('b'))
  const result = chain.run({ context: ctx() })
  t.match(result, { result: true, stopped: { reason: 'first' } })
  t.notOk(result.paused)
  pause?.resume()
  pause?.stop()
  pause?.fail()
  pause?.callback()(null, 1)
  t.same(result.context.seen, [])
})

t.test('chain - a throw after pausing fails the run and the pause is spent', async (t) => {
  let pause: Pause | undefined
  const chain = new Chain<Ctx>((control) => {
    pause = control.pause()
    throw new Error('oops')
  }, rec('b'))
  const { returned, done } = runDone(chain)
  t.match(returned, { result: false, failed: { reason: 'caught error' } })
  t.notOk(returned.paused)
  pause?.resume()
  t.same((await done)[1].context.seen, [])
})

t.test('chain - a paused run that pauses again needs a new resume', async (t) => {
  let pauses: Pause[] = []
  const chain = new Chain<Ctx>(rec('a', (control) => void pauses.push(control.pause())), rec('b', (control) => void pauses.push(control.pause())), rec('c'))
  const { done } = runDone(chain)
  pauses[0]?.resume()
  pauses[0]?.resume() // spent: does not resume the second pause
  await tick()
  t.equal(pauses.length, 2)
  pauses[1]?.resume()
  t.same((await done)[1].context.seen, ['a', 'b', 'c'])
})

t.test('chain - pause callback stores a value and resumes, or fails on an error', async (t) => {
  let callback: ((error: unknown, value?: unknown) => void) | undefined
  let keyed: ((error: unknown, value?: unknown) => void) | undefined
  const chain = new Chain<Ctx>(
    (control) => { callback = control.pause().callback() },
    (control) => { keyed = control.pause().callback('lookup failed', 'user') },
    rec('c'),
  )
  const ok = runDone(chain)
  callback?.(null, 42)
  callback?.(null, 43) // ignored
  keyed?.(undefined, 'ann')
  const [error, result] = await ok.done
  t.equal(error, null)
  t.match(result.context, { result: 42, user: 'ann', seen: ['c'] })

  const boom = new Error('nope')
  const bad = runDone(chain)
  callback?.(boom)
  const [failInfo, failResult, failError] = await bad.done
  t.equal(failError, boom)
  t.equal(failInfo, failResult.failed)
  t.match(failResult.failed, { reason: 'callback received an error', error: boom, index: 0 })
  const named = runDone(chain)
  callback?.(null)
  keyed?.(boom)
  t.match((await named.done)[1].failed, { reason: 'lookup failed', index: 1 })
})

t.test('chain - next returns at once when the rest pauses, and resume finishes the run', async (t) => {
  let pause: Pause | undefined
  let rest: RunResult<Ctx> | undefined
  let whilePaused: RunResult<Ctx> | undefined
  const chain = new Chain<Ctx>(
    rec('outer', (control, context) => {
      rest = control.next()
      whilePaused = control.next() // paused: runs nothing
      context.seen.push('outer-after')
    }),
    rec('waits', (control) => { pause = control.pause('io') }),
    rec('last'),
  )
  const { returned, done } = runDone(chain)
  t.match(rest, { result: false, paused: { reason: 'io', index: 1 } })
  t.match(whilePaused, { result: false, paused: { reason: 'io' } })
  t.same(returned.context.seen, ['outer', 'waits', 'outer-after'])
  t.match(returned, { result: false, paused: { index: 1 } })
  pause?.resume()
  const [, result] = await done
  t.same(result.context.seen, ['outer', 'waits', 'outer-after', 'last'])
})

t.test('chain - resuming inside the caller of next carries on after the paused listener', async (t) => {
  const chain = new Chain<Ctx>(
    rec('outer', (control) => {
      let pause: Pause | undefined
      const chainResult = control.next()
      if (chainResult.paused !== undefined) pause = control.pause() // the same pause
      pause?.resume()
    }),
    rec('waits', (control) => void control.pause()),
    rec('last'),
  )
  t.match(chain.run({ context: ctx() }), { result: true, context: { seen: ['outer', 'waits', 'last'] } })
})

t.test('chain - stop after next names the listener that called next', async (t) => {
  const outer = rec('outer', (control) => {
    control.next()
    control.stop('after the rest')
  })
  const result = new Chain<Ctx>(outer, rec('b')).run({ context: ctx() })
  t.match(result, { result: true, stopped: { reason: 'after the rest', index: 0, fn: outer } })
  t.same(result.context.seen, ['outer', 'b'])
})

// ---------------------------------------------------------------- remove and disable from a listener

t.test('chain - a listener that removes itself is listed in removed and gone from the chain', async (t) => {
  const once = rec('once', (control) => {
    control.remove('one-shot')
    control.remove('twice') // already gone: ignored
  })
  const chain = new Chain<Ctx>(rec('a'), once, rec('c'))
  const removed: unknown[] = []
  chain.on('remove', (result) => removed.push(result))
  const first = chain.run({ context: ctx() })
  t.same(first.context.seen, ['a', 'once', 'c'])
  t.same(first.removed, [once])
  t.same(removed, [{ result: true, reason: 'one-shot', removed: [once], chain }])
  t.equal(chain.array.includes(once), false)
  const second = chain.run({ context: ctx() })
  t.same(second.context.seen, ['a', 'c'])
  t.notOk(second.removed)
})

t.test('chain - a listener that disables itself is skipped from then on', async (t) => {
  const quiet = rec('quiet', (control) => control.disable('enough'))
  const chain = new Chain<Ctx>(quiet, rec('b'))
  let event: unknown
  chain.on('disable', (result) => { event = result })
  t.same(chain.run({ context: ctx() }).context.seen, ['quiet', 'b'])
  t.match(event, { result: true, reason: 'enough', listeners: [quiet] })
  t.same(chain.run({ context: ctx() }).context.seen, ['b'])
  t.match(chain.enable('quiet'), { result: true })
  const silent = rec('silent', (control) => control.disable())
  const other = new Chain<Ctx>(silent)
  other.on('disable', (result) => { event = result })
  other.run({ context: ctx() })
  t.same(event, { result: true, reason: true, target: 'listeners', listeners: [silent], chain: other }, 'no reason: true')
})

t.test('chain - remove and disable through a control after its run do nothing', async (t) => {
  let saved: Control<Ctx> | undefined
  const a = rec('a', (control) => { saved = control })
  const chain = new Chain<Ctx>(a)
  chain.run({ context: ctx() })
  saved?.remove()
  saved?.disable()
  t.same(chain.array, [a])
  t.same(chain.run({ context: ctx() }).context.seen, ['a'])
})

t.test('chain - a listener removing itself after the chain changed under its paused run is found by identity', async (t) => {
  let pause: Pause | undefined
  const once = rec('once', (control) => control.remove('done'))
  const chain = new Chain<Ctx>(rec('first'), rec('waits', (control) => { pause = control.pause() }), once)
  const paused = runDone(chain)
  chain.remove('first') // `once` moves from index 2 to 1 in the chain, not in the paused run
  pause?.resume()
  const [, result] = await paused.done
  t.same(result.context.seen, ['first', 'waits', 'once'])
  t.same(result.removed, [once])
  t.same(chain.array.map((fn) => fn.options?.id), ['waits'])
})

// ---------------------------------------------------------------- changes during runs

t.test('chain - changes made during a run take effect from the next run', async (t) => {
  const late = rec('late')
  const chain = new Chain<Ctx>(
    rec('a', (_control) => {
      chain.add(late)
      chain.remove('b')
    }),
    rec('b'),
  )
  t.same(chain.run({ context: ctx() }).context.seen, ['a', 'b'])
  t.same(chain.run({ context: ctx() }).context.seen, ['a', 'late'])
})

t.test('chain - a paused run keeps the listeners it started with', async (t) => {
  let pause: Pause | undefined
  const chain = new Chain<Ctx>(rec('a', (control) => { pause = control.pause() }), rec('b'))
  const paused = runDone(chain)
  chain.clear()
  chain.add(rec('new'))
  pause?.resume()
  t.same((await paused.done)[1].context.seen, ['a', 'b'])
})

t.test('chain - a listener disabled while a run is paused is skipped when it resumes', async (t) => {
  let pause: Pause | undefined
  const chain = new Chain<Ctx>(rec('a', (control) => { pause = control.pause() }), rec('b'), rec('c'))
  const paused = runDone(chain)
  chain.disable('b', 'changed my mind')
  pause?.resume()
  t.same((await paused.done)[1].context.seen, ['a', 'c'])
})

// ---------------------------------------------------------------- ordering

t.test('chain - with an order function the chain sorts itself before a run, only after changes', async (t) => {
  let calls = 0
  const counting = (listeners: readonly Fn[]): Fn[] => {
    calls++
    return order(listeners)
  }
  const chain = new Chain<Ctx>({ order: counting }, rec('b', undefined, { after: 'a' }), rec('a'))
  t.same(chain.array.map((fn) => fn.options?.id), ['b', 'a'], 'not sorted before the first run')
  t.same(chain.run({ context: ctx() }).context.seen, ['a', 'b'])
  t.same(chain.array.map((fn) => fn.options?.id), ['a', 'b'])
  chain.run({ context: ctx() })
  t.equal(calls, 1)
  chain.add(rec('first', undefined, { before: '*' }))
  t.same(chain.run({ context: ctx() }).context.seen, ['first', 'a', 'b'])
  chain.remove('first')
  chain.run({ context: ctx() })
  t.equal(calls, 3)
})

t.test('chain - re-ordering starts from the order in which listeners were added', async (t) => {
  // added b, x, a with b after a: sorted x, a, b; once a is gone, b was added before x
  const chain = new Chain<Ctx>({ order }, rec('b', undefined, { after: 'a' }), rec('x'), rec('a'))
  t.same(chain.run({ context: ctx() }).context.seen, ['x', 'a', 'b'])
  t.same(chain.remove(1).removed.map((fn) => fn.options?.id), ['a'])
  t.same(chain.run({ context: ctx() }).context.seen, ['b', 'x'])
  chain.select((fn) => fn.options?.id === 'x').remove()
  t.same(chain.run({ context: ctx() }).context.seen, ['b'])
})

t.test('chain - a chain that cannot be ordered fails the run before any listener runs', async (t) => {
  const chain = new Chain<Ctx>({ order }, rec('a', undefined, { after: 'b' }), rec('b', undefined, { after: 'a' }))
  const seen = events(chain)
  const { returned, done } = runDone(chain)
  t.same(returned.context.seen, [])
  t.match(returned, {
    result: false,
    failed: { reason: 'chain could not be ordered: order: the constraints form a cycle (each runs before the next): a -> b -> a', index: -1, fn: undefined },
  })
  t.ok(isCioError(returned.failed?.error, codes.ORDER_CYCLE))
  const [failed, , error] = await done
  t.equal(failed, returned.failed)
  t.equal(error, returned.failed?.error)
  t.same(seen, ['start', 'fail', 'done'])
  t.match(chain.run({ context: ctx() }), { result: false, failed: { index: -1 } }, 'tried again on the next run')
  chain.remove('b')
  t.same(chain.run({ context: ctx() }).context.seen, ['a'])
})

t.test('chain - an order function that throws nothing useful still fails the run with a coded error', async (t) => {
  const chain = new Chain<Ctx>({
    order: () => {
      throw undefined
    },
  }, rec('a'))
  const { returned, done } = runDone(chain)
  t.match(returned.failed, { reason: 'chain could not be ordered: undefined', index: -1 })
  t.match((await done)[2], { code: codes.CHAIN_FAILED, message: /before any listener ran/ })
})

t.test('chain - isDisabled tells whether runs skip a listener', async (t) => {
  const a: Listener<Ctx> = () => {}
  const b: Listener<Ctx> = Object.assign(() => {}, { options: { id: 'b', disabled: true } })
  const chain = new Chain<Ctx>(a, b)
  t.same([chain.isDisabled(a), chain.isDisabled(b)], [false, true])
  chain.enable(b)
  t.equal(chain.isDisabled(b), false, 'enabled in this chain')
  chain.disable(a)
  t.equal(chain.isDisabled(a), true)
  chain.enable(a)
  chain.disable()
  t.same([chain.isDisabled(a), chain.isDisabled(b)], [true, true], 'the whole chain disabled')
})

t.test('chain - disable(id) alone disables that listener, not the chain; any other lone string is the chain\'s reason', async (t) => {
  const ran: string[] = []
  const a: Listener<object> = () => void ran.push('a')
  a.options = { id: 'cio/a' }
  const b: Listener<object> = () => void ran.push('b')
  b.options = { id: 'cio/b' }
  const chain = buildChain<object>(a, b)
  const one = chain.disable('cio/a')
  t.match(one, { result: true, target: 'listeners', reason: true })
  t.same(one.listeners, [a])
  chain.run()
  t.same(ran, ['b'], 'only cio/a is skipped')
  const whole = chain.disable('maintenance')
  t.match(whole, { result: true, target: 'chain', reason: 'maintenance' })
  t.match(chain.run(), { result: false, disabled: 'maintenance' })
  t.same(ran, ['b'], 'the disabled chain runs nothing')
})
