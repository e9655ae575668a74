import { readFileSync, statSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'
import t from 'tap'
import { codes, generateCerts, writeCerts } from '../../lib/index.js'
import { testCerts } from '../helpers/certs.js'

t.test('certs - a CA signs a localhost server certificate and named client certificates', async (t) => {
  const certs = await testCerts()
  const ca = new X509Certificate(certs.ca.cert)
  const server = new X509Certificate(certs.server.cert)
  t.equal(ca.ca, true, 'the CA is a CA')
  t.equal(server.ca, false)
  t.ok(server.verify(ca.publicKey), 'server signed by the CA')
  t.ok(server.checkHost('localhost'))
  t.ok(server.checkIP('127.0.0.1'))
  t.ok(server.checkIP('::1'))
  t.same(Object.keys(certs.clients).sort(), ['alice', 'bob', 'mallory'])
  const alice = new X509Certificate(certs.clients.alice!.cert)
  t.match(alice.subject, /CN=alice/)
  t.ok(alice.verify(ca.publicKey), 'client signed by the CA')
})

t.test('certs - options are checked', async (t) => {
  await t.rejects(generateCerts({ clients: ['a', 'a'] }), { code: codes.INVALID_OPTION, message: /"a" is given twice/ })
  await t.rejects(generateCerts({ clients: [''] }), { code: codes.INVALID_OPTION })
  await t.rejects(generateCerts({ days: 0 }), { code: codes.INVALID_OPTION, message: /"days" option/ })
  const custom = await generateCerts({ serverName: 'service.test', days: 2 })
  const cert = new X509Certificate(custom.server.cert)
  t.ok(cert.checkHost('service.test'))
  t.ok(cert.checkHost('localhost'), 'localhost stays usable')
  t.ok(new Date(cert.validTo).getTime() - Date.now() < 3 * 24 * 3600 * 1000)
})

t.test('certs - writeCerts writes PEM files, keys private to the owner', async (t) => {
  const certs = await testCerts()
  const dir = t.testdir()
  const files = await writeCerts(dir, certs)
  t.equal(readFileSync(files.caCert, 'utf8'), certs.ca.cert)
  t.equal(readFileSync(files.serverKey, 'utf8'), certs.server.key)
  t.equal(readFileSync(files.clients.alice!.cert, 'utf8'), certs.clients.alice!.cert)
  t.equal(statSync(files.serverKey).mode & 0o777, 0o600)
  t.equal(statSync(files.clients.bob!.key).mode & 0o777, 0o600)
  await t.rejects(writeCerts(dir, { ...certs, clients: { '../escape': certs.clients.alice! } }), { code: codes.INVALID_ARGUMENT })
})
