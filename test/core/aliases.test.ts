import t from 'tap'
import { CERT_ALIASES, mergeOptions, moveCertAliases } from '../../lib/core/aliases.js'
import type { CioOptions } from '../../lib/core/options.js'
import { codes } from '../../lib/errors.js'

t.test('aliases - private, public and root stand for key, cert and ca', async (t) => {
  t.same(CERT_ALIASES, { private: 'key', public: 'cert', root: 'ca' })
})

t.test('aliases - moveCertAliases moves each alias onto Node\'s name, in the object it is given', async (t) => {
  const options: CioOptions = { private: 'K', public: 'C', root: ['A'], port: 5 }
  const moved = moveCertAliases(options)
  t.equal(moved, options, 'the same object, changed in place')
  t.same(moved, { key: 'K', cert: 'C', ca: ['A'], port: 5 })
  t.same(Object.keys(moved).sort(), ['ca', 'cert', 'key', 'port'], 'the aliases are gone, not left undefined')
})

t.test('aliases - moveCertAliases leaves options without aliases as they are', async (t) => {
  const options: CioOptions = { key: 'K', cert: 'C', host: '127.0.0.1' }
  t.same(moveCertAliases(options), { key: 'K', cert: 'C', host: '127.0.0.1' })
  t.same(moveCertAliases({ private: undefined, key: 'K' }), { private: undefined, key: 'K' }, 'an alias set to undefined counts as absent')
})

t.test('aliases - both names of one pair in one object are refused with INVALID_OPTION naming both', async (t) => {
  for (const [alias, name] of Object.entries(CERT_ALIASES)) {
    const options: CioOptions = { [alias]: 'a', [name]: 'b' }
    t.throws(() => moveCertAliases(options), {
      code: codes.INVALID_OPTION,
      message: `The options "${alias}" and "${name}" name the same thing; give only one of them.`,
      details: { option: alias, conflictsWith: name },
    }, alias)
  }
})

t.test('aliases - mergeOptions puts a call\'s options over the defaults without changing either', async (t) => {
  const defaults: CioOptions = { port: 1, host: 'a' }
  const call: CioOptions = { port: 2 }
  const merged = mergeOptions(defaults, call)
  t.same(merged, { port: 2, host: 'a' })
  t.not(merged, defaults)
  t.same(defaults, { port: 1, host: 'a' })
  t.same(call, { port: 2 })
  const copy = mergeOptions(defaults, undefined)
  t.same(copy, defaults)
  t.not(copy, defaults, 'without a call\'s options, still a copy')
})

t.test('aliases - a certificate given in a call under either name replaces both names from the defaults', async (t) => {
  t.same(mergeOptions({ key: 'module key', cert: 'module cert' }, { private: 'call key' }), { cert: 'module cert', private: 'call key' }, 'a call\'s private wins over a module key')
  t.same(mergeOptions({ private: 'module key' }, { key: 'call key' }), { key: 'call key' }, 'a call\'s key wins over a module private')
  t.same(mergeOptions({ root: 'module ca', ca: 'other' } as CioOptions, { ca: 'call ca' }), { ca: 'call ca' })
  t.same(mergeOptions({ public: 'module cert' }, { cert: undefined }), { public: 'module cert', cert: undefined }, 'an undefined certificate in the call replaces nothing')
})
