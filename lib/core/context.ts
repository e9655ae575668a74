import type { CioOptions } from './options.js'

/**
 * Makes a chain context whose prototype is the options object, so that a
 * listener reads an option as `this.transform` as well as
 * `this.options.transform`: cio 0.5 listeners and addons read their options
 * from the context itself. The context's own fields (`cio`, `options`,
 * `server`...) shadow any option of the same name, and writing to the
 * context never changes the options. Listeners that change `options` in
 * place (cio/move-aliases, cio/ensure-certs) are seen through the context
 * too, since the prototype is that same object.
 */
export function contextOf<C extends { options: CioOptions }>(fields: C): C {
  return Object.assign(Object.create(fields.options) as C, fields)
}
