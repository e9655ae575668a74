import t from 'tap'
import { runInstalled } from './helpers/installed.js'

/**
 * A CommonJS program as cio 0.5 users wrote them, run by a real `node` in a
 * directory where `cio` is an installed package (a link to this one, so
 * `require` goes through package.json's exports to dist/).
 */
const program = `
const cio = require('cio')()
const built = require('cio')
const agent = require('cio/agent')
const facts = {
  builder: typeof built,
  named: ['CioError', 'Chain', 'order', 'codes', 'AgentServer', 'buildCio', 'default'].filter((name) => built[name] === undefined),
  agentNamed: ['AgentServer', 'Agent', 'FileStore', 'TIMEOUT'].filter((name) => agent[name] === undefined),
  sharedWithAgent: agent.CioError === built.CioError,
}
cio.onServerClient(function (control, context) { this.serverClient.end('hello, ' + this.who) })
const server = cio.server({ who: 'CommonJS' })
server.listen(0, '127.0.0.1', () => {
  const client = cio.client({ port: server.address().port, host: '127.0.0.1' })
  client.on('data', async (data) => {
    facts.reply = data.toString()
    const esm = await import('cio')
    facts.oneImplementation = esm.CioError === built.CioError && esm.buildCio === built.buildCio && esm.default === built.buildCio
    facts.instanceofAcross = new built.CioError('TIMEOUT', 'x') instanceof esm.CioError
    server.close()
    client.destroy()
    console.log(JSON.stringify(facts))
  })
})
`

t.test('cjs - require(\'cio\') is the builder function with the named exports on it; require(\'cio/agent\') has its exports; one implementation with import', async (t) => {
  const { code, stdout, stderr } = await runInstalled(t, 'program.cjs', program)
  t.equal(code, 0, `exits 0 by itself; stderr: ${stderr}`)
  t.equal(stderr, '', 'no warning: require() of the ES module build is plain on Node 20.19+')
  t.same(JSON.parse(stdout), {
    builder: 'function',
    named: [],
    agentNamed: [],
    sharedWithAgent: true,
    reply: 'hello, CommonJS',
    oneImplementation: true,
    instanceofAcross: true,
  })
})
