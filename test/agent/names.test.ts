import t from 'tap'
import { DEFAULT_NAME_FORMAT, formatName, isSafeName, NameAllocator, parseName, parseNameFormat } from '../../lib/agent/names.js'
import { codes } from '../../lib/errors.js'

t.test('name format - the default is A# and counts from A1', async (t) => {
  t.equal(DEFAULT_NAME_FORMAT, 'A#')
  const names = new NameAllocator()
  t.same([names.next(), names.next(), names.next()], ['A1', 'A2', 'A3'])
  t.equal(names.counter, 3)
})

t.test('name format - a run of # is zero-padded and never truncated', async (t) => {
  const format = parseNameFormat('A###')
  t.same(format, { source: 'A###', prefix: 'A', suffix: '', width: 3 })
  t.equal(formatName(format, 1), 'A001')
  t.equal(formatName(format, 999), 'A999')
  t.equal(formatName(format, 1000), 'A1000')
  const names = new NameAllocator('A###', 998)
  t.same([names.next(), names.next()], ['A999', 'A1000'])
})

t.test('name format - prefix and suffix around the counter', async (t) => {
  const names = new NameAllocator('node-##.eu')
  t.equal(names.next(), 'node-01.eu')
  t.equal(names.format.suffix, '.eu')
  t.equal(new NameAllocator('#').next(), '1')
})

t.test('name format - anything but exactly one run of # is INVALID_OPTION', async (t) => {
  for (const bad of ['A', '', 'A#B#', '#A#', 'A # B', 'A/#', 'Ä#', 'A\n#', 'A'.repeat(100) + '#', 42, null, () => 'A#']) {
    t.throws(() => parseNameFormat(bad), { code: codes.INVALID_OPTION, details: { option: 'agentNameFormat' } }, JSON.stringify(bad))
  }
  t.throws(() => new NameAllocator('nope'), { code: codes.INVALID_OPTION, message: /exactly one run of "#"/ })
  t.equal(parseNameFormat(undefined).source, 'A#', 'undefined means the default')
})

t.test('name allocator - accepts an already parsed format', async (t) => {
  t.equal(new NameAllocator(parseNameFormat('B##')).next(), 'B01')
})

t.test('name allocator - seeded from a stored counter it continues the numbering', async (t) => {
  const first = new NameAllocator('A#')
  first.next()
  first.next()
  const restarted = new NameAllocator('A#', first.counter)
  t.equal(restarted.next(), 'A3')
})

t.test('name allocator - a counter that is not a non-negative safe integer is INVALID_ARGUMENT', async (t) => {
  for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    t.throws(() => new NameAllocator('A#', bad), { code: codes.INVALID_ARGUMENT }, String(bad))
  }
})

t.test('name allocator - recognises names of its format, canonical spelling only', async (t) => {
  const names = new NameAllocator('A###')
  t.ok(names.matches('A001'))
  t.ok(names.matches('A1000'))
  t.notOk(names.matches('A01'), 'too short')
  t.notOk(names.matches('A0001'), 'non-canonical padding')
  t.notOk(names.matches('A000'), 'zero is never given out')
  t.notOk(names.matches('B001'))
  t.notOk(names.matches('A00x'))
  t.notOk(names.matches('A-01'))
  t.notOk(names.matches('A' + '9'.repeat(20)), 'beyond safe integers')
  t.notOk(new NameAllocator('A#x').matches('A1y'), 'wrong suffix')
  t.equal(parseName(parseNameFormat('A#'), 'A42'), 42)
  // @ts-expect-error - JavaScript callers may pass anything
  t.equal(parseName(parseNameFormat('A#'), 42), undefined)
})

t.test('name allocator - a returning name numbered higher moves the counter past it', async (t) => {
  const names = new NameAllocator('A#')
  t.equal(names.observe('A7'), true)
  t.equal(names.counter, 7)
  t.equal(names.next(), 'A8')
  t.equal(names.observe('A3'), false, 'lower names leave the counter alone')
  t.equal(names.observe('A8'), false, 'equal too')
  t.equal(names.observe('custom-name'), false, 'foreign names leave it alone')
  t.equal(names.counter, 8)
})

t.test('name allocator - refuses to repeat a name when the counter is exhausted', async (t) => {
  const names = new NameAllocator('A#', Number.MAX_SAFE_INTEGER - 1)
  t.equal(names.next(), `A${Number.MAX_SAFE_INTEGER}`)
  t.throws(() => names.next(), { code: codes.INTERNAL_ERROR })
  t.equal(new NameAllocator('A#').observe(`A${Number.MAX_SAFE_INTEGER}`), false, 'a claim cannot exhaust it')
})

t.test('safe names - letters, digits, dot, dash and underscore up to 128 characters', async (t) => {
  t.ok(isSafeName('A1'))
  t.ok(isSafeName('agent_1.eu-west'))
  t.ok(isSafeName('a'.repeat(128)))
  for (const bad of ['', 'a'.repeat(129), 'a b', 'a/b', '../x', 'a\u0000', 'é', 42, undefined]) {
    t.notOk(isSafeName(bad), JSON.stringify(bad))
  }
})
