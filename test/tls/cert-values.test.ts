import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import t from 'tap'
import buildCio, { codes, isPem, readCertValue } from '../../lib/internal.js'
import { testCerts } from '../helpers/certs.js'
import { thrown } from '../helpers/errors.js'

t.test('cert values - PEM strings are recognised by their header', async (t) => {
  t.equal(isPem('-----BEGIN CERTIFICATE-----\nabc'), true)
  t.equal(isPem('  \n-----BEGIN PRIVATE KEY-----'), true)
  t.equal(isPem('certs/server.pem'), false)
})

t.test('cert values - paths, PEM strings, Buffers and arrays become Buffers', async (t) => {
  const certs = await testCerts()
  const dir = t.testdir({ 'ca.pem': certs.ca.cert })
  const fromPath = readCertValue('ca', join(dir, 'ca.pem'))
  t.ok(Buffer.isBuffer(fromPath))
  t.equal(fromPath.toString(), certs.ca.cert)
  t.equal(readCertValue('ca', 'ca.pem', dir).toString(), certs.ca.cert, 'relative paths resolve from the given directory')
  t.equal(readCertValue('cert', certs.server.cert).toString(), certs.server.cert)
  const buffer = Buffer.from('raw')
  t.equal(readCertValue('key', buffer), buffer)
  const list = readCertValue('ca', [certs.ca.cert, Buffer.from('x'), join(dir, 'ca.pem')])
  t.ok(Array.isArray(list))
  t.equal((list as Buffer[]).length, 3)
})

t.test('cert values - a bad path fails with CERT_READ naming the option and resolved path', async (t) => {
  const error = thrown(() => readCertValue('key', 'no/such/key.pem'))
  t.equal(error.code, codes.CERT_READ)
  t.equal(error.details.option, 'key')
  t.equal(error.details.path, resolve('no/such/key.pem'))
  t.match(error.message, 'key')
  t.match(error.message, resolve('no/such/key.pem'))
  t.match(error.message, 'ENOENT')
  t.throws(() => readCertValue('ca', 42 as never), { code: codes.INVALID_OPTION, message: /"ca" option must be a file path, a PEM string, a Buffer/ })
  t.throws(() => readCertValue('ca', '' as never), { code: codes.INVALID_OPTION })
})

t.test('cert values - buildCio reads module certificate paths at once and fails fast', async (t) => {
  const certs = await testCerts()
  const dir = t.testdir({ 'server.pem': certs.server.cert, 'server-key.pem': certs.server.key })
  const cio = buildCio({ private: join(dir, 'server-key.pem'), public: join(dir, 'server.pem') })
  t.ok(Buffer.isBuffer(cio.options.key), 'read into a Buffer at build time')
  t.equal(cio.options.private, undefined, 'alias moved')
  writeFileSync(join(dir, 'server.pem'), 'changed later')
  t.equal(String(cio.options.cert), certs.server.cert, 'not read again')
  t.throws(() => buildCio({ root: join(dir, 'missing-ca.pem') }), { code: codes.CERT_READ, message: new RegExp(`"ca" option's file ${join(dir, 'missing-ca.pem').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`) })
})

t.test('cert values - a bad path in call options fails the run with the cause', async (t) => {
  const cio = buildCio()
  const error = thrown<{ code: string; cause: { code: string } }>(() => cio.server({ key: 'missing-key.pem', cert: 'missing-cert.pem' }))
  t.equal(error.code, codes.CHAIN_FAILED)
  t.equal(error.cause.code, codes.CERT_READ)
})

t.test('cert values - an alias and its name together are a contradiction', async (t) => {
  t.throws(() => buildCio({ key: 'a', private: 'b' }), { code: codes.INVALID_OPTION, message: /"private" and "key" name the same thing/ })
})

t.test('cert values - call options override module certificates under either name', async (t) => {
  const certs = await testCerts()
  const cio = buildCio({ key: Buffer.from('module key') })
  let key: unknown
  cio.onServer((_control, context) => {
    key = context.options.key
  })
  cio.server({ private: certs.server.key, cert: certs.server.cert })
  t.equal(String(key), certs.server.key)
})
