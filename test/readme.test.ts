import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = fileURLToPath(new URL('..', import.meta.url))
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** The README's runnable blocks: fenced as ```js example. */
const examples = [...readme.matchAll(/```js example\n([\s\S]*?)```/g)].map((match) => match[1]!)

function run(code: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '--eval', code], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr })
    })
  })
}

t.ok(examples.length >= 3, 'the README has runnable examples')

examples.forEach((code, index) => {
  const firstLine = code.split('\n').find((line) => line.trim() !== '' && !line.startsWith('import')) ?? ''
  t.test(`readme - example ${index + 1} runs and prints what it says (${firstLine.trim().slice(0, 40)})`, async (t) => {
    const expected = [...code.matchAll(/\/\/ prints: (.*)$/gm)].map((match) => match[1]!.trim())
    const result = await run(code)
    t.equal(result.code, 0, `exits 0 by itself${result.stderr === '' ? '' : `; stderr: ${result.stderr}`}`)
    const lines = result.stdout.split('\n').map((line) => line.trim())
    for (const line of expected) t.ok(lines.includes(line), `prints "${line}"`)
  })
})
