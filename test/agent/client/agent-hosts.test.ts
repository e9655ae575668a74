import { once } from 'node:events'
import t from 'tap'
import { Agent } from '../../../lib/agent/client/agent.js'
import { codes } from '../../../lib/errors.js'
import { SECRET, startServer } from '../../helpers/agents.js'

t.test('agent hosts - a list of servers is checked entry by entry', async (t) => {
  for (const host of [[], Array.from({ length: 65 }, (_, i) => `127.0.0.1:${1000 + i}`), ['127.0.0.1:1', 'ftp://x:1'], ['127.0.0.1:1', 7]]) {
    t.throws(() => new Agent({ host: host as string[], secret: SECRET }), { code: codes.INVALID_OPTION }, JSON.stringify(host).slice(0, 40))
  }
})

t.test('agent hosts - connects to one of the list, reports the endpoint, moves to the next when its server goes', async (t) => {
  const a = await startServer(t, false)
  const b = await startServer(t, false)
  const endpoints = [`tcp://127.0.0.1:${a.port}`, `tcp://127.0.0.1:${b.port}`]
  const agent = new Agent({ host: endpoints, secret: SECRET, heartbeatInterval: 0, reconnect: { initialDelay: 20, maxDelay: 50 } })
  t.teardown(() => agent.close())
  const [first] = (await once(agent, 'connected')) as [string]
  t.ok(endpoints.includes(first), `connected reports the endpoint (${first})`)
  const [name] = (await once(agent, 'ready')) as [string]
  const next = once(agent, 'connected')
  await (first === endpoints[0] ? a : b).server.close()
  const [second] = (await next) as [string]
  t.equal(second, endpoints.find((endpoint) => endpoint !== first), 'the next connection goes to the other server')
  const [again] = (await once(agent, 'reconnected')) as [string]
  t.equal(again, name, 'with the same name')
})
