import { generateCerts, type CertSet } from '../../lib/tls/certs.js'

let shared: Promise<CertSet> | undefined

/** One certificate set per test process (clients alice, bob and mallory), made on first use. */
export function testCerts(): Promise<CertSet> {
  return (shared ??= generateCerts({ clients: ['alice', 'bob', 'mallory'] }))
}
