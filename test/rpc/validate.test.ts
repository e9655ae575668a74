import t from 'tap'
import { checkAction, checkTimeout, isPromiseLike, isValidTimeout, MAX_TIMER_MS, quote } from '../../lib/rpc/validate.js'
import { codes } from '../../lib/errors.js'

t.test('validate - a timeout is a number of ms above 0 and up to the largest delay setTimeout honours', async (t) => {
  t.equal(MAX_TIMER_MS, 2 ** 31 - 1)
  for (const ok of [1, 0.5, 30_000, MAX_TIMER_MS]) t.ok(isValidTimeout(ok), String(ok))
  for (const bad of [0, -1, MAX_TIMER_MS + 1, Infinity, NaN, '100', null, undefined]) t.notOk(isValidTimeout(bad), String(bad))
  t.doesNotThrow(() => checkTimeout(MAX_TIMER_MS, 'echo'))
  t.throws(() => checkTimeout(MAX_TIMER_MS + 1, 'echo'), {
    code: codes.INVALID_ARGUMENT,
    message: `The timeout of "echo" must be a number of ms above 0 and up to ${MAX_TIMER_MS}, got ${MAX_TIMER_MS + 1}.`,
    details: { action: 'echo' },
  })
})

t.test('validate - an action is a non-empty string, outside the reserved space when one is given', async (t) => {
  t.doesNotThrow(() => checkAction('echo', 'call()'))
  t.doesNotThrow(() => checkAction('cio.ping', 'call()'), 'without a reserved prefix any name goes')
  for (const bad of ['', 5, null, undefined, {}]) {
    t.throws(() => checkAction(bad, 'call()'), { code: codes.INVALID_ARGUMENT, message: /^call\(\): the action must be a non-empty string, got / }, String(bad))
  }
  t.throws(() => checkAction('cio.mine', 'onHook()', 'cio.'), {
    code: codes.INVALID_ARGUMENT,
    message: 'onHook(): actions starting with "cio." are reserved for cio\'s own messages; choose another name than "cio.mine".',
    details: { action: 'cio.mine' },
  })
})

t.test('validate - quote escapes an action for a message and cuts it at 64 characters', async (t) => {
  t.equal(quote('echo'), '"echo"')
  t.equal(quote('say "hi"\n'), '"say \\"hi\\"\\n"', 'quotes and control characters are escaped')
  t.equal(quote('a'.repeat(64)), `"${'a'.repeat(64)}"`)
  t.equal(quote('a'.repeat(65)), `"${'a'.repeat(64)}..."`)
  t.equal(quote('b'.repeat(100_000)).length, 64 + 5, 'a huge action costs a short message')
})

t.test('validate - isPromiseLike is what await would wait for', async (t) => {
  const thenableFunction = Object.assign(() => {}, { then: () => {} })
  for (const yes of [Promise.resolve(), { then: () => {} }, thenableFunction]) t.ok(isPromiseLike(yes))
  for (const no of [null, undefined, 1, 'then', { then: 1 }, () => {}, {}]) t.notOk(isPromiseLike(no), String(no))
})
