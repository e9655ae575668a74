import t from 'tap'
import { fuzzDecoder, referenceDecode } from './decoder-fuzz.js'
import { frameOf, prefix } from './gen.js'
import { fuzzBudget } from './budget.js'

const budget = fuzzBudget()

t.test('decoder fuzz - the reference model follows the protocol on known streams', async (t) => {
  const one = frameOf(Buffer.from('{"a":1}'))
  t.same(referenceDecode(Buffer.concat([one, one]), 100), { values: [{ a: 1 }, { a: 1 }], buffered: 0, end: 22 })
  t.same(referenceDecode(Buffer.concat([one, one.subarray(0, 6)]), 100), { values: [{ a: 1 }], buffered: 2, end: 11 })
  t.same(referenceDecode(one.subarray(0, 3), 100), { values: [], buffered: 3, end: 0 })
  t.same(referenceDecode(prefix(0), 100), { values: [], code: 'FRAME_INVALID', buffered: 0, end: 0 })
  t.same(referenceDecode(prefix(101), 100), { values: [], code: 'FRAME_TOO_LARGE', buffered: 0, end: 0 })
  t.same(referenceDecode(frameOf(Buffer.from('\ufeff{}')), 100).code, 'FRAME_INVALID', 'a BOM is not JSON')
  t.same(referenceDecode(frameOf(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])), 100).code, 'FRAME_INVALID', 'an encoded surrogate is not UTF-8')
})

t.test(`decoder fuzz - ${budget.decoder} seeded random and mutated streams in random chunkings (seed ${budget.seed})`, async (t) => {
  const report = fuzzDecoder({ seed: budget.seed, cases: budget.decoder })
  t.same(report.failures, [], 'no push threw, every error was coded, dead stayed dead, buffers stayed bounded, output matched the reference')
  t.equal(report.cases, budget.decoder)
  // The generator must really reach every outcome, or the run proves little.
  t.ok((report.errors.FRAME_TOO_LARGE ?? 0) > report.cases / 50, `FRAME_TOO_LARGE reached (${report.errors.FRAME_TOO_LARGE ?? 0})`)
  t.ok((report.errors.FRAME_INVALID ?? 0) > report.cases / 50, `FRAME_INVALID reached (${report.errors.FRAME_INVALID ?? 0})`)
  t.ok(report.clean > report.cases / 10, `clean streams reached (${report.clean})`)
  t.comment(`decoder fuzz: ${JSON.stringify({ ...report, failures: report.failures.length })}`)
})
