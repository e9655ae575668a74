import t from 'tap'
import { DEFAULT_AGENT_PORT, parseAgentHost } from '../../lib/agent/url.js'
import { codes } from '../../lib/errors.js'

t.test('agent url - accepted forms', async (t) => {
  const cases: Array<[string, { host: string; port: number; secure: boolean }]> = [
    ['localhost:7000', { host: 'localhost', port: 7000, secure: false }],
    ['localhost', { host: 'localhost', port: DEFAULT_AGENT_PORT, secure: false }],
    ['127.0.0.1:1', { host: '127.0.0.1', port: 1, secure: false }],
    ['tcp://example.com:65535', { host: 'example.com', port: 65535, secure: false }],
    ['tls://example.com:7789', { host: 'example.com', port: 7789, secure: true }],
    ['http://localhost:7788', { host: 'localhost', port: 7788, secure: false }],
    ['https://localhost:7788/', { host: 'localhost', port: 7788, secure: true }],
    ['HTTPS://Agent_1.example.com', { host: 'Agent_1.example.com', port: 7788, secure: true }],
    ['[::1]:7788', { host: '::1', port: 7788, secure: false }],
    ['[::1]', { host: '::1', port: 7788, secure: false }],
    ['tls://[fe80::1]:9000', { host: 'fe80::1', port: 9000, secure: true }],
  ]
  for (const [input, expected] of cases) t.same(parseAgentHost(input), expected, input)
  t.equal(DEFAULT_AGENT_PORT, 7788)
})

t.test('agent url - without a scheme the caller chooses TCP or TLS', async (t) => {
  t.equal(parseAgentHost('localhost:1', 'host', true).secure, true)
  t.equal(parseAgentHost('tcp://localhost:1', 'host', true).secure, false, 'a scheme wins')
})

t.test('agent url - bad input is INVALID_OPTION naming the option and the value', async (t) => {
  const bad: unknown[] = [
    '', undefined, 42, 'ws://localhost:7788', 'ftp://x', 'localhost:0', 'localhost:65536', 'localhost:', 'localhost:http',
    'localhost:123456', ':7788', '::1', 'fe80::1:7788', '[::1', '[::1]7788', '[::1]:', '[127.0.0.1]:1', '[]:1',
    'http://user:pw@host:1', 'http://host:1/path', 'host:1?x', 'host:1#f', ' localhost', 'local host', 'https://',
    '-bad.example', 'bad-.example', 'a..b', 'a'.repeat(64) + '.com', ('a'.repeat(60) + '.').repeat(5) + 'com',
  ]
  for (const value of bad) {
    t.throws(() => parseAgentHost(value), { code: codes.INVALID_OPTION, details: { option: 'host', value } }, JSON.stringify(value))
  }
  t.throws(() => parseAgentHost('nope:', 'url'), { code: codes.INVALID_OPTION, message: /^The "url" option .*, got "nope:"\.$/ })
})
